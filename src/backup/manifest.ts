import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChecksumRecipe } from '../db/capabilities.ts';
import { checksumRecipes, type ContentChecksum } from '../db/checksum.ts';
import { refusal, usageError } from '../errors.ts';
import type { ColumnEncoding } from './row-encoding.ts';
import { tableKinds, type TableKind } from './table-kind.ts';

/** The file that makes a backup folder complete. It is written last, so a folder without it was interrupted. */
export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'eventshift-backup';
/**
 * The format version new backups are written in. Version 2 names the encoding of each rows file (`encoding`) and
 * drops the manifest-wide `rowEncoding` of version 1, whose rows files are all `load-data-tsv/binary`. Version 3
 * records each trigger's character sets, collations, creation time and statement bytes (BackupTrigger), writes
 * ENUM and SET columns by index (`encoding: 'index'`), and keeps sequences, system-versioned tables with their
 * history, and the definition of tables whose rows live elsewhere (`kind`, `systemTime`). All restore.
 */
export const BACKUP_FORMAT_VERSION = 3;
export const readableFormatVersions: readonly number[] = [1, 2, 3];
/** The rows encoding of every rows file of format version 1: see backups/README.md and row-encoding.ts. */
export const ROW_ENCODING = 'load-data-tsv/binary';
/**
 * How a rows file is written (backups/README.md): `sql-quoted/binary`, each line the row's stored text of the
 * `crc32c-bytes` checksum recipe (src/db/checksum.ts); or `load-data-tsv/binary`, MySQL's default LOAD DATA format
 * (row-encoding.ts), for servers without CRC32C() and rows whose text exceeds max_allowed_packet.
 */
export type RowsEncoding = typeof ROW_ENCODING | 'sql-quoted/binary';
export const rowsEncodings: readonly RowsEncoding[] = [ROW_ENCODING, 'sql-quoted/binary'];

/** One file of a backup, as written: restore refuses a backup whose files differ from these. */
export interface BackupFile {
  /** `schema`: the table's CREATE statement; `rows`: its rows (see backups/README.md). */
  kind: 'schema' | 'rows';
  /** File name inside the backup folder (never a table name: those are only in the manifest). */
  name: string;
  bytes: number;
  /** SHA-256 of the file's bytes on disk, lower-case hex. */
  sha256: string;
  compression: 'gzip' | null;
  /** How a rows file's lines are written (format version 2; absent in version 1, where it is ROW_ENCODING). */
  encoding?: RowsEncoding;
}

/** The encoding of a rows file, whatever the manifest's version. */
export const rowsEncodingOf = (file: BackupFile): RowsEncoding => file.encoding ?? ROW_ENCODING;

export interface BackupColumn {
  name: string;
  /** DATA_TYPE, lower case. */
  dataType: string;
  /** COLUMN_TYPE, e.g. `decimal(65,30)`, `enum('a','b')`. */
  columnType: string;
  charset: string | null;
  /**
   * COLLATION_NAME (null for a column that is not text); absent in backups written before it was recorded. Rows are
   * compared with the backup's in a table whose keys have it, so keys the table holds apart stay apart.
   */
  collation?: string | null;
  /** Generated columns are recreated by the CREATE statement and not written to the rows file. */
  generated: boolean;
  autoIncrement: boolean;
  /** How the column is written in the rows file; null for a generated column. */
  encoding: ColumnEncoding | null;
  /**
   * A system-versioned table's row start or end (format version 3): written like any column, read from every
   * version of every row (`FOR SYSTEM_TIME ALL`) and loaded back as history (table-kind.ts).
   */
  systemTime?: 'start' | 'end';
}

/**
 * A trigger on a backed-up table, recreated after its table is restored in the context it was created in
 * (triggers.ts). The fields after `statement` are those of format version 3; older backups lack them.
 */
export interface BackupTrigger {
  name: string;
  /** The sql_mode the trigger was created under (its body is parsed under it). */
  sqlMode: string;
  /** `SHOW CREATE TRIGGER`'s statement, DEFINER included, as text (for reading; restore uses statementBytes). */
  statement: string;
  /** The statement as the server stores it, in characterSetClient, as lower-case hex. */
  statementBytes?: string;
  /** SHOW CREATE TRIGGER's character_set_client, collation_connection and Database Collation. */
  characterSetClient?: string;
  collationConnection?: string;
  databaseCollation?: string;
  /** When it was created, as seconds since 1970 (UTC) with the server's two decimals; null if the server shows none. */
  created?: string | null;
}

