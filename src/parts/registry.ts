import { autoIncrementPart } from './auto-increment.ts';
import { createTablesPart } from './create-tables.ts';
import { csvLoadsPart } from './csv-loads.ts';
import { lookupsPart } from './lookups.ts';
import type { Part, PartKind } from './part.ts';
import { preRunRowsPart } from './pre-run-rows.ts';
import { projectionsPart } from './projections.ts';
import { renamesPart } from './renames.ts';
import { stepsPart } from './steps.ts';

/**
 * Every part of a run, in the order migrate writes them: CSV sources loaded, tables created, AUTO_INCREMENT raised,
 * steps written, projections filled, lookups written; then the cutover's renames, and the comparison with the backup
 * (which writes nothing). Each part does nothing for a run that has none of its kind. A new kind is one module here
 * and one line in this list (and in the orders below that differ from it).
 */
export function partsOf(): readonly Part[] {
  return parts;
}

const parts: readonly Part[] = [
  csvLoadsPart,
  createTablesPart,
  autoIncrementPart,
  stepsPart,
  projectionsPart,
  lookupsPart,
  renamesPart,
  preRunRowsPart,
];

/**
 * The order rollback undoes the parts in. It is not the write order reversed, and stays as rollback always did it:
 * renames back, added columns dropped, then the rows deleted (steps, then lookups, which may read what steps wrote),
 * then the pre-run rows compared with the backup while the tables are still there, and only then what the run
 * created removed (its tables when empty, AUTO_INCREMENT set back, CSV staging tables dropped).
 */
export const undoOrder: readonly PartKind[] = [
  'renames',
  'projections',
  'steps',
  'lookups',
  'preRunRows',
  'create',
  'autoIncrement',
  'csv',
];

/** `parts` in the order `order` names their kinds; a part that `has` the verb must be named there (a new kind's reminder). */
export function inOrder(parts: readonly Part[], order: readonly PartKind[], has: (part: Part) => boolean): Part[] {
  const missing = parts.filter((p) => has(p) && !order.includes(p.kind));
  if (missing.length > 0) throw new Error(`no place in the order for part(s) ${missing.map((p) => p.kind).join(', ')}`);
  return order.flatMap((kind) => parts.filter((p) => p.kind === kind));
}
