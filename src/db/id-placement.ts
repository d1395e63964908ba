import type { Db } from './connection.ts';
import { quoteId } from './quote.ts';

export interface IdBlock {
  first: number;
  last: number;
}

export interface PlacementOptions {
  /** Starts are rounded up to a multiple of this. */
  align: number;
  /** Blocks already promised to other steps of the same plan. */
  avoid: readonly IdBlock[];
  /** The table's AUTO_INCREMENT: a block must lie wholly below it, or start at or above it. */
  autoIncrement: number | null;
  /** The key column's largest value. */
  columnMax: bigint;
}

/** The block of IDs wanted: `size` consecutive free IDs of `table`.`key`. */
export interface WantedBlock {
  table: string;
  key: string;
  size: number;
}

/**
 * The lowest block of `size` consecutive free IDs in `table`.`key`, aligned, that avoids the given blocks and does not
 * straddle AUTO_INCREMENT; null when none fits below the column's maximum. The free gaps come from one ordered pass
 * over the key's index on the server (LEAD over the IDs), and only gaps at least `size` long come back.
 */
export async function lowestFreeBlock(db: Db, { table, key, size }: WantedBlock, options: PlacementOptions): Promise<number | null> {
  if (size <= 0) return null;
  const k = quoteId(key);
  // A sentinel 0 makes the space below the lowest ID a gap too; the gap after the highest ID has no end.
  const bounded = await db.query<{ first: string; last: string | null }>(
    `SELECT g.first, g.last FROM (
       SELECT x.id + 1 AS first, LEAD(x.id) OVER (ORDER BY x.id) - 1 AS last
         FROM (SELECT CAST(${k} AS DECIMAL(21,0)) AS id FROM ${quoteId(table)} WHERE ${k} >= 0 UNION ALL SELECT 0) AS x
     ) AS g
     WHERE g.last - g.first + 1 >= ?
     ORDER BY g.first LIMIT 1000`,
    [size],
  );
  const [top] = await db.query<{ hi: string | null }>(`SELECT MAX(${k}) AS hi FROM ${quoteId(table)}`);
  const gaps = [...bounded, { first: String(Number(top?.hi ?? 0) + 1), last: null }];
  const ai = options.autoIncrement;
  for (const gap of gaps) {
    const gapFirst = Number(gap.first);
    const gapLast = gap.last === null ? Number(options.columnMax) : Number(gap.last);
    let start = alignUp(Math.max(gapFirst, 1), options.align);
    for (let guard = 0; guard < 1000; guard++) {
      const end = start + size - 1;
      if (end > gapLast || BigInt(end) > options.columnMax) break;
      if (ai !== null && start < ai && end >= ai) {
        start = alignUp(ai, options.align);
        continue;
      }
      const clash = options.avoid.find((b) => start <= b.last && end >= b.first);
      if (clash) {
        start = alignUp(clash.last + 1, options.align);
        continue;
      }
      return start;
    }
  }
  return null;
}

export const alignUp = (n: number, align: number) => (align > 1 ? Math.ceil(n / align) * align : n);
