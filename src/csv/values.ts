import { DateTime } from 'luxon';
import { formatParser, type CsvColumn, type TokenParser } from './declaration.ts';
import { ZoneClock } from './zone-time.ts';

/**
 * Turns CSV fields into the text of SQL values, by the column types a mapping declares. A field either becomes a
 * value (text the server converts exactly: '12', '12.50', '2011-03-04 22:15:22', or null for NULL) or a `BadValue`
 * that says, in a DBA's words, what is wrong with it. Nothing is guessed: a value that fits no declared form, a local
 * time that does not exist, or one that happened twice and must be converted, is a bad value.
 */
export class BadValue {
  constructor(readonly reason: string) {}
}

export type FieldValue = string | null;

/**
 * Reads one column's fields. `field` is the field as csv-parse gave it; `quoted` whether it was written in quotes
 * (a quoted field is never NULL, so `""` is the empty string and an unquoted empty field is NULL).
 */
export type ColumnReader = (field: string, quoted: boolean) => FieldValue | BadValue;

export interface ReaderContext {
  /** The zone the file's local times are in. */
  fileZone: ZoneClock;
  /** The zone whose local time the table's DATETIME columns hold. */
  tableZone: ZoneClock;
  /** Unquoted values that mean NULL, besides the empty field. */
  nulls: ReadonlySet<string>;
}

const defaultTrue = ['1', 'true', 'yes', 'y', 't'];
const defaultFalse = ['0', 'false', 'no', 'n', 'f'];

export function columnReader(name: string, column: CsvColumn, ctx: ReaderContext): ColumnReader {
  const isNull = (field: string, quoted: boolean) => !quoted && (field === '' || ctx.nulls.has(field));
  const shown = (field: string) => `${name}: '${field.length > 60 ? `${field.slice(0, 57)}...` : field}'`;
  switch (column.type) {
    case 'text':
      return (field, quoted) => (isNull(field, quoted) ? null : field);
    case 'integer': {
      const thousands = column.thousands;
      return (field, quoted) => {
        if (isNull(field, quoted)) return null;
        let v = field.trim();
        if (v === '') return null;
        if (thousands) v = v.split(thousands).join('');
        if (!/^[+-]?\d+$/.test(v)) return new BadValue(`${shown(field)} is not a whole number`);
        return v[0] === '+' ? v.slice(1) : v;
      };
    }
    case 'decimal': {
      const { thousands, decimalSeparator = '.' } = column;
      return (field, quoted) => {
        if (isNull(field, quoted)) return null;
        let v = field.trim();
        if (v === '') return null;
        if (thousands) v = v.split(thousands).join('');
        if (decimalSeparator !== '.') {
          if (v.includes('.')) return new BadValue(`${shown(field)} is not a number with decimal separator '${decimalSeparator}'`);
          v = v.replace(decimalSeparator, '.');
        }
        if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) return new BadValue(`${shown(field)} is not a number`);
        return v[0] === '+' ? v.slice(1) : v;
      };
    }
    case 'boolean': {
      const yes = new Set((column.true ?? defaultTrue).map((s) => s.toLowerCase()));
      const no = new Set((column.false ?? defaultFalse).map((s) => s.toLowerCase()));
      return (field, quoted) => {
        if (isNull(field, quoted)) return null;
        const v = field.trim().toLowerCase();
        if (v === '') return null;
        if (yes.has(v)) return '1';
        if (no.has(v)) return '0';
        return new BadValue(`${shown(field)} is not one of ${[...yes, ...no].join(', ')}`);
      };
    }
    case 'date':
    case 'datetime':
      return dateReader(column, ctx, { isNull, shown });
  }
}

interface Parsed {
  /** Wall time as UTC-epoch ms of its fields. */
  wall: number;
  /** Set when the value names its own offset: then it is this instant, whatever the zones. */
  instant: number | null;
}

type Attempt = (text: string) => Parsed | BadValue | null;

