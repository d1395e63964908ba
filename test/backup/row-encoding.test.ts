import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { columnEncoding, decodeRow, encodeField, encodeRow, readExpression, type ColumnEncoding } from '../../src/backup/row-encoding.ts';

const b = (text: string) => Buffer.from(text, 'latin1');
const lineOf = (encoded: Buffer) => encoded.subarray(0, -1);

describe('row encoding', () => {
  it('writes NULL, empty, and look-alikes of NULL distinctly', () => {
    const values = [null, b(''), b('\\N'), b('NULL'), b('N')];
    const encodings: ColumnEncoding[] = ['text', 'text', 'text', 'text', 'text'];
    const encoded = encodeRow(values, encodings);
    expect(encoded.toString('latin1')).toBe('\\N\t\t\\\\N\tNULL\tN\n');
    expect(decodeRow(lineOf(encoded), encodings)).toEqual(values);
  });

  it('escapes exactly NUL, tab, LF, CR and backslash, and passes every other byte through', () => {
    expect(encodeField(b('a\tb\nc\rd\\e\0f\'g"h\x1a'), 'text').toString('latin1')).toBe('a\\tb\\nc\\rd\\\\e\\0f\'g"h\x1a');
    const high = Buffer.from(Array.from({ length: 128 }, (_, i) => 128 + i));
    expect(encodeField(high, 'text')).toEqual(high);
  });

  it('writes hex columns as lower-case hex, so any byte is a plain character', () => {
    const bytes = Buffer.from([0x00, 0x09, 0x0a, 0x0d, 0x5c, 0x27, 0xff, 0xc3, 0x28]);
    expect(encodeField(bytes, 'hex').toString('latin1')).toBe('00090a0d5c27ffc328');
    expect(encodeField(Buffer.alloc(0), 'hex').toString('latin1')).toBe('');
    expect(encodeField(null, 'hex').toString('latin1')).toBe('\\N');
  });

  it('round-trips random bytes, invalid UTF-8 and emoji in both encodings', () => {
    const encodings: ColumnEncoding[] = ['text', 'hex', 'text', 'hex', 'text'];
    for (let i = 0; i < 500; i++) {
      const values = [
        randomBytes(i % 40),
        randomBytes((i * 7) % 50),
        Buffer.from('😀 café \u{1D11E}', 'utf8'),
        i % 3 === 0 ? null : Buffer.alloc(0),
        Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x5c, 0x4e]), // invalid UTF-8, then a backslash and N
      ];
      const encoded = encodeRow(values, encodings);
      expect(encoded.subarray(0, -1).includes(0x0a)).toBe(false);
      expect(decodeRow(lineOf(encoded), encodings)).toEqual(values);
    }
  });

  it('refuses lines that do not fit the columns', () => {
    expect(() => decodeRow(b('a\tb'), ['text'])).toThrow(/2 fields where 1/);
    expect(() => decodeRow(b('zz'), ['hex'])).toThrow(/should be hex/);
    expect(() => encodeRow([null], ['text', 'text'])).toThrow(/1 values for 2 columns/);
  });

  it('chooses encodings and read expressions by type', () => {
    expect(columnEncoding('varbinary')).toBe('hex');
    expect(columnEncoding('bit')).toBe('hex');
    expect(columnEncoding('multipolygon')).toBe('hex');
    expect(columnEncoding('decimal')).toBe('text');
    expect(columnEncoding('json')).toBe('text');
    expect(columnEncoding('enum')).toBe('index');
    expect(columnEncoding('set')).toBe('index');
    expect(readExpression('`c`', 'set', 'index')).toBe('(`c` + 0)');
    expect(columnEncoding('vector')).toBeNull();
    expect(readExpression('`c`', 'varchar')).toBe('CAST(`c` AS BINARY)');
    expect(readExpression('`c`', 'enum')).toBe('CAST(`c` AS BINARY)');
    expect(readExpression('`c`', 'float')).toBe('CAST(`c` AS DOUBLE)');
    expect(readExpression('`c`', 'double')).toBe('`c`');
    expect(readExpression('`c`', 'blob')).toBe('`c`');
  });
});
