import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { backupFolder, tableFile, type BackupColumn, type BackupManifest, type BackupTableEntry } from '../backup/manifest.ts';
import { loadRows } from '../backup/load-rows.ts';
import { withRestoreSession } from '../backup/restore-session.ts';
import { canonicalSql, valueKind } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { describeTable } from '../db/introspect.ts';
import { quoteCharsetName, quoteId } from '../db/quote.ts';
import type { RenameState } from '../mapping/compile.ts';
import type { ReservedRange } from './pre-run-rows.ts';
import { formatCount } from '../format.ts';

/**
 * The rows that existed before a run compared one by one with the backup's copy of them, where a checksum can only
 * say that something differs: the backup's rows of a table are loaded into a TEMPORARY table of this connection and
 * joined to the live table by primary key, value by value (each column's canonical bytes, as the checksum reads it).
 */

/** Where a run's backup is: its folder's parent and its manifest. */
export interface BackupAt {
  dir: string;
  manifest: BackupManifest;
}

/** A pre-run row that is not as the backup has it. */
export interface ChangedRow {
  /** The row's primary key as `column=value`, joined with `, `. */
  key: string;
  /**
   * `changed`: some columns differ (`columns`, with their values before and now); `gone`: deleted; `added`: a row the
   * backup does not have, inside its key range.
   */
  change: 'changed' | 'gone' | 'added';
  columns: Array<{ name: string; before: string | null; now: string | null }>;
}

export interface PreRunDiff {
  /** How many rows differ in all (the rows listed are the first, in key order). */
  count: number;
  rows: ChangedRow[];
}

/** A value shown in a sentence: at most 40 characters of text, or the first 16 bytes in hex. */
function shownSql(expr: string, dataType: string): string {
  return valueKind({ dataType }) === 'binary'
    ? `CONCAT('0x', HEX(LEFT(${expr}, 16)), IF(LENGTH(${expr}) > 16, '...', ''))`
    : `CONCAT(LEFT(CAST(${expr} AS CHAR CHARACTER SET utf8mb4), 40), ` +
        `IF(CHAR_LENGTH(CAST(${expr} AS CHAR CHARACTER SET utf8mb4)) > 40, '...', ''))`;
}

/** A column's value as the bytes the checksum reads: equal exactly when the checksum sees the same value. */
const exactSql = (expr: string, dataType: string) => `CAST(${canonicalSql(expr, valueKind({ dataType }))} AS BINARY)`;

/**
 * Loads the backup's rows of `entry` into a TEMPORARY table of `db` (gone with the connection, dropped after `work`)
 * with the backed-up columns, each in its character set and collation, and primary key, and runs `work` with its name.
 * The collation is the backup's (so keys the table held apart, `a` and `A` under a `_bin` collation, stay apart: LOAD
 * DATA LOCAL would skip a duplicate without a word); a backup that did not record it takes the live column's, under
 * the name `renames` gives the table. Throws, saying why, for a table without a primary key (its rows have no key to
 * be compared by).
 */
export async function withBackedUpRows<T>(
  db: Db,
  { backup, entry, renames }: { backup: BackupAt; entry: BackupTableEntry; renames?: RenameState },
  work: (staged: string) => Promise<T>,
): Promise<T> {
  if (entry.primaryKey.length === 0) {
    throw new Error(`${entry.name} has no primary key, so its rows cannot be matched to the backup's one by one`);
  }
  const staged = `es_pre_${createHash('sha256').update(`${backup.manifest.id}/${entry.name}`).digest('hex').slice(0, 12)}`;
  const columns = entry.columns.filter((c) => !c.generated);
  const live = new Map<string, string | null>();
  if (columns.some((c) => c.charset && c.collation === undefined)) {
    const names = liveNames(entry, renames ?? { tables: new Map(), columns: new Map(), done: true });
    const described = (await describeTable(db, names.table))?.columns ?? [];
    for (const col of names.columns) {
      const found = described.find((r) => r.name === col.live);
      if (found && found.charset === columns.find((c) => c.name === col.name)?.charset) live.set(col.name, found.collation ?? null);
    }
  }
  const collation = (c: BackupColumn) => c.collation ?? live.get(c.name) ?? null;
  const definition = columns.map(
    (c) =>
      `${quoteId(c.name)} ${c.columnType}` +
      `${c.charset ? ` CHARACTER SET ${quoteCharsetName(c.charset)}` : ''}` +
      `${c.charset && collation(c) ? ` COLLATE ${quoteCharsetName(collation(c)!)}` : ''} NULL`,
  );
  await db.execute(`DROP TEMPORARY TABLE IF EXISTS ${quoteId(staged)}`);
  const primaryKey = `PRIMARY KEY (${entry.primaryKey.map(quoteId).join(', ')})`;
  await db.execute(`CREATE TEMPORARY TABLE ${quoteId(staged)} (${[...definition, primaryKey].join(', ')}) ENGINE=InnoDB`);
  try {
    const file = tableFile(entry, 'rows');
    const path = join(backupFolder(backup.dir, backup.manifest.id), file.name);
    await withRestoreSession(db, () => loadRows(db, { table: staged, columns, path, file }, { label: entry.name, totalRows: entry.rows }));
    return await work(staged);
  } finally {
    await db.execute(`DROP TEMPORARY TABLE IF EXISTS ${quoteId(staged)}`).catch(() => undefined);
  }
}

