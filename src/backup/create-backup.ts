import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ChecksumRecipe } from '../db/capabilities.ts';
import { rowsFromSql, type ContentChecksum } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { describeTable, describeTables, isIntegerType, showCreateTable, type TableInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { EventshiftError, refusal, usageError } from '../errors.ts';
import { autoIncrementOf } from './create-statement.ts';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  MANIFEST_FILE,
  ROW_ENCODING,
  formatBackupId,
  type BackupColumn,
  type BackupFile,
  type BackupManifest,
  type BackupTableEntry,
  type ColumnValueSums,
  type RowsEncoding,
} from './manifest.ts';
import { makePrivateFolder, PendingSyncs, writePrivateFile, writePrivateFileAtomically } from './private-files.ts';
import type { BackupProgress } from './progress.ts';
import { columnEncoding, type ColumnEncoding } from './row-encoding.ts';
import { writtenColumns } from './row-statements.ts';
import { StoredTextTooLong, writeRowsFile, type RowsSource } from './write-rows.ts';
import { openSnapshotReaders } from './shared-snapshot.ts';
import { columnsOf, tableKindOf, type TableKind } from './table-kind.ts';
import { columnValueSums, mayOutgrowFingerprint } from './value-sums.ts';
import { readTriggers, readTriggersNamed, triggerNames } from './triggers.ts';
import { formatCount } from '../format.ts';

/** The extension of a rows file (before `.gz`), by encoding. */
const rowsFileExtension: Record<RowsEncoding, string> = { 'load-data-tsv/binary': 'tsv', 'sql-quoted/binary': 'rows' };

export interface CreateBackupOptions {
  /** The folder that holds backups; created (0700) if missing. The backup goes to `<dir>/<id>/`. */
  dir: string;
  /** The tables to back up, in order, by their exact names. */
  tables: readonly string[];
  /**
   * Record a named table that does not exist as absent (`exists: false`), so that restoring the backup drops it if it
   * has been created since: how a migration backs up its target tables before creating them. Default false: a
   * named table that does not exist is refused, before anything is written, naming it.
   */
  recordAbsent?: boolean;
  label?: string;
  /** The run that took the backup (stored as a string). */
  runId?: string | number;
  mapping?: string;
  /**
   * Called with the new backup's folder and id before anything is written into it, so a caller can journal where
   * an interrupted backup left its files. Awaited.
   */
  onStart?: (folder: string, id: string) => void | Promise<void>;
  /** The clock (default: the system's); the backup id and createdAt come from it. */
  now?: () => Date;
  onProgress?: (progress: BackupProgress) => void;
  /** Gzip the rows files (default false: plain text a DBA can read and LOAD DATA by hand). */
  gzip?: boolean;
  /**
   * Connections that read tables at the same time, all in one snapshot (default 2: the caller's and one more, plus a
   * third for a moment to share the snapshot; see shared-snapshot.ts). Where the snapshot cannot be shared, the
   * caller's connection reads every table. 1 reads everything on the caller's connection.
   */
  connections?: number;
  /**
   * How rows files are written (default `sql-quoted/binary` where the server has CRC32C(), MariaDB 10.8+; otherwise
   * and for a row too long for it, `load-data-tsv/binary`): see backups/README.md.
   */
  rowsEncoding?: RowsEncoding;
}

/**
 * A table is read as key ranges on several connections at once from about this many rows; a backup opens the extra
 * connections only if a table is that large (by estimate). Below, connecting costs more than it saves.
 */
const SPLIT_FROM_ROWS = 50_000;

/**
 * Backs up `tables` of the connection's database: all of them read inside one consistent snapshot, on this
 * connection and, for large tables, on a second one that shares the snapshot (shared-snapshot.ts), written to a new
 * private folder, the manifest last. On failure the folder is removed and nothing else has changed. Do not call it
 * inside a transaction of your own: the snapshot starts a new one.
 *
 * @example
 * const manifest = await createBackup(db, { dir: 'backups', tables: ['ord_pull', 'event'], mapping: 'vbzcart-ord-pull' });
 * console.log(manifest.id); // 20261121T104500Z-ab12cd
 */
