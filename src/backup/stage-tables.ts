import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recipeOf, sameChecksum, tableChecksum, type ContentChecksum } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import { EventshiftError, refusal } from '../errors.ts';
import { renameCreateStatement, withoutForeignKeys } from './create-statement.ts';
import { withoutSequenceDefaults, type SequenceDefault } from './sequence-defaults.ts';
import { restoredKind } from './table-kind.ts';
import { columnValueSums, differingSums } from './value-sums.ts';
import { loadRows } from './load-rows.ts';
import { tableFile, type BackupManifest, type BackupTableEntry } from './manifest.ts';
import type { BackupProgress } from './progress.ts';
import { writtenColumns } from './row-statements.ts';
import { formatCount } from '../format.ts';

/**
 * How a table was put back. `swap`: loaded and verified under a temporary name without its foreign keys, then put in
 * place by the one atomic RENAME TABLE of all the backup's tables; its foreign keys are added after that (see
 * foreign-keys.ts for why).
 */
export type RestoreMethod = 'swap';

/** A table loaded and verified under its staging name, ready to be put in place. */
export interface StagedTable {
  /** The backup's entry; its checksum is null only for a `definition-only` table, which holds no rows of its own. */
  entry: BackupTableEntry;
  createStatement: string;
  staging: string;
  /** The name the live table moves to when this one takes its place (dropped after the swap). */
  trash: string;
  method: RestoreMethod;
  /** The table's FOREIGN KEY clauses, added once it has its real name. */
  foreignKeys: string[];
  /** Its column defaults that call a sequence, set once it has its real name (sequence-defaults.ts). */
  sequenceDefaults: SequenceDefault[];
  loadWarnings: number;
}

/** Short temporary names (a table name may already use all 64 characters), unique per backup and table. */
export function temporaryNames(id: string, index: number, name: string): { staging: string; trash: string } {
  const hash = nameHash(id, name);
  return { staging: `_es_restore_${index + 1}_${hash}`, trash: `_es_trash_${index + 1}_${hash}` };
}

const nameHash = (id: string, name: string) => createHash('sha256').update(`${id}/${name}`, 'utf8').digest('hex').slice(0, 8);

/** What stageAll reports as it goes, so a restore killed half-way resumes from the last table staged. */
export interface StagingHooks {
  /** Tables staged and verified by an earlier, interrupted attempt: kept when their staging table is still there. */
  alreadyStaged: Record<string, { loadWarnings: number }>;
  /** Called once a table is loaded and verified (before the next one starts). */
  onStaged: (table: StagedTable) => Promise<void>;
  faultPoint: (name: string) => void;
}

/** The tables stageAll stages, where their files are, and whom it tells. */
export interface StagingWork {
  folder: string;
  manifest: BackupManifest;
  entries: BackupTableEntry[];
  onProgress?: (progress: BackupProgress) => void;
  log: (line: string) => void;
  /** Another connection to the same database: large tables are then checksummed in two halves at once. */
  verifier?: Db;
}

/**
 * Phase 1: every table loaded and verified under its staging name. Nothing else is touched: on failure the caller
 * drops the staging tables and nothing has changed. With a `verifier` (another connection to the same database),
 * large tables are checksummed in two halves at once.
 */
export async function stageAll(db: Db, work: StagingWork, hooks: StagingHooks): Promise<StagedTable[]> {
  const { folder, manifest, log } = work;
  const staged: StagedTable[] = [];
  // The staging tables there are now (an interrupted attempt's), read once rather than asked table by table.
  const existing = await stagingTablesThere(db);
  for (const entry of work.entries) {
    if (!entry.exists) continue;
    const source = backupTableSource(folder, manifest, entry);
    const earlier = hooks.alreadyStaged[entry.name];
    if (earlier && existing.has(source.names.staging)) {
      staged.push({ ...(await prepareTable(source)), loadWarnings: earlier.loadWarnings });
      log(`${entry.name} was loaded and verified as ${source.names.staging} before the restore was interrupted; kept.`);
      continue;
    }
    const loaded = await loadTable(db, source, existing.has(source.names.staging), work.onProgress);
    hooks.faultPoint(`restore stage ${entry.name} loaded`);
    await verifyTable(db, work.verifier, manifest.id, loaded);
    await hooks.onStaged(loaded.table);
    staged.push(loaded.table);
    log(
      restoredKind(entry) === 'definition-only'
        ? `Created ${entry.name} as ${loaded.table.staging}, its definition only: ` + 'its rows are those of the tables it is built on.'
        : `Loaded ${entry.name} as ${loaded.table.staging}: ${formatCount(entry.rows)} row(s), checksum verified.`,
    );
    hooks.faultPoint(`restore stage ${entry.name} verified`);
  }
  return staged;
}

