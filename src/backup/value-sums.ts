import { rowsFromSql } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import type { BackupColumn } from './manifest.ts';
import { writtenColumns } from './row-statements.ts';
import { memberIndexSql } from '../db/checksum.ts';

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

/**
 * Whether a row with `rowBytes` bytes of values may be too long for its fingerprint's text: its values as hex or
 * quoted utf8mb4 text may take up to about four times their bytes.
 */
export const mayOutgrowFingerprint = (rowBytes: number, maxAllowedPacket: number): boolean => rowBytes * 4 + 1024 > maxAllowedPacket;

/** A column's value as the sums read it: as the rows file holds it (ENUM and SET by index, FLOAT as DOUBLE). */
function valueSql(column: BackupColumn): string {
  const c = quoteId(column.name);
  if (column.encoding === 'index') return memberIndexSql(c);
  if (column.dataType === 'float') return `CAST(${c} AS DOUBLE)`;
  return c;
}

/** The value sums of every written column of `table` (all its versions for a system-versioned one). */
export async function columnValueSums(db: Db, table: string, columns: readonly BackupColumn[], where = '1=1'): Promise<ColumnValueSums[]> {
  const written = writtenColumns(columns);
  const select = written.flatMap((c, i) => [
    `CAST(IFNULL(SUM(CRC32(${valueSql(c)})), 0) AS CHAR) AS c${i}`,
    `CAST(IFNULL(SUM(CAST(CONV(LEFT(MD5(${valueSql(c)}), 16), 16, 10) AS UNSIGNED)), 0) AS CHAR) AS m${i}`,
  ]);
  const [row] = await db.query<Record<string, string>>(`SELECT ${select.join(', ')} FROM ${rowsFromSql(table, written)} WHERE ${where}`);
  return written.map((c, i) => ({ column: c.name, crc32: String(row?.[`c${i}`] ?? '0'), md5: String(row?.[`m${i}`] ?? '0') }));
}

/** The columns whose sums differ, by name; empty when they all agree. */
export function differingSums(expected: readonly ColumnValueSums[], actual: readonly ColumnValueSums[]): string[] {
  return expected.filter((e) => {
    const a = actual.find((x) => x.column === e.column);
    return !a || a.crc32 !== e.crc32 || a.md5 !== e.md5;
  }).map((e) => e.column);
}
