import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, crc32 as zlibCrc32 } from 'node:zlib';
import type { ChecksumRecipe } from '../db/capabilities.ts';
import type { ContentChecksum } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { EventshiftError, databaseError } from '../errors.ts';
import { rowStreamingConnection, type RowStreamingConnection } from '../db/row-stream.ts';
import type { BackupColumn, BackupFile, RowsEncoding } from './manifest.ts';
import { writePrivateFile, type PendingSyncs } from './private-files.ts';
import { PROGRESS_EVERY, type BackupProgress } from './progress.ts';
import { crc32c } from './crc32c.ts';
import { RowChecksum } from './row-checksum.ts';
import { maxLineBytes, writeRow, type RowLayout } from './row-encoding.ts';
import { selectRowsAndFingerprintsSql, selectStoredRowsSql } from './row-statements.ts';

/** Rows are encoded into chunks of this size, each written (and hashed) as one piece. */
const CHUNK_BYTES = 1024 * 1024;

const SPACE = 0x20;
const NEWLINE = 0x0a;
/**
 * One line in this many (the first included) is checked against the CRC32 and CRC32C the server sent with it. The
 * CRCs and the line come from one evaluation of the row's text in a user variable (row-statements.ts), whose order
 * MariaDB does not promise: evaluated in another order, CRCs of another row would go with every line, and a sample
 * shows it at once; the checksum is also recomputed in full by every restore.
 */
const CRC_SAMPLE = 16;

/** A row's first value as bytes [start, end) of the driver's packet buffer (null for SQL NULL), valid until the next row. */
interface ValueInPlace {
  bytes: Uint8Array | null;
  start: number;
  end: number;
}

/**
 * Has mysql2 hand each row of `query` to its 'result' listeners as one ValueInPlace (always the same object), the
 * range of the row's first value in the packet buffer, instead of an array of freshly allocated Buffers: for a
 * rows file of a million short lines, those allocations cost more than everything else the backup does in Node.
 * mysql2 calls its query's `_rowParser.next(packet)` for each row packet of the text protocol (a length-coded value
 * per column) and emits what it returns; should a later mysql2 do otherwise, the listeners get its usual arrays.
 */
function firstValueInPlace(query: object): ValueInPlace {
  const value: ValueInPlace = { bytes: null, start: 0, end: 0 };
  const parser = {
    next(packet: { buffer: Uint8Array; offset: number }): ValueInPlace {
      const b = packet.buffer;
      let at = packet.offset;
      const tag = b[at++]!;
      let length: number;
      if (tag < 0xfb) length = tag;
      else if (tag === 0xfb) length = -1;
      else if (tag === 0xfc) length = b[at]! | (b[at + 1]! << 8);
      else if (tag === 0xfd) length = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
      else length = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 2 ** 24 + (b[at + 4]! | (b[at + 5]! << 8)) * 2 ** 32;
      at += tag === 0xfc ? 2 : tag === 0xfd ? 3 : tag === 0xfe ? 8 : 0;
      value.bytes = length < 0 ? null : b;
      value.start = at;
      value.end = at + Math.max(length, 0);
      return value;
    },
  };
  Object.defineProperty(query, '_rowParser', { get: () => parser, set: () => undefined, configurable: true });
  return value;
}

/**
 * A row of a `sql-quoted/binary` file came back NULL: its stored text exceeds the server's max_allowed_packet. The
 * caller writes the table again as `load-data-tsv/binary`, which sends each value on its own.
 */
export class StoredTextTooLong extends Error {
  constructor(readonly table: string) {
    super(`A row of table ${table} is longer than max_allowed_packet as one line of text.`);
  }
}

/** Where a part of a table's rows is read: a connection in the backup's snapshot, and a WHERE condition (or all rows). */
export interface RowsSource {
  db: Db;
  where: string | null;
}

/** The rows file writeRowsFile writes: where, of which table and columns, in what form, and whom it tells. */
export interface RowsFileTarget {
  folder: string;
  fileName: string;
  table: string;
  columns: BackupColumn[];
  /** The table's rows, counted or estimated (even 0): progress shows it. */
  totalRows: number;
  gzip?: boolean;
  onProgress?: (progress: BackupProgress) => void;
  encoding: RowsEncoding;
  recipe: ChecksumRecipe;
  /** Where the file's fsync is left for later (default: fsynced before writeRowsFile returns). */
  syncs?: PendingSyncs;
}

