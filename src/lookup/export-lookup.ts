import { quoteId } from '../db/quote.ts';
import type { PatchFile } from '../export/patch-file.ts';
import { keptAsTheyAre, sourceTableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import { addColumnSql, autoIncrementSql, dropColumnSql } from '../mapping/schema-statements.ts';
import type { Plan } from '../plan/plan-data.ts';
import { compilePlannedLookup, createAllSql, fillChunkSql } from './compile-lookup.ts';
import { formatCount } from '../format.ts';

/**
 * The patches of a plan's lookups for `eventshift sql`: add the reference columns, create the missing lookup rows (one
 * set-based INSERT ... SELECT numbering them as a run would), then fill each reference (one UPDATE ... JOIN per table).
 * A run does the same in journaled batches and chunks.
 */
export function lookupPatches(
  mapping: Mapping,
  plan: Plan,
  /** A table's `ON UPDATE` columns: the fills and their rollbacks set them to themselves, so they keep their values. */
  keepOf: (table: string) => readonly string[] = () => [],
): Array<Omit<PatchFile, 'name'> & { stem: string }> {
  const names = sourceTableNames(mapping);
  const files: Array<Omit<PatchFile, 'name'> & { stem: string }> = [];
  for (const planned of plan.lookups ?? []) {
    // A lookup the plan could not count (it refuses, saying why) has nothing to export.
    if (planned.sources.length === 0) continue;
    const l = compilePlannedLookup(mapping, planned, names);
    for (const s of l.sources) {
      files.push({
        kind: 'column',
        stem: `patch-${s.table}-${s.reference.name}`,
        table: s.table,
        description: `add ${s.reference.name} to ${s.table} (lookup ${l.name})`,
        expectedRows: null,
        locks: 'brief metadata lock (instant ADD COLUMN on MariaDB 10.4+ and MySQL 8.0.29+; otherwise a table rebuild)',
        statements: [addColumnSql(s.table, s.reference)],
        rollback: [dropColumnSql(s.table, s.reference.name)],
      });
    }
    const first = BigInt(planned.maxIdBefore ?? '0') + 1n;
    files.push({
      kind: 'data',
      stem: `data-${l.name}-create`,
      table: l.table,
      description:
        `create the ${formatCount(planned.create)} missing ${l.table} row(s) ` +
        `(lookup ${l.name}; ${formatCount(planned.reuse)} exist already)`,
      expectedRows: planned.create,
      locks: `row locks on the ${l.table} rows inserted; shared locks on the source rows read`,
      statements: [createAllSql(l, planned.conflictedKeys, first)],
      rollback: [
        `DELETE FROM ${quoteId(l.table)} WHERE ${quoteId(l.idColumn)} BETWEEN ${first} AND ${first + BigInt(planned.create) - 1n}`,
        ...(planned.autoIncrementBefore === null ? [] : [autoIncrementSql(l.table, planned.autoIncrementBefore)]),
      ],
    });
    for (const s of l.sources) {
      const p = planned.sources.find((x) => x.alias === s.alias)!;
      files.push({
        kind: 'data',
        stem: `data-${l.name}-${s.table}`,
        table: s.table,
        description: `fill ${s.table}.${s.reference.name} (lookup ${l.name})`,
        expectedRows: p.fill,
        locks: `row locks on the ${s.table} rows updated`,
        statements: [fillChunkSql(l, s, { conflicted: planned.conflictedKeys, bounds: 'all', keep: keepOf(s.table) })],
        rollback: [`UPDATE ${quoteId(s.table)} SET ${quoteId(s.reference.name)} = 0${keptAsTheyAre(null, keepOf(s.table))}`],
      });
    }
  }
  return files;
}