/** The live table's name and columns of a backed-up table, after the cutover renames that have happened. */
function liveNames(entry: BackupTableEntry, renames: RenameState) {
  const columnRenames = renames.columns.get(entry.name) ?? new Map<string, string>();
  const live = (c: string) => columnRenames.get(c) ?? c;
  return {
    table: renames.tables.get(entry.name) ?? entry.name,
    columns: entry.columns.filter((c) => !c.generated).map((c) => ({ name: c.name, live: live(c.name), dataType: c.dataType })),
    key: entry.primaryKey.map((k) => ({ name: k, live: live(k) })),
  };
}

/** How many differing pre-run rows verify's `unchanged` check and rollback name (both count them all). */
export const unchangedRowLimit = 10;

/** The backup's rows of a table (`entry`), loaded as `staged` by withBackedUpRows, to compare with the live table. */
export interface StagedBackupRows {
  entry: BackupTableEntry;
  staged: string;
  /** The run's reserved ranges of the table: its own rows, left out. */
  ranges: readonly ReservedRange[];
}

/**
 * The pre-run rows of `entry` that differ from the backup: changed, gone, or added inside the backup's key range
 * (outside the run's reserved ranges, up to its highest key, as preRunRowsChecksum reads them), the first `limit`
 * of each in key order, and how many in all. `staged` is the backup's rows (withBackedUpRows).
 */
export async function preRunDifferences(db: Db, rows: StagedBackupRows & { renames: RenameState; limit: number }): Promise<PreRunDiff> {
  const { limit } = rows;
  const { columns, key, differs, gone, changedFrom, addedFrom, p, c } = differenceSql(rows);
  const keyList = (alias: string, named: 'name' | 'live') => key.map((k, i) => `${alias}.${quoteId(k[named])} AS k${i}`).join(', ');
  const order = key.map((_, i) => `k${i}`).join(', ');
  const [counted] = await db.query<{ changed: string; added: string }>(
    `SELECT (SELECT COUNT(*) ${changedFrom}) AS changed, (SELECT COUNT(*) ${addedFrom}) AS added`,
  );
  const changed = await db.query<Record<string, unknown>>(
    `SELECT ${keyList(p, 'name')}, ${gone} AS gone, ${columns
      .map(
        (col, i) =>
          `${differs[i]} AS d${i}, ` +
          `${shownSql(`${p}.${quoteId(col.name)}`, col.dataType)} AS b${i}, ` +
          `${shownSql(`${c}.${quoteId(col.live)}`, col.dataType)} AS a${i}`,
      )
      .join(', ')} ` + `${changedFrom} ORDER BY ${order} LIMIT ${limit}`,
  );
  const added = await db.query<Record<string, unknown>>(`SELECT ${keyList(c, 'live')} ${addedFrom} ORDER BY ${order} LIMIT ${limit}`);
  const keyText = (row: Record<string, unknown>) => key.map((k, i) => `${k.live}=${shown(row[`k${i}`])}`).join(', ');
  return {
    count: Number(counted!.changed) + Number(counted!.added),
    rows: [
      ...changed.map((row): ChangedRow =>
        Number(row.gone) === 1
          ? { key: keyText(row), change: 'gone', columns: [] }
          : {
              key: keyText(row),
              change: 'changed',
              columns: columns.flatMap((col, i) =>
                Number(row[`d${i}`]) === 1 ? [{ name: col.live, before: text(row[`b${i}`]), now: text(row[`a${i}`]) }] : [],
              ),
            },
      ),
      ...added.map((row): ChangedRow => ({ key: keyText(row), change: 'added', columns: [] })),
    ],
  };
}

/**
 * The FROM ... WHERE of the backup's rows that are gone or changed (`changedFrom`, the backup's side as `p`), and of
 * the live rows in its key range that it does not have (`addedFrom`, the live side as `c`).
 */
