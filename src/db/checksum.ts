import { byteTypes, type ColumnInfo } from './introspect.ts';
import type { ChecksumRecipe } from './capabilities.ts';
import type { Db } from './connection.ts';
import { quoteId } from './quote.ts';

/**
 * Order-independent content checksums computed in SQL (the pt-table-checksum recipe, made unambiguous): each row
 * becomes a 64-bit fingerprint of its values in a canonical text form (NULL distinct from ''), and a set of rows
 * becomes its row count plus the SUM of those fingerprints. SUM rather than BIT_XOR, so that two identical extra
 * rows do not cancel out.
 *
 * Three recipes make the fingerprint (a checksum records which; Capabilities.checksumRecipe picks the one for new ones):
 * - `md5`: the first 64 bits of the MD5 of the values, each as text, then their lengths (-1 for NULL). Every server.
 * - `crc32c`: CRC32 and CRC32C (two different polynomials: together a 64-bit code) of the values, each as text and
 *   text values quoted (QUOTE() escapes and delimits them; NULL is the bare word NULL, or `N` for a value that is not
 *   text and so cannot be that letter). Needs CRC32C(), MariaDB 10.8+; a quarter to a third cheaper than `md5`.
 * - `crc32c-bytes`: the same two CRCs of a row's *stored* text (storedRowTextSql): character values as the bytes the
 *   column holds, in its own character set, quoted by QUOTE(); NULL of a value that is not text is `\N`. It compares
 *   a table with a copy of the same definition byte for byte (not across character sets, so verification does not
 *   use it), and it is a line of a backup's rows file: a backup reads each row's text and both CRCs of it in one pass
 *   (src/backup/row-statements.ts). Needs CRC32C(); about 40% cheaper than `crc32c`.
 *
 * The recipe's type, ChecksumRecipe, is declared in capabilities.ts; these are all of them.
 */
export const checksumRecipes: readonly ChecksumRecipe[] = ['md5', 'crc32c', 'crc32c-bytes'];

/** How a value is turned into canonical text before hashing. */
export type ValueKind = 'text' | 'binary' | 'float' | 'other';

const textTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);

export function valueKind(column: Pick<ColumnInfo, 'dataType'>): ValueKind {
  if (byteTypes.has(column.dataType)) return 'binary';
  if (textTypes.has(column.dataType)) return 'text';
  if (column.dataType === 'float') return 'float';
  return 'other';
}

/** The canonical text of one SQL value: utf8mb4 text whatever the column's charset, hex for bytes. */
export function canonicalSql(expr: string, kind: ValueKind): string {
  switch (kind) {
    case 'text':
      return `CONVERT(${expr} USING utf8mb4)`;
    case 'binary':
      return `HEX(${expr})`;
    case 'float':
      // CAST(float AS CHAR) keeps 6 digits; through DOUBLE every stored bit shows.
      return `CAST(CAST(${expr} AS DOUBLE) AS CHAR CHARACTER SET utf8mb4)`;
    default:
      return `CAST(${expr} AS CHAR CHARACTER SET utf8mb4)`;
  }
}

/** One value as a self-delimiting piece of the `crc32c` recipe's text: never NULL, never ambiguous with another. */
function quotedPieceSql(expr: string, kind: ValueKind): string {
  switch (kind) {
    case 'text':
      return `QUOTE(CONVERT(${expr} USING utf8mb4))`;
    case 'binary':
      return `IFNULL(HEX(${expr}), 'N')`;
    case 'float':
      return `IFNULL(CAST(${expr} AS DOUBLE), 'N')`;
    default:
      // Numbers, dates and times print without commas or quotes, as CAST(... AS CHAR) does.
      return `IFNULL(${expr}, 'N')`;
  }
}

/** `\N` as a hex literal: a quoted '\\N' would depend on the session's NO_BACKSLASH_ESCAPES. */
const STORED_NULL = "X'5C4E'";

/**
 * Types whose IFNULL() with a string is of their own type, so IFNULL(value, '\\N') would be NULL (and CONCAT_WS would
 * drop it): their text goes through CONCAT() first.
 */
const ownTypes = new Set(['uuid', 'inet4', 'inet6']);

/** A value of a row, for a fingerprint: its SQL, its kind, and (for `crc32c-bytes`) its column's DATA_TYPE. */
export interface RowValue {
  expr: string;
  kind: ValueKind;
  dataType?: string;
}

