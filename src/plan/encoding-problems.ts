import type { Db } from '../db/connection.ts';
import type { ColumnInfo, TableInfo } from '../db/introspect.ts';
import { quoteId, quoteQualified, quoteString } from '../db/quote.ts';
import type { ProblemFinding, SourcePlan } from './plan-data.ts';

/**
 * Text that was UTF-8 when it was written into a latin1 column, byte for byte: 'é' (C3 A9) stored as the two latin1
 * characters 'Ã©'. The conversion copies it faithfully, so the new rows would show the same garbage; a DBA should
 * know before migrating. Found on the server by matching a well-formed multi-byte UTF-8 sequence in the column's
 * bytes: with a pattern over the bytes themselves where the regex engine reads bytes (MariaDB's PCRE), else with the
 * same pattern written over HEX() of the bytes (MySQL's ICU engine refuses binary strings), several times slower.
 */

/** A range of byte values, inclusive. */
type ByteRange = readonly [number, number];
const continuation: ByteRange = [0x80, 0xbf];
/** The well-formed multi-byte UTF-8 sequences (RFC 3629, table 3-7), byte range by byte range. */
const utf8Sequences: ReadonlyArray<readonly ByteRange[]> = [
  [[0xc2, 0xdf], continuation],
  [[0xe0, 0xe0], [0xa0, 0xbf], continuation],
  [[0xe1, 0xec], continuation, continuation],
  [[0xed, 0xed], [0x80, 0x9f], continuation],
  [[0xee, 0xef], continuation, continuation],
  [[0xf0, 0xf0], [0x90, 0xbf], continuation, continuation],
  [[0xf1, 0xf3], continuation, continuation, continuation],
  [[0xf4, 0xf4], [0x80, 0x8f], continuation, continuation],
];

const hex = (n: number) => n.toString(16).toUpperCase();
/** A class of hex digits a..b (0-15). */
const digits = (a: number, b: number) => {
  if (a === b) return hex(a);
  if (b <= 9 || a >= 10) return `[${hex(a)}-${hex(b)}]`;
  return `[${a === 9 ? '9' : `${a}-9`}${b === 10 ? 'A' : `A-${hex(b)}`}]`;
};
/** One byte of the range as two hex digits: the high digits whose low digits are all in, then the partial ones. */
function hexByte([lo, hi]: ByteRange): string {
  const [loHigh, hiHigh] = [lo >> 4, hi >> 4];
  if (loHigh === hiHigh) return `${hex(loHigh)}${digits(lo & 15, hi & 15)}`;
  const first = (lo & 15) === 0 ? loHigh : loHigh + 1;
  const last = (hi & 15) === 15 ? hiHigh : hiHigh - 1;
  const parts: string[] = [];
  if (first > loHigh) parts.push(`${hex(loHigh)}${digits(lo & 15, 15)}`);
  if (first <= last) parts.push(`${digits(first, last)}${digits(0, 15)}`);
  if (last < hiHigh) parts.push(`${hex(hiHigh)}${digits(0, hi & 15)}`);
  return parts.length === 1 ? parts[0]! : `(?:${parts.join('|')})`;
}
const escapedByte = (n: number) => `\\x${hex(n)}`;

/** Over HEX(column): such a sequence starting on a byte boundary (after an even number of hex digits). */
export const doubleEncodedHexPattern = `^(?:..)*?(?:${utf8Sequences.map((seq) => seq.map(hexByte).join('')).join('|')})`;

/** One byte of the range as a regular expression over bytes. */
const byteRange = ([lo, hi]: ByteRange) => (lo === hi ? escapedByte(lo) : `[${escapedByte(lo)}-${escapedByte(hi)}]`);
/** Over the column's bytes (CAST AS BINARY), for an engine whose REGEXP reads bytes: such a sequence anywhere. */
export const doubleEncodedBytePattern = `(?:${utf8Sequences.map((seq) => seq.map(byteRange).join('')).join('|')})`;

