import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { DateTime } from 'luxon';
import type { Db } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';
import { encodeText } from '../../src/csv/decode.ts';

/**
 * Writes an `ord_pull` table as a CSV export in a chosen dialect, the way a legacy system's export would: for tests
 * (the same events from the table and from its export) and for trying `--source` by hand.
 *
 * NULL is an empty unquoted field and '' is `""`, so an export keeps the difference. Dates are formatted from the
 * stored wall time, unconverted; MySQL zero dates (which no date format can write) are written as stored.
 *
 * @example
 * await exportOrdPullCsv(db, 'ord_pull.csv', usExcelDialect);                     // cp1252, CRLF, 3/4/2011 10:15:22 AM
 * await exportOrdPullCsv(db, 'ord_pull.csv', { ...usExcelDialect, dateFormat: 'M/d/yyyy h:mm a' }); // no seconds
 */
export interface CsvExportDialect {
  encoding: 'utf8' | 'cp1252' | 'utf16le';
  delimiter: string;
  lineBreak: '\r\n' | '\n';
  /** luxon format of DATETIME values, e.g. `M/d/yyyy h:mm:ss a`; `sql` writes them as MySQL prints them. */
  dateFormat: string;
  /** Quote every text field (default: only those that need it). */
  quoteAll?: boolean;
  /** A byte order mark first (always for utf16le). */
  bom?: boolean;
}

/** Excel and Access on a US Windows: cp1252, CRLF, commas, US month/day dates with seconds and AM/PM. */
export const usExcelDialect: CsvExportDialect = { encoding: 'cp1252', delimiter: ',', lineBreak: '\r\n', dateFormat: 'M/d/yyyy h:mm:ss a' };

export const ordPullColumns = [
  'ID',
  'ID_Ord',
  'ID_Type',
  'WhenPulled',
  'NotesPull',
  'VbzUser',
  'SysUser',
  'Machine',
  'WhenFreed',
  'NotesFree',
] as const;
const dateColumns = new Set(['WhenPulled', 'WhenFreed']);
const textColumns = new Set(['NotesPull', 'VbzUser', 'SysUser', 'Machine', 'NotesFree']);

export type OrdPullRow = Record<(typeof ordPullColumns)[number], string | number | null>;

export interface CsvExportOptions {
  /** The table to export (default `ord_pull`). */
  table?: string;
  /**
   * Replaces a row's record by the records returned (test hook, e.g. to break rows): gets the record's fields as they
   * will be written (quoted where needed) and the row; return `[fields]` to keep it.
   */
  edit?: (fields: string[], row: OrdPullRow) => string[][];
  /** Called with each record written and the line it starts on (the header is line 1). */
  onRecord?: (line: number, fields: string[], row: OrdPullRow) => void;
}

export interface CsvExportResult {
  records: number;
  bytes: number;
}

export async function exportOrdPullCsv(
  db: Db,
  path: string,
  dialect: CsvExportDialect,
  options: CsvExportOptions = {},
): Promise<CsvExportResult> {
  const table = quoteId(options.table ?? 'ord_pull');
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (text: string) => {
    const data = encodeText(text, dialect.encoding);
    bytes += data.length;
    if (!out.write(data)) await new Promise<void>((ok) => out.once('drain', () => ok()));
  };
  if (dialect.bom || dialect.encoding === 'utf16le') {
    const bom =
      dialect.encoding === 'utf16le' ? Buffer.of(0xff, 0xfe) : dialect.encoding === 'utf8' ? Buffer.of(0xef, 0xbb, 0xbf) : Buffer.alloc(0);
    bytes += bom.length;
    out.write(bom);
  }
  await write(ordPullColumns.join(dialect.delimiter) + dialect.lineBreak);
  let line = 2;
  let records = 0;
  let after = -1;
  for (;;) {
    const rows = await db.query<OrdPullRow & Record<string, unknown>>(
      `SELECT ${ordPullColumns.map(quoteId).join(', ')} FROM ${table} WHERE ID > ? ORDER BY ID LIMIT 5000`,
      [after],
    );
    if (rows.length === 0) break;
    let chunk = '';
    for (const row of rows) {
      const fields = ordPullColumns.map((c) => field(c, row[c], dialect));
      for (const record of options.edit ? options.edit(fields, row) : [fields]) {
        const text = record.join(dialect.delimiter) + dialect.lineBreak;
        options.onRecord?.(line, record, row);
        line += (text.match(/\r\n|\r|\n/g) ?? []).length;
        records++;
        chunk += text;
      }
    }
    await write(chunk);
    after = Number(rows[rows.length - 1]!.ID);
  }
  out.end();
  await finished(out);
  return { records, bytes };
}

/** One field as written: dates formatted, text quoted when it needs it (or always), NULL empty. */
export function field(column: string, value: string | number | null, dialect: CsvExportDialect): string {
  if (value === null) return '';
  const text = String(value);
  if (dateColumns.has(column)) return formatDate(text, dialect.dateFormat);
  if (!textColumns.has(column)) return text;
  const needs = dialect.quoteAll || text === '' || text.includes(dialect.delimiter) || /["\r\n]/.test(text) || text !== text.trim();
  return needs ? `"${text.replaceAll('"', '""')}"` : text;
}

function formatDate(stored: string, format: string): string {
  if (format === 'sql') return stored;
  const dt = DateTime.fromSQL(stored, { zone: 'utc' });
  return dt.isValid ? dt.toFormat(format, { locale: 'en-US' }) : stored;
}
