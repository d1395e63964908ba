import { byteTypes } from '../db/introspect.ts';
import { memberIndexSql } from '../db/checksum.ts';

/**
 * The rows file of a backup: MySQL's `LOAD DATA` text format, read back with `CHARACTER SET binary`.
 *
 * One line per row, `\n`-terminated; fields separated by a tab; SQL NULL is `\N`. Inside a field the bytes
 * NUL, tab, LF, CR and backslash are written `\0`, `\t`, `\n`, `\r`, `\\`; every other byte is written as is.
 * A `text` column holds the bytes the server stores (text in the column's own character set, numbers and dates
 * as the server prints them); a `hex` column (binary strings, BLOBs, BIT, spatial types) holds lower-case hex
 * of its bytes, which restore turns back with `UNHEX()`. No character set conversion happens anywhere, so any
 * byte sequence survives. backups/README.md is the documentation of this format.
 */

/**
 * How one column's values are written in the rows file: `text` as the server stores or prints it, `hex` as the hex of
 * its bytes, `index` (ENUM and SET, format version 3) as the member's index or the set's bit mask, an unsigned integer.
 */
export type ColumnEncoding = 'text' | 'hex' | 'index';

const textTypes = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'bigint',
  'decimal',
  'float',
  'double',
  'date',
  'datetime',
  'timestamp',
  'time',
  'year',
  'char',
  'varchar',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'json',
  'uuid',
  'inet4',
  'inet6',
]);

/**
 * ENUM and SET: by index, because their text is ambiguous. An ENUM holding its error value (index 0, which a
 * non-strict INSERT of a non-member stores) reads as '', as does a member '' (ENUM('', 'x')): written as text, the
 * error value would come back as the member.
 */
const indexTypes = new Set(['enum', 'set']);

/** Character columns: read as their stored bytes (`CAST(... AS BINARY)`), never converted to the connection's charset. */
const characterTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);

/** The encoding of a column of this DATA_TYPE, or null for a type a backup cannot yet write losslessly. */
export function columnEncoding(dataType: string): ColumnEncoding | null {
  const type = dataType.toLowerCase();
  if (byteTypes.has(type)) return 'hex';
  if (indexTypes.has(type)) return 'index';
  if (textTypes.has(type)) return 'text';
  return null;
}

/**
 * The select-list expression that reads a column's value for the rows file, given the quoted column name.
 * Character columns are cast to BINARY so the server sends their stored bytes; FLOAT is widened to DOUBLE because
 * the server prints FLOAT with 6 significant digits (lossy) but DOUBLE with as many digits as it takes to round-trip,
 * and every FLOAT is exactly a DOUBLE. An `index` column is read as its index (ENUM) or bit mask (SET).
 */
export function readExpression(quotedColumn: string, dataType: string, encoding: ColumnEncoding = 'text'): string {
  if (encoding === 'index') return memberIndexSql(quotedColumn);
  const type = dataType.toLowerCase();
  if (characterTypes.has(type)) return `CAST(${quotedColumn} AS BINARY)`;
  if (type === 'float') return `CAST(${quotedColumn} AS DOUBLE)`;
  return quotedColumn;
}

/** Types the server parses from character strings only: from a binary string it would expect their binary form. */
const parsedFromText = new Set(['uuid', 'inet4', 'inet6']);

/**
 * The expression that turns a loaded field, held in user variable `variable`, into the column's value; null when the
 * field is loaded into the column directly. The inverse of readExpression plus the encoding.
 */
export function loadExpression(variable: string, dataType: string, encoding: ColumnEncoding): string | null {
  if (encoding === 'hex') return `UNHEX(${variable})`;
  // An integer stored into an ENUM or SET is its index or bit mask; a string would be looked up as a member first.
  if (encoding === 'index') return `CAST(${variable} AS UNSIGNED)`;
  if (parsedFromText.has(dataType.toLowerCase())) return `CONVERT(${variable} USING utf8mb4)`;
  return null;
}