/** An ENUM's index (0 for its error value) or a SET's bit mask, as an unsigned integer: `(col + 0)`. */
export const memberIndexSql = (expr: string): string => `(${expr} + 0)`;

/**
 * A column as a checksum reads it. `encoding: 'index'` (how a backup of format version 3 writes ENUM and SET columns,
 * src/backup/row-encoding.ts) reads the member's index, which tells the error value of an ENUM (index 0, shown as '')
 * from a member '' (its text reads both as ''); without it the member's text is read.
 */
export type ChecksumColumn = Pick<ColumnInfo, 'name' | 'dataType'> & { encoding?: string | null; systemTime?: string };

/**
 * The FROM of a table's rows: every version of every row (`FOR SYSTEM_TIME ALL`) when the columns include a
 * system-versioned table's row start or end (`systemTime`, as a backup lists them), else the table.
 */
export function rowsFromSql(table: string, columns: readonly ChecksumColumn[]): string {
  return `${quoteId(table)}${columns.some((c) => c.systemTime !== undefined) ? ' FOR SYSTEM_TIME ALL' : ''}`;
}

/** A table's columns as the values of its rows' fingerprints (the backup's rows file and tableChecksum must agree). */
export function columnValues(columns: readonly ChecksumColumn[]): RowValue[] {
  return columns.map((c) =>
    c.encoding === 'index'
      ? { expr: memberIndexSql(quoteId(c.name)), kind: 'other', dataType: 'bigint' }
      : { expr: quoteId(c.name), kind: valueKind(c), dataType: c.dataType },
  );
}

/** One value as a self-delimiting piece of a row's stored text: its stored bytes, never converted to another charset. */
function storedPieceSql({ expr, kind, dataType }: RowValue): string {
  if (dataType !== undefined && ownTypes.has(dataType.toLowerCase())) return `IFNULL(CONCAT(${expr}), ${STORED_NULL})`;
  switch (kind) {
    case 'text':
      return `QUOTE(CAST(${expr} AS BINARY))`;
    case 'binary':
      // Not IFNULL(HEX(...)): HEX() of a value longer than half of max_allowed_packet is NULL, not `\N`.
      return `IF(${expr} IS NULL, ${STORED_NULL}, HEX(${expr}))`;
    case 'float':
      return `IFNULL(CAST(${expr} AS DOUBLE), ${STORED_NULL})`;
    default:
      return `IFNULL(${expr}, ${STORED_NULL})`;
  }
}

/**
 * SQL for a row's stored text, the text the `crc32c-bytes` recipe fingerprints: the values separated by commas;
 * character values (CHAR, TEXT, ENUM, SET, JSON) as QUOTE() gives their stored bytes (`'...'` with \\, \', \0 and
 * \Z escaped; NULL as the bare word NULL); bytes (BLOB, BINARY, BIT, spatial) as upper-case HEX(); FLOAT through
 * DOUBLE (all its digits); every other value as the server prints it; NULL of a value that is not text as `\N`.
 * No comma or quote can appear unquoted in a value, so the text is unambiguous; it is also a line LOAD DATA reads
 * back (FIELDS TERMINATED BY ',' ENCLOSED BY '\'' ESCAPED BY '\\', CHARACTER SET binary). The text is NULL, never
 * short of a value, when a value's text (or the row's) would exceed max_allowed_packet: CONCAT, not CONCAT_WS.
 */
export function storedRowTextSql(values: readonly RowValue[]): string {
  return `CONCAT(${values.map(storedPieceSql).join(", ',', ")})`;
}

/**
 * SQL for the 64-bit fingerprint of one row (an unsigned integer), from its values' SQL expressions. With `textOnce`,
 * the CRC recipes build the row's text once, in a user variable both CRCs read, rather than twice (the text is most
 * of the cost); only where textOnceWorks says the server assigns before it reads.
 */
export function rowFingerprintSql(values: readonly RowValue[], recipe: ChecksumRecipe = 'md5', textOnce = false): string {
  if (recipe === 'crc32c' || recipe === 'crc32c-bytes') {
    const text =
      recipe === 'crc32c' ? `CONCAT_WS(',', ${values.map((v) => quotedPieceSql(v.expr, v.kind)).join(', ')})` : storedRowTextSql(values);
    return textOnce
      ? `((CRC32(${rowTextVariable} := ${text}) << 32) | CRC32C(${rowTextVariable}))`
      : `((CRC32(${text}) << 32) | CRC32C(${text}))`;
  }
  const canon = values.map((v) => canonicalSql(v.expr, v.kind));
  const lengths = canon.map((c) => `IFNULL(LENGTH(${c}), -1)`);
  return `CAST(CONV(LEFT(MD5(CONCAT_WS('|', ${[...canon, `CONCAT_WS(',', ${lengths.join(', ')})`].join(', ')})), 16), 16, 10) AS UNSIGNED)`;
}