/**
 * One table named in the backup. A table that did not exist (`exists: false`) has no columns, rows or files:
 * restoring the backup drops it if it exists by then.
 */
export interface BackupTableEntry {
  name: string;
  exists: boolean;
  /**
   * What was kept of it (table-kind.ts; format version 3, absent before: `table`). A `definition-only` table has a
   * schema file and no rows file, no rows and no checksum.
   */
  kind?: TableKind;
  engine: string | null;
  /** False for engines without transactions (MyISAM, Aria): their rows were not read inside the snapshot. */
  transactional: boolean;
  rows: number;
  /** All columns in table order; the rows file holds the non-generated ones, in this order. */
  columns: BackupColumn[];
  primaryKey: string[];
  /** The AUTO_INCREMENT of the saved CREATE statement, as a decimal string; null when it shows none. */
  autoIncrement: string | null;
  /** MAX of a single-column integer primary key at backup time, as a decimal string; null otherwise or when empty. */
  maxKey: string | null;
  /**
   * Content checksum over the non-generated columns (src/db/checksum.ts), taken inside the snapshot; its `recipe`
   * says how rows were fingerprinted (absent: `md5`), and restore and verify recompute it the same way.
   */
  checksum: ContentChecksum | null;
  /**
   * Per column, sums of digests of its values (value-sums.ts; format version 3), where a row was too long for the
   * checksum's fingerprint to cover all its values: a restore compares them too. Absent otherwise.
   */
  valueSums?: ColumnValueSums[];
  /** Names of the table's own FOREIGN KEY constraints. */
  foreignKeys: string[];
  triggers: BackupTrigger[];
  /** The schema file and the rows file of an existing table; none for an absent one. */
  files: BackupFile[];
}

/**
 * `manifest.json`: everything a restore needs besides the files it lists, so a backup can be restored on a server
 * where eventshift's bookkeeping tables are gone.
 *
 * @example
 * const manifest = await readManifest('backups', '20261121T104500Z-ab12cd');
 * for (const table of manifest.tables) if (table.exists) console.log(table.name, table.rows);
 */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  /** 1 or 2 (BACKUP_FORMAT_VERSION for new backups). */
  formatVersion: number;
  id: string;
  label: string | null;
  /** The mapping whose run took this backup, if any. */
  mapping: string | null;
  runId: string | null;
  /** `SELECT VERSION()` of the server the backup was read from. */
  serverVersion: string;
  database: string;
  /** When the snapshot was taken, ISO 8601 UTC. */
  createdAt: string;
  /** When the last file was written, ISO 8601 UTC. */
  completedAt: string;
  /** Format version 1 only: the encoding of every rows file. Version 2 names it per file. */
  rowEncoding?: typeof ROW_ENCODING;
  /**
   * How the rows were read (format version 2, informational): the number of connections, and how they shared one
   * snapshot (`backup-stage`: started while BACKUP STAGE BLOCK_COMMIT held every commit back; `single`: one connection).
   */
  snapshot?: { connections: number; shared: 'backup-stage' | 'single' };
  tables: BackupTableEntry[];
}

/** The file of `kind` of an existing table's entry. */
export function tableFile(entry: BackupTableEntry, kind: BackupFile['kind']): BackupFile {
  const file = entry.files.find((f) => f.kind === kind);
  if (!file) throw refusal(`The manifest lists no ${kind} file for table ${entry.name}.`, { subject: entry.name });
  return file;
}

/** Every file a manifest lists, with the table it belongs to. */
export function manifestFiles(manifest: BackupManifest): Array<BackupFile & { table: string }> {
  return manifest.tables.flatMap((t) => t.files.map((f) => ({ ...f, table: t.name })));
}

const backupIdPattern = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/;

/** `20261121T104500Z-ab12cd`: the UTC second it was taken (so ids sort by time) and 6 random hex digits. */
export function formatBackupId(at: Date, random: string): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
  return `${stamp}-${random}`;
}

export function isBackupId(name: string): boolean {
  return backupIdPattern.test(name);
}

/** The time encoded in a backup id (second precision). */
export function backupIdTime(id: string): Date | null {
  const m = backupIdPattern.exec(id);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : null;
}

