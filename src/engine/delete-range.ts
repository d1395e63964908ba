import type { Db } from '../db/connection.ts';
import { deleteKeyRangeSql } from '../mapping/schema-statements.ts';
import { bigintKeys, integerKeys, runChunks } from './chunks.ts';

/** A range of IDs a run wrote: `first`..`last` of `keyColumn` in `table`, as BigInts when they may pass 2^53. */
export interface DeletedRange {
  table: string;
  keyColumn: string;
  first: number | bigint;
  last: number | bigint;
  /** Keys per DELETE statement (each commits on its own). */
  chunkKeys: number;
}

/** Deletes the rows in `range` (rollback's undo of a reserved range or of a block of IDs); returns how many. */
export async function deleteKeyRange(db: Db, range: DeletedRange): Promise<number> {
  const sql = deleteKeyRangeSql(range.table, range.keyColumn);
  const size = { fixed: range.chunkKeys };
  const { first, last } = range;
  const done =
    typeof first === 'bigint' || typeof last === 'bigint'
      ? await runChunks({
          db,
          keys: bigintKeys(BigInt(first), BigInt(last)),
          size,
          work: async ({ lo, hi }) => (await db.execute(sql, [lo.toString(), hi.toString()])).affectedRows,
        })
      : await runChunks({
          db,
          keys: integerKeys(first, last),
          size,
          work: async ({ lo, hi }) => (await db.execute(sql, [lo, hi])).affectedRows,
        });
  return done.rows;
}