export async function createBackup(db: Db, options: CreateBackupOptions): Promise<BackupManifest> {
  const tables = checkedTableNames(options.tables);
  const now = options.now ?? (() => new Date());
  try {
    await makePrivateFolder(options.dir, { recursive: true });
  } catch (cause) {
    throw usageError(`The backup folder ${options.dir} cannot be created (${(cause as Error).message}); choose a writable folder.`, {
      subject: options.dir,
      cause,
    });
  }
  if (!options.recordAbsent) await refuseMissingTables(db, tables);
  const createdAt = now();
  const { id, folder } = await newBackupFolder(options.dir, createdAt);
  const progress = { current: '' };
  try {
    await options.onStart?.(folder, id);
    const snapshot = await readInSnapshot(db, { folder, tables, progress }, options);
    // Format version 2 and later: no manifest-wide rowEncoding; each rows file names its own (manifest.ts).
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      id,
      label: options.label ?? null,
      mapping: options.mapping ?? null,
      runId: options.runId === undefined ? null : String(options.runId),
      serverVersion: snapshot.serverVersion,
      database: db.database,
      createdAt: createdAt.toISOString(),
      completedAt: now().toISOString(),
      snapshot: snapshot.readers,
      tables: snapshot.tables,
    };
    // Every file is durable before the manifest that says the backup is complete (written last, itself fsynced).
    await snapshot.syncs.flush();
    await writePrivateFileAtomically(join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } catch (error) {
    await rm(folder, { recursive: true, force: true }).catch(() => undefined);
    const kind = error instanceof EventshiftError ? error.kind : 'internal';
    const what = progress.current ? `at table ${progress.current}` : 'before reading any table';
    const reason = error instanceof Error ? error.message : String(error);
    throw new EventshiftError(kind, `Backup ${id} of database ${db.database} failed ${what} and its folder was removed: ${reason}`, {
      subject: progress.current || id,
      cause: error,
      details: error instanceof EventshiftError ? error.details : undefined,
    });
  }
}

function checkedTableNames(tables: readonly string[]): string[] {
  if (tables.length === 0) throw usageError('A backup needs at least one table; name the tables to back up.');
  const seen = new Set<string>();
  for (const name of tables) {
    if (name.length === 0 || [...name].length > 64)
      throw usageError(`"${name}" is not a valid table name (1 to 64 characters).`, { subject: name });
    if (seen.has(name)) throw usageError(`Table ${name} is named twice in the tables to back up; name it once.`, { subject: name });
    seen.add(name);
  }
  return [...seen];
}

async function refuseMissingTables(db: Db, tables: readonly string[]): Promise<void> {
  const found = await tableSizes(db, tables);
  const missing = tables.filter((t) => !found.has(t));
  if (missing.length > 0) {
    throw refusal(
      `Database ${db.database} has no table named ${missing.map((m) => JSON.stringify(m)).join(', ')}; nothing was backed up. ` +
        'Name tables exactly as they are (a name holding a comma, leading spaces or a newline: --table NAME, or backticks in --tables).',
      { subject: missing[0], details: { missing } },
    );
  }
}

async function newBackupFolder(dir: string, at: Date): Promise<{ id: string; folder: string }> {
  for (let attempt = 0; ; attempt++) {
    const id = formatBackupId(at, randomBytes(3).toString('hex'));
    const folder = join(dir, id);
    try {
      await makePrivateFolder(folder);
      return { id, folder };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) {
        throw usageError(`Creating backup folder ${folder} failed (${(cause as Error).message}); check ${dir} is writable.`, {
          subject: dir,
          cause,
        });
      }
    }
  }
}

/** What readInSnapshot reads and where it writes: the tables, the backup's folder, and the table it is at. */
interface SnapshotWork {
  folder: string;
  tables: string[];
  /** The table being read (for the error of a backup that fails). */
  progress: { current: string };
}

