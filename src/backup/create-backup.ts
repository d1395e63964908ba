import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Db } from '../db/connection.ts';
import { describeTable, isIntegerType, showCreateTable } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { EventshiftError, refusal, usageError } from '../errors.ts';
import { autoIncrementOf } from './create-statement.ts';
import {
  BACKUP_FORMAT, BACKUP_FORMAT_VERSION, MANIFEST_FILE, ROW_ENCODING, formatBackupId,
  type BackupColumn, type BackupFile, type BackupManifest, type BackupTableEntry, type BackupTrigger,
} from './manifest.ts';
import { makePrivateFolder, writePrivateFile, writePrivateFileAtomically } from './private-files.ts';
import type { BackupProgress } from './progress.ts';
import { columnEncoding, type ColumnEncoding } from './row-encoding.ts';
import { writtenColumns } from './row-statements.ts';
import { writeRowsFile } from './write-rows.ts';

export interface CreateBackupOptions {
  /** The folder that holds backups; created (0700) if missing. The backup goes to `<dir>/<id>/`. */
  dir: string;
  /**
   * The tables to back up, in order. A name that is not a table yet is recorded as absent (`exists: false`), so that
   * restoring the backup drops the table if it has been created since: back up a migration's target tables before
   * creating them.
   */
  tables: readonly string[];
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
}

/**
 * Backs up `tables` of the connection's database: all of them read inside one consistent snapshot on this
 * connection, written to a new private folder, the manifest last. On failure the folder is removed and nothing else
 * has changed. Do not call it inside a transaction of your own: the snapshot starts a new one.
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
    throw usageError(`The backup folder ${options.dir} cannot be created (${(cause as Error).message}); choose a writable folder.`, { subject: options.dir, cause });
  }
  const createdAt = now();
  const { id, folder } = await newBackupFolder(options.dir, createdAt);
  const progress = { current: '' };
  try {
    await options.onStart?.(folder, id);
    const snapshot = await readInSnapshot(db, folder, tables, options, progress);
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
      rowEncoding: ROW_ENCODING,
      tables: snapshot.tables,
    };
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
    if (name.length === 0 || [...name].length > 64) throw usageError(`"${name}" is not a valid table name (1 to 64 characters).`, { subject: name });
    if (seen.has(name)) throw usageError(`Table ${name} is named twice in the tables to back up; name it once.`, { subject: name });
    seen.add(name);
  }
  return [...seen];
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
        throw usageError(`Creating backup folder ${folder} failed (${(cause as Error).message}); check ${dir} is writable.`, { subject: dir, cause });
      }
    }
  }
}

async function readInSnapshot(
  db: Db,
  folder: string,
  tables: string[],
  options: CreateBackupOptions,
  progress: { current: string },
): Promise<{ serverVersion: string; tables: BackupTableEntry[] }> {
  // REPEATABLE READ for this one transaction: the snapshot is what makes the tables consistent with each other.
  try {
    await db.execute('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  } catch (cause) {
    throw refusal('A backup reads its tables in a transaction of its own, and this connection is inside one; commit or roll it back first.', { cause });
  }
  await db.execute('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  try {
    const [version] = await db.query<{ version: string }>('SELECT VERSION() AS version');
    const engines = await db.query<{ ENGINE: string; TRANSACTIONS: string | null }>('SELECT ENGINE, TRANSACTIONS FROM information_schema.ENGINES');
    const transactional = new Set(engines.filter((e) => e.TRANSACTIONS === 'YES').map((e) => e.ENGINE.toLowerCase()));
    const width = Math.max(2, String(tables.length).length);
    const entries: BackupTableEntry[] = [];
    for (const [index, name] of tables.entries()) {
      progress.current = name;
      const prefix = `${String(index + 1).padStart(width, '0')}-${fileNamePart(name)}`;
      entries.push(await backupTable(db, folder, name, prefix, transactional, options));
    }
    await db.execute('COMMIT');
    return { serverVersion: String(version?.version ?? ''), tables: entries };
  } catch (error) {
    await db.raw.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** A file name part for a table: its safe characters and a hash of the real name, which may be anything. */
function fileNamePart(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'table';
  return `${safe}-${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8)}`;
}