/** SQL true when the (latin1) column's bytes hold a UTF-8 multi-byte sequence; `regexpOnBytes` from the server's Capabilities. */
export function looksDoubleEncodedSql(columnSql: string, regexpOnBytes = false): string {
  // The pattern's backslashes go in a hex literal, which reads the same whatever the session's sql_mode.
  if (regexpOnBytes) return `(CAST(${columnSql} AS BINARY) REGEXP ${quoteString(doubleEncodedBytePattern)})`;
  // Only a value with a byte above 0x7F can hold such a sequence; the cheap comparison with its ASCII conversion
  // (which turns those bytes into '?') spares the regular expression the plain-ASCII majority.
  return (
    `(CAST(${columnSql} AS BINARY) <> CAST(CONVERT(${columnSql} USING ascii) AS BINARY) ` +
    `AND HEX(${columnSql}) REGEXP '${doubleEncodedHexPattern}')`
  );
}

const textTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/**
 * The encoding scans of the sources: per source table (once, under its first alias) with latin1 text columns, the
 * aggregates that count each column's rows that look like double-encoded UTF-8, over the table under that alias (`sums`,
 * in `columns`' order), for a pass over every row of it (plan/shared-passes.ts).
 */
export async function encodingScans(
  sources: readonly SourcePlan[],
  describe: (table: string) => Promise<TableInfo | null>,
  regexpOnBytes: boolean,
): Promise<EncodingScan[]> {
  const scans: EncodingScan[] = [];
  const seen = new Set<string>();
  for (const source of sources) {
    if (!source.exists || seen.has(source.table)) continue;
    seen.add(source.table);
    const info = await describe(source.table);
    const columns = (info?.columns ?? []).filter((c) => textTypes.has(c.dataType) && c.charset?.toLowerCase() === 'latin1' && !c.generated);
    if (columns.length === 0) continue;
    const sums = columns.map((c) => `SUM(${looksDoubleEncodedSql(quoteQualified(source.alias, c.name), regexpOnBytes)})`);
    scans.push({ source, columns, sums });
  }
  return scans;
}

/** One source table's encoding scan: its latin1 text columns, and the aggregates counting each one's suspect rows. */
export interface EncodingScan {
  source: SourcePlan;
  columns: ColumnInfo[];
  sums: string[];
}

/** A scan's findings from its pass's counts (in its columns' order): per column with some rows, its first keys and an example. */
export async function encodingFindings(
  db: Db,
  { source, columns }: EncodingScan,
  counts: unknown[],
  keyLimit: number,
): Promise<ProblemFinding[]> {
  const findings: ProblemFinding[] = [];
  const table = quoteId(source.table);
  for (const [i, column] of columns.entries()) {
    const count = Number(counts[i] ?? 0);
    if (count === 0) continue;
    const col = quoteId(column.name);
    const key = source.keyColumn ? quoteId(source.keyColumn) : null;
    const rows = await db.query<{ k: unknown; stored: string | null; repaired: string | null }>(
      `SELECT ${key ?? 'NULL'} AS k, LEFT(${col}, 80) AS stored, ` +
        `LEFT(CONVERT(CAST(${col} AS BINARY) USING utf8mb4), 80) AS repaired
         FROM ${table} WHERE ${looksDoubleEncodedSql(col, db.capabilities.regexpOnBytes)} ` +
        `${key ? `ORDER BY ${key}` : ''} LIMIT ${keyLimit}`,
    );
    const first = rows[0];
    findings.push({
      name: `doubleEncodedUtf8.${source.table}.${column.name}`,
      description: `${source.table}.${column.name}: latin1 text that looks like double-encoded UTF-8 (e.g. 'Ã©' stored for 'é')`,
      severity: 'warning',
      consequence: 'copied as stored: the new rows show the same characters; repair the legacy text first if it is wrong',
      count,
      keys: key ? rows.map((r) => String(r.k)) : [],
      example: first
        ? `${key ? `${source.table} ${String(first.k)}: ` : ''}'${first.stored}' reads '${first.repaired}' as UTF-8`
        : undefined,
    });
  }
  return findings;
}