async function readInSnapshot(
  db: Db,
  { folder, tables, progress }: SnapshotWork,
  options: CreateBackupOptions,
): Promise<{ serverVersion: string; tables: BackupTableEntry[]; readers: NonNullable<BackupManifest['snapshot']>; syncs: PendingSyncs }> {
  const [version] = await db.query<{ version: string }>('SELECT VERSION() AS version');
  const transactional = await transactionalEngines(db);
  const encoding = rowsEncodingFor(db, options.rowsEncoding);
  // More readers pay only for tables large enough to split; the estimate (TABLE_ROWS) is enough to tell.
  const wanted = Math.max(1, options.connections ?? 2);
  const sizes = await tableSizes(db, tables);
  const largest = Math.max(0, ...sizes.values());
  const snapshot = await openSnapshotReaders(db, largest >= SPLIT_FROM_ROWS ? wanted : 1);
  const syncs = new PendingSyncs();
  const scope: BackupScope = {
    readers: snapshot.readers,
    folder,
    syncs,
    transactionalEngines: transactional,
    rows: { gzip: options.gzip, encoding, recipe: db.capabilities.checksumRecipe, onProgress: options.onProgress, syncs },
  };
  const width = Math.max(2, String(tables.length).length);
  const entries: BackupTableEntry[] = [];
  let ok = false;
  try {
    // Read once the snapshot has begun, as each table's were when read one by one: a transactional table altered
    // since fails its rows' read in the snapshot either way.
    const facts = await tableFacts(db, tables);
    for (const [index, name] of tables.entries()) {
      progress.current = name;
      const filePrefix = `${String(index + 1).padStart(width, '0')}-${fileNamePart(name)}`;
      entries.push(await backupTable(scope, { name, filePrefix, estimatedRows: sizes.get(name) ?? 0 }, facts.get(name)));
    }
    ok = true;
  } finally {
    await snapshot.end(ok);
  }
  return {
    serverVersion: String(version?.version ?? ''),
    tables: entries,
    readers: { connections: snapshot.readers.length, shared: snapshot.shared },
    syncs,
  };
}

/** The engines whose tables are transactional (read in the snapshot), in lower case. */
async function transactionalEngines(db: Db): Promise<Set<string>> {
  const engines = await db.query<{ ENGINE: string; TRANSACTIONS: string | null }>(
    'SELECT ENGINE, TRANSACTIONS FROM information_schema.ENGINES',
  );
  return new Set(engines.filter((e) => e.TRANSACTIONS === 'YES').map((e) => e.ENGINE.toLowerCase()));
}

/** The rows files' encoding: the one asked for, if the server can write it, else the best it can. */
function rowsEncodingFor(db: Db, asked: RowsEncoding | undefined): RowsEncoding {
  const quoted = db.capabilities.checksumRecipes.includes('crc32c-bytes');
  if (asked === 'sql-quoted/binary' && !quoted) {
    throw usageError(
      `Rows files in sql-quoted/binary need CRC32C(), which this server (${db.capabilities.version}) lacks; use load-data-tsv/binary.`,
    );
  }
  return asked ?? (quoted ? 'sql-quoted/binary' : ROW_ENCODING);
}

/** What information_schema says of one table, read for all the backup's tables at once (tableFacts). */
interface TableFacts {
  type: string;
  engine: string | null;
  info: TableInfo;
  foreignKeys: string[];
  triggers: string[];
}

/**
 * TableFacts of each of `tables` found under the very name asked for, one query per kind for them all instead of
 * one per table (98 small tables: about 700 round trips fewer). A table absent here is read on its own, as before.
 */
async function tableFacts(db: Db, tables: readonly string[]): Promise<Map<string, TableFacts>> {
  const names = `TABLE_NAME IN (${tables.map(() => '?').join(', ')})`;
  const params = [db.database, ...tables];
  const found = await db.query<{ TABLE_NAME: string; TABLE_TYPE: string; ENGINE: string | null }>(
    `SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND ${names}`,
    params,
  );
  const infos = await describeTables(db, tables);
  const keys = await db.query<{ TABLE_NAME: string; CONSTRAINT_NAME: string }>(
    `SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND ${names} ` +
      'ORDER BY CONSTRAINT_NAME',
    params,
  );
  const triggers = await triggerNames(db, tables);
  const out = new Map<string, TableFacts>();
  for (const t of found) {
    const info = infos.get(t.TABLE_NAME);
    if (!tables.includes(t.TABLE_NAME) || !info) continue;
    out.set(t.TABLE_NAME, {
      type: t.TABLE_TYPE,
      engine: t.ENGINE,
      info,
      foreignKeys: keys.filter((k) => k.TABLE_NAME === t.TABLE_NAME).map((k) => k.CONSTRAINT_NAME),
      triggers: triggers.get(t.TABLE_NAME) ?? [],
    });
  }
  return out;
}

