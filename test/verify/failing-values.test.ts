import { describe, expect, it } from 'vitest';
import { shownBytes, shownTextChars, shownValue, shownValueText } from '../../src/parts/failing-values.ts';

const text = { dataType: 'varchar' };
const blob = { dataType: 'blob' };

describe('the expected and found values a failing content check shows', () => {
  it('shows NULL as NULL, text JSON-quoted, bytes as hex, BIT as its hex digits, numbers and times as they are', () => {
    expect(shownValueText(shownValue(null, null, text))).toBe('NULL');
    const quoted = shownValue(Buffer.from('say "hi"\n<b>é</b>'), 18, text);
    expect(quoted).toEqual({ form: 'text', value: 'say "hi"\n<b>é</b>', cut: false, bytes: 18 });
    expect(shownValueText(quoted)).toBe('"say \\"hi\\"\\n<b>é</b>"');
    expect(shownValueText(shownValue(Buffer.from([0, 255, 16]), 3, blob))).toBe('0x00FF10');
    expect(shownValueText(shownValue('1', 1, { dataType: 'bit' }))).toBe('0x1');
    expect(shownValueText(shownValue('2009-09-16 10:01:44', 19, { dataType: 'datetime' }))).toBe('2009-09-16 10:01:44');
    expect(shownValueText(shownValue(8, 1, { dataType: 'int' }))).toBe('8');
  });

  it('cuts long text and bytes, saying how long the whole value is', () => {
    // As read: the first 800 bytes of a 1000-byte value, ending inside a two-byte character.
    const long = Buffer.from('é'.repeat(500)).subarray(0, 799);
    const cut = shownValue(long, 1000, text);
    expect(cut).toMatchObject({ form: 'text', cut: true, bytes: 1000 });
    expect(cut.value).toBe('é'.repeat(shownTextChars));
    expect(shownValueText(cut)).toMatch(/" … \(cut; 1,000 B in all\)$/);
    const bytes = shownValue(Buffer.alloc(800, 0xab), 5000, blob);
    expect(bytes).toEqual({ form: 'hex', value: 'AB'.repeat(shownBytes), cut: true, bytes: 5000 });
    expect(shownValueText(bytes)).toMatch(/ … \(cut; 4\.9 KiB in all\)$/);
    // Short enough: whole.
    expect(shownValue(Buffer.from('x'.repeat(shownTextChars)), shownTextChars, text).cut).toBe(false);
  });
});
