import type { Db } from './connection.ts';
import { quoteId } from './quote.ts';

/** A run of occupied IDs: first..last, holding `rows` IDs (fewer than the span when small gaps were merged into it). */
export interface IdRun {
  first: number;
  last: number;
  rows: number;
}

/** Free IDs first..last between two runs. */
export interface IdGap {
  first: number;
  last: number;
}

/** Where a table's integer key is used and where it is free, between its lowest and highest ID. */
export interface IdIslands {
  /** Occupied runs in ID order; at most `limit`: beyond that, runs separated by the smallest gaps are merged. */
  runs: IdRun[];
  /** The free gaps between the runs above, in ID order (the largest ones, when runs were merged). */
  gaps: IdGap[];
  /** The exact number of runs of consecutive IDs in the table. */
  runCount: number;
  /** The exact number of free gaps between them (runCount - 1, or 0 for an empty table). */
  gapCount: number;
}

export const defaultIslandLimit = 50;

/**
 * Gaps and islands of `table`.`key`, on the server: consecutive IDs share `ID - ROW_NUMBER() OVER (ORDER BY ID)`.
 * Only counts, the largest `limit - 1` gaps and `limit` runs come back, whatever the table's size.
 */
export async function idIslands(db: Db, table: string, key: string, limit = defaultIslandLimit): Promise<IdIslands> {
  const k = quoteId(key);
  const t = quoteId(table);
  // DECIMAL, so neither a key of 0 nor a negative key nor BIGINT UNSIGNED overflows the subtraction.
  const grp = `CAST(${k} AS DECIMAL(21,0)) - ROW_NUMBER() OVER (ORDER BY ${k})`;
  const grouped = `SELECT ${k} AS id, ${grp} AS grp FROM ${t} WHERE ${k} IS NOT NULL`;
  const islands = `SELECT MIN(g.id) AS lo, MAX(g.id) AS hi, COUNT(*) AS n FROM (${grouped}) AS g GROUP BY g.grp`;
  const [count] = await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM (${islands}) AS i`);
  const runCount = Number(count!.n);
  if (runCount === 0) return { runs: [], gaps: [], runCount: 0, gapCount: 0 };

  let runs: IdRun[];
  if (runCount <= limit) {
    const rows = await db.query<{ lo: string; hi: string; n: string }>(`${islands} ORDER BY lo`);
    runs = rows.map((r) => ({ first: Number(r.lo), last: Number(r.hi), rows: Number(r.n) }));
  } else {
    const kept = await db.query<{ lo: string }>(
      `SELECT i.lo FROM (SELECT x.lo, LAG(x.hi) OVER (ORDER BY x.lo) AS before_gap FROM (${islands}) AS x) AS i
        WHERE i.before_gap IS NOT NULL ORDER BY i.lo - i.before_gap DESC, i.lo LIMIT ${Math.max(0, limit - 1)}`,
    );
    const starts = kept.map((r) => Number(r.lo)).sort((a, b) => a - b);
    // INTERVAL(id, s1, s2, ...) numbers the merged run an ID falls in: 0 below s1, 1 from s1 to s2, ...
    const bucket = starts.length === 0 ? '0' : `INTERVAL(${k}, ${starts.join(', ')})`;
    const rows = await db.query<{ lo: string; hi: string; n: string }>(
      `SELECT MIN(${k}) AS lo, MAX(${k}) AS hi, COUNT(*) AS n FROM ${t} WHERE ${k} IS NOT NULL GROUP BY ${bucket} ORDER BY lo`,
    );
    runs = rows.map((r) => ({ first: Number(r.lo), last: Number(r.hi), rows: Number(r.n) }));
  }
  const gaps = runs.slice(1).map((run, i) => ({ first: runs[i]!.last + 1, last: run.first - 1 }));
  return { runs, gaps, runCount, gapCount: runCount - 1 };
}