/** Estimated rows per named table (information_schema.TABLES.TABLE_ROWS; absent for a table that does not exist). */
async function tableSizes(db: Db, tables: readonly string[]): Promise<Map<string, number>> {
  const rows = await db.query<{ TABLE_NAME: string; TABLE_ROWS: string | number | null }>(
    'SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ' +
      `AND TABLE_NAME IN (${tables.map(() => '?').join(', ')})`,
    [db.database, ...tables],
  );
  return new Map(rows.map((r) => [r.TABLE_NAME, Number(r.TABLE_ROWS ?? 0)]));
}

/**
 * The parts a table's rows are read in, one per reader: key ranges of equal width, when the table is transactional
 * (read in the shared snapshot), has a single-column integer primary key and SPLIT_FROM_ROWS rows or more; otherwise
 * the whole table on the first reader. Each range is the keys `>= lo` (the first from MIN) and `<` the next one's `lo`.
 */
async function rowsSources(readers: readonly Db[], table: string, key: BackupColumn | undefined, rows: number): Promise<RowsSource[]> {
  const [first] = readers;
  if (!key || readers.length < 2 || rows < SPLIT_FROM_ROWS) return [{ db: first!, where: null }];
  const [range] = await first!.query<{ lo: string | number | null; hi: string | number | null }>(
    `SELECT MIN(${quoteId(key.name)}) AS lo, MAX(${quoteId(key.name)}) AS hi FROM ${quoteId(table)}`,
  );
  if (range?.lo == null || range.hi == null) return [{ db: first!, where: null }];
  // Integer literals (no parameters, which would be compared as strings or doubles): exact for any BIGINT.
  const lo = BigInt(range.lo);
  const span = BigInt(range.hi) - lo + 1n;
  const parts = BigInt(readers.length);
  return readers.map((db, i) => {
    const from = lo + (span * BigInt(i)) / parts;
    const to = lo + (span * BigInt(i + 1)) / parts;
    const column = quoteId(key.name);
    const where =
      i === 0 ? `${column} < ${to}` : i === readers.length - 1 ? `${column} >= ${from}` : `${column} >= ${from} AND ${column} < ${to}`;
    return { db, where };
  });
}

/** A file name part for a table: its safe characters and a hash of the real name, which may be anything. */
function fileNamePart(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'table';
  return `${safe}-${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8)}`;
}

/** What every table of one backup is read and written with. */
interface BackupScope {
  /** The connections in the snapshot; the first reads everything but the rows of large tables. */
  readers: readonly Db[];
  folder: string;
  /** The files written, fsynced all at once before the manifest. */
  syncs: PendingSyncs;
  transactionalEngines: Set<string>;
  /** How rows files are written. */
  rows: {
    gzip?: boolean;
    encoding: RowsEncoding;
    recipe: ChecksumRecipe;
    onProgress?: (progress: BackupProgress) => void;
    syncs: PendingSyncs;
  };
}

/** One table to back up: its name, the start of its files' names, and its estimated rows. */
interface TableToBackUp {
  name: string;
  filePrefix: string;
  estimatedRows: number;
}