const BACKSLASH = 0x5c;
const TAB = 0x09;
const NEWLINE = 0x0a;
const unescapes: Record<number, number> = { 0x30: 0x00, 0x62: 0x08 /* b */, 0x74: 0x09, 0x6e: 0x0a, 0x72: 0x0d, 0x5a: 0x1a /* Z */ };
const NULL_FIELD = Buffer.from('\\N', 'latin1');

/** For each byte, the letter that follows the backslash when it is escaped; 0 when it is written as is. */
const escapeLetter = new Uint8Array(256);
escapeLetter[0x00] = 0x30; // 0
escapeLetter[0x09] = 0x74; // t
escapeLetter[0x0a] = 0x6e; // n
escapeLetter[0x0d] = 0x72; // r
escapeLetter[0x5c] = 0x5c; // backslash
const hexDigits = Buffer.from('0123456789abcdef', 'latin1');

/** The most bytes a field can take in the rows file: every byte escaped (or two hex digits), or `\N`. */
export function maxFieldBytes(value: Buffer | null): number {
  return value === null ? NULL_FIELD.length : value.length * 2;
}

/** Writes one field's bytes into `out` at `at`, which has maxFieldBytes(value) bytes of room; returns the end. */
export function writeField(out: Buffer, at: number, value: Buffer | null, encoding: ColumnEncoding): number {
  if (value === null) {
    out[at] = BACKSLASH;
    out[at + 1] = 0x4e; // N
    return at + 2;
  }
  const length = value.length;
  if (encoding === 'hex') {
    if (length > 64) return at + out.write(value.toString('hex'), at, 'latin1');
    for (let i = 0; i < length; i++) {
      const byte = value[i]!;
      out[at++] = hexDigits[byte >> 4]!;
      out[at++] = hexDigits[byte & 15]!;
    }
    return at;
  }
  for (let i = 0; i < length; i++) {
    const byte = value[i]!;
    const letter = escapeLetter[byte]!;
    if (letter === 0) {
      out[at++] = byte;
    } else {
      out[at++] = BACKSLASH;
      out[at++] = letter;
    }
  }
  return at;
}

/** The most bytes a row's line can take: its fields, a tab between two, and the newline. */
export function maxLineBytes(values: ReadonlyArray<Buffer | null>, from = 0): number {
  let size = values.length - from;
  for (let i = from; i < values.length; i++) size += maxFieldBytes(values[i] ?? null);
  return size;
}

/** How a row's values are written: each column's encoding, and where its values start in the row (`from`). */
export interface RowLayout {
  encodings: readonly ColumnEncoding[];
  /** The index of column 0's value: a query's row may carry other columns first. */
  from: number;
}

/**
 * Writes one row's `\n`-terminated line into `out` at `at`, which has maxLineBytes room; returns the end.
 * `values[from + i]` is the raw value of column i (null for SQL NULL).
 */
export function writeRow(out: Buffer, at: number, values: ReadonlyArray<Buffer | null>, { encodings, from }: RowLayout): number {
  for (let i = 0; i < encodings.length; i++) {
    if (i > 0) out[at++] = TAB;
    at = writeField(out, at, values[from + i] ?? null, encodings[i]!);
  }
  out[at++] = NEWLINE;
  return at;
}

/** One field's bytes in the rows file. */
export function encodeField(value: Buffer | null, encoding: ColumnEncoding): Buffer {
  const out = Buffer.allocUnsafe(maxFieldBytes(value));
  return out.subarray(0, writeField(out, 0, value, encoding));
}

/** One row as a `\n`-terminated line; `values` are the raw bytes of the written columns, null for SQL NULL. */
export function encodeRow(values: ReadonlyArray<Buffer | null>, encodings: readonly ColumnEncoding[]): Buffer {
  if (values.length !== encodings.length) {
    throw new Error(`encodeRow: ${values.length} values for ${encodings.length} columns`);
  }
  const out = Buffer.allocUnsafe(maxLineBytes(values));
  return out.subarray(0, writeRow(out, 0, values, { encodings, from: 0 }));
}

