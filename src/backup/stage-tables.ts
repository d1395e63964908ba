import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recipeOf, sameChecksum, tableChecksum, type ContentChecksum } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import { EventshiftError, refusal } from '../errors.ts';
import { renameCreateStatement, withoutForeignKeys } from './create-statement.ts';
import { loadRows } from './load-rows.ts';
import { tableFile, type BackupManifest, type BackupTableEntry } from './manifest.ts';
import type { BackupProgress } from './progress.ts';
import { writtenColumns } from './row-statements.ts';

/**
 * How a table was put back:
 * - `swap`: loaded and verified under a temporary name, then swapped in by one atomic RENAME TABLE for all such tables.
 * - `copy`: for tables with foreign keys, or referenced by other tables' foreign keys (a RENAME would re-point or
 *   clash with them): loaded and verified under a temporary name without its foreign keys, then the real table is
 *   dropped, recreated from the saved statement and filled from the verified copy, and verified again.
 */
export type RestoreMethod = 'swap' | 'copy';

/** A table loaded and verified under its staging name, ready to be put in place. */
export interface StagedTable {
  entry: BackupTableEntry & { checksum: ContentChecksum };
  createStatement: string;
  staging: string;
  trash: string;
  method: RestoreMethod;
  loadWarnings: number;
}

/** Short temporary names (a table name may already use all 64 characters), unique per backup and table. */
function temporaryNames(id: string, index: number, name: string): { staging: string; trash: string } {
  const hash = createHash('sha256').update(`${id}/${name}`, 'utf8').digest('hex').slice(0, 8);
  return { staging: `_es_restore_${index + 1}_${hash}`, trash: `_es_trash_${index + 1}_${hash}` };
}

/**
 * Phase 1: every table loaded and verified under its staging name. Any failure drops them all: nothing has changed.
 * With a `verifier` (another connection to the same database), large tables are checksummed in two halves at once.
 */
export async function stageAll(
  db: Db,
  folder: string,
  manifest: BackupManifest,
  entries: BackupTableEntry[],
  onProgress: ((progress: BackupProgress) => void) | undefined,
  log: (line: string) => void,
  verifier?: Db,
): Promise<StagedTable[]> {
  const staged: StagedTable[] = [];
  const created: string[] = [];
  try {
    for (const entry of entries) {
      if (!entry.exists) continue;
      const names = temporaryNames(manifest.id, manifest.tables.indexOf(entry), entry.name);
      created.push(names.staging);
      const loaded = await loadTable(db, folder, manifest.id, entry, names, onProgress);
      await verifyTable(db, verifier, manifest.id, loaded);
      staged.push(loaded.table);
      log(`Loaded ${entry.name} as ${loaded.table.staging}: ${entry.rows} row(s), checksum verified.`);
    }
    return staged;
  } catch (error) {
    for (const name of created) await db.execute(`DROP TABLE IF EXISTS ${quoteId(name)}`).catch(() => undefined);
    if (error instanceof EventshiftError && error.kind === 'refused') throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new EventshiftError(error instanceof EventshiftError ? error.kind : 'internal',
      `Restore of backup ${manifest.id} failed while loading its tables, before any table was replaced; nothing was changed: ${message}`,
      { subject: error instanceof EventshiftError ? error.subject : manifest.id, cause: error });
  }
}

/** A table loaded under its staging name, not yet verified. */
interface LoadedTable {
  table: StagedTable;
  warningMessages: string[];
}

async function loadTable(
  db: Db,
  folder: string,
  id: string,
  entry: BackupTableEntry,
  names: { staging: string; trash: string },
  onProgress: ((progress: BackupProgress) => void) | undefined,
): Promise<LoadedTable> {
  const checksum = entry.checksum;
  if (!checksum) throw refusal(`Backup ${id} records no checksum for table ${entry.name}.`, { subject: entry.name });
  const createStatement = await readCreateStatement(folder, id, entry);
  const referenced = await isReferencedByOthers(db, entry.name);
  const method: RestoreMethod = entry.foreignKeys.length > 0 || referenced ? 'copy' : 'swap';
  const s: StagedTable = { entry: { ...entry, checksum }, createStatement, ...names, method, loadWarnings: 0 };
  const stripped = withoutForeignKeys(createStatement);
  if (stripped.removed !== entry.foreignKeys.length) {
    throw new EventshiftError('internal', `The saved definition of table ${entry.name} has ${stripped.removed} foreign key clause(s) where the manifest lists ${entry.foreignKeys.length}; it cannot be staged safely.`, { subject: entry.name });
  }
  await db.execute(`DROP TABLE IF EXISTS ${quoteId(s.staging)}, ${quoteId(s.trash)}`);
  await db.execute(renameCreateStatement(stripped.sql, entry.name, s.staging));
  const file = tableFile(entry, 'rows');
  const loaded = await loadRows(db, s.staging, entry.columns, join(folder, file.name), file, { label: entry.name, totalRows: entry.rows, onProgress });
  s.loadWarnings = loaded.warnings;
  if (loaded.sha256 !== file.sha256 || loaded.bytes !== file.bytes) {
    throw refusal(`File ${file.name} of table ${entry.name} changed after backup ${id} was checked (SHA-256 ${loaded.sha256}, expected ${file.sha256}); nothing was changed.`, { subject: entry.name });
  }
  return { table: s, warningMessages: loaded.warningMessages };
}

