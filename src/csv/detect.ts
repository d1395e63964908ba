import { isAscii, isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { usageError } from '../errors.ts';
import { decodeAll, firstInvalidUtf8, type TextEncoding } from './decode.ts';

/** A dialect setting as the plan shows it: the value, and whether it was declared or detected (and from what). */
export interface Detected<T> {
  value: T;
  detected: boolean;
  /** Why: 'declared', 'UTF-8 byte order mark', 'not valid UTF-8 (byte 0xE9 at offset 1234)', 'same count on every line', ... */
  reason: string;
}

/**
 * Detects a file's encoding where that can be done safely: a byte order mark (UTF-8, UTF-16LE, UTF-16BE); UTF-16 by
 * its zero bytes; UTF-8 when every byte of the file is valid UTF-8. A file that is not UTF-8 is read as cp1252 (the
 * Windows encoding of Western legacy exports) only when its bytes look like Western text: no byte that cp1252 leaves
 * undefined, and no run of three or more non-ASCII bytes (words of Cyrillic in cp1251 or KOI8-R, or the double-byte
 * characters of Shift_JIS, GBK and Big5, are such runs). Anything else is refused, asking for the encoding to be
 * declared: a guess would load wrong letters without a single invalid byte to show for it. The whole file is read,
 * so a single é late in a file decides as well as one in the first line.
 */
export async function detectEncoding(path: string): Promise<Detected<TextEncoding>> {
  const head = await readHead(path, 4096);
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { value: 'utf8', detected: true, reason: 'UTF-8 byte order mark' };
  if (head[0] === 0xff && head[1] === 0xfe) return { value: 'utf16le', detected: true, reason: 'UTF-16LE byte order mark' };
  if (head[0] === 0xfe && head[1] === 0xff) return { value: 'utf16be', detected: true, reason: 'UTF-16BE byte order mark' };
  let oddZeros = 0;
  let evenZeros = 0;
  for (let i = 0; i + 1 < head.length; i += 2) {
    if (head[i] === 0) evenZeros++;
    if (head[i + 1] === 0) oddZeros++;
  }
  if (head.length >= 4 && oddZeros >= head.length / 8 && evenZeros < oddZeros / 4) {
    return { value: 'utf16le', detected: true, reason: 'zero high bytes: UTF-16LE without byte order mark' };
  }
  if (head.length >= 4 && evenZeros >= head.length / 8 && oddZeros < evenZeros / 4) {
    return { value: 'utf16be', detected: true, reason: 'zero high bytes: UTF-16BE without byte order mark' };
  }
  let offset = 0;
  let carry = Buffer.alloc(0);
  let nonAscii = false;
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const chunk = piece as Buffer;
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const cut = Math.max(0, data.length - 3);
    const body = data.subarray(0, lastBoundary(data, cut));
    if (!nonAscii && !isAscii(body)) nonAscii = true;
    if (!isUtf8(body)) return cp1252If(path, body, offset);
    offset += body.length;
    carry = Buffer.from(data.subarray(body.length));
  }
  if (carry.length && !isUtf8(carry)) return cp1252If(path, carry, offset);
  if (!isAscii(carry)) nonAscii = true;
  return { value: 'utf8', detected: true, reason: nonAscii ? 'valid UTF-8' : 'ASCII only (read as UTF-8)' };
}