/**
 * Reads one line (without its `\n`) back into raw values, exactly as `LOAD DATA` does: the inverse of encodeRow.
 * Throws for a line with the wrong number of fields or a `hex` field that is not hex.
 */
export function decodeRow(line: Buffer, encodings: readonly ColumnEncoding[]): Array<Buffer | null> {
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === BACKSLASH) i++;
    else if (line[i] === 0x09) {
      fields.push(line.subarray(start, i));
      start = i + 1;
    }
  }
  fields.push(line.subarray(start));
  if (fields.length !== encodings.length) {
    throw new Error(`The line has ${fields.length} fields where ${encodings.length} columns were expected.`);
  }
  return fields.map((field, i) => {
    if (field.equals(NULL_FIELD)) return null;
    const bytes = unescapeField(field);
    if (encodings[i] !== 'hex') return bytes;
    const text = bytes.toString('latin1');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error(`Field ${i + 1} should be hex but is ${JSON.stringify(text.slice(0, 40))}.`);
    return Buffer.from(text, 'hex');
  });
}

function unescapeField(field: Buffer): Buffer {
  if (!field.includes(BACKSLASH)) return field;
  const out = Buffer.allocUnsafe(field.length);
  let at = 0;
  for (let i = 0; i < field.length; i++) {
    const byte = field[i]!;
    if (byte === BACKSLASH && i + 1 < field.length) {
      const next = field[++i]!;
      out[at++] = unescapes[next] ?? next;
    } else {
      out[at++] = byte;
    }
  }
  return out.subarray(0, at);
}

const COMMA = 0x2c;
const QUOTE = 0x27;
const NULL_WORD = Buffer.from('NULL', 'latin1');

/**
 * Reads one line (without its `\n`) of a `sql-quoted/binary` rows file back into raw values, as `LOAD DATA ... FIELDS
 * TERMINATED BY ',' ENCLOSED BY '\'' ESCAPED BY '\\'` does: a field in quotes is text (its escapes undone; QUOTE()
 * writes \\, \', \0 and \Z), the bare word NULL and `\N` are SQL NULL, any other field is its bytes as they are. With
 * `encodings`, `hex` fields are decoded to their bytes. For tests and for reading a backup by hand; restore leaves the
 * reading to the server.
 */
export function decodeStoredLine(line: Buffer, encodings?: readonly ColumnEncoding[]): Array<Buffer | null> {
  const fields: Array<Buffer | null> = [];
  let at = 0;
  for (;;) {
    if (line[at] === QUOTE) {
      const out = Buffer.allocUnsafe(line.length);
      let used = 0;
      for (at++; ; at++) {
        if (at >= line.length) throw new Error('A quoted field is not closed.');
        const byte = line[at]!;
        if (byte === BACKSLASH && at + 1 < line.length) {
          const next = line[++at]!;
          out[used++] = unescapes[next] ?? next;
        } else if (byte === QUOTE && line[at + 1] === QUOTE) {
          out[used++] = QUOTE;
          at++;
        } else if (byte === QUOTE) {
          at++;
          break;
        } else {
          out[used++] = byte;
        }
      }
      fields.push(out.subarray(0, used));
      if (at < line.length && line[at] !== COMMA)
        throw new Error(`A quoted field is followed by ${JSON.stringify(String.fromCharCode(line[at]!))}, not a comma.`);
    } else {
      let end = line.indexOf(COMMA, at);
      if (end === -1) end = line.length;
      const field = line.subarray(at, end);
      fields.push(field.equals(NULL_FIELD) || field.equals(NULL_WORD) ? null : field);
      at = end;
    }
    if (at >= line.length) break;
    at++; // the comma
  }
  if (!encodings) return fields;
  if (fields.length !== encodings.length)
    throw new Error(`The line has ${fields.length} fields where ${encodings.length} columns were expected.`);
  return fields.map((field, i) => (field !== null && encodings[i] === 'hex' ? Buffer.from(field.toString('latin1'), 'hex') : field));
}