function differenceSql({ entry, staged, renames, ranges }: StagedBackupRows & { renames: RenameState }) {
  const { table, columns, key } = liveNames(entry, renames);
  const p = quoteId('es_p');
  const c = quoteId('es_c');
  const join = key.map((k) => `${p}.${quoteId(k.name)} <=> ${c}.${quoteId(k.live)}`).join(' AND ');
  const differs = columns.map(
    (col) => `NOT (${exactSql(`${p}.${quoteId(col.name)}`, col.dataType)} <=> ${exactSql(`${c}.${quoteId(col.live)}`, col.dataType)})`,
  );
  const inRange = [
    ...ranges.map((r) => `${c}.${quoteId(r.keyColumn)} NOT BETWEEN ${Number(r.first)} AND ${Number(r.last)}`),
    ...(key.length === 1 && entry.maxKey !== null ? [`${c}.${quoteId(key[0]!.live)} <= ${entry.maxKey}`] : []),
  ];
  const live = `${quoteId(table)} AS ${c}`;
  const gone = `${c}.${quoteId(key[0]!.live)} IS NULL`;
  const changedFrom =
    `FROM ${quoteId(staged)} AS ${p} LEFT JOIN ${live} ON ${join}` +
    `${inRange.length ? ` AND ${inRange.join(' AND ')}` : ''} WHERE ${gone} OR ${differs.join(' OR ')}`;
  const addedFrom =
    `FROM ${live} LEFT JOIN ${quoteId(staged)} AS ${p} ON ${join} WHERE ${p}.${quoteId(key[0]!.name)} IS NULL` +
    `${inRange.length ? ` AND ${inRange.join(' AND ')}` : ''}`;
  return { columns, key, differs, gone, changedFrom, addedFrom, p, c };
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
const shown = (v: unknown) => (Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : String(v));

/** A changed row as a sentence: `last_update differs: 2006-02-15 04:57:20 before the run, 2030-01-01 00:00:00 now`. */
export function describeChangedRow(row: ChangedRow): string {
  if (row.change === 'gone') return 'deleted since the backup';
  if (row.change === 'added') return 'not in the backup, though inside its key range';
  const values = row.columns
    .slice(0, 3)
    .map((c) => `${c.name} ${c.before ?? 'NULL'} -> ${c.now ?? 'NULL'}`)
    .join('; ');
  const more = row.columns.length > 3 ? `; and ${formatCount(row.columns.length - 3)} more` : '';
  const names = row.columns.map((c) => c.name).join(', ');
  return `${names} ${row.columns.length === 1 ? 'differs' : 'differ'} from the backup (${values}${more})`;
}

/**
 * Puts back, from the backup's rows (`staged`), the `ON UPDATE` columns (`onUpdate`) of the pre-run rows of `entry`
 * that differ from the backup in those columns only: what an UPDATE of the run that did not keep them (a run of a
 * version before fills kept them) did to rows it changed nothing else of, and nobody else can have done without
 * changing another column too. Rows that differ in other columns are others' writes, and are left as they are.
 * `entry`'s table must be under its own name, as the backup has it. Returns how many rows it put back.
 */
export async function putBackOnUpdateValues(
  db: Db,
  { entry, staged, ranges, onUpdate }: StagedBackupRows & { onUpdate: readonly string[] },
): Promise<number> {
  const columns = entry.columns.filter((c) => !c.generated);
  const stamps = columns.filter((c) => onUpdate.includes(c.name));
  const others = columns.filter((c) => !onUpdate.includes(c.name));
  if (stamps.length === 0 || entry.primaryKey.length === 0) return 0;
  const p = quoteId('es_p');
  const c = quoteId('es_c');
  const same = (col: { name: string; dataType: string }) =>
    `${exactSql(`${p}.${quoteId(col.name)}`, col.dataType)} <=> ${exactSql(`${c}.${quoteId(col.name)}`, col.dataType)}`;
  const conditions = [
    ...others.map(same),
    `NOT (${stamps.map(same).join(' AND ')})`,
    ...ranges.map((r) => `${c}.${quoteId(r.keyColumn)} NOT BETWEEN ${Number(r.first)} AND ${Number(r.last)}`),
  ];
  const { affectedRows } = await db.execute(
    `UPDATE ${quoteId(entry.name)} AS ${c} JOIN ${quoteId(staged)} AS ${p} ` +
      `ON ${entry.primaryKey.map((k) => `${p}.${quoteId(k)} <=> ${c}.${quoteId(k)}`).join(' AND ')}\n` +
      `SET ${stamps.map((col) => `${c}.${quoteId(col.name)} = ${p}.${quoteId(col.name)}`).join(', ')}\nWHERE ${conditions.join(' AND ')}`,
  );
  return affectedRows;
}
