import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { chunkDecoder, type TextEncoding } from './decode.ts';

/** How one file is written, as the plan fixed it (declared or detected). */
export interface CsvDialect {
  encoding: TextEncoding;
  delimiter: string;
  quote: string;
}

/** One record of a file: where it starts, its fields, and its text as written (without the line break ending it). */
export interface CsvRecord {
  /** The line the record starts on, counting from 1 (a quoted field can span lines). */
  line: number;
  fields: string[];
  raw: string;
}

/** What reading a file found besides its records. */
export interface CsvFileStats {
  bytes: number;
  sha256: string;
  /** Data records (the header line not counted, empty lines not counted). */
  records: number;
  emptyLines: number;
  /** Set when the file's quoting is broken from some line on: nothing from that line on can be read reliably. */
  unreadable: { line: number; message: string } | null;
}

/**
 * Reads a CSV file as records, streaming: bytes -> text in the file's encoding (undecodable bytes kept as markers, see
 * decode.ts) -> csv-parse. Line numbers are counted here from each record's raw text, because csv-parse counts a CRLF
 * inside a quoted field as two lines. Empty lines are skipped and counted. A quoting error ends the file: the records
 * before it are yielded and `stats.unreadable` says where it broke (never a guess at where the broken record ends).
 */
export async function* readCsvRecords(path: string, dialect: CsvDialect, stats: CsvFileStats): AsyncGenerator<CsvRecord> {
  const hash = createHash('sha256');
  const decoder = chunkDecoder(dialect.encoding);
  const decode = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      stats.bytes += chunk.length;
      const text = decoder.write(chunk);
      done(null, text.length ? text : undefined);
    },
    flush(done) {
      const text = decoder.end();
      done(null, text.length ? text : undefined);
    },
  });
  const parser = parse({
    delimiter: dialect.delimiter,
    quote: dialect.quote,
    escape: dialect.quote,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
    raw: true,
  });
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  input.on('error', (e) => parser.destroy(e));
  decode.on('error', (e) => parser.destroy(e));
  input.pipe(decode).pipe(parser);
  let nextLine = 1;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const line = nextLine;
      const raw = withoutLineBreak(item.raw);
      nextLine += 1 + lineBreaks(raw);
      if (item.record.length === 1 && raw === '') {
        stats.emptyLines++;
        continue;
      }
      yield { line, fields: item.record, raw };
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code !== 'string' || !code.startsWith('CSV_')) throw error;
    stats.unreadable = { line: nextLine, message: (error as Error).message.replace(/ at line \d+/, '') };
    input.destroy();
    return;
  } finally {
    input.destroy();
  }
  stats.sha256 = hash.digest('hex');
}

/** Fresh stats for a file about to be read. */
export function newFileStats(): CsvFileStats {
  return { bytes: 0, sha256: '', records: 0, emptyLines: 0, unreadable: null };
}

function withoutLineBreak(raw: string): string {
  if (raw.endsWith('\r\n')) return raw.slice(0, -2);
  if (raw.endsWith('\n') || raw.endsWith('\r')) return raw.slice(0, -1);
  return raw;
}

function lineBreaks(text: string): number {
  if (!text.includes('\n') && !text.includes('\r')) return 0;
  return text.match(/\r\n|\r|\n/g)!.length;
}

/**
 * Which fields of a record were written in quotes, from its raw text (csv-parse does not say, except through a cast
 * function, which costs ten times the parse): needed only for records with an empty field, to tell NULL from ''.
 */
export function quotedFields(raw: string, delimiter: string, quote: string): boolean[] {
  const quoted: boolean[] = [];
  let atFieldStart = true;
  let inQuotes = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (inQuotes) {
      if (ch === quote) {
        if (raw[i + 1] === quote) i++;
        else inQuotes = false;
      }
      continue;
    }
    if (atFieldStart) {
      atFieldStart = false;
      quoted.push(ch === quote);
      if (ch === quote) {
        inQuotes = true;
        continue;
      }
    }
    if (ch === delimiter) {
      atFieldStart = true;
    }
  }
  if (atFieldStart) quoted.push(false);
  return quoted;
}
