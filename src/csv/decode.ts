import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

/**
 * Streaming byte -> text decoders for the encodings CSV exports come in. A byte that is not valid in the encoding is
 * not replaced by U+FFFD and forgotten: it becomes a marker character that carries the byte (U+10FF00 + byte, from the
 * end of the last private-use plane, which no export writes), so that the row can be reported as having invalid
 * encoding, and its raw bytes written back to the quarantine.
 *
 * UTF-8 and UTF-16 are decoded by Node; the legacy code pages by iconv-lite (no hand-written tables): the Windows
 * code pages of Western, Central European and Cyrillic exports, KOI8-R, and the double-byte encodings of Japanese
 * (Shift_JIS, with Microsoft's cp932 extensions), simplified Chinese (GBK) and traditional Chinese (Big5).
 */
export const textEncodings = ['utf8', 'utf16le', 'utf16be', 'cp1252', 'cp1250', 'cp1251', 'koi8-r', 'shift_jis', 'gbk', 'big5'] as const;
export type TextEncoding = (typeof textEncodings)[number];

/** How messages and the plan name each encoding. */
export const encodingName = (e: TextEncoding): string =>
  ({
    utf8: 'UTF-8',
    utf16le: 'UTF-16LE',
    utf16be: 'UTF-16BE',
    cp1252: 'cp1252',
    cp1250: 'cp1250',
    cp1251: 'cp1251',
    'koi8-r': 'KOI8-R',
    shift_jis: 'Shift_JIS',
    gbk: 'GBK',
    big5: 'Big5',
  })[e];

const singleByte = new Set<TextEncoding>(['cp1252', 'cp1250', 'cp1251', 'koi8-r']);
const iconvName = (e: TextEncoding) => (e === 'cp1252' ? 'windows-1252' : e);

export interface ChunkDecoder {
  /** Text of this chunk; bytes of a character split across chunks are held until the next one. */
  write(chunk: Buffer): string;
  /** What is left at the end of the stream (an incomplete character becomes markers). */
  end(): string;
}

const markerBase = 0xdf00;
/** The marker for an undecodable byte. */
export const byteMarker = (b: number) => '\udbff' + String.fromCharCode(markerBase + b);
/** Matches one marker. */
export const markerPattern = /\udbff[\udf00-\udfff]/;
const markerPatternGlobal = /\udbff[\udf00-\udfff]/g;

export function hasInvalidBytes(text: string): boolean {
  return text.includes('\udbff') && markerPattern.test(text);
}

/** The first undecodable byte in `text`, as `0x81`, for messages. */
export function firstInvalidByte(text: string): string | null {
  const m = markerPattern.exec(text);
  return m ? `0x${(m[0].charCodeAt(1) - markerBase).toString(16).toUpperCase().padStart(2, '0')}` : null;
}

/** Text with markers shown as U+FFFD, for people. */
export const readable = (text: string) => text.replace(markerPatternGlobal, '\uFFFD');

export function chunkDecoder(encoding: TextEncoding): ChunkDecoder {
  if (encoding === 'utf8') return utf8Decoder();
  if (encoding === 'utf16le') return utf16Decoder(false);
  if (encoding === 'utf16be') return utf16Decoder(true);
  if (singleByte.has(encoding)) return singleByteDecoder(encoding);
  return doubleByteDecoder(encoding);
}

/** Decodes a whole buffer (a BOM at its start is kept out). */
export function decodeAll(bytes: Buffer, encoding: TextEncoding): string {
  const d = chunkDecoder(encoding);
  return d.write(bytes) + d.end();
}

/**
 * The bytes that `text` (as a decoder of `encoding` produced it, markers included) was decoded from. A character that
 * a double-byte encoding writes two ways (cp932's NEC and IBM duplicates, a few Big5 and GBK code points) comes back
 * in iconv-lite's preferred form, which decodes to the same character.
 */
