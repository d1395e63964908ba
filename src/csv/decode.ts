import { isUtf8 } from 'node:buffer';
import { decodeCp1252, encodeCp1252 } from './cp1252.ts';

/**
 * Streaming byte -> text decoders for the encodings CSV exports come in. A byte that is not valid in the encoding is
 * not replaced by U+FFFD and forgotten: it becomes a marker character that carries the byte (U+10FF00 + byte, from the
 * end of the last private-use plane, which no export writes), so that the row can be reported as having invalid
 * encoding, and its raw bytes written back exactly to the quarantine.
 */
export type TextEncoding = 'utf8' | 'cp1252' | 'utf16le';

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
  switch (encoding) {
    case 'utf8': return utf8Decoder();
    case 'cp1252': return { write: (chunk) => decodeCp1252(chunk, byteMarker), end: () => '' };
    case 'utf16le': return utf16leDecoder();
  }
}

/** Decodes a whole buffer (a BOM at its start is kept out). */
export function decodeAll(bytes: Buffer, encoding: TextEncoding): string {
  const d = chunkDecoder(encoding);
  return d.write(bytes) + d.end();
}

/** The bytes that `text` (as a decoder of `encoding` produced it, markers included) was decoded from. */
export function encodeRaw(text: string, encoding: TextEncoding): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  const encode = (s: string) => {
    if (s.length === 0) return;
    if (encoding === 'utf8') parts.push(Buffer.from(s, 'utf8'));
    else if (encoding === 'utf16le') parts.push(Buffer.from(s, 'utf16le'));
    else parts.push(encodeCp1252(s, () => [0x3f]));
  };
  for (const m of text.matchAll(markerPatternGlobal)) {
    encode(text.slice(last, m.index));
    parts.push(Buffer.of(m[0].charCodeAt(1) - markerBase));
    last = m.index + 2;
  }
  encode(text.slice(last));
  return Buffer.concat(parts);
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

function utf16leDecoder(): ChunkDecoder {
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  const lone = (text: string) => text.replace(loneSurrogate, (u) => {
    const code = u.charCodeAt(0);
    return byteMarker(code & 0xff) + byteMarker(code >> 8);
  });
  return {
    write(chunk) {
      let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      if (first) {
        if (data.length < 2) {
          carry = Buffer.from(data);
          return '';
        }
        first = false;
        if (data[0] === 0xff && data[1] === 0xfe) data = data.subarray(2);
      }
      let cut = data.length - (data.length % 2);
      // A high surrogate at the end waits for its low half.
      if (cut >= 2 && data[cut - 1]! >= 0xd8 && data[cut - 1]! <= 0xdb) cut -= 2;
      carry = Buffer.from(data.subarray(cut));
      return lone(data.subarray(0, cut).toString('utf16le'));
    },
    end() {
      const rest = carry;
      carry = Buffer.alloc(0);
      if (rest.length === 0) return '';
      const even = rest.length - (rest.length % 2);
      return lone(rest.subarray(0, even).toString('utf16le')) + (rest.length % 2 ? byteMarker(rest[rest.length - 1]!) : '');
    },
  };
}
