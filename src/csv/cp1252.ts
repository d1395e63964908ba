/**
 * Windows-1252, the encoding of most Western legacy exports (Excel, Access) and what MySQL calls `latin1`. It equals
 * ISO-8859-1 except at bytes 0x80-0x9F, which hold €, ‚, „, …, †, ‰, Š, ‹, Œ, Ž, ‘, ’, “, ”, •, –, —, ˜, ™, š, ›, œ, ž, Ÿ
 * instead of C1 control codes. Node's `latin1` is ISO-8859-1, so it cannot be used: this is the whole table.
 * Bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D are not characters in cp1252; decoding reports them.
 */

/** Code points of bytes 0x80..0x9F; -1 where cp1252 has no character. */
const high: readonly number[] = [
  0x20ac, -1, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, -1, 0x017d, -1,
  -1, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, -1, 0x017e, 0x0178,
];

const encodeHigh = new Map<number, number>(high.flatMap((cp, i) => (cp < 0 ? [] : [[cp, 0x80 + i] as [number, number]])));

/** The character of byte `b` (0x80..0x9F), or undefined where cp1252 has none. */
export function cp1252High(b: number): string | undefined {
  const cp = high[b - 0x80];
  return cp === undefined || cp < 0 ? undefined : String.fromCharCode(cp);
}

/** Whether byte `b` is a character in cp1252. */
export const isCp1252Byte = (b: number) => b < 0x80 || b > 0x9f || high[b - 0x80]! >= 0;

/**
 * Decodes cp1252 bytes; an undefined byte becomes `invalid(byte)` (default U+FFFD). Fast when the bytes hold nothing
 * in 0x80..0x9F, which is then exactly latin1.
 */
export function decodeCp1252(bytes: Uint8Array, invalid: (byte: number) => string = () => '\uFFFD'): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!/[\x80-\x9f]/.test(text)) return text;
  return text.replace(/[\x80-\x9f]/g, (c) => cp1252High(c.charCodeAt(0)) ?? invalid(c.charCodeAt(0)));
}

/** The cp1252 byte of one code point, or undefined when cp1252 cannot write it. */
export function cp1252Byte(cp: number): number | undefined {
  if (cp < 0x80 || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return encodeHigh.get(cp);
}

/**
 * Encodes text as cp1252; a character cp1252 cannot write is passed to `unencodable`, which returns replacement bytes
 * or throws (the default throws, naming the character).
 */
export function encodeCp1252(text: string, unencodable?: (char: string) => number[]): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  let extra: number[] | null = null;
  for (const char of text) {
    const b = cp1252Byte(char.codePointAt(0)!);
    if (b !== undefined) {
      if (extra) extra.push(b);
      else out[n++] = b;
      continue;
    }
    if (!unencodable) {
      throw new Error(`'${char}' (U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) cannot be written in cp1252`);
    }
    extra ??= [];
    extra.push(...unencodable(char));
  }
  return extra ? Buffer.concat([out.subarray(0, n), Buffer.from(extra)]) : out.subarray(0, n);
}
