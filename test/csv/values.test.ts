import { describe, expect, it } from 'vitest';
import { BadValue, columnReader, type FieldValue } from '../../src/csv/values.ts';
import { ZoneClock } from '../../src/csv/zone-time.ts';
import type { CsvColumn } from '../../src/csv/declaration.ts';
import { ordPullCsv, ordPullDateFormats, shopZone } from '../../mappings/vbzcart-ord-pull/csv-source.ts';

const zones = (file: string, table: string) => ({
  fileZone: new ZoneClock(file),
  tableZone: new ZoneClock(table),
  nulls: new Set<string>(),
});
const read = (column: CsvColumn, field: string, options: { file?: string; table?: string; quoted?: boolean } = {}) =>
  columnReader('C', column, zones(options.file ?? 'UTC', options.table ?? options.file ?? 'UTC'))(field, options.quoted ?? false);
const reason = (v: FieldValue | BadValue) => (v instanceof BadValue ? v.reason : `value ${String(v)}`);
const datetime = (formats: string[], zeroDates = false): CsvColumn => ({ type: 'datetime', formats, zeroDates });

describe('date-times', () => {
  const us = datetime(['M/d/yyyy h:mm:ss a', 'M/d/yyyy h:mm a']);

  it('parses the declared formats, in order, into the wall time of the table zone', () => {
    expect(read(us, '3/4/2011 10:15:22 PM')).toBe('2011-03-04 22:15:22');
    expect(read(us, '12/31/2011 12:05 AM')).toBe('2011-12-31 00:05:00');
    expect(read(us, ' 3/4/2011 9:05 am ')).toBe('2011-03-04 09:05:00');
    expect(read(datetime(['dd.MM.yyyy HH:mm:ss']), '04.03.2011 22:15:22')).toBe('2011-03-04 22:15:22');
  });

  it('names the value and the formats when none fits, and rejects dates that do not exist', () => {
    expect(reason(read(us, '2011-03-04 22:15'))).toBe(
      "C: '2011-03-04 22:15' is not a date-time in any declared format (M/d/yyyy h:mm:ss a, M/d/yyyy h:mm a)",
    );
    expect(reason(read(us, '2/30/2011 9:15:00 AM'))).toMatch(/has day 30, and 2011-02 has 28 days/);
    expect(reason(read(us, '13/45/2011 9:99:00 PM'))).toMatch(/has month 13/);
  });

  it('reads ISO 8601: with an offset it is an instant, converted to the table zone; without, local time of the file zone', () => {
    const iso = datetime(['iso']);
    expect(read(iso, '2011-07-01T16:00:00Z', { file: 'UTC', table: shopZone })).toBe('2011-07-01 12:00:00');
    expect(read(iso, '2011-01-15T16:00:00+01:00', { file: 'UTC', table: shopZone })).toBe('2011-01-15 10:00:00');
    expect(read(iso, '2011-07-01T16:00:00', { file: 'UTC', table: shopZone })).toBe('2011-07-01 12:00:00');
    expect(read(iso, '2011-07-01T16:00:00', { file: shopZone, table: shopZone })).toBe('2011-07-01 16:00:00');
    expect(read(iso, '2011-07-01T16:00:00.250Z')).toBe('2011-07-01 16:00:00.250');
  });

  it('reads Excel serial numbers (1900 date system, with its phantom 29 February 1900)', () => {
    const excel = datetime(['excel']);
    expect(read(excel, '40606.5')).toBe('2011-03-04 12:00:00');
    expect(read(excel, '61')).toBe('1900-03-01 00:00:00');
    expect(read(excel, '59')).toBe('1900-02-28 00:00:00');
    expect(read(excel, '1')).toBe('1900-01-01 00:00:00');
    expect(read(excel, '40606.999999')).toBe('2011-03-05 00:00:00');
    expect(reason(read(excel, '60'))).toMatch(/29 February 1900/);
    expect(read({ type: 'date', formats: ['excel'] }, '40606')).toBe('2011-03-04');
    expect(reason(read({ type: 'date', formats: ['excel'] }, '40606.25'))).toMatch(/has a time of day/);
  });

  it('keeps MySQL zero dates only when declared', () => {
    expect(read(datetime(['iso'], true), '0000-00-00 00:00:00')).toBe('0000-00-00 00:00:00');
    expect(read(datetime(['iso'], true), '2011-03-00 00:00:00')).toBe('2011-03-00 00:00:00');
    expect(read(datetime(['iso'], false), '0000-00-00 00:00:00')).toBeInstanceOf(BadValue);
  });
});