/** The folder of backup `id` under `dir`; a usage error for anything that is not a backup id (no path tricks). */
export function backupFolder(dir: string, id: string): string {
  if (!isBackupId(id)) {
    throw usageError(`"${id}" is not a backup id; backup ids look like 20261121T104500Z-ab12cd (listBackups shows them).`, { subject: id });
  }
  return join(dir, id);
}

/** Reads and validates a backup's manifest. Refuses a backup without one (incomplete) or with an invalid one. */
export async function readManifest(dir: string, id: string): Promise<BackupManifest> {
  const path = join(backupFolder(dir, id), MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw refusal(
        `Backup ${id} in ${dir} has no ${MANIFEST_FILE}: it is missing or was interrupted before it completed, ` +
          'and cannot be restored; take a new backup.',
        { subject: id, cause },
      );
    }
    throw refusal(`Backup ${id}: reading ${path} failed (${(cause as Error).message}); check the folder's permissions.`, {
      subject: id,
      cause,
    });
  }
  return parseManifest(text, id);
}

/** Parses manifest text, checking every field restore relies on. Refuses anything else, naming the first problem. */
export function parseManifest(text: string, id: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw refusal(`Backup ${id}: ${MANIFEST_FILE} is not valid JSON (${(cause as Error).message}); the backup cannot be trusted.`, {
      subject: id,
      cause,
    });
  }
  const problem = manifestProblem(value, id);
  if (problem) throw refusal(`Backup ${id}: ${MANIFEST_FILE} is not a valid eventshift manifest: ${problem}.`, { subject: id });
  return value as BackupManifest;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringOrNull = (v: unknown) => v === null || isString(v);
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isDecimal = (v: unknown) => isString(v) && /^-?\d+$/.test(v);
const isDecimalOrNull = (v: unknown) => v === null || isDecimal(v);
/** File names a backup writes: no separators, no leading dot, so a manifest cannot point outside its folder. */
export const isSafeFileName = (v: unknown) => isString(v) && /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/.test(v);

function fileProblem(v: unknown, where: string, version: number): string | null {
  if (!isObject(v)) return `${where} is not an object`;
  if (v.kind !== 'schema' && v.kind !== 'rows') return `${where}.kind is neither schema nor rows`;
  if (!isSafeFileName(v.name)) return `${where}.name is not a plain file name`;
  if (!isCount(v.bytes)) return `${where}.bytes is not a byte count`;
  if (!isString(v.sha256) || !/^[0-9a-f]{64}$/.test(v.sha256)) return `${where}.sha256 is not a SHA-256`;
  if (v.compression !== null && !(v.kind === 'rows' && v.compression === 'gzip')) return `${where}.compression is invalid`;
  if (version >= 2 && v.kind === 'rows' && !rowsEncodings.includes(v.encoding as RowsEncoding)) {
    return `${where}.encoding ${JSON.stringify(v.encoding)} is not one this eventshift reads (${rowsEncodings.join(', ')})`;
  }
  if (version < 2 && v.encoding !== undefined) return `${where}.encoding is not part of format version ${version}`;
  return null;
}

const isName = (v: unknown) => isString(v) && /^[A-Za-z0-9_]+$/.test(v);

/** Version 3 records how each trigger was created (BackupTrigger); older versions must not pretend to. */
function triggerContextProblem(g: Json, version: number): string | null {
  const keys = ['statementBytes', 'characterSetClient', 'collationConnection', 'databaseCollation', 'created'] as const;
  if (version < 3) return keys.some((k) => g[k] !== undefined) ? `has fields of format version 3 in a version ${version} manifest` : null;
  if (!isString(g.statementBytes) || !/^(?:[0-9a-f]{2})+$/.test(g.statementBytes)) return 'has no statementBytes (hex)';
  if (!isName(g.characterSetClient) || !isName(g.collationConnection) || !isName(g.databaseCollation)) {
    return 'lacks its characterSetClient, collationConnection or databaseCollation';
  }
  if (g.created !== null && !(isString(g.created) && /^\d+(\.\d+)?$/.test(g.created))) return 'has an invalid created time';
  return null;
}

