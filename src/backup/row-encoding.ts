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

/** How one column's values are written in the rows file. */
export type ColumnEncoding = 'text' | 'hex';

const hexTypes = new Set([
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit',
  'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon',
  'geometrycollection',
]);

const textTypes = new Set([
  'tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'decimal', 'float', 'double',
  'date', 'datetime', 'timestamp', 'time', 'year',
  'char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json',
  'uuid', 'inet4', 'inet6',
]);

/** Character columns: read as their stored bytes (`CAST(... AS BINARY)`), never converted to the connection's charset. */
const characterTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);

/** The encoding of a column of this DATA_TYPE, or null for a type a backup cannot yet write losslessly. */
export function columnEncoding(dataType: string): ColumnEncoding | null {
  const type = dataType.toLowerCase();
  if (hexTypes.has(type)) return 'hex';
  if (textTypes.has(type)) return 'text';
  return null;
}

/**
 * The select-list expression that reads a column's value for the rows file, given the quoted column name.
 * Character columns are cast to BINARY so the server sends their stored bytes; FLOAT is widened to DOUBLE because
 * the server prints FLOAT with 6 significant digits (lossy) but DOUBLE with as many digits as it takes to round-trip,
 * and every FLOAT is exactly a DOUBLE.
 */
export function readExpression(quotedColumn: string, dataType: string): string {
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
  if (parsedFromText.has(dataType.toLowerCase())) return `CONVERT(${variable} USING utf8mb4)`;
  return null;
}

const BACKSLASH = 0x5c;
const escapes: Record<number, number> = { 0x00: 0x30 /* 0 */, 0x09: 0x74 /* t */, 0x0a: 0x6e /* n */, 0x0d: 0x72 /* r */, 0x5c: 0x5c };
const unescapes: Record<number, number> = { 0x30: 0x00, 0x62: 0x08 /* b */, 0x74: 0x09, 0x6e: 0x0a, 0x72: 0x0d, 0x5a: 0x1a /* Z */ };
const NULL_FIELD = Buffer.from('\\N', 'latin1');
const TAB = Buffer.from('\t', 'latin1');
const NEWLINE = Buffer.from('\n', 'latin1');

function needsEscape(value: Buffer): boolean {
  for (const byte of value) if (byte in escapes) return true;
  return false;
}

/** One field's bytes in the rows file. */
export function encodeField(value: Buffer | null, encoding: ColumnEncoding): Buffer {
  if (value === null) return NULL_FIELD;
  if (encoding === 'hex') return Buffer.from(value.toString('hex'), 'latin1');
  if (!needsEscape(value)) return value;
  const out = Buffer.allocUnsafe(value.length * 2);
  let at = 0;
  for (const byte of value) {
    const escaped = escapes[byte];
    if (escaped === undefined) {
      out[at++] = byte;
    } else {
      out[at++] = BACKSLASH;
      out[at++] = escaped;
    }
  }
  return out.subarray(0, at);
}

/** One row as a `\n`-terminated line; `values` are the raw bytes of the written columns, null for SQL NULL. */
export function encodeRow(values: ReadonlyArray<Buffer | null>, encodings: readonly ColumnEncoding[]): Buffer {
  if (values.length !== encodings.length) {
    throw new Error(`encodeRow: ${values.length} values for ${encodings.length} columns`);
  }
  const parts: Buffer[] = [];
  values.forEach((value, i) => {
    if (i > 0) parts.push(TAB);
    parts.push(encodeField(value, encodings[i]!));
  });
  parts.push(NEWLINE);
  return Buffer.concat(parts);
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
