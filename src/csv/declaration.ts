import { DateTime, IANAZone } from 'luxon';
import { textEncodings, type TextEncoding } from './decode.ts';

/**
 * How a mapping declares a source that is (or can be) read from CSV files instead of a table. The file is loaded,
 * streaming, into a staging table `eventshift_src_<alias>` with the columns and types of the table it stands for, and
 * every step, check and projection then runs unchanged against that table.
 *
 * @example
 * sources: {
 *   // a table, or a CSV export of it given on the command line: --source pull=exports/ord_pull.csv
 *   pull: { table: 'ord_pull', csv: {
 *     table: ordPullDdl, key: 'ID', zone: 'America/New_York', tableZone: 'America/New_York',
 *     columns: {
 *       ID: { type: 'integer' },
 *       WhenPulled: { type: 'datetime', formats: ['M/d/yyyy h:mm:ss a', 'iso', 'excel'] },
 *       NotesPull: { type: 'text' },
 *     },
 *   } },
 *   // only ever a CSV file (or a folder of them, read in name order)
 *   rates: { csv: { file: 'data/rates', key: 'Code', columns: { Code: { type: 'text' }, Rate: { type: 'decimal' } } } },
 * }
 */
export interface CsvSourceDefinition {
  /** The file, or a folder whose `*.csv` files are read in name order; relative to the working directory. `--source` overrides it. */
  file?: string;
  /**
   * The table the CSV stands for, as its `CREATE TABLE` statement: the staging table gets exactly its columns, types,
   * character sets and primary key. Without it the staging table is built from the column types (see `CsvColumn.sql`).
   */
  table?: string;
  /** The key column: one row per key; a later row with a key already loaded is a bad row. */
  key: string;
  /** One character; detected from the first lines (`,` `;` tab `|`) when absent. */
  delimiter?: string;
  /** Default `"`; a quote inside a quoted field is doubled. */
  quote?: string;
  /** `true` (default): the first line names the columns. A list: the file has no header line; its fields are these columns. */
  header?: boolean | string[];
  /**
   * One of utf8, utf16le, utf16be, cp1252, cp1250, cp1251, koi8-r, shift_jis, gbk, big5; `latin1` means cp1252, as it
   * does in MySQL. Detected when absent, only where that is safe (see detect.ts): a BOM, UTF-16 by its zero bytes, valid
   * UTF-8, or else cp1252 when the bytes look like Western text; any other file must declare its encoding.
   */
  encoding?: CsvEncoding;
  /**
   * The IANA zone the file's local times are written in (default `tableZone`). A value with its own offset (ISO 8601
   * with `Z` or `+02:00`, a format with a `Z` token) is an instant and needs no zone.
   */
  zone?: string;
  /**
   * The IANA zone whose local wall time the table's DATETIME columns hold (the legacy convention; default `UTC`).
   * Every date-time is converted to it; a local time that does not exist in `zone`, or (when converting) happened twice,
   * is a bad value, never guessed.
   */
  tableZone?: string;
  /** Unquoted field values that mean NULL (default: only the empty field). A quoted field is never NULL: `""` is ''. */
  nulls?: string[];
  /** Header names that are not loaded. Every other header name must be a declared column. */
  ignore?: string[];
  /** How each field is read, by the staging table's column name. */
  columns: Record<string, CsvColumn>;
}

export type CsvEncoding = TextEncoding | 'latin1';
export const csvEncodings: readonly CsvEncoding[] = [...textEncodings, 'latin1'];

interface ColumnBase {
  /** The header name of the field (default: the column name). */
  from?: string;
  /**
   * The column's SQL type when the declaration has no `table` (default from `type`: BIGINT, DECIMAL(38,10), TINYINT(1),
   * LONGTEXT, DATE, DATETIME).
   */
  sql?: string;
}

/**
 * A field's type. Leading and trailing blanks are ignored for every type but text.
 * - `integer`: `-12`, `+7`; `thousands` allows a grouping character (`1,234` with `thousands: ','`).
 * - `decimal`: `12.50`, or `12,50` with `decimalSeparator: ','`.
 * - `boolean`: `true`/`false` lists, case-insensitive (default 1/0, true/false, yes/no, y/n, t/f).
 * - `text`: as written.
 * - `date` / `datetime`: tried in the order of `formats`: luxon format strings (`M/d/yyyy h:mm a`,
 *   `dd.MM.yyyy HH:mm:ss`), `iso` (ISO 8601) or `excel` (Excel serial day numbers, 1900 date system).
 *   `zeroDates: true` keeps MySQL zero dates (`0000-00-00 00:00:00`, `2011-03-00 ...`) as they are, for exports of
 *   legacy tables that hold them.
 */