/**
 * Streams a table's rows into a new rows file of `encoding` (backups/README.md), gzipped if asked, reporting
 * progress; returns the file as the manifest lists it, the number of rows written, and the table's content checksum,
 * computed by the server in the same SELECT (so it is of exactly these rows):
 * - `sql-quoted/binary`: the server sends each row as the CRC32 and CRC32C of its stored text, and the text, which is
 *   the line (row-statements.ts, selectStoredRowsSql); it throws StoredTextTooLong for a row whose text is too long.
 * - `load-data-tsv/binary`: the server sends the values and the fingerprint by `recipe` (row-checksum.ts); the lines
 *   are encoded here (row-encoding.ts).
 *
 * Each of `sources` (disjoint key ranges read on connections that share the snapshot) streams at the same time into
 * the same file, a chunk of whole lines at a time: LOAD DATA does not care about the order of lines, and the checksum
 * is a count and a sum, so the parts add up. Rows go straight from the driver's packets into the chunk being filled;
 * every connection is paused while the file falls behind, so memory stays flat whatever the table's size.
 */
export async function writeRowsFile(
  sources: readonly RowsSource[],
  target: RowsFileTarget,
): Promise<{ file: BackupFile; rows: number; checksum: ContentChecksum; longestRowBytes: number }> {
  const { table, fileName } = target;
  const file = new SharedRowsFile(target, sources);
  file.report();
  sources.forEach((source, i) => streamSource(file, source, file.connections[i]!));
  let written: { bytes: number; sha256: string };
  try {
    written = await writePrivateFile(join(target.folder, fileName), file.output, target.gzip ? [createGzip()] : [], target.syncs);
  } catch (cause) {
    // The queries must not stay paused on connections the caller goes on using (to roll back the snapshot).
    file.resumeAll();
    if (cause instanceof StoredTextTooLong) throw cause;
    if ((cause as { sqlState?: unknown }).sqlState !== undefined) throw databaseError(`Reading the rows of table ${table}`, cause);
    throw new EventshiftError('internal', `Writing ${fileName} for table ${table} failed: ${(cause as Error).message}`, {
      subject: table,
      cause,
    });
  }
  // The last chunk may have paused a connection, after which the file asks for nothing more: the next statement on
  // it would wait for ever.
  file.resumeAll();
  const listed: BackupFile = {
    kind: 'rows',
    name: fileName,
    ...written,
    compression: target.gzip ? 'gzip' : null,
    encoding: target.encoding,
  };
  return { file: listed, rows: file.rows, checksum: file.checksum.result(), longestRowBytes: file.longestRowBytes };
}

/** What the sources of one rows file share: the stream into the file, the checksum, and the counts. */
class SharedRowsFile {
  readonly stored: boolean;
  readonly recipe: ChecksumRecipe;
  readonly connections: RowStreamingConnection[];
  readonly checksum: RowChecksum;
  readonly output: Readable;
  rows = 0;
  /** Sources whose query has ended. */
  ended = 0;
  /** The most bytes of values in one row (load-data-tsv/binary only): value-sums.ts tells from it whether its fingerprint may miss some. */
  longestRowBytes = 0;

  constructor(
    readonly target: RowsFileTarget,
    readonly sources: readonly RowsSource[],
  ) {
    this.stored = target.encoding === 'sql-quoted/binary';
    this.recipe = this.stored ? 'crc32c-bytes' : target.recipe;
    this.connections = sources.map((source) => rowStreamingConnection(source.db));
    this.checksum = new RowChecksum(this.recipe);
    this.output = new Readable({ highWaterMark: 2 * CHUNK_BYTES, read: () => this.resumeAll() });
  }

  // totalRows may be an estimate (even 0): the rows written may stop short of it or pass it. The table's backup ends
  // after its file (create-backup.ts reports that), so these reports never say `ended`.
  report(): void {
    const { table, totalRows, onProgress } = this.target;
    onProgress?.({ table, rows: this.rows, totalRows, ended: false });
  }

  pauseAll(): void {
    this.connections.forEach((c) => c.pause());
  }

  resumeAll(): void {
    this.connections.forEach((c) => c.resume());
  }
}

/** A source's chunk of whole lines, pushed to the file when full (pausing every source while the file lags). */
class ChunkFiller {
  chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  used = 0;

  constructor(private readonly file: SharedRowsFile) {}

  flush(): void {
    if (this.used === 0) return;
    const full = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    if (!this.file.output.push(full)) this.file.pauseAll();
  }

  /** Room for `need` more bytes: the chunk is pushed first when they do not fit, and made larger when they never would. */
  room(need: number): void {
    if (this.used + need <= this.chunk.length) return;
    this.flush();
    if (need > this.chunk.length) this.chunk = Buffer.allocUnsafe(need);
  }
}

