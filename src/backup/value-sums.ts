import { memberIndexSql, rowsFromSql } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import type { BackupColumn, ColumnValueSums } from './manifest.ts';
import { writtenColumns } from './row-statements.ts';

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
  return expected
    .filter((e) => {
      const a = actual.find((x) => x.column === e.column);
      return !a || a.crc32 !== e.crc32 || a.md5 !== e.md5;
    })
    .map((e) => e.column);
}
