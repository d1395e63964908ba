import { sourceTableNames } from './compile.ts';
import type { Mapping } from './define.ts';

/** The tables the mapping's `finalize` alters, by their real (pre-cutover) names: every run backs them up. */
export function finalizeTables(mapping: Mapping): string[] {
  const names = sourceTableNames(mapping);
  return [...new Set((mapping.finalize ?? []).map((c) => names.tableOf(c.table)))];
}

/** How the plan's alteration text marks a drop that `eventshift finalize` does later (not the run). */
const laterByFinalize = '(later, by eventshift finalize)';

/** What the plan shows for finalize: the columns `eventshift finalize` drops later. */
export function finalizeAlterations(mapping: Mapping): Array<{ table: string; change: string }> {
  const names = sourceTableNames(mapping);
  return (mapping.finalize ?? []).map((c) => ({
    table: names.tableOf(c.table),
    change: `drop column ${names.columnOf(c.table, c.column)} ${laterByFinalize}`,
  }));
}

/** Whether a plan's alteration is one of finalizeAlterations' (a stored plan's included): a drop finalize does. */
export function isFinalizeAlteration(alteration: { change?: string }): boolean {
  return alteration.change?.endsWith(laterByFinalize) === true;
}