function tableProblem(t: unknown, i: number, version: number): string | null {
  const where = `tables[${i}]`;
  if (!isObject(t) || !isString(t.name) || t.name === '') return `${where}.name is missing`;
  if (typeof t.exists !== 'boolean') return `${where}.exists is not a boolean`;
  if (!Array.isArray(t.files)) return `${where}.files is not a list`;
  if (!t.exists) return t.files.length === 0 && t.rows === 0 ? null : `${where} did not exist but lists rows or files`;
  if (t.kind !== undefined && (version < 3 || !tableKinds.includes(t.kind as TableKind))) {
    return `${where}.kind ${JSON.stringify(t.kind)} is not one this eventshift reads (${tableKinds.join(', ')}; format version 3)`;
  }
  const kind = (t.kind ?? 'table') as TableKind;
  if (!isStringOrNull(t.engine) || typeof t.transactional !== 'boolean') return `${where} lacks engine or transactional`;
  if (!isCount(t.rows)) return `${where}.rows is not a count`;
  return (
    columnsProblem(t, where, version, kind) ??
    rowsProblem(t, where, version, kind) ??
    triggersProblem(t, where, version) ??
    filesProblem(t.files, where, version, kind)
  );
}

/** What is wrong with a table's columns (each complete, at least one written, a row start and end when versioned). */
function columnsProblem(t: Json, where: string, version: number, kind: TableKind): string | null {
  if (!Array.isArray(t.columns) || t.columns.length === 0) return `${where}.columns is empty`;
  for (const [j, c] of t.columns.entries()) {
    if (
      !isObject(c) ||
      !isString(c.name) ||
      !isString(c.dataType) ||
      !isString(c.columnType) ||
      typeof c.generated !== 'boolean' ||
      typeof c.autoIncrement !== 'boolean'
    ) {
      return `${where}.columns[${j}] is incomplete`;
    }
    const encodingOk = c.generated
      ? c.encoding === null
      : c.encoding === 'text' ||
        c.encoding === 'hex' ||
        (version >= 3 && c.encoding === 'index' && (c.dataType === 'enum' || c.dataType === 'set'));
    if (!encodingOk || !isStringOrNull(c.charset) || !(c.collation === undefined || isStringOrNull(c.collation))) {
      return `${where}.columns[${j}] has an invalid encoding, charset or collation`;
    }
  }
  if (!t.columns.some((c) => !(c as BackupColumn).generated)) return `${where} has no column that is not generated`;
  const periods = t.columns.map((c) => (c as BackupColumn).systemTime).filter((p) => p !== undefined);
  const periodsOk = kind === 'system-versioned' ? periods.sort().join(',') === 'end,start' : periods.length === 0;
  if (!periodsOk) return `${where}.columns should name a row start and end (systemTime) exactly when the table is system-versioned`;
  return null;
}

/** What is wrong with what a table records of its rows: keys, AUTO_INCREMENT, checksum and value sums. */
function rowsProblem(t: Json, where: string, version: number, kind: TableKind): string | null {
  if (!Array.isArray(t.primaryKey) || !t.primaryKey.every(isString)) return `${where}.primaryKey is not a list of names`;
  if (!isDecimalOrNull(t.autoIncrement) || !isDecimalOrNull(t.maxKey)) return `${where} has an invalid autoIncrement or maxKey`;
  if (kind === 'definition-only') {
    if (t.rows !== 0 || t.checksum !== null) return `${where} keeps its definition only but lists rows or a checksum`;
  } else if (!isObject(t.checksum) || !isCount(t.checksum.rows) || !isDecimal(t.checksum.hash)) return `${where}.checksum is invalid`;
  // Absent in manifests written before recipes could differ: those are all md5 (checksum.ts, recipeOf).
  if (isObject(t.checksum) && t.checksum.recipe !== undefined && !checksumRecipes.includes(t.checksum.recipe as ChecksumRecipe)) {
    return `${where}.checksum.recipe ${JSON.stringify(t.checksum.recipe)} is not one this eventshift knows (${checksumRecipes.join(', ')})`;
  }
  if (isObject(t.checksum) && t.checksum.rows !== t.rows)
    return `${where}.checksum counts ${String(t.checksum.rows)} rows but rows is ${String(t.rows)}`;
  if (t.valueSums !== undefined) {
    const written = new Set((t.columns as BackupColumn[]).filter((c) => !c.generated).map((c) => c.name));
    const ok =
      version >= 3 &&
      Array.isArray(t.valueSums) &&
      t.valueSums.length === written.size &&
      t.valueSums.every((v) => isObject(v) && isString(v.column) && written.has(v.column) && isDecimal(v.crc32) && isDecimal(v.md5));
    if (!ok) return `${where}.valueSums should give the crc32 and md5 sums of each written column (format version 3)`;
  }
  return null;
}

