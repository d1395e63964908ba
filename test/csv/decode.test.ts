import { describe, expect, it } from 'vitest';
import {
  chunkDecoder,
  decodeAll,
  encodeRaw,
  encodeText,
  firstInvalidByte,
  hasInvalidBytes,
  readable,
  type TextEncoding,
} from '../../src/csv/decode.ts';

/** What Windows (and the WHATWG Encoding Standard) put at 0x80..0x9F; null where cp1252 has no character. */
const windows1252High = [
  '€',
  null,
  '‚',
  'ƒ',
  '„',
  '…',
  '†',
  '‡',
  'ˆ',
  '‰',
  'Š',
  '‹',
  'Œ',
  null,
  'Ž',
  null,
  null,
  '‘',
  '’',
  '“',
  '”',
  '•',
  '–',
  '—',
  '˜',
  '™',
  'š',
  '›',
  'œ',
  null,
  'ž',
  'Ÿ',
];

describe('cp1252', () => {
  it('decodes 0x80..0x9F as Windows does, not as ISO-8859-1 control codes', () => {
    for (const [i, char] of windows1252High.entries()) {
      const byte = 0x80 + i;
      const got = decodeAll(Buffer.of(byte), 'cp1252');
      expect(hasInvalidBytes(got), byte.toString(16)).toBe(char === null);
      if (char !== null) expect(got).toBe(char);
    }
    // Node's 'latin1' would give U+0080 here.
    expect(Buffer.of(0x80).toString('latin1')).not.toBe('€');
    expect(decodeAll(Buffer.from([0x31, 0x32, 0x2c, 0x35, 0x30, 0x20, 0x80]), 'cp1252')).toBe('12,50 €');
  });

  it('decodes 0xA0..0xFF as latin1 and round-trips every character it has', () => {
    const all = Buffer.from([...Array(256).keys()].filter((b) => b < 0x80 || b >= 0xa0 || windows1252High[b - 0x80] !== null));
    const text = decodeAll(all, 'cp1252');
    expect(text.slice(-3)).toBe('ýþÿ');
    expect(text.slice(0xa0 - 5)).toBe(Buffer.from([...Array(96).keys()].map((i) => 0xa0 + i)).toString('latin1'));
    expect(encodeText(text, 'cp1252').equals(all)).toBe(true);
    const german = '„bitte nicht vor dem 15. versenden“ — Größe M™, señor Muñoz';
    expect(decodeAll(encodeText(german, 'cp1252'), 'cp1252')).toBe(german);
  });

  it('refuses to encode what cp1252 cannot write, and marks the five undefined bytes', () => {
    expect(() => encodeText('shipped 📦', 'cp1252')).toThrow(/U\+1F4E6.*cp1252/);
    const decoded = decodeAll(Buffer.from([0x61, 0x81, 0x62]), 'cp1252');
    expect(hasInvalidBytes(decoded)).toBe(true);
    expect(firstInvalidByte(decoded)).toBe('0x81');
    expect(readable(decoded)).toBe('a\uFFFDb');
    expect(encodeRaw(decoded, 'cp1252')).toEqual(Buffer.from([0x61, 0x81, 0x62]));
  });
});

/**
 * Byte facts from each encoding's published table (Microsoft's code pages, RFC 1489, JIS X 0208, GB 2312, Big5),
 * written out here rather than asked of the codec under test.
 */