describe('daylight saving time: reported, never guessed', () => {
  const us = datetime(['M/d/yyyy h:mm:ss a']);
  // New York: clocks went from 2:00 to 3:00 on 13 March 2011 and from 2:00 back to 1:00 on 6 November 2011.

  it('a local time in the spring-forward gap does not exist: a bad value, converted or not', () => {
    for (const table of [shopZone, 'UTC']) {
      const r = read(us, '3/13/2011 2:30:00 AM', { file: shopZone, table });
      expect(reason(r)).toBe(
        "C: '3/13/2011 2:30:00 AM' does not exist in America/New_York: clocks skipped that hour (spring forward); " +
          'the value is wrong or its zone is',
      );
    }
    expect(read(us, '3/13/2011 1:59:59 AM', { file: shopZone, table: 'UTC' })).toBe('2011-03-13 06:59:59');
    expect(read(us, '3/13/2011 3:00:00 AM', { file: shopZone, table: 'UTC' })).toBe('2011-03-13 07:00:00');
    // The same wall time exists in Berlin, whose clocks changed on 27 March.
    expect(read(us, '3/13/2011 2:30:00 AM', { file: 'Europe/Berlin', table: shopZone })).toBe('2011-03-12 20:30:00');
  });

  it('a local time in the fall-back overlap happened twice: a bad value when it must be converted, naming both readings', () => {
    const r = read(us, '11/6/2011 1:30:00 AM', { file: shopZone, table: 'UTC' });
    expect(reason(r)).toMatch(
      /happened twice in America\/New_York .* 2011-11-06 05:30:00 or 2011-11-06 06:30:00; write it with its offset/,
    );
    // Stored as written where no conversion is needed: the table holds the same ambiguous wall time.
    expect(read(us, '11/6/2011 1:30:00 AM', { file: shopZone, table: shopZone })).toBe('2011-11-06 01:30:00');
    // With its offset it is one instant.
    expect(read(datetime(['iso']), '2011-11-06T01:30:00-05:00', { file: shopZone, table: 'UTC' })).toBe('2011-11-06 06:30:00');
  });

  it('ZoneClock resolves gaps, overlaps and ordinary times', () => {
    const ny = new ZoneClock(shopZone);
    expect(ny.resolve(Date.UTC(2011, 2, 13, 2, 30))).toEqual({ kind: 'gap' });
    expect(ny.resolve(Date.UTC(2011, 10, 6, 1, 30))).toEqual({
      kind: 'ambiguous',
      instants: [Date.UTC(2011, 10, 6, 5, 30), Date.UTC(2011, 10, 6, 6, 30)],
    });
    expect(ny.resolve(Date.UTC(2011, 6, 1, 12))).toEqual({ kind: 'ok', instant: Date.UTC(2011, 6, 1, 16) });
    expect(ny.wallOf(Date.UTC(2011, 0, 1, 5))).toBe(Date.UTC(2011, 0, 1, 0));
  });
});

describe('other types and NULL', () => {
  it('integers, decimals and booleans', () => {
    expect(read({ type: 'integer' }, ' +42 ')).toBe('42');
    expect(read({ type: 'integer', thousands: ',' }, '1,234,567')).toBe('1234567');
    expect(reason(read({ type: 'integer' }, '4.5'))).toBe("C: '4.5' is not a whole number");
    expect(read({ type: 'decimal', decimalSeparator: ',', thousands: '.' }, '1.234,50')).toBe('1234.50');
    expect(reason(read({ type: 'decimal' }, '12,50'))).toBe("C: '12,50' is not a number");
    expect(read({ type: 'boolean' }, 'Yes')).toBe('1');
    expect(read({ type: 'boolean', true: ['x'], false: ['-'] }, '-')).toBe('0');
    expect(read({ type: 'boolean' }, 'maybe')).toBeInstanceOf(BadValue);
  });

  it("an unquoted empty field is NULL, a quoted one is '' (text) and NULL for other types", () => {
    expect(read({ type: 'text' }, '')).toBeNull();
    expect(read({ type: 'text' }, '', { quoted: true })).toBe('');
    expect(read({ type: 'text' }, '  spaced  ')).toBe('  spaced  ');
    expect(read({ type: 'integer' }, '', { quoted: true })).toBeNull();
    const withNull = columnReader('C', { type: 'text' }, { ...zones('UTC', 'UTC'), nulls: new Set(['NULL']) });
    expect(withNull('NULL', false)).toBeNull();
    expect(withNull('NULL', true)).toBe('NULL');
  });

  it("VbzCart's declaration reads the shapes its exports come in", () => {
    const when = columnReader('WhenPulled', ordPullCsv.columns.WhenPulled!, zones(shopZone, shopZone));
    expect(ordPullDateFormats[0]).toBe('M/d/yyyy h:mm:ss a');
    for (const [field, value] of [
      ['3/4/2011 10:15:22 PM', '2011-03-04 22:15:22'],
      ['3/4/2011 10:15 PM', '2011-03-04 22:15:00'],
      ['2011-03-04 22:15:22', '2011-03-04 22:15:22'],
      ['2011-03-05T03:15:22Z', '2011-03-04 22:15:22'],
      ['40606.9273379630', '2011-03-04 22:15:22'],
      ['0000-00-00 00:00:00', '0000-00-00 00:00:00'],
    ] as const) {
      expect(when(field, false), field).toBe(value);
    }
  });
});