const zeroDate = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?)?$/;
const isoOffset = /[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** How a column's reader tells a NULL field, and shows a field in a reason. */
interface FieldWords {
  isNull: (field: string, quoted: boolean) => boolean;
  shown: (field: string) => string;
}

function dateReader(
  column: Extract<CsvColumn, { type: 'date' | 'datetime' }>,
  ctx: ReaderContext,
  { isNull, shown }: FieldWords,
): ColumnReader {
  const { type, formats } = column;
  const zeroDates = column.zeroDates === true;
  const attempts = formats.map((f): Attempt => (f === 'iso' ? parseIso : f === 'excel' ? parseExcel : tokenAttempt(formatParser(f))));
  const convert = ctx.fileZone.name !== ctx.tableZone.name;
  return (field, quoted) => {
    if (isNull(field, quoted)) return null;
    const text = field.trim();
    if (text === '') return null;
    if (zeroDates) {
      const m = zeroDate.exec(text);
      if (m && (m[1] === '0000' || m[2] === '00' || m[3] === '00')) return type === 'date' ? text.slice(0, 10) : text.replace('T', ' ');
    }
    let parsed: Parsed | null = null;
    for (const attempt of attempts) {
      const r = attempt(text);
      if (r instanceof BadValue) return new BadValue(`${shown(field)} ${r.reason}`);
      if (r) {
        parsed = r;
        break;
      }
    }
    if (!parsed)
      return new BadValue(
        `${shown(field)} is not a ${type === 'date' ? 'date' : 'date-time'} in any declared format (${formats.join(', ')})`,
      );
    if (type === 'date') {
      if (parsed.wall % 86_400_000 !== 0) return new BadValue(`${shown(field)} has a time of day, and the column holds dates`);
      return wallText(parsed.wall).slice(0, 10);
    }
    if (parsed.instant !== null) return wallText(ctx.tableZone.wallOf(parsed.instant));
    const local = ctx.fileZone.resolve(parsed.wall);
    if (local.kind === 'gap') {
      return new BadValue(
        `${shown(field)} does not exist in ${ctx.fileZone.name}: clocks skipped that hour (spring forward); ` +
          'the value is wrong or its zone is',
      );
    }
    if (!convert) return wallText(parsed.wall);
    if (local.kind === 'ambiguous') {
      return new BadValue(
        `${shown(field)} happened twice in ${ctx.fileZone.name} (clocks fell back), ` +
          `so it cannot be converted to ${ctx.tableZone.name} ` +
          `without guessing: ${wallText(ctx.tableZone.wallOf(local.instants[0]))} or ` +
          `${wallText(ctx.tableZone.wallOf(local.instants[1]))}; write it with its offset`,
      );
    }
    return wallText(ctx.tableZone.wallOf(local.instant));
  };
}

/** The text of a wall time for a DATETIME: `YYYY-MM-DD HH:MM:SS`, with `.mmm` when it has milliseconds. */
export function wallText(wall: number): string {
  const d = new Date(wall);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
  const base = `${date} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  const ms = d.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${p(ms, 3)}`;
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Wall ms of the fields, or a reason when they name no real date and time. */
function wallOf(f: {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}): number | BadValue {
  if (f.year < 1000 || f.year > 9999) return new BadValue(`has year ${f.year}, outside 1000..9999`);
  if (f.month < 1 || f.month > 12) return new BadValue(`has month ${f.month}`);
  if (f.day < 1 || f.day > daysIn(f.year, f.month))
    return new BadValue(`has day ${f.day}, and ${f.year}-${String(f.month).padStart(2, '0')} has ${daysIn(f.year, f.month)} days`);
  if (f.hour > 23 || f.minute > 59 || f.second > 59) return new BadValue(`has the time ${f.hour}:${f.minute}:${f.second}`);
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.millisecond);
}

function tokenAttempt(parser: TokenParser): Attempt {
  return (text) => {
    const { result, specificOffset } = parser.explainFromTokens(text);
    if (!result || result.year === undefined || result.month === undefined || result.day === undefined) return null;
    const wall = wallOf({
      year: result.year,
      month: result.month,
      day: result.day,
      hour: result.hour ?? 0,
      minute: result.minute ?? 0,
      second: result.second ?? 0,
      millisecond: result.millisecond ?? 0,
    });
    if (wall instanceof BadValue) return wall;
    return { wall, instant: specificOffset === undefined ? null : wall - specificOffset * 60_000 };
  };
}

function parseIso(text: string): Parsed | BadValue | null {
  if (!/^[+-]?\d{4}/.test(text)) return null;
  const dt = DateTime.fromISO(text, { zone: 'utc', setZone: true });
  if (!dt.isValid) return null;
  const hasOffset = isoOffset.test(text);
  const wall = Date.UTC(dt.year, dt.month - 1, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond);
  return { wall, instant: hasOffset ? dt.toMillis() : null };
}

/**
 * Excel's serial day numbers (1900 date system): 1 is 1900-01-01, and Excel counts a 29 February 1900 that never was
 * (serial 60), so from serial 61 on day 0 is 1899-12-30. The fraction is the time of day, rounded to the second.
 */
function parseExcel(text: string): Parsed | BadValue | null {
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const serial = Number(text);
  const days = Math.floor(serial);
  if (days === 60) return new BadValue('is Excel serial 60, the 29 February 1900 that Excel counts but never was');
  if (days < 1 || days > 2_958_465) return new BadValue('is not an Excel date serial (1..2958465)');
  const epoch = days < 60 ? Date.UTC(1899, 11, 31) : Date.UTC(1899, 11, 30);
  const seconds = Math.round((serial - days) * 86_400);
  return { wall: epoch + days * 86_400_000 + seconds * 1000, instant: null };
}