/** `head`: the text of the first two bytes, before which a test inserts an invalid byte. */
const legacy: Array<{ encoding: TextEncoding; head: string; text: string; bytes: number[]; invalid: number[] }> = [
  {
    encoding: 'cp1250',
    head: 'Łó',
    text: 'Łódź, Šťastný',
    bytes: [0xa3, 0xf3, 0x64, 0x9f, 0x2c, 0x20, 0x8a, 0x9d, 0x61, 0x73, 0x74, 0x6e, 0xfd],
    invalid: [0x81],
  },
  { encoding: 'cp1251', head: 'Пр', text: 'Привет Ёж', bytes: [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x20, 0xa8, 0xe6], invalid: [0x98] },
  { encoding: 'koi8-r', head: 'Пр', text: 'Привет Ёж', bytes: [0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4, 0x20, 0xb3, 0xd6], invalid: [] },
  { encoding: 'shift_jis', head: '日', text: '日本あｱA', bytes: [0x93, 0xfa, 0x96, 0x7b, 0x82, 0xa0, 0xb1, 0x41], invalid: [0xa0] },
  { encoding: 'gbk', head: '中', text: '中文A', bytes: [0xd6, 0xd0, 0xce, 0xc4, 0x41], invalid: [0xff] },
  { encoding: 'big5', head: '中', text: '中文A', bytes: [0xa4, 0xa4, 0xa4, 0xe5, 0x41], invalid: [0xff] },
  {
    encoding: 'utf16be',
    head: 'Zo',
    text: 'Zoë 📦',
    bytes: [0x00, 0x5a, 0x00, 0x6f, 0x00, 0xeb, 0x00, 0x20, 0xd8, 0x3d, 0xdc, 0xe6],
    invalid: [],
  },
];

describe('legacy encodings, through iconv-lite', () => {
  for (const { encoding, head, text, bytes, invalid } of legacy) {
    it(`${encoding}: the published bytes decode to the text, split anywhere; invalid bytes become markers that give them back`, () => {
      const buffer = Buffer.from(bytes);
      expect(decodeAll(buffer, encoding)).toBe(text);
      expect(encodeText(text, encoding).equals(buffer)).toBe(true);
      for (let cut = 1; cut < buffer.length; cut++) {
        const d = chunkDecoder(encoding);
        expect(d.write(buffer.subarray(0, cut)) + d.write(buffer.subarray(cut)) + d.end(), `cut at ${cut}`).toBe(text);
      }
      for (const bad of invalid) {
        // The invalid byte in the middle, and a lead byte cut off by the end of the file.
        const damaged = Buffer.concat([buffer.subarray(0, 2), Buffer.of(bad), buffer.subarray(2)]);
        const got = decodeAll(damaged, encoding);
        expect(readable(got)).toBe(`${head}\uFFFD${text.slice(head.length)}`);
        expect(firstInvalidByte(got)).toBe(`0x${bad.toString(16).toUpperCase()}`);
        expect(encodeRaw(got, encoding).equals(damaged)).toBe(true);
      }
    });
  }

  it('double-byte: a lead byte whose trail byte is missing is one invalid byte, and the ASCII after it still decodes', () => {
    for (const [encoding, lead] of [
      ['shift_jis', 0x93],
      ['gbk', 0xd6],
      ['big5', 0xa4],
    ] as const) {
      const got = decodeAll(Buffer.of(0x41, lead, 0x0a, 0x42), encoding);
      expect(readable(got), encoding).toBe('A\uFFFD\nB');
      expect(readable(decodeAll(Buffer.of(0x41, lead), encoding)), encoding).toBe('A\uFFFD');
    }
  });
});

describe('streaming decoders', () => {
  const text = 'Zoë — Straße „x“ 📦 end';
  const cases: Array<[TextEncoding, Buffer]> = [
    [
      'utf8',
      Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from(text.replace('📦', 'box').replace('„', '"').replace('“', '"'), 'utf8')]),
    ],
    ['utf16le', Buffer.concat([Buffer.of(0xff, 0xfe), Buffer.from(text, 'utf16le')])],
    ['utf16be', Buffer.concat([Buffer.of(0xfe, 0xff), Buffer.from(text, 'utf16le').swap16()])],
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
    const bytes = Buffer.concat([
      Buffer.from('caf'),
      Buffer.of(0xe9),
      Buffer.from(' ok é '),
      Buffer.of(0xc3),
      Buffer.from('x'),
      Buffer.of(0xed, 0xa0, 0x80),
    ]);
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