async function backupTable(scope: BackupScope, table: TableToBackUp, facts: TableFacts | undefined): Promise<BackupTableEntry> {
  const { name, filePrefix } = table;
  const db = scope.readers[0]!;
  const [found] = facts
    ? [{ TABLE_TYPE: facts.type, ENGINE: facts.engine }]
    : await db.query<{ TABLE_TYPE: string; ENGINE: string | null }>(
        'SELECT TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [db.database, name],
      );
  if (!found) return absentTable(name);
  const kind = tableKindOf(found.TABLE_TYPE, found.ENGINE);
  if (kind === null) {
    throw usageError(`${name} is a ${found.TABLE_TYPE.toLowerCase()}, not a table; back up the tables it is built on instead.`, {
      subject: name,
    });
  }
  if (kind === 'system-versioned' && !db.capabilities.insertHistory) {
    throw refusal(
      `Table ${name} is system-versioned, and this server (${db.capabilities.version}) cannot write its history back ` +
        '(system_versioning_insert_history needs MariaDB 10.11 or later), so a backup would lose it; eventshift does not back it up.',
      { subject: name },
    );
  }
  const { entry, createStatement } = await tableDefinition(db, name, kind, scope.transactionalEngines, facts);
  const schemaFile = await writeSchemaFile(scope, `${filePrefix}.sql`, createStatement);
  if (kind === 'definition-only') return { ...entry, rows: 0, maxKey: null, checksum: null, files: [schemaFile] };
  const rows = await backupRows(scope, entry, table);
  return {
    ...entry,
    rows: rows.rows,
    maxKey: rows.maxKey,
    checksum: rows.checksum,
    ...(rows.valueSums ? { valueSums: rows.valueSums } : {}),
    files: [schemaFile, rows.file],
  };
}

/** The definition of an existing table as the manifest records it (all but its rows and files), read from the server. */
async function tableDefinition(db: Db, name: string, kind: TableKind, transactionalEngines: Set<string>, read: TableFacts | undefined) {
  // A table outside the snapshot (not transactional) may be altered after the facts were read for every table at the
  // start: its facts are read again now, just before its definition and rows, so the columns are those its rows have.
  const facts = read && transactionalEngines.has((read.info.engine ?? '').toLowerCase()) ? read : undefined;
  const info = facts ? facts.info : await describeTable(db, name);
  if (!info) throw refusal(`Table ${name} was dropped while the backup was reading it; run the backup again.`, { subject: name });
  const createStatement = await showCreateTable(db, name);
  const columns: BackupColumn[] = columnsOf(name, kind, createStatement, info.columns).map((c) => ({
    name: c.name,
    dataType: c.dataType,
    columnType: c.columnType,
    charset: c.charset,
    collation: c.collation ?? null,
    generated: c.generated,
    autoIncrement: c.autoIncrement,
    encoding: c.generated ? null : requiredEncoding(name, c.name, c.dataType),
    ...(c.systemTime ? { systemTime: c.systemTime } : {}),
  }));
  const foreignKeys = facts
    ? facts.foreignKeys
    : (
        await db.query<{ CONSTRAINT_NAME: string }>(
          'SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? ' +
            'ORDER BY CONSTRAINT_NAME',
          [db.database, name],
        )
      ).map((f) => f.CONSTRAINT_NAME);
  const entry = {
    name,
    exists: true,
    kind,
    engine: info.engine,
    transactional: transactionalEngines.has((info.engine ?? '').toLowerCase()),
    columns,
    primaryKey: info.primaryKey,
    autoIncrement: autoIncrementOf(createStatement),
    foreignKeys,
    triggers: facts ? await readTriggersNamed(db, facts.triggers) : await readTriggers(db, name),
  };
  return { entry, createStatement };
}

/**
 * Writes the rows file of a table (every version of every row for a system-versioned one: its columns include the
 * row start and end) and returns it with the rows written, their checksum and the table's largest key.
 */
