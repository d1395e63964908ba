import type { Db } from '../db/connection.ts';
import type { TableInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import type { ProblemFinding, SourcePlan } from './plan.ts';

/**
 * Text that was UTF-8 when it was written into a latin1 column, byte for byte: 'é' (C3 A9) stored as the two latin1
 * characters 'Ã©'. The conversion copies it faithfully, so the new rows would show the same garbage; a DBA should
 * know before migrating. Found on the server by matching a well-formed multi-byte UTF-8 sequence in the column's
 * bytes, written as a pattern over HEX() so it means the same under MariaDB's PCRE and MySQL's ICU regex engines.
 */

/** One continuation byte, 80-BF, as two hex digits. */
const cont = '[89AB][0-9A-F]';
/** The well-formed multi-byte UTF-8 sequences (RFC 3629), as hex. */
const utf8Sequences = [
  `(?:C[2-9A-F]|D[0-9A-F])${cont}`,
  `E0[AB][0-9A-F]${cont}`,
  `E[1-9A-CEF](?:${cont}){2}`,
  `ED[89][0-9A-F]${cont}`,
  `F0[9AB][0-9A-F](?:${cont}){2}`,
  `F[1-3](?:${cont}){3}`,
  `F48[0-9A-F](?:${cont}){2}`,
];

/** Over HEX(column): such a sequence starting on a byte boundary (after an even number of hex digits). */
export const doubleEncodedHexPattern = `^(?:..)*?(?:${utf8Sequences.join('|')})`;

/** SQL true when the (latin1) column's bytes hold a UTF-8 multi-byte sequence. */
export function looksDoubleEncodedSql(columnSql: string): string {
  // Only a value with a byte above 0x7F can hold such a sequence; the cheap comparison with its ASCII conversion
  // (which turns those bytes into '?') spares the regular expression the plain-ASCII majority.
  return `(CAST(${columnSql} AS BINARY) <> CAST(CONVERT(${columnSql} USING ascii) AS BINARY) AND HEX(${columnSql}) REGEXP '${doubleEncodedHexPattern}')`;
}

const textTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/** Per latin1 text column of the sources: rows that look like double-encoded UTF-8, with example keys. Only columns with some. */
export async function findEncodingProblems(
  db: Db,
  sources: SourcePlan[],
  describe: (table: string) => Promise<TableInfo | null>,
  keyLimit: number,
): Promise<ProblemFinding[]> {
  const findings: ProblemFinding[] = [];
  const seen = new Set<string>();
  for (const source of sources) {
    if (!source.exists || seen.has(source.table)) continue;
    seen.add(source.table);
    const info = await describe(source.table);
    const columns = (info?.columns ?? []).filter((c) => textTypes.has(c.dataType) && c.charset?.toLowerCase() === 'latin1' && !c.generated);
    if (columns.length === 0) continue;
    const table = quoteId(source.table);
    const counts = await db.query<Record<string, string | number | null>>(
      `SELECT ${columns.map((c, i) => `SUM(${looksDoubleEncodedSql(quoteId(c.name))}) AS c${i}`).join(', ')} FROM ${table}`,
    );
    for (const [i, column] of columns.entries()) {
      const count = Number(counts[0]?.[`c${i}`] ?? 0);
      if (count === 0) continue;
      const col = quoteId(column.name);
      const key = source.keyColumn ? quoteId(source.keyColumn) : null;
      const rows = await db.query<{ k: unknown; stored: string | null; repaired: string | null }>(
        `SELECT ${key ?? 'NULL'} AS k, LEFT(${col}, 80) AS stored, LEFT(CONVERT(CAST(${col} AS BINARY) USING utf8mb4), 80) AS repaired
           FROM ${table} WHERE ${looksDoubleEncodedSql(col)} ${key ? `ORDER BY ${key}` : ''} LIMIT ${keyLimit}`,
      );
      const first = rows[0];
      findings.push({
        name: `doubleEncodedUtf8.${source.table}.${column.name}`,
        description: `${source.table}.${column.name}: latin1 text that looks like double-encoded UTF-8 (e.g. 'Ã©' stored for 'é')`,
        severity: 'warning',
        consequence: 'copied as stored: the new rows show the same characters; repair the legacy text first if it is wrong',
        count,
        keys: key ? rows.map((r) => String(r.k)) : [],
        example: first ? `${key ? `${source.table} ${String(first.k)}: ` : ''}'${first.stored}' reads '${first.repaired}' as UTF-8` : undefined,
      });
    }
  }
  return findings;
}