async function backupTable(
  db: Db,
  folder: string,
  name: string,
  filePrefix: string,
  transactionalEngines: Set<string>,
  options: CreateBackupOptions,
): Promise<BackupTableEntry> {
  const [kind] = await db.query<{ TABLE_TYPE: string }>(
    'SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [db.database, name],
  );
  if (!kind) return absentTable(name);
  if (kind.TABLE_TYPE === 'SYSTEM VERSIONED') {
    throw refusal(`Table ${name} is system-versioned: a backup of its current rows would lose its history, so eventshift does not back it up.`, { subject: name });
  }
  if (kind.TABLE_TYPE !== 'BASE TABLE') {
    throw usageError(`${name} is a ${kind.TABLE_TYPE.toLowerCase()}, not a table; back up the tables it is built on instead.`, { subject: name });
  }
  const info = await describeTable(db, name);
  if (!info) throw refusal(`Table ${name} was dropped while the backup was reading it; run the backup again.`, { subject: name });
  const createStatement = await showCreateTable(db, name);
  const columns: BackupColumn[] = info.columns.map((c) => ({
    name: c.name,
    dataType: c.dataType,
    columnType: c.columnType,
    charset: c.charset,
    generated: c.generated,
    autoIncrement: c.autoIncrement,
    encoding: c.generated ? null : requiredEncoding(name, c.name, c.dataType),
  }));
  const written = writtenColumns(columns);
  const [counted] = await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${quoteId(name)}`);
  const totalRows = Number(counted?.n ?? 0);
  const foreignKeys = await db.query<{ CONSTRAINT_NAME: string }>(
    'SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? ORDER BY CONSTRAINT_NAME',
    [db.database, name],
  );
  const schemaFile = await writeSchemaFile(folder, `${filePrefix}.sql`, createStatement);
  const rowsFileName = `${filePrefix}.tsv${options.gzip ? '.gz' : ''}`;
  // The checksum comes from the SELECT that writes the rows (row-checksum.ts): it is always of exactly these rows.
  const { file: rowsFile, rows, checksum } = await writeRowsFile(db, folder, rowsFileName, name, written, totalRows, options);
  if (rows !== totalRows) {
    throw refusal(
      `Table ${name} changed while it was being read (${totalRows} rows counted, ${rows} written); ` +
        `${info.engine ?? 'its engine'} tables are not covered by the snapshot, so stop writes to it and back up again.`,
      { subject: name },
    );
  }
  return {
    name,
    exists: true,
    engine: info.engine,
    transactional: transactionalEngines.has((info.engine ?? '').toLowerCase()),
    rows,
    columns,
    primaryKey: info.primaryKey,
    autoIncrement: autoIncrementOf(createStatement),
    maxKey: await maxKey(db, name, info.primaryKey, columns),
    checksum,
    foreignKeys: foreignKeys.map((f) => f.CONSTRAINT_NAME),
    triggers: await readTriggers(db, name),
    files: [schemaFile, rowsFile],
  };
}

function absentTable(name: string): BackupTableEntry {
  return {
    name, exists: false, engine: null, transactional: false, rows: 0, columns: [], primaryKey: [],
    autoIncrement: null, maxKey: null, checksum: null, foreignKeys: [], triggers: [], files: [],
  };
}

function requiredEncoding(table: string, column: string, dataType: string): ColumnEncoding {
  const encoding = columnEncoding(dataType);
  if (!encoding) {
    throw refusal(`Column ${column} of table ${table} has type ${dataType}, which eventshift backups cannot yet write losslessly; back this table up with mysqldump --hex-blob instead.`, { subject: table });
  }
  return encoding;
}

async function writeSchemaFile(folder: string, name: string, createStatement: string): Promise<BackupFile> {
  const written = await writePrivateFile(join(folder, name), Readable.from([Buffer.from(`${createStatement};\n`, 'utf8')]));
  return { kind: 'schema', name, ...written, compression: null };
}

async function maxKey(db: Db, table: string, primaryKey: string[], columns: BackupColumn[]): Promise<string | null> {
  const key = primaryKey.length === 1 ? columns.find((c) => c.name === primaryKey[0]) : undefined;
  if (!key || !isIntegerType(key.dataType)) return null;
  const [row] = await db.query<{ max_key: string | number | null }>(`SELECT MAX(${quoteId(key.name)}) AS max_key FROM ${quoteId(table)}`);
  return row?.max_key === null || row?.max_key === undefined ? null : String(row.max_key);
}

async function readTriggers(db: Db, table: string): Promise<BackupTrigger[]> {
  const names = await db.query<{ TRIGGER_NAME: string }>(
    `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?
      ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
    [db.database, table],
  );
  const triggers: BackupTrigger[] = [];
  for (const { TRIGGER_NAME: name } of names) {
    const [row] = await db.query<Record<string, string>>(`SHOW CREATE TRIGGER ${quoteId(name)}`);
    triggers.push({ name, sqlMode: row?.sql_mode ?? '', statement: row?.['SQL Original Statement'] ?? '' });
  }
  return triggers;
}