/**
 * Drops the staging tables a restore of backup `id` made for `tables`, whichever attempt made them: what a restore
 * that stopped before its swap leaves behind. Only those: the names carry a hash of the backup id and the table.
 */
export async function dropStaging(db: Db, id: string, tables: readonly string[]): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of tables) {
    const pattern = `\\_es\\_restore\\_%\\_${nameHash(id, name)}`;
    const rows = await db.query<{ TABLE_NAME: string }>(
      'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE ?',
      [db.database, pattern],
    );
    for (const { TABLE_NAME: table } of rows) {
      await db.execute(`DROP TABLE IF EXISTS ${quoteId(table)}`);
      dropped.push(table);
    }
  }
  return dropped;
}

/** A table loaded under its staging name, not yet verified. */
interface LoadedTable {
  table: StagedTable;
  warningMessages: string[];
}

/** A table of a backup, where its files are, and the temporary names a restore stages it under. */
export interface TableSource {
  folder: string;
  /** The backup's id. */
  id: string;
  entry: BackupTableEntry;
  names: { staging: string; trash: string };
}

/** The source of `entry`, a table of `manifest`, with its temporary names (temporaryNames). */
export function backupTableSource(folder: string, manifest: BackupManifest, entry: BackupTableEntry): TableSource {
  return { folder, id: manifest.id, entry, names: temporaryNames(manifest.id, manifest.tables.indexOf(entry), entry.name) };
}

/** The table's saved definition, checked, and what staging it needs; nothing is read from the database. */
export async function prepareTable({ folder, id, entry, names }: TableSource): Promise<StagedTable> {
  if (!entry.checksum && restoredKind(entry) !== 'definition-only')
    throw refusal(`Backup ${id} records no checksum for table ${entry.name}.`, { subject: entry.name });
  const createStatement = await readCreateStatement(folder, id, entry);
  const stripped = withoutForeignKeys(createStatement);
  if (stripped.removed !== entry.foreignKeys.length) {
    throw new EventshiftError(
      'internal',
      `The saved definition of table ${entry.name} has ${formatCount(stripped.removed)} foreign key clause(s) where the manifest lists ` +
        `${formatCount(entry.foreignKeys.length)}; it cannot be staged safely.`,
      { subject: entry.name },
    );
  }
  return {
    entry,
    createStatement,
    ...names,
    method: 'swap',
    foreignKeys: stripped.clauses,
    sequenceDefaults: withoutSequenceDefaults(stripped.sql).defaults,
    loadWarnings: 0,
  };
}

/** The names of the tables of the database a restore may have staged (`_es_restore_...`). */
async function stagingTablesThere(db: Db): Promise<Set<string>> {
  const rows = await db.query<{ TABLE_NAME: string }>(
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_es\\_restore\\_%'",
    [db.database],
  );
  return new Set(rows.map((r) => r.TABLE_NAME));
}

/**
 * Creates the staging table (dropping first the one an interrupted attempt left, `leftOver`; none else can be there:
 * the restore holds its lock, and CREATE TABLE would fail on one) and loads its rows.
 */