export type CsvColumn =
  | (ColumnBase & { type: 'integer'; thousands?: string })
  | (ColumnBase & { type: 'decimal'; decimalSeparator?: string; thousands?: string })
  | (ColumnBase & { type: 'boolean'; true?: string[]; false?: string[] })
  | (ColumnBase & { type: 'text' })
  | (ColumnBase & { type: 'date' | 'datetime'; formats: string[]; zeroDates?: boolean });

export type CsvColumnType = CsvColumn['type'];

/** A mapping's source: a table (by name), a table that can also be read from a CSV export, or only CSV. */
export type SourceDefinition = string | { table: string; csv?: CsvSourceDefinition } | { csv: CsvSourceDefinition & { file?: string } };

/** The table a CSV source is loaded into: the tool's own, never backed up, renamed or kept after restore and rollback. */
export function stagingTableName(alias: string): string {
  return `eventshift_src_${alias}`;
}

/** What is wrong with a CSV declaration, as phrases; empty when it is valid. */
export function csvDefinitionProblems(alias: string, d: CsvSourceDefinition): string[] {
  const where = `source '${alias}' (csv)`;
  const problems: string[] = [];
  if (typeof d !== 'object' || d === null) return [`${where}: the csv declaration must be an object`];
  if (!d.columns || Object.keys(d.columns).length === 0) problems.push(`${where}: declares no columns`);
  if (!d.key || !(d.key in (d.columns ?? {}))) problems.push(`${where}: key '${d.key}' is not a declared column`);
  if (d.delimiter !== undefined && [...d.delimiter].length !== 1) problems.push(`${where}: delimiter must be one character`);
  if (d.quote !== undefined && [...d.quote].length !== 1) problems.push(`${where}: quote must be one character`);
  if (d.delimiter !== undefined && d.delimiter === (d.quote ?? '"')) problems.push(`${where}: delimiter and quote are the same character`);
  if (d.encoding !== undefined && !csvEncodings.includes(d.encoding))
    problems.push(`${where}: encoding '${d.encoding}' is not one of ${csvEncodings.join(', ')}`);
  for (const [name, zone] of [
    ['zone', d.zone],
    ['tableZone', d.tableZone],
  ] as const) {
    if (zone !== undefined && !IANAZone.isValidZone(zone)) problems.push(`${where}: ${name} '${zone}' is not an IANA time zone`);
  }
  if (Array.isArray(d.header) && d.header.length === 0) problems.push(`${where}: header lists no columns`);
  if (d.table !== undefined && !/^\s*CREATE\s+TABLE\s/i.test(d.table)) problems.push(`${where}: table must be a CREATE TABLE statement`);
  const headerNames = new Map<string, string>();
  for (const [column, c] of Object.entries(d.columns ?? {})) {
    const at = `${where}: column ${column}`;
    const from = c.from ?? column;
    if (headerNames.has(from)) problems.push(`${at} reads field '${from}', as ${headerNames.get(from)} does`);
    headerNames.set(from, column);
    if (Array.isArray(d.header) && !d.header.includes(from)) problems.push(`${at} reads field '${from}', which header does not list`);
    switch (c.type) {
      case 'integer':
      case 'text':
      case 'boolean':
        break;
      case 'decimal':
        if (c.decimalSeparator !== undefined && c.decimalSeparator.length !== 1)
          problems.push(`${at}: decimalSeparator must be one character`);
        break;
      case 'date':
      case 'datetime':
        if (!Array.isArray(c.formats) || c.formats.length === 0)
          problems.push(`${at}: a ${c.type} needs formats (luxon formats, 'iso' or 'excel')`);
        for (const f of c.formats ?? []) {
          if (f !== 'iso' && f !== 'excel' && !formatParser(f).isValid) {
            problems.push(`${at}: '${f}' is not a luxon format`);
          }
        }
        break;
      default:
        problems.push(`${at}: type '${(c as { type: string }).type}' is not one of integer, decimal, boolean, text, date, datetime`);
    }
  }
  return problems;
}

/** The subset of luxon's TokenParser (DateTime.buildFormatParser) used here; luxon types it as an opaque brand. */
export interface TokenParser {
  readonly isValid: boolean;
  explainFromTokens(text: string): {
    result?: Partial<Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'millisecond', number>> | null;
    specificOffset?: number;
  };
}

/** The parser of a luxon date format, as the declaration check and the column readers use it. */
export function formatParser(format: string): TokenParser {
  return DateTime.buildFormatParser(format, { locale: 'en-US' }) as unknown as TokenParser;
}
