import type { Db } from '../db/connection.ts';
import { sameChecksum } from '../db/checksum.ts';
import { quoteId } from '../db/quote.ts';
import type { RenameState } from '../mapping/compile.ts';
import type { Plan } from '../plan/plan-data.ts';
import { describeChangedRow, preRunDifferences, unchangedRowLimit, withBackedUpRows, type BackupAt } from '../engine/pre-run-diff.ts';
import { preRunRowsChecksum, reservedRanges, type ReservedRange } from '../engine/pre-run-rows.ts';
import type { PreRunTable } from '../verify/check-result.ts';
import type { Check, CheckScope, CheckWork } from './part.ts';
import { formatCount } from '../format.ts';

/**
 * The checks of the rows around the run's: a table the run created holds only rows in its reserved ranges (or the
 * application's own, above its AUTO_INCREMENT), and every backed-up table's pre-run rows are as the backup has them.
 */
export function preRunChecks(v: CheckScope): CheckWork[] {
  const work: CheckWork[] = [];
  const rangesByTable = reservedRanges(v.plan);
  for (const [table, ranges] of rangesByTable) {
    const pre = v.preRun.find((t) => t.name === table);
    const floor = applicationFloor(v.plan, ranges);
    if (pre && !pre.exists)
      work.push({ weight: 1, rows: 0, run: async (db) => [await onlyRangesCheck(db, { table, ranges, floor, limit: v.limit })] });
  }
  for (const pre of v.preRun) {
    if (!pre.exists || !pre.checksum) continue;
    const unchanged = { pre, renames: v.renames, ranges: rangesByTable.get(pre.name) ?? [], backup: v.backup };
    work.push({ weight: 1, rows: pre.checksum.rows, run: async (db) => [await unchangedCheck(db, unchanged)] });
  }
  return work;
}

/** A table the run created, its reserved ranges, where the application's IDs begin, and failures named at most. */
interface RangesCheck {
  table: string;
  ranges: readonly ReservedRange[];
  floor: number | null;
  limit: number;
}

/** A table the run created holds only rows inside the reserved ranges. */
async function onlyRangesCheck(db: Db, { table, ranges, floor, limit }: RangesCheck): Promise<Check> {
  const key = quoteId(ranges[0]!.keyColumn);
  const conditions = ranges.map(() => `${key} NOT BETWEEN ? AND ?`);
  const params: number[] = ranges.flatMap((r) => [r.first, r.last]);
  if (floor !== null) {
    conditions.push(`${key} < ?`);
    params.push(floor);
  }
  const rows = await db.query<{ id: string }>(
    `SELECT ${key} AS id FROM ${quoteId(table)} WHERE ${conditions.join(' AND ')} ORDER BY ${key} LIMIT ${limit + 1}`,
    params,
  );
  return {
    id: `${table}.range`,
    kind: 'range',
    table,
    title: `${table}: every row${floor === null ? '' : ` below ${floor} (where the application's IDs begin)`} lies inside a reserved range`,
    ok: rows.length === 0,
    failures: rows.slice(0, limit).map((r) => ({ key: String(r.id), reason: 'outside every reserved range' })),
    failureCount: rows.length,
  };
}

/**
 * Where the application's own new IDs begin: the ID table's AUTO_INCREMENT when the run was planned. Rows the
 * application adds meanwhile (to a table the run created, for its own events) lie at or above it, before and after
 * any raise, so they are not the run's and not a failure; null when the ID table has no AUTO_INCREMENT.
 */
function applicationFloor(plan: Plan, ranges: readonly ReservedRange[]): number | null {
  const step = plan.steps.find((s) => s.name === ranges[0]!.step);
  const space = plan.idSpace.find((x) => x.table === step?.range?.table);
  return space?.hasAutoIncrement ? space.autoIncrement : null;
}

/** A backed-up table, the renames that have happened, the run's own ranges in it, and the backup to name rows from. */
interface UnchangedCheck {
  pre: PreRunTable;
  renames: RenameState;
  ranges: readonly ReservedRange[];
  backup: BackupAt | undefined;
}

/** Rows that existed before the run (outside the reserved ranges, up to the backup's highest key) are unchanged. */
async function unchangedCheck(db: Db, { pre, renames, ranges, backup }: UnchangedCheck): Promise<Check> {
  const table = renames.tables.get(pre.name) ?? pre.name;
  const now = await preRunRowsChecksum(db, pre, renames, ranges);
  const ok = sameChecksum(now, pre.checksum!);
  const base = {
    id: `${pre.name}.unchanged`,
    kind: 'unchanged' as const,
    table,
    title: `${table}: the ${formatCount(pre.checksum!.rows)} row(s) that existed before the run are unchanged`,
    ok,
    expected: `${formatCount(pre.checksum!.rows)} rows, sum ${pre.checksum!.hash}`,
    actual: `${formatCount(now.rows)} rows, sum ${now.hash}`,
  };
  if (ok) return { ...base, failures: [], failureCount: 0 };
  const checksumOnly = (why: string) => ({
    ...base,
    failureCount: 1,
    failures: [
      {
        key: '*',
        reason: `checksum differs from the backup (${formatCount(now.rows)} vs ${formatCount(pre.checksum!.rows)} rows); ${why}`,
      },
    ],
  });
  const entry = backup?.manifest.tables.find((t) => t.name === pre.name);
  if (!backup || !entry?.exists) return checksumOnly('the backup is not at hand to name the rows');
  if (entry.primaryKey.length === 0) return checksumOnly('the table has no primary key to name its rows by');
  // Which rows and columns: the backup's rows loaded beside the table and compared row by row.
  const diff = await withBackedUpRows(db, { backup, entry, renames }, (staged) =>
    preRunDifferences(db, { entry, staged, renames, ranges, limit: unchangedRowLimit }),
  ).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  if (diff instanceof Error) return checksumOnly(`the rows could not be compared with the backup's: ${diff.message}`);
  if (diff.count === 0) {
    return checksumOnly(
      "no row differs from the backup's by primary key and value, so the difference is in rows the checksum reads " +
        'and the comparison does not',
    );
  }
  return { ...base, failures: diff.rows.map((r) => ({ key: r.key, reason: describeChangedRow(r) })), failureCount: diff.count };
}
