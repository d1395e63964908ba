import type { ColumnInfo } from '../db/introspect.ts';
import { valueKind } from '../db/checksum.ts';
import type { ShownValue } from '../verify/check-result.ts';
import { formatBytes } from '../format.ts';

/**
 * The values a failing content check shows for a differing column: the compared forms of both sides (comparableSql),
 * read for the named rows only, and cut so that a report stays readable whatever a column holds.
 */

/** Text is shown up to this many characters, bytes up to this many bytes (as twice as many hex digits). */
export const shownTextChars = 200;
export const shownBytes = 64;
/** Bytes read of a compared value: enough for `shownTextChars` characters of utf8mb4. */
const readBytes = shownTextChars * 4;

/** The SQL selecting a compared value's start as `name` and its whole length in bytes as `name`_len. */
export function shownValueSql(expr: string, name: string): string {
  return `SUBSTRING(${expr}, 1, ${readBytes}) AS ${name}, LENGTH(${expr}) AS ${name}_len`;
}

/** A value read by shownValueSql, as a report shows it: hex for a binary column's bytes, text for text, else as written. */
export function shownValue(raw: unknown, length: unknown, column: Pick<ColumnInfo, 'dataType'>): ShownValue {
  if (raw === null || raw === undefined) return { form: 'null', value: null, cut: false, bytes: null };
  const bytes = length === null || length === undefined ? null : Number(length);
  if (column.dataType === 'bit') return { form: 'hex', value: String(raw), cut: false, bytes: null };
  if (Buffer.isBuffer(raw) && valueKind(column) === 'binary') {
    const shown = raw.subarray(0, shownBytes);
    return { form: 'hex', value: shown.toString('hex').toUpperCase(), cut: (bytes ?? raw.length) > shown.length, bytes };
  }
  if (Buffer.isBuffer(raw)) {
    const chars = [...raw.toString('utf8')];
    // The bytes read may end inside a character: its decoded remains are dropped with the rest.
    const readAll = (bytes ?? raw.length) <= raw.length;
    const kept = readAll ? chars : chars.slice(0, -1);
    const value = kept.slice(0, shownTextChars).join('');
    return { form: 'text', value, cut: !readAll || kept.length > shownTextChars, bytes };
  }
  return { form: 'plain', value: String(raw), cut: false, bytes: null };
}

/** A cut value's whole size, `70.3 KiB`. */
export const inAll = (bytes: number | null) => (bytes === null ? 'an unknown size' : formatBytes(bytes));

/** One shown value as a line of text: NULL, a JSON-quoted string, 0x and hex digits, or the value; a cut one says so. */
export function shownValueText(v: ShownValue): string {
  const cut = v.cut ? ` … (cut; ${inAll(v.bytes)} in all)` : '';
  switch (v.form) {
    case 'null':
      return 'NULL';
    case 'text':
      return `${JSON.stringify(v.value)}${cut}`;
    case 'hex':
      return `0x${v.value}${cut}`;
    default:
      return `${v.value}${cut}`;
  }
}