export function encodeRaw(text: string, encoding: TextEncoding): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  const encode = (s: string) => {
    if (s.length > 0) parts.push(encodeWith(s, encoding));
  };
  for (const m of text.matchAll(markerPatternGlobal)) {
    encode(text.slice(last, m.index));
    parts.push(Buffer.of(m[0].charCodeAt(1) - markerBase));
    last = m.index + 2;
  }
  encode(text.slice(last));
  return Buffer.concat(parts);
}

function encodeWith(s: string, encoding: TextEncoding): Buffer {
  if (encoding === 'utf8') return Buffer.from(s, 'utf8');
  if (encoding === 'utf16le') return Buffer.from(s, 'utf16le');
  if (encoding === 'utf16be') return Buffer.from(s, 'utf16le').swap16();
  return iconv.encode(s, iconvName(encoding));
}

/**
 * Encodes text in `encoding`, for writing exports and fixtures; throws, naming the character, when the encoding
 * cannot write one (iconv-lite would write '?' and lose it).
 */
export function encodeText(text: string, encoding: TextEncoding): Buffer {
  const bytes = encodeWith(text, encoding);
  if (!['utf8', 'utf16le', 'utf16be'].includes(encoding)) {
    const back = iconv.decode(bytes, iconvName(encoding));
    if (back !== text) {
      const chars = [...text];
      const backChars = [...back];
      const at = chars.findIndex((c, i) => c !== backChars[i]);
      const char = chars[at < 0 ? 0 : at]!;
      throw new Error(
        `'${char}' (U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) cannot be written in ${encodingName(encoding)}`,
      );
    }
  }
  return bytes;
}

/** A one-byte code page: every byte is a character or undefined, so undefined bytes are found by a table lookup. */
function singleByteDecoder(encoding: TextEncoding): ChunkDecoder {
  const name = iconvName(encoding);
  const table = Array.from({ length: 256 }, (_, b) => {
    const c = iconv.decode(Buffer.of(b), name);
    return c === '\uFFFD' ? byteMarker(b) : c;
  });
  return {
    write(chunk) {
      const text = iconv.decode(chunk, name);
      if (!text.includes('\uFFFD')) return text;
      let out = '';
      for (const b of chunk) out += table[b]!;
      return out;
    },
    end: () => '',
  };
}

/**
 * Shift_JIS, GBK and Big5: a character is one byte or two (a lead byte and a trail byte). A chunk that iconv-lite
 * decodes without U+FFFD (which none of them can encode) is taken whole; otherwise the chunk is walked character by
 * character, so that each invalid byte becomes its own marker and the character after it still decodes. A lead byte
 * at the end of a chunk waits for the next one.
 */
function doubleByteDecoder(encoding: TextEncoding): ChunkDecoder {
  const name = iconvName(encoding);
  const one = (bytes: Buffer) => {
    const c = iconv.decode(bytes, name);
    return c.includes('\uFFFD') || [...c].length !== 1 ? null : c;
  };
  let carry: Buffer = Buffer.alloc(0);
  const decode = (data: Buffer, final: boolean): string => {
    carry = Buffer.alloc(0);
    if (data.length === 0) return '';
    const text = iconv.decode(data, name);
    if (!text.includes('\uFFFD')) return text;
    // Most often only the chunk's last byte is a lead byte whose trail byte is in the next chunk.
    if (!final && text.indexOf('\uFFFD') === text.length - 1) {
      const head = iconv.decode(data.subarray(0, -1), name);
      if (!head.includes('\uFFFD') && one(data.subarray(-1)) === null) {
        carry = Buffer.from(data.subarray(-1));
        return head;
      }
    }
    let out = '';
    let i = 0;
    while (i < data.length) {
      const single = one(data.subarray(i, i + 1));
      if (single !== null) {
        out += single;
        i += 1;
        continue;
      }
      if (i + 1 === data.length && !final) {
        carry = Buffer.from(data.subarray(i));
        break;
      }
      const pair = i + 1 < data.length ? one(data.subarray(i, i + 2)) : null;
      if (pair !== null) {
        out += pair;
        i += 2;
        continue;
      }
      out += byteMarker(data[i]!);
      i += 1;
    }
    return out;
  };
  return {
    write: (chunk) => decode(carry.length ? Buffer.concat([carry, chunk]) : chunk, false),
    end: () => decode(carry, true),
  };
}

