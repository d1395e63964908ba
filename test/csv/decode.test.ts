import { describe, expect, it } from 'vitest';
import { cp1252Byte, decodeCp1252, encodeCp1252, isCp1252Byte } from '../../src/csv/cp1252.ts';
import { chunkDecoder, decodeAll, encodeRaw, firstInvalidByte, hasInvalidBytes, readable, type TextEncoding } from '../../src/csv/decode.ts';

/** What Windows (and the WHATWG Encoding Standard) put at 0x80..0x9F; null where cp1252 has no character. */
const windows1252High = [
  '€', null, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', null, 'Ž', null,
  null, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', null, 'ž', 'Ÿ',
];

describe('cp1252', () => {
  it('decodes 0x80..0x9F as Windows does, not as ISO-8859-1 control codes', () => {
    for (const [i, char] of windows1252High.entries()) {
      const byte = 0x80 + i;
      expect(isCp1252Byte(byte), byte.toString(16)).toBe(char !== null);
      if (char !== null) expect(decodeCp1252(Buffer.of(byte))).toBe(char);
    }
    // Node's 'latin1' would give U+0080 here.
    expect(Buffer.of(0x80).toString('latin1')).not.toBe('€');
    expect(decodeCp1252(Buffer.from([0x31, 0x32, 0x2c, 0x35, 0x30, 0x20, 0x80]))).toBe('12,50 €');
  });

  it('decodes 0xA0..0xFF as latin1 and round-trips every character it has', () => {
    const all = Buffer.from([...Array(256).keys()].filter(isCp1252Byte));
    const text = decodeCp1252(all);
    expect(text.slice(-3)).toBe('ýþÿ');
    expect(encodeCp1252(text).equals(all)).toBe(true);
    expect(decodeCp1252(encodeCp1252('„bitte nicht vor dem 15. versenden“ — Größe M™, señor Muñoz'))).toBe('„bitte nicht vor dem 15. versenden“ — Größe M™, señor Muñoz');
  });

  it('refuses to encode what cp1252 cannot write, and marks the five undefined bytes', () => {
    expect(() => encodeCp1252('shipped 📦')).toThrow(/U\+1F4E6.*cp1252/);
    expect(cp1252Byte(0x0081)).toBeUndefined();
    const decoded = decodeAll(Buffer.from([0x61, 0x81, 0x62]), 'cp1252');
    expect(hasInvalidBytes(decoded)).toBe(true);
    expect(firstInvalidByte(decoded)).toBe('0x81');
    expect(readable(decoded)).toBe('a\uFFFDb');
    expect(encodeRaw(decoded, 'cp1252')).toEqual(Buffer.from([0x61, 0x81, 0x62]));
  });
});

describe('streaming decoders', () => {
  const text = 'Zoë — Straße „x“ 📦 end';
  const cases: Array<[TextEncoding, Buffer]> = [
    ['utf8', Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from(text.replace('📦', 'box').replace('„', '"').replace('“', '"'), 'utf8')])],
    ['utf16le', Buffer.concat([Buffer.of(0xff, 0xfe), Buffer.from(text, 'utf16le')])],
  ];
  for (const [encoding, bytes] of cases) {
    it(`${encoding}: the same text whichever byte the chunks split at, the BOM left out`, () => {
      const whole = decodeAll(bytes, encoding);
      expect(whole.startsWith('Zoë')).toBe(true);
      for (let cut = 1; cut < bytes.length; cut++) {
        const d = chunkDecoder(encoding);
        expect(d.write(bytes.subarray(0, cut)) + d.write(bytes.subarray(cut)) + d.end(), `cut at ${cut}`).toBe(whole);
      }
    });
  }

  it('utf8: invalid bytes become markers that give the bytes back, valid text around them intact', () => {
    const bytes = Buffer.concat([Buffer.from('caf'), Buffer.of(0xe9), Buffer.from(' ok é '), Buffer.of(0xc3), Buffer.from('x'), Buffer.of(0xed, 0xa0, 0x80)]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = chunkDecoder('utf8');
      const got = d.write(bytes.subarray(0, cut)) + d.write(bytes.subarray(cut)) + d.end();
      expect(readable(got), `cut at ${cut}`).toBe('caf\uFFFD ok é \uFFFDx\uFFFD\uFFFD\uFFFD');
      expect(encodeRaw(got, 'utf8').equals(bytes), `cut at ${cut}`).toBe(true);
    }
    const d = chunkDecoder('utf8');
    expect(readable(d.write(Buffer.from('ab\xc3', 'latin1')) + d.end())).toBe('ab\uFFFD');
  });

  it('utf16le: a lone surrogate and an odd last byte are invalid bytes', () => {
    const bytes = Buffer.concat([Buffer.from('a', 'utf16le'), Buffer.of(0x00, 0xd8), Buffer.from('b', 'utf16le'), Buffer.of(0x41)]);
    const got = decodeAll(bytes, 'utf16le');
    expect(hasInvalidBytes(got)).toBe(true);
    expect(readable(got)).toBe('a\uFFFD\uFFFDb\uFFFD');
    expect(encodeRaw(got, 'utf16le').equals(bytes)).toBe(true);
  });
});