/** What is wrong with a table's foreign key names and triggers. */
function triggersProblem(t: Json, where: string, version: number): string | null {
  if (!Array.isArray(t.foreignKeys) || !t.foreignKeys.every(isString)) return `${where}.foreignKeys is not a list of names`;
  if (
    !Array.isArray(t.triggers) ||
    !t.triggers.every((g) => isObject(g) && isString(g.name) && isString(g.sqlMode) && isString(g.statement))
  ) {
    return `${where}.triggers is invalid`;
  }
  for (const [j, g] of (t.triggers as Json[]).entries()) {
    const problem = triggerContextProblem(g, version);
    if (problem) return `${where}.triggers[${j}] ${problem}`;
  }
  return null;
}

/** What is wrong with a table's files: each one, and that there is a schema file and (unless it has no rows) a rows file. */
function filesProblem(files: unknown[], where: string, version: number, kind: TableKind): string | null {
  for (const [j, f] of files.entries()) {
    const problem = fileProblem(f, `${where}.files[${j}]`, version);
    if (problem) return problem;
  }
  const kinds = files
    .map((f) => (f as BackupFile).kind)
    .sort()
    .join(',');
  if (kind === 'definition-only') return kinds === 'schema' ? null : `${where}.files should be one schema file`;
  return kinds === 'rows,schema' ? null : `${where}.files should be one schema file and one rows file`;
}

function manifestProblem(v: unknown, id: string): string | null {
  if (!isObject(v)) return 'it is not an object';
  if (v.format !== BACKUP_FORMAT) return `format is ${JSON.stringify(v.format)}, not "${BACKUP_FORMAT}"`;
  const version = v.formatVersion;
  if (typeof version !== 'number' || !readableFormatVersions.includes(version)) {
    return (
      `formatVersion ${JSON.stringify(version)} is not one this eventshift reads (${readableFormatVersions.join(', ')}); ` +
      'it was written by a newer eventshift'
    );
  }
  if (v.id !== id) return `it names backup ${JSON.stringify(v.id)}, not the folder's ${id}`;
  if (version === 1 && v.rowEncoding !== ROW_ENCODING) return `rowEncoding is ${JSON.stringify(v.rowEncoding)}, not "${ROW_ENCODING}"`;
  for (const key of ['label', 'mapping', 'runId'] as const) if (!isStringOrNull(v[key])) return `${key} is not a string or null`;
  for (const key of ['serverVersion', 'database', 'createdAt', 'completedAt'] as const) if (!isString(v[key])) return `${key} is missing`;
  if (!Array.isArray(v.tables)) return 'tables is not a list';
  const names = new Set<string>();
  const files = new Set<string>();
  for (const [i, t] of v.tables.entries()) {
    const problem = tableProblem(t, i, version);
    if (problem) return problem;
    const entry = t as BackupTableEntry;
    if (names.has(entry.name)) return `table ${entry.name} is listed twice`;
    names.add(entry.name);
    for (const { name } of entry.files) {
      if (files.has(name) || name.startsWith(MANIFEST_FILE)) return `file ${name} is listed twice`;
      files.add(name);
    }
  }
  return null;
}

/**
 * A row's checksum fingerprint is computed from its values as text (src/db/checksum.ts). A value, or a row, whose
 * text exceeds max_allowed_packet has no text: the server gives NULL, so the fingerprint leaves that value out (HEX()
 * of a 16 MB BLOB is NULL, taken for SQL NULL) or the whole row (CONCAT of it all is NULL). The restore's checksum
 * would then pass a copy that lost such a value. So for a table with a row that long, the backup also records, for
 * each column, the sums of CRC32 and of the first 64 bits of MD5 of its values, which the server computes from the
 * values themselves, whatever their length; a restore compares them too.
 */
export interface ColumnValueSums {
  column: string;
  /** SUM(CRC32(value)) over the rows, as a decimal string (NULLs add nothing). */
  crc32: string;
  /** SUM of the first 64 bits of MD5(value), as a decimal string. */
  md5: string;
}