async function backupRows(
  scope: BackupScope,
  entry: Pick<BackupTableEntry, 'name' | 'engine' | 'transactional' | 'columns' | 'primaryKey'>,
  { filePrefix, estimatedRows }: TableToBackUp,
): Promise<{ file: BackupFile; rows: number; checksum: ContentChecksum; maxKey: string | null; valueSums?: ColumnValueSums[] }> {
  const { readers, folder, rows: options } = scope;
  const db = readers[0]!;
  const { name, columns, primaryKey } = entry;
  const written = writtenColumns(columns);
  const key = primaryKey.length === 1 ? columns.find((c) => c.name === primaryKey[0] && isIntegerType(c.dataType)) : undefined;
  // A table in the snapshot holds exactly the rows its readers write: the server's estimate is enough to split it and
  // show progress (a COUNT(*) would be one more full scan, a third of the server's work for a narrow table). A table
  // outside it (MyISAM, Aria: they keep their count) is counted, to tell whether it changed while it was read.
  const counted = entry.transactional
    ? null
    : Number((await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${rowsFromSql(name, written)}`))[0]?.n ?? 0);
  const totalRows = counted ?? estimatedRows;
  // Tables outside the snapshot are read by one SELECT, so that their rows and checksum agree.
  const sources = await rowsSources(entry.transactional ? readers : [db], name, key, totalRows);
  // The checksum comes from the SELECT that writes the rows (write-rows.ts): it is always of exactly these rows.
  const rowsFileName = (encoding: RowsEncoding) => `${filePrefix}.${rowsFileExtension[encoding]}${options.gzip ? '.gz' : ''}`;
  const writeRows = (encoding: RowsEncoding) =>
    writeRowsFile(encoding === options.encoding ? sources : [{ db, where: null }], {
      ...options,
      encoding,
      folder,
      fileName: rowsFileName(encoding),
      table: name,
      columns: written,
      totalRows,
    });
  let result: Awaited<ReturnType<typeof writeRowsFile>>;
  try {
    result = await writeRows(options.encoding);
  } catch (error) {
    if (!(error instanceof StoredTextTooLong)) throw error;
    // A row too long to come back as one line of text: the table is written again, each value sent on its own.
    await rm(join(folder, rowsFileName(options.encoding)), { force: true });
    result = await writeRows(ROW_ENCODING);
  }
  const { file, rows, checksum } = result;
  // A row too long for its fingerprint's text: the table's value sums cover what the checksum cannot (value-sums.ts).
  // The session's max_allowed_packet, as the connection read it when it opened (one query less per table).
  const valueSums = mayOutgrowFingerprint(result.longestRowBytes, db.maxAllowedPacket)
    ? await columnValueSums(db, name, columns)
    : undefined;
  if (counted !== null && rows !== counted) {
    throw refusal(
      `Table ${name} changed while it was being read (${formatCount(counted)} rows counted, ${formatCount(rows)} written); ` +
        `${entry.engine ?? 'its engine'} tables are not covered by the snapshot, so stop writes to it and back up again.`,
      { subject: name },
    );
  }
  const backedUp = { file, rows, checksum, maxKey: key ? await maxKey(db, name, key.name) : null, ...(valueSums ? { valueSums } : {}) };
  options.onProgress?.({ table: name, rows, totalRows: rows, ended: true });
  return backedUp;
}

function absentTable(name: string): BackupTableEntry {
  return {
    name,
    exists: false,
    engine: null,
    transactional: false,
    rows: 0,
    columns: [],
    primaryKey: [],
    autoIncrement: null,
    maxKey: null,
    checksum: null,
    foreignKeys: [],
    triggers: [],
    files: [],
  };
}

function requiredEncoding(table: string, column: string, dataType: string): ColumnEncoding {
  const encoding = columnEncoding(dataType);
  if (!encoding) {
    throw refusal(
      `Column ${column} of table ${table} has type ${dataType}, which eventshift backups cannot yet write losslessly; ` +
        'back this table up with mysqldump --hex-blob instead.',
      { subject: table },
    );
  }
  return encoding;
}

async function writeSchemaFile(scope: BackupScope, name: string, createStatement: string): Promise<BackupFile> {
  const bytes = Buffer.from(`${createStatement};\n`, 'utf8');
  const written = await writePrivateFile(join(scope.folder, name), Readable.from([bytes]), [], scope.syncs);
  return { kind: 'schema', name, ...written, compression: null };
}

/** The largest value of the table's single-column integer key. */
async function maxKey(db: Db, table: string, key: string): Promise<string | null> {
  const [row] = await db.query<{ max_key: string | number | null }>(`SELECT MAX(${quoteId(key)}) AS max_key FROM ${quoteId(table)}`);
  return row?.max_key === null || row?.max_key === undefined ? null : String(row.max_key);
}