const hex = (b: number) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`;
const cp1252Undefined = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);
const declareIt = "declare its encoding in the mapping's csv source (encoding: cp1252, cp1250, cp1251, koi8-r, shift_jis, gbk, big5, ...)";

/**
 * cp1252 for a file that is not UTF-8 from `offset` on (where `body` starts), when the rest of the file looks like
 * Western text; otherwise a usage error naming the byte that rules cp1252 out.
 */
async function cp1252If(path: string, body: Buffer, offset: number): Promise<Detected<TextEncoding>> {
  const at = firstInvalidUtf8(body) ?? 0;
  const notUtf8 = `not valid UTF-8 (byte ${hex(body[at] ?? 0)} at offset ${offset + at})`;
  let run = 0;
  let position = 0;
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
    for (const b of piece as Buffer) {
      if (cp1252Undefined.has(b)) {
        throw usageError(
          `${path} is ${notUtf8}, and not cp1252 either (byte ${hex(b)} at offset ${position} is not a cp1252 character): ${declareIt}.`,
          { subject: path },
        );
      }
      run = b >= 0x80 ? run + 1 : 0;
      if (run === 3) {
        throw usageError(
          `${path} is ${notUtf8}, and its encoding cannot be told safely: three non-ASCII bytes in a row at offset ${position - 2} ` +
            `look like multi-byte or Cyrillic text (UTF-8 with a damaged byte, Shift_JIS, GBK, Big5, cp1251, KOI8-R), ` +
            `not Western cp1252: ${declareIt}.`,
          { subject: path },
        );
      }
      position++;
    }
  }
  return { value: 'cp1252', detected: true, reason: `${notUtf8}, read as cp1252` };
}

/** A cut at or before `at` that does not split a UTF-8 sequence. */
function lastBoundary(data: Buffer, at: number): number {
  let i = at;
  while (i > 0 && i > at - 4 && data[i] !== undefined && (data[i]! & 0xc0) === 0x80) i--;
  return i;
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The first `bytes` of a file as text. */
export async function readSample(path: string, encoding: TextEncoding, bytes = 65536): Promise<string> {
  return decodeAll(await readHead(path, bytes), encoding);
}

const candidates = [',', ';', '\t', '|'] as const;
const shown = (d: string) => (d === '\t' ? 'tab' : `'${d}'`);

/**
 * Detects the field delimiter from the first lines of a file: among `,` `;` tab and `|` (outside quotes), the one that
 * occurs the same number of times on every line, most often; failing that, the one most frequent on the first line.
 */
export function detectDelimiter(sample: string, quote = '"'): Detected<string> {
  const lines = sampleLines(sample, quote, 30);
  if (lines.length === 0) return { value: ',', detected: true, reason: 'empty file: comma assumed' };
  const counts = candidates
    .map((c) => {
      const perLine = lines.map((l) => l.get(c) ?? 0);
      return { c, first: perLine[0]!, agreeing: perLine.filter((n) => n === perLine[0]).length };
    })
    .filter((x) => x.first > 0);
  if (counts.length === 0) return { value: ',', detected: true, reason: 'no delimiter on the first line: comma assumed (one column?)' };
  // The delimiter occurs as often on (nearly) every line as on the first; a broken line does not change that.
  const best = counts.sort((a, b) => b.agreeing - a.agreeing || b.first - a.first)[0]!;
  const every = best.agreeing === lines.length;
  return {
    value: best.c,
    detected: true,
    reason: `${shown(best.c)} ${best.first} time(s) on ${every ? 'each' : `${best.agreeing}`} of the first ${lines.length} line(s)`,
  };
}

/** Per line of the sample (quoted line breaks do not end one; empty lines are left out), each candidate's count outside quotes. */
function sampleLines(sample: string, quote: string, limit: number): Array<Map<string, number>> {
  const lines: Array<Map<string, number>> = [];
  let current = new Map<string, number>();
  let empty = true;
  let quoted = false;
  for (let i = 0; i < sample.length && lines.length < limit; i++) {
    const ch = sample[i]!;
    if (ch === quote) {
      quoted = !quoted;
      empty = false;
      continue;
    }
    if (quoted) continue;
    if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && sample[i + 1] === '\n') i++;
      if (!empty) lines.push(current);
      current = new Map();
      empty = true;
      continue;
    }
    empty = false;
    if ((candidates as readonly string[]).includes(ch)) current.set(ch, (current.get(ch) ?? 0) + 1);
  }
  // The last line of a sample is usually cut off: it only counts when it is the only one.
  if (lines.length === 0 && !empty) lines.push(current);
  return lines;
}