function utf8Decoder(): ChunkDecoder {
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  return {
    write(chunk) {
      let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      if (first) {
        if (data.length < 3 && Buffer.from([0xef, 0xbb, 0xbf]).subarray(0, data.length).equals(data)) {
          carry = data;
          return '';
        }
        first = false;
        if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
      }
      const cut = completeLength(data);
      carry = Buffer.from(data.subarray(cut));
      return decodeUtf8(data.subarray(0, cut));
    },
    end() {
      const rest = carry;
      carry = Buffer.alloc(0);
      return rest.length ? [...rest].map(byteMarker).join('') : '';
    },
  };
}

/** The length of `data` without an incomplete UTF-8 sequence at its end. */
function completeLength(data: Buffer): number {
  const len = data.length;
  for (let i = len - 1; i >= Math.max(0, len - 4); i--) {
    const b = data[i]!;
    if (b < 0x80) return len;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return len - i < need ? i : len;
    }
  }
  return len;
}

function decodeUtf8(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  // Slow path, only for chunks with invalid bytes: valid sequences as text, every other byte as a marker.
  let out = '';
  let start = 0;
  let i = 0;
  const flush = (end: number) => {
    if (end > start) out += bytes.subarray(start, end).toString('utf8');
  };
  while (i < bytes.length) {
    const n = validSequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    flush(i);
    out += byteMarker(bytes[i]!);
    i++;
    start = i;
  }
  flush(i);
  return out;
}

/** The offset of the first byte that is not part of well-formed UTF-8, or null when all are. */
export function firstInvalidUtf8(bytes: Buffer): number | null {
  for (let i = 0; i < bytes.length;) {
    const n = validSequenceLength(bytes, i);
    if (n === 0) return i;
    i += n;
  }
  return null;
}

/** The length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, surrogates or code points past U+10FFFF), or 0. */
function validSequenceLength(b: Buffer, i: number): number {
  const b0 = b[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** UTF-16, little- or big-endian: a byte order mark is left out, and a lone surrogate becomes its two bytes as markers. */
function utf16Decoder(bigEndian: boolean): ChunkDecoder {
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  const [bom0, bom1] = bigEndian ? [0xfe, 0xff] : [0xff, 0xfe];
  const lone = (text: string) =>
    text.replace(loneSurrogate, (u) => {
      const code = u.charCodeAt(0);
      return bigEndian ? byteMarker(code >> 8) + byteMarker(code & 0xff) : byteMarker(code & 0xff) + byteMarker(code >> 8);
    });
  const decode = (bytes: Buffer) => lone((bigEndian ? Buffer.from(bytes).swap16() : bytes).toString('utf16le'));
  return {
    write(chunk) {
      let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      if (first) {
        if (data.length < 2) {
          carry = Buffer.from(data);
          return '';
        }
        first = false;
        if (data[0] === bom0 && data[1] === bom1) data = data.subarray(2);
      }
      let cut = data.length - (data.length % 2);
      // A high surrogate at the end waits for its low half.
      const high = data[bigEndian ? cut - 2 : cut - 1];
      if (cut >= 2 && high! >= 0xd8 && high! <= 0xdb) cut -= 2;
      carry = Buffer.from(data.subarray(cut));
      return decode(data.subarray(0, cut));
    },
    end() {
      const rest = carry;
      carry = Buffer.alloc(0);
      if (rest.length === 0) return '';
      const even = rest.length - (rest.length % 2);
      return decode(rest.subarray(0, even)) + (rest.length % 2 ? byteMarker(rest[rest.length - 1]!) : '');
    },
  };
}