async function loadTable(
  db: Db,
  source: TableSource,
  leftOver: boolean,
  onProgress: ((progress: BackupProgress) => void) | undefined,
): Promise<LoadedTable> {
  const { folder, id, entry } = source;
  const s = await prepareTable(source);
  if (leftOver) await db.execute(`DROP TABLE IF EXISTS ${quoteId(s.staging)}`);
  const create = withoutSequenceDefaults(withoutForeignKeys(s.createStatement).sql).sql;
  await db.execute(renameCreateStatement(create, entry.name, s.staging));
  // A table whose rows are those of other tables (a MERGE table) gets its definition only: loading rows into it
  // would write them into the tables it is built on.
  if (restoredKind(entry) === 'definition-only') return { table: s, warningMessages: [] };
  const file = tableFile(entry, 'rows');
  const rows = { table: s.staging, columns: entry.columns, path: join(folder, file.name), file };
  const loaded = await loadRows(db, rows, { label: entry.name, totalRows: entry.rows, onProgress });
  s.loadWarnings = loaded.warnings;
  if (loaded.sha256 !== file.sha256 || loaded.bytes !== file.bytes) {
    throw refusal(
      `File ${file.name} of table ${entry.name} changed after backup ${id} was checked ` +
        `(SHA-256 ${loaded.sha256}, expected ${file.sha256}); nothing was changed.`,
      { subject: entry.name },
    );
  }
  onProgress?.({ table: entry.name, rows: loaded.rows, totalRows: loaded.rows, ended: true });
  return { table: s, warningMessages: loaded.warningMessages };
}

async function verifyTable(db: Db, verifier: Db | undefined, id: string, loaded: LoadedTable): Promise<void> {
  const { entry, staging } = loaded.table;
  const checksum = entry.checksum;
  if (checksum === null || restoredKind(entry) === 'definition-only') return; // no rows of its own to verify
  const actual = await stagedChecksum(db, verifier, staging, entry);
  // Where the backup found a row too long for its fingerprint, the value sums cover what the checksum cannot.
  const sums = entry.valueSums ? differingSums(entry.valueSums, await columnValueSums(db, staging, entry.columns)) : [];
  if (sums.length > 0) {
    throw refusal(
      `The rows loaded from backup ${id} for table ${entry.name} do not match the backup's sums of the values of ${sums.join(', ')} ` +
        '(recorded because a row is too long for the checksum to cover every value), so no table was replaced and nothing was changed.',
      { subject: entry.name, details: { columns: sums } },
    );
  }
  if (!sameChecksum(actual, checksum)) {
    const warnings = loaded.warningMessages.length > 0 ? ` Server warnings while loading: ${loaded.warningMessages.join('; ')}.` : '';
    throw refusal(
      `The rows loaded from backup ${id} for table ${entry.name} do not match the backup's checksum ` +
        `(expected ${formatCount(checksum.rows)} rows, hash ${checksum.hash}; ` +
        `loaded ${formatCount(actual.rows)} rows, hash ${actual.hash}), ` +
        `so no table was replaced and nothing was changed.${warnings}`,
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
    return tableChecksum(db, staging, columns, { recipe });
  }
  const [range] = await db.query<{ lo: string | number | null; hi: string | number | null }>(
    `SELECT MIN(${quoteId(key)}) AS lo, MAX(${quoteId(key)}) AS hi FROM ${quoteId(staging)}`,
  );
  if (range?.lo == null || range.hi == null) return tableChecksum(db, staging, columns, { recipe });
  // An integer literal (no parameter, which would be compared as a string or a double): exact for any BIGINT.
  const middle = ((BigInt(range.lo) + BigInt(range.hi)) / 2n).toString();
  const halves = await Promise.allSettled([
    tableChecksum(db, staging, columns, { where: `${quoteId(key)} <= ${middle}`, recipe }),
    tableChecksum(verifier, staging, columns, { where: `${quoteId(key)} > ${middle}`, recipe }),
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
    throw refusal(`File ${file.name} of table ${entry.name} changed after backup ${id} was checked; nothing was changed.`, {
      subject: entry.name,
    });
  }
  return text.slice(0, -2);
}