async function verifyTable(db: Db, verifier: Db | undefined, id: string, loaded: LoadedTable): Promise<void> {
  const { entry, staging } = loaded.table;
  const checksum = entry.checksum;
  const actual = await stagedChecksum(db, verifier, staging, entry);
  if (!sameChecksum(actual, checksum)) {
    const warnings = loaded.warningMessages.length > 0 ? ` Server warnings while loading: ${loaded.warningMessages.join('; ')}.` : '';
    throw refusal(
      `The rows loaded from backup ${id} for table ${entry.name} do not match the backup's checksum ` +
        `(expected ${checksum.rows} rows, hash ${checksum.hash}; loaded ${actual.rows} rows, hash ${actual.hash}), so no table was replaced and nothing was changed.${warnings}`,
      { subject: entry.name, details: { expected: checksum, actual, warnings: loaded.warningMessages } },
    );
  }
}

/** Tables with fewer rows are checksummed on one connection: splitting them would not pay. */
const SPLIT_FROM_ROWS = 10_000;

/**
 * tableChecksum of a staging table. The checksum is a count and a SUM, so it adds up over disjoint sets of rows: with
 * a second connection, a large table with a single-column integer key (the manifest records its `maxKey`) is
 * checksummed as two key ranges at once, one on each connection, and the two results are added. Nothing else
 * writes to a staging table, so both connections read the same rows.
 */
async function stagedChecksum(db: Db, verifier: Db | undefined, staging: string, entry: BackupTableEntry): Promise<ContentChecksum> {
  const columns = writtenColumns(entry.columns);
  const key = entry.primaryKey[0];
  // By the recipe the backup used, whatever the server would pick for a new checksum.
  const recipe = entry.checksum ? recipeOf(entry.checksum) : undefined;
  if (!verifier || entry.maxKey === null || key === undefined || entry.primaryKey.length !== 1 || entry.rows < SPLIT_FROM_ROWS) {
    return tableChecksum(db, staging, columns, '1=1', [], recipe);
  }
  const [range] = await db.query<{ lo: string | number | null; hi: string | number | null }>(
    `SELECT MIN(${quoteId(key)}) AS lo, MAX(${quoteId(key)}) AS hi FROM ${quoteId(staging)}`,
  );
  if (range?.lo == null || range.hi == null) return tableChecksum(db, staging, columns, '1=1', [], recipe);
  // An integer literal (no parameter, which would be compared as a string or a double): exact for any BIGINT.
  const middle = ((BigInt(range.lo) + BigInt(range.hi)) / 2n).toString();
  const halves = await Promise.allSettled([
    tableChecksum(db, staging, columns, `${quoteId(key)} <= ${middle}`, [], recipe),
    tableChecksum(verifier, staging, columns, `${quoteId(key)} > ${middle}`, [], recipe),
  ]);
  const failed = halves.find((h) => h.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const [low, high] = halves.map((h) => (h as PromiseFulfilledResult<ContentChecksum>).value) as [ContentChecksum, ContentChecksum];
  return { rows: low.rows + high.rows, hash: (BigInt(low.hash) + BigInt(high.hash)).toString(), recipe: low.recipe };
}

async function readCreateStatement(folder: string, id: string, entry: BackupTableEntry): Promise<string> {
  const file = tableFile(entry, 'schema');
  const bytes = await readFile(join(folder, file.name));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const text = bytes.toString('utf8');
  if (sha256 !== file.sha256 || !text.endsWith(';\n')) {
    throw refusal(`File ${file.name} of table ${entry.name} changed after backup ${id} was checked; nothing was changed.`, { subject: entry.name });
  }
  return text.slice(0, -2);
}

/** Whether another table's foreign key references `table` now: a RENAME would re-point it, so such tables are copied. */
async function isReferencedByOthers(db: Db, table: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ? AND NOT (CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?) LIMIT 1`,
    [db.database, table, db.database, table],
  );
  return rows.length > 0;
}