/** One source's query, filling chunks of its own and pushing them to the file. */
function streamSource(file: SharedRowsFile, source: RowsSource, connection: RowStreamingConnection): void {
  const { table, columns } = file.target;
  const chunks = new ChunkFiller(file);
  const storedRow = file.stored ? storedRowWriter(file, chunks) : null;
  const valuesRow = file.stored ? null : valuesRowWriter(file, chunks);
  const select = file.stored ? selectStoredRowsSql(table, columns) : selectRowsAndFingerprintsSql(table, columns, file.recipe);
  const sql = source.where === null ? select : `${select} WHERE ${source.where}`;
  const query = connection.query({ sql, rowsAsArray: true, typeCast: (field) => field.buffer() });
  const raw = file.stored ? firstValueInPlace(query) : null;
  const output = file.output;
  query
    .on('result', (record) => {
      if (output.destroyed) return;
      try {
        const row = record as Array<Buffer | null> | ValueInPlace;
        if (raw !== null && row === raw) storedRow!(raw.bytes, raw.start, raw.end);
        else if (Array.isArray(row)) {
          if (storedRow) storedRow(row[0] ?? null, 0, row[0]?.length ?? 0);
          else valuesRow!(row);
        }
      } catch (error) {
        output.destroy(error as Error);
        return;
      }
      file.rows++;
      if (file.rows % PROGRESS_EVERY === 0) file.report();
    })
    .on('end', () => {
      if (output.destroyed) return;
      chunks.flush();
      if (++file.ended === file.sources.length) output.push(null);
    })
    .on('error', (error) => output.destroy(error));
}

/**
 * A row of a `sql-quoted/binary` file, `<CRC32> <CRC32C> <line>`, bytes [from, to) of `bytes`: the CRCs go to the
 * checksum, the line to the file. A sample of lines is checked against its CRCs (see CRC_SAMPLE).
 */
function storedRowWriter(file: SharedRowsFile, chunks: ChunkFiller): (bytes: Uint8Array | null, from: number, to: number) => void {
  const { table } = file.target;
  let viewed: Uint8Array | null = null;
  let view: Uint8Array = new Uint8Array(0);
  return (bytes, from, to) => {
    if (bytes === null) throw new StoredTextTooLong(table);
    let at = from;
    let high = 0;
    let low = 0;
    for (let byte = bytes[at]; byte !== SPACE && at < from + 10; byte = bytes[++at]) high = high * 10 + (byte! - 0x30);
    const lowStart = ++at;
    for (let byte = bytes[at]; byte !== SPACE && at < lowStart + 10; byte = bytes[++at]) low = low * 10 + (byte! - 0x30);
    const start = at + 1;
    if (bytes[at] !== SPACE || start > to) {
      const sent = JSON.stringify(Buffer.from(bytes.subarray(from, Math.min(to, from + 40))).toString('latin1'));
      throw new Error(`The server sent ${sent} where two CRCs and a line were expected.`);
    }
    const line = to - start;
    if (file.rows % CRC_SAMPLE === 0) {
      const text = bytes.subarray(start, to);
      if (zlibCrc32(text) !== high || crc32c(text) !== low) {
        throw new EventshiftError(
          'internal',
          `The server's CRCs of row ${file.rows + 1} of table ${table} are not those of the line it sent; the backup is not trusted. ` +
            'Back the table up with rowsEncoding load-data-tsv/binary.',
          { subject: table },
        );
      }
    }
    file.checksum.addHalves(high, low);
    chunks.room(line + 1);
    // A plain Uint8Array view of the driver's buffer, made once per buffer (many rows share one): its subarrays
    // cost less than a Buffer's, a million times over.
    if (bytes !== viewed) {
      viewed = bytes;
      view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    const chunk = chunks.chunk;
    chunk.set(view.subarray(start, to), chunks.used);
    chunks.used += line;
    chunk[chunks.used++] = NEWLINE;
  };
}

/** A row of a `load-data-tsv/binary` file: the fingerprint first, then the written columns' values, encoded here. */
function valuesRowWriter(file: SharedRowsFile, chunks: ChunkFiller): (record: Array<Buffer | null>) => void {
  const layout: RowLayout = { encodings: file.target.columns.map((c) => c.encoding ?? 'text'), from: 1 };
  return (record) => {
    file.checksum.add(record[0] ?? null);
    const need = maxLineBytes(record, 1);
    // maxLineBytes counts each value's bytes twice (every byte escaped, or hex), and one byte per field.
    if (need > 2 * file.longestRowBytes) file.longestRowBytes = Math.ceil(need / 2);
    chunks.room(need);
    chunks.used = writeRow(chunks.chunk, chunks.used, record, layout);
  };
}