const rowTextVariable = '@eventshift_fp';

/** What textOnceWorks found, per server version. */
const textOnceByVersion = new Map<string, Promise<boolean>>();

/**
 * Whether the server evaluates `(CRC32(@v := text) << 32) | CRC32C(@v)` left to right, row by row, so that both CRCs
 * are of the row's own text. MariaDB does, but does not promise it; a fingerprint built on a wrong order would make
 * every checksum differ from the backup's, so the server is asked once (per version) over three rows, and the text is
 * built twice where the answer is not the same as building it twice.
 */
export function textOnceWorks(db: Db): Promise<boolean> {
  const version = db.capabilities.version;
  if (!textOnceByVersion.has(version)) {
    const values: RowValue[] = [
      { expr: 't.v', kind: 'text' },
      { expr: 't.n', kind: 'other' },
    ];
    const rows = `(SELECT 'a' AS v, 1 AS n UNION ALL SELECT 'bb', NULL UNION ALL SELECT NULL, 3) AS t`;
    const probe = db
      .query<{ once: string | null; twice: string | null }>(
        `SELECT SUM(${rowFingerprintSql(values, 'crc32c-bytes', true)}) AS once, ` +
          `SUM(${rowFingerprintSql(values, 'crc32c-bytes')}) AS twice FROM ${rows}`,
      )
      .then(
        ([r]) => r !== undefined && r.once !== null && String(r.once) === String(r.twice),
        () => false,
      );
    textOnceByVersion.set(version, probe);
  }
  return textOnceByVersion.get(version)!;
}

/** Select-list SQL aggregating fingerprints into `rows_n` and `hash_sum`. */
export function aggregateSql(fingerprint: string): string {
  return `COUNT(*) AS rows_n, IFNULL(SUM(${fingerprint}), 0) AS hash_sum`;
}

export interface ContentChecksum {
  rows: number;
  /** Decimal string: the sum can exceed 64 bits. */
  hash: string;
  /** The fingerprint recipe; absent in checksums recorded before there was a choice, which are all `md5`. */
  recipe?: ChecksumRecipe;
}

export const recipeOf = (checksum: ContentChecksum): ChecksumRecipe => checksum.recipe ?? 'md5';

export function sameChecksum(a: ContentChecksum, b: ContentChecksum): boolean {
  return a.rows === b.rows && a.hash === b.hash && recipeOf(a) === recipeOf(b);
}

/** Runs an aggregate query built with aggregateSql (with fingerprints of `recipe`) and reads its result. */
export async function readChecksum(
  db: Db,
  sql: string,
  params: readonly unknown[] = [],
  recipe: ChecksumRecipe = 'md5',
): Promise<ContentChecksum> {
  const [row] = await db.query<{ rows_n: string | number; hash_sum: string | number }>(sql, params);
  return { rows: Number(row?.rows_n ?? 0), hash: String(row?.hash_sum ?? '0'), recipe };
}

/** Which rows of a table tableChecksum reads (default all), and by which recipe (default the server's). */
export interface ChecksumRows {
  /** A WHERE condition over the table, with `?` for `params`. */
  where?: string;
  params?: readonly unknown[];
  recipe?: ChecksumRecipe;
}

/**
 * Checksum of a whole table (or the rows a WHERE picks) over the given columns, in one pass on the server; by the
 * server's recipe unless one is given (to compare with a stored checksum, give its recipe).
 */
export async function tableChecksum(
  db: Db,
  table: string,
  columns: readonly ChecksumColumn[],
  { where = '1=1', params = [], recipe = db.capabilities.checksumRecipe }: ChecksumRows = {},
): Promise<ContentChecksum> {
  const fingerprint = rowFingerprintSql(columnValues(columns), recipe, recipe !== 'md5' && (await textOnceWorks(db)));
  return readChecksum(db, `SELECT ${aggregateSql(fingerprint)} FROM ${rowsFromSql(table, columns)} WHERE ${where}`, params, recipe);
}
