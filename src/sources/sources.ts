import type { Db } from '../db/connection.ts';
import { bindAsPlanned } from '../csv/binding.ts';
import { CsvSource } from '../csv/csv-source.ts';
import { writeQuarantineCsv } from '../csv/quarantine.ts';
import type { Mapping } from '../mapping/types.ts';
import type { Plan } from '../plan/plan-data.ts';
import type { CheckResult } from '../verify/check-result.ts';
import type { Source } from './source.ts';
import { TableSource } from './table-source.ts';

/*
 * A mapping's sources, each of its kind (see source.ts), and what the commands do with all of them. This is the one
 * place that knows the kinds: a new kind of source is a class beside TableSource and CsvSource, made here.
 */

/** The sources of a mapping as a new plan reads them: one bound to CSV files (or declared only as CSV) reads CSV. */
export function sourcesToPlan(mapping: Mapping): Source[] {
  return Object.entries(mapping.sources).map(([alias, table]) => {
    const binding = mapping.csvSources[alias];
    const csv = binding !== undefined && (binding.file !== null || binding.table === null);
    return csv ? new CsvSource(alias, binding) : new TableSource(alias, table);
  });
}

/** The sources of a run, as its plan read them. */
export function runSources(mapping: Mapping, plan: Plan): Source[] {
  return plan.sources.map((s) => (s.csv ? new CsvSource(s.alias, mapping.csvSources[s.alias], s.csv) : new TableSource(s.alias, s.table)));
}

/**
 * The mapping with its sources bound as a run's plan read them: a source the plan read from CSV reads the files the
 * plan froze (a path given again with `--source` must be the same), so a resumed run, verify, rollback, restore and
 * lineage read what the run read.
 */
export function mappingAsPlanned(mapping: Mapping, plan: Plan): Mapping {
  return bindAsPlanned(mapping, plan);
}

/** Verification's checks of the sources (that the run read what its plan read), in source order. */
export async function sourceChecks(db: Db, sources: readonly Source[], runId: number): Promise<Array<Omit<CheckResult, 'seconds'>>> {
  const checks: Array<Omit<CheckResult, 'seconds'>> = [];
  for (const source of sources) if (source.checks) checks.push(...(await source.checks(db, runId)));
  return checks;
}

/** Rollback and restore: removes what the run made of its sources (the tool's own tables), saying what each was. */
export async function undoSources(db: Db, sources: readonly Source[]): Promise<Array<{ table: string; what: string }>> {
  const undone: Array<{ table: string; what: string }> = [];
  for (const source of sources) if (source.undo) undone.push(...(await source.undo(db)));
  return undone;
}

/**
 * The files a run's sources put beside its report: quarantine.csv, the rows of its CSV sources that were set aside
 * (see writeQuarantineCsv). Returns their paths.
 */
export async function sourceReportFiles(db: Db, plan: Plan, runId: number, dir: string): Promise<string[]> {
  const quarantine = await writeQuarantineCsv(db, runId, plan, dir);
  return quarantine ? [quarantine] : [];
}
