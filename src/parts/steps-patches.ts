import { createRequire } from 'node:module';
import { createTableSql } from '../db/ddl.ts';
import { quoteId } from '../db/quote.ts';
import { exportRunId, safeStem, type StemmedPatch } from '../export/patch-file.ts';
import { insertChunkSql, lineageFillSql, targetAlias, targetRowsSql, type CompiledStep } from '../mapping/compile.ts';
import { autoIncrementSql } from '../mapping/schema-statements.ts';
import { codeColumnsOf } from '../mapping/streamed.ts';
import type { Plan } from '../plan/plan-data.ts';
import { lineage as lineageTable } from '../engine/bookkeeping-schema.ts';
import type { PartPatches, PatchScope } from './part.ts';
import { compiledSteps, lineageGroups } from './steps-compiled.ts';
import { formatCount } from '../format.ts';

/** mysql2's escaping, loaded when an export first needs it rather than when the CLI starts. */
const mysql = (): typeof import('mysql2') => createRequire(import.meta.url)('mysql2');

/**
 * The steps' patches for `eventshift sql`: their lineage numbered, then one file per step, built from the statements a
 * run executes with each chunk range widened to the whole step. The first step's file also raises AUTO_INCREMENT past
 * the IDs the plan reserves (the AUTO_INCREMENT part has no file of its own: the raise goes with the rows it protects).
 */
export function stepPatches({ mapping, plan, names }: PatchScope): PartPatches {
  const compiled = compiledSteps({ mapping, plan, runId: exportRunId, names });
  return { data: [...lineageFiles(plan, compiled), ...stepFiles(plan, compiled)] };
}

/** The lineage rows of the steps that number their events (dense: one file per step; chronological: one for all). */
function lineageFiles(plan: Plan, compiled: CompiledStep[]): StemmedPatch[] {
  const groups = lineageGroups(compiled).filter((g) => g.some((c) => plan.steps.find((s) => s.name === c.name)!.range));
  return groups.map((group) => {
    const rows = group.reduce((n, c) => n + plan.steps.find((s) => s.name === c.name)!.sourceRows, 0);
    const stepList = group.map((g) => mysql().escape(g.name)).join(', ');
    return {
      kind: 'data',
      stem: `data-lineage-${group.map((g) => safeStem(g.name)).join('-')}`,
      table: 'eventshift_lineage',
      description: `number ${group.map((g) => g.name).join(', ')} ${group[0]!.ids.strategy === 'dense' ? 'densely' : 'chronologically'}`,
      expectedRows: rows,
      locks: 'shared locks on the source rows read',
      statements: [
        createTableSql(lineageTable).replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS '),
        `DELETE FROM eventshift_lineage WHERE run_id = ${exportRunId} AND step IN (${stepList})`,
        lineageFillSql(exportRunId, group, (group[0]!.ids as { start: number }).start),
      ],
      rollback: [`DELETE FROM eventshift_lineage WHERE run_id = ${exportRunId} AND step IN (${stepList})`],
    };
  });
}

/** One file per step with rows to write; the first also raises AUTO_INCREMENT past the IDs the plan reserves. */
function stepFiles(plan: Plan, compiled: CompiledStep[]): StemmedPatch[] {
  const files: StemmedPatch[] = [];
  for (const step of compiled) {
    const planned = plan.steps.find((s) => s.name === step.name)!;
    if (!planned.range) continue;
    const source = plan.sources.find((s) => s.alias === planned.from)!;
    const statements: string[] = [];
    const rollback: string[] = [];
    if (files.length === 0) {
      for (const space of plan.idSpace.filter((x) => x.raiseAutoIncrementTo !== null)) {
        statements.push(autoIncrementSql(space.table, space.raiseAutoIncrementTo!));
        if (space.autoIncrement !== null) rollback.push(autoIncrementSql(space.table, space.autoIncrement));
      }
    }
    if (!step.streamed)
      for (const target of step.targets) statements.push(mysql().format(insertChunkSql(step, target), [source.minKey, source.maxKey]));
    for (const target of [...step.targets].reverse()) {
      const rows = targetRowsSql(step, target);
      rollback.unshift(
        mysql().format(`DELETE ${quoteId(targetAlias)} FROM ${rows.from} WHERE ${rows.where}`, rows.params(source.minKey!, source.maxKey!)),
      );
    }
    const writes = planned.writes.map((w) => `${formatCount(w.rows)} rows into ${w.table}`).join(', ');
    files.push({
      kind: 'data',
      stem: `data-${safeStem(step.name)}`,
      table: step.idTable,
      description: `step ${step.name}${step.streamed ? ' (NOT EXPORTED: code() columns; eventshift migrate writes it)' : ''}: ${writes}`,
      expectedRows: planned.writes.reduce((n, w) => n + w.rows, 0),
      locks: `shared next-key locks on the ${source.table} rows read (REPEATABLE READ); row locks on the rows inserted`,
      statements,
      rollback: reorderRollback(rollback, step),
      note: step.streamed ? streamedNote(step) : undefined,
    });
  }
  return files;
}

/** What a step's file says when the step is computed in Node (code() columns), so the file cannot write it. */
function streamedNote(step: CompiledStep): string {
  const columns = codeColumnsOf(step);
  const descriptions = step.targets
    .flatMap((t) => t.columns.flatMap((c) => c.code?.description ?? []))
    .map((d) => ` (${d})`)
    .join('');
  return (
    `Step ${step.name} is NOT in this file: ${columns.join(', ')} ${columns.length === 1 ? 'is' : 'are'} ` +
    "computed in Node by the mapping's code()" +
    `${descriptions}, which SQL cannot express, ` +
    'so migrate streams the step. Run `eventshift migrate` for it; ' +
    'applying these files by hand leaves its rows unwritten. The rollback file still removes them.'
  );
}

/** Extension rows go before their events when undoing. */
function reorderRollback(rollback: string[], step: CompiledStep): string[] {
  const isIdTable = (sql: string) => sql.includes(`FROM ${quoteId(step.idTable)} AS`);
  return [
    ...rollback.filter((s) => !isIdTable(s) && !s.startsWith('ALTER')),
    ...rollback.filter(isIdTable),
    ...rollback.filter((s) => s.startsWith('ALTER')),
  ];
}
