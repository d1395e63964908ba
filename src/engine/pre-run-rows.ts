import type { Db } from '../db/connection.ts';
import { recipeOf, sameChecksum, tableChecksum, type ContentChecksum } from '../db/checksum.ts';
import { tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import type { Plan } from '../plan/plan-data.ts';
import type { BackupManifest } from '../backup/manifest.ts';
import type { PreRunTable } from '../verify/check-result.ts';
import type { RenameState } from '../mapping/compile.ts';

/** A step's reserved range in one table. */
export interface ReservedRange {
  step: string;
  first: number;
  last: number;
  keyColumn: string;
}

/** The reserved ranges of a plan, per table. */
export function reservedRanges(plan: Plan | null): Map<string, ReservedRange[]> {
  const byTable = new Map<string, ReservedRange[]>();
  for (const s of plan?.steps ?? []) {
    if (!s.range) continue;
    for (const w of s.writes) {
      if (!byTable.has(w.table)) byTable.set(w.table, []);
      byTable.get(w.table)!.push({ step: s.name, first: s.range.first, last: s.range.last, keyColumn: w.keyColumn });
    }
  }
  return byTable;
}

function outsideRanges(ranges: readonly ReservedRange[]): { conditions: string[]; params: unknown[] } {
  return {
    conditions: ranges.map((r) => `${quoteId(r.keyColumn)} NOT BETWEEN ? AND ?`),
    params: ranges.flatMap((r) => [r.first, r.last]),
  };
}

/** The table's current name and its backed-up columns under their current names. */
function current(pre: PreRunTable, renames: RenameState) {
  const columnRenames = renames.columns.get(pre.name) ?? new Map<string, string>();
  return {
    table: renames.tables.get(pre.name) ?? pre.name,
    // As the backup read them (ENUM and SET by index, a system-versioned table's history), so the checksums compare.
    columns: pre.columns
      .filter((c) => !c.generated)
      .map((c) => ({ name: columnRenames.get(c.name) ?? c.name, dataType: c.dataType, encoding: c.encoding, systemTime: c.systemTime })),
    key: pre.primaryKey.length === 1 ? (columnRenames.get(pre.primaryKey[0]!) ?? pre.primaryKey[0]!) : null,
  };
}

/**
 * Checksum of the rows that existed before the run, as they are now: outside the run's reserved ranges and, for a
 * single-key table, up to the highest key the backup saw (rows others added since lie above it).
 */
export async function preRunRowsChecksum(
  db: Db,
  pre: PreRunTable,
  renames: RenameState,
  ranges: readonly ReservedRange[],
): Promise<ContentChecksum> {
  const { table, columns, key } = current(pre, renames);
  const { conditions, params } = outsideRanges(ranges);
  if (key && pre.maxKey !== null) {
    conditions.push(`${quoteId(key)} <= ?`);
    params.push(pre.maxKey);
  }
  // By the stored checksum's own recipe, so the two compare whatever the server would pick today.
  return tableChecksum(db, table, columns, {
    where: conditions.length ? conditions.join(' AND ') : '1=1',
    params,
    recipe: pre.checksum ? recipeOf(pre.checksum) : undefined,
  });
}

/**
 * Rows added since the backup by someone other than the run: outside its ranges and above the backup's highest key
 * (for a table absent at backup time: every row outside the ranges). Null when the table has no single key to tell.
 */
export async function rowsAddedSince(
  db: Db,
  pre: PreRunTable,
  renames: RenameState,
  ranges: readonly ReservedRange[],
): Promise<number | null> {
  const { table, key } = current(pre, renames);
  const { conditions, params } = outsideRanges(ranges);
  if (pre.exists) {
    // Without a recorded highest key (a key that is not an integer), added rows cannot be told from the others here;
    // the checksum of the pre-run rows (preRunRowsChecksum, over every row then) notices them instead.
    if (!key || (pre.maxKey === null && (pre.checksum?.rows ?? 0) > 0)) return null;
    if (pre.maxKey !== null) {
      conditions.push(`${quoteId(key)} > ?`);
      params.push(pre.maxKey);
    }
  }
  const [row] = await db.query<{ n: string }>(
    `SELECT COUNT(*) AS n FROM ${quoteId(table)}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}`,
    params,
  );
  return Number(row!.n);
}

/** A table whose rows a restore would throw away. */
export interface RowsAtRisk {
  table: string;
  /** Rows neither in the backup nor written by the run. */
  addedRows: number;
  /** Rows that were in the backup and have changed since (not by the run). */
  changed: boolean;
}

/** What restoring `preRun` over the current tables would lose, beyond what the run itself wrote. */
export async function rowsAtRisk(
  db: Db,
  preRun: readonly PreRunTable[],
  renames: RenameState,
  ranges: Map<string, ReservedRange[]>,
): Promise<RowsAtRisk[]> {
  const atRisk: RowsAtRisk[] = [];
  for (const pre of preRun) {
    const table = renames.tables.get(pre.name) ?? pre.name;
    if (!(await tableExists(db, table))) continue;
    const own = ranges.get(pre.name) ?? [];
    const added = (await rowsAddedSince(db, pre, renames, own)) ?? 0;
    const changed =
      pre.exists && pre.checksum !== null ? !sameChecksum(await preRunRowsChecksum(db, pre, renames, own), pre.checksum) : false;
    if (added > 0 || changed) atRisk.push({ table, addedRows: added, changed });
  }
  return atRisk;
}

/** The pre-run facts of each backed-up table, from the backup manifest. */
export function preRunTables(manifest: BackupManifest): PreRunTable[] {
  return manifest.tables.map((t) => ({
    name: t.name,
    exists: t.exists,
    columns: t.columns,
    primaryKey: t.primaryKey,
    maxKey: t.maxKey,
    checksum: t.checksum,
  }));
}
