import { basename } from 'node:path';
import type { Db } from '../db/connection.ts';
import type { TableInfo } from '../db/introspect.ts';
import type { Mapping } from '../mapping/types.ts';
import { buildPlan } from '../plan/plan.ts';
import { problemKeyLimit, type Plan, type PlanOverrides, type ProblemFinding } from '../plan/plan-data.ts';
import { csvFilesOf, csvSourcesRead, csvSourcesWithoutFile } from './binding.ts';
import type { CsvSourcePlan } from './csv-plan.ts';
import { loadCsvSource } from './load.ts';
import { dropStaging } from './staging.ts';

export interface CsvPlanOptions {
  /** Command-line choices that override the mapping's ID assignment. */
  overrides?: PlanOverrides;
  /** Bad rows are set aside (in eventshift_quarantine and quarantine.csv) instead of refusing the run. */
  quarantine?: boolean;
}

/**
 * The plan of a mapping some of whose sources are read from CSV: each such source is loaded into a TEMPORARY staging
 * table on this connection (so planning writes nothing anyone else sees, and nothing stays), the plan is built over it
 * exactly as over tables, and the CSV facts are added: files, detected dialect, records and bad rows. Bad rows refuse
 * the plan unless `quarantine`; a file whose quoting breaks refuses it always.
 */
export async function buildPlanWithCsv(db: Db, mapping: Mapping, now: Date, options: CsvPlanOptions = {}): Promise<Plan> {
  const { overrides } = options;
  const read = csvSourcesRead(mapping);
  const withoutFile = csvSourcesWithoutFile(mapping);
  if (read.length === 0 && withoutFile.length === 0) return buildPlan(db, mapping, now, { overrides });
  const staged = new Map<string, TableInfo>();
  const facts = new Map<string, CsvSourcePlan>();
  try {
    for (const source of read) {
      const files = csvFilesOf(source.file);
      const loaded = await loadCsvSource(db, {
        alias: source.alias,
        definition: source.definition,
        files,
        staging: source.staging,
        temporary: true,
        comment: `eventshift plan of ${mapping.name}`,
        badRowLimit: problemKeyLimit,
      });
      staged.set(source.staging, loaded.table);
      facts.set(source.alias, {
        path: source.file,
        standsFor: source.table,
        staging: source.staging,
        key: source.definition.key,
        zone: source.definition.zone ?? source.definition.tableZone ?? 'UTC',
        tableZone: source.definition.tableZone ?? 'UTC',
        quarantine: options.quarantine === true,
        files: loaded.files,
        records: loaded.records,
        accepted: loaded.accepted,
        bad: loaded.bad,
        badRows: loaded.badRows,
      });
    }
    const plan = await buildPlan(db, mapping, now, { overrides, staged });
    return withCsvFacts(plan, facts, withoutFile);
  } finally {
    for (const source of read) await dropStaging(db, source.staging, true);
  }
}

function withCsvFacts(plan: Plan, facts: Map<string, CsvSourcePlan>, withoutFile: string[]): Plan {
  const refusals: string[] = withoutFile.map(
    (alias) => `Source ${alias} is read from CSV, and no file was given: pass --source ${alias}=PATH.`,
  );
  const problems: ProblemFinding[] = [];
  for (const source of plan.sources) {
    const csv = facts.get(source.alias);
    if (!csv) continue;
    source.csv = csv;
    for (const file of csv.files) {
      if (file.unreadable) {
        refusals.push(
          `${basename(file.path)} cannot be read from line ${file.unreadable.line} on (${file.unreadable.message}): ` +
            'its quoting is broken there, so where its rows end cannot be known; fix the file. Nothing was written.',
        );
      }
    }
    if (csv.bad === 0) continue;
    const finding: ProblemFinding = {
      name: `csvBadRows.${source.alias}`,
      description: `row(s) of the CSV source ${source.alias} that cannot be loaded`,
      severity: csv.quarantine ? 'warning' : 'fatal',
      consequence: csv.quarantine
        ? 'set aside: written to eventshift_quarantine and quarantine.csv beside the report, not migrated'
        : 'fix them, or run with --quarantine to set them aside',
      count: csv.bad,
      keys: csv.badRows.map((b) => `${basename(b.file)}:${b.line} ${b.reason}`),
    };
    problems.push(finding);
    if (finding.severity === 'fatal') {
      refusals.push(
        `${csv.bad} ${finding.description}: ${finding.keys.join('; ')}${csv.bad > finding.keys.length ? '; ...' : ''}. ` +
          'Fix them, or run with --quarantine to set them aside.',
      );
    }
  }
  const all = [...refusals, ...plan.refusals];
  return { ...plan, problems: [...problems, ...plan.problems], refusals: all, ok: all.length === 0 };
}
