import type { ColumnInfo } from './introspect.ts';
import type { Db } from './connection.ts';
import { quoteId } from './quote.ts';

/**
 * Order-independent content checksums computed in SQL (the pt-table-checksum recipe, made unambiguous):
 * each row becomes MD5 of its values in a canonical text form plus each value's length (-1 for NULL, so NULL is
 * distinct from ''), and a set of rows becomes its row count plus the SUM of the first 64 bits of those digests.
 * SUM rather than BIT_XOR, so that two identical extra rows do not cancel out.
 */

/** How a value is turned into canonical text before hashing. */
export type ValueKind = 'text' | 'binary' | 'float' | 'other';

const binaryTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit', 'geometry', 'point', 'linestring', 'polygon',
  'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection']);
const textTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);

export function valueKind(column: Pick<ColumnInfo, 'dataType'>): ValueKind {
  if (binaryTypes.has(column.dataType)) return 'binary';
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

/** SQL for the 32-hex-digit fingerprint of one row, from its values' SQL expressions. */
export function rowFingerprintSql(values: ReadonlyArray<{ expr: string; kind: ValueKind }>): string {
  const canon = values.map((v) => canonicalSql(v.expr, v.kind));
  const lengths = canon.map((c) => `IFNULL(LENGTH(${c}), -1)`);
  return `MD5(CONCAT_WS('|', ${[...canon, `CONCAT_WS(',', ${lengths.join(', ')})`].join(', ')}))`;
}

/** Select-list SQL aggregating fingerprints into `rows_n` and `hash_sum`. */
export function aggregateSql(fingerprint: string): string {
  return `COUNT(*) AS rows_n, IFNULL(SUM(CAST(CONV(LEFT(${fingerprint}, 16), 16, 10) AS UNSIGNED)), 0) AS hash_sum`;
}

export interface ContentChecksum {
  rows: number;
  /** Decimal string: the sum can exceed 64 bits. */
  hash: string;
}

export function sameChecksum(a: ContentChecksum, b: ContentChecksum): boolean {
  return a.rows === b.rows && a.hash === b.hash;
}

/** Runs an aggregate query built with aggregateSql and reads its result. */
export async function readChecksum(db: Db, sql: string, params: readonly unknown[] = []): Promise<ContentChecksum> {
  const [row] = await db.query<{ rows_n: string | number; hash_sum: string | number }>(sql, params);
  return { rows: Number(row?.rows_n ?? 0), hash: String(row?.hash_sum ?? '0') };
}

/** Checksum of a whole table (or the rows a WHERE picks) over the given columns, in one pass on the server. */
export async function tableChecksum(
  db: Db,
  table: string,
  columns: ReadonlyArray<Pick<ColumnInfo, 'name' | 'dataType'>>,
  where = '1=1',
  params: readonly unknown[] = [],
): Promise<ContentChecksum> {
  const fingerprint = rowFingerprintSql(columns.map((c) => ({ expr: quoteId(c.name), kind: valueKind(c) })));
  return readChecksum(db, `SELECT ${aggregateSql(fingerprint)} FROM ${quoteId(table)} WHERE ${where}`, params);
}
