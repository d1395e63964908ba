import { createHash } from 'node:crypto';
import { compileProjection, compileStep, cutoverChanges, projectionUpdateSql, sourceTableNames, type CompiledStep } from './compile.ts';
import type { Mapping } from './define.ts';
import type { StepPlan } from '../plan/plan-data.ts';

/**
 * The mapping's hash as a run ran it, for the report's sign-off header: `sha256:` and the hex SHA-256 of the mapping's
 * canonical compiled text. That text is, per planned step in plan order, its source, filter, legacy key and ID
 * numbering (as the plan froze them), and per target its table, key column, condition and each column's SQL (a code()
 * column: its inputs' SQL and its function's source text); then each projection's UPDATE and the cutover's renames.
 * Table names are those before any cutover and no run ID goes in, so every report of one run (before and after its
 * cutover, by migrate or verify) has the same hash, and two runs with the same mapping and numbering do too; a change
 * to what a step writes, or to an alias it resolves through, changes it. Lookups are not in it.
 */
export function mappingHash(mapping: Mapping, steps: readonly Pick<StepPlan, 'name' | 'keyColumn' | 'ids'>[]): string {
  return `sha256:${createHash('sha256').update(canonicalMappingText(mapping, steps)).digest('hex')}`;
}

/** The text mappingHash hashes, one declaration a line. */
function canonicalMappingText(mapping: Mapping, steps: readonly Pick<StepPlan, 'name' | 'keyColumn' | 'ids'>[]): string {
  const names = sourceTableNames(mapping);
  const lines = [`mapping ${mapping.name}`];
  for (const planned of steps) {
    // A plan's step the mapping no longer declares cannot be compiled; it is named, and changes the hash.
    if (mapping.steps[planned.name]) lines.push(...stepLines(compileStep(mapping, planned, { names })));
    else lines.push(`step ${planned.name} not in the mapping`);
  }
  for (const [name, p] of Object.entries(mapping.projections ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`projection ${name}: ${projectionUpdateSql(compileProjection(name, p, names))}`);
  }
  lines.push(`cutover ${JSON.stringify(cutoverChanges(mapping))}`);
  return lines.join('\n') + '\n';
}

function stepLines(step: CompiledStep): string[] {
  const lines = [
    `step ${step.name} ids ${JSON.stringify(step.ids)} key ${step.keySql}`,
    `  from ${step.fromClause}`,
    `  where ${step.where}`,
  ];
  for (const t of step.targets) {
    lines.push(`  target ${t.table} key ${t.keyColumn}${t.when === undefined ? '' : ` when ${t.when}`}`);
    for (const c of t.columns) {
      const value = c.code ? `code(${c.code.inputs.map((i) => `${i.name} = ${i.sql}`).join(', ')}) ${c.code.fn.toString()}` : c.sql;
      lines.push(`    ${c.name} = ${value}`);
    }
  }
  return lines;
}
