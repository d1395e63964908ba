import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Db } from '../db/connection.ts';
import { EventshiftError, databaseError } from '../errors.ts';
import type { BackupColumn, BackupFile } from './manifest.ts';
import { writePrivateFile } from './private-files.ts';
import { PROGRESS_EVERY, type BackupProgress } from './progress.ts';
import { encodeRow } from './row-encoding.ts';
import { selectRowsSql } from './row-statements.ts';

/** The part of mysql2's callback connection that streams a query's rows (the promise wrapper's `.connection`). */
interface RowStreamingConnection {
  query(options: {
    sql: string;
    rowsAsArray: boolean;
    typeCast: (field: { buffer(): Buffer | null }, next: () => unknown) => unknown;
  }): { stream(options?: { highWaterMark?: number }): Readable };
}

function rowStreamingConnection(db: Db): RowStreamingConnection {
  const inner = (db.raw as unknown as { connection?: RowStreamingConnection }).connection;
  if (!inner || typeof inner.query !== 'function') {
    throw new EventshiftError('internal', 'The database connection does not expose mysql2\'s streaming query interface; check the mysql2 version.');
  }
  return inner;
}

const CHUNK_BYTES = 256 * 1024;

/**
 * Streams a table's rows into a new rows file (format: row-encoding.ts), gzipped if asked, reporting progress;
 * returns the file as the manifest lists it and the number of rows written. Run inside the backup's snapshot.
 */
export async function writeRowsFile(
  db: Db,
  folder: string,
  fileName: string,
  table: string,
  columns: BackupColumn[],
  totalRows: number,
  options: { gzip?: boolean; onProgress?: (progress: BackupProgress) => void },
): Promise<{ file: BackupFile; rows: number }> {
  const encodings = columns.map((c) => c.encoding ?? 'text');
  // Every value as the raw bytes the server sent: no driver conversion at all.
  const source = rowStreamingConnection(db)
    .query({ sql: selectRowsSql(table, columns), rowsAsArray: true, typeCast: (field) => field.buffer() })
    .stream({ highWaterMark: 32 });
  let rows = 0;
  const report = () => options.onProgress?.({ table, rows, totalRows });
  async function* lines(records: AsyncIterable<Array<Buffer | null>>): AsyncGenerator<Buffer> {
    report();
    let pending: Buffer[] = [];
    let size = 0;
    for await (const record of records) {
      const line = encodeRow(record, encodings);
      pending.push(line);
      size += line.length;
      rows++;
      if (size >= CHUNK_BYTES) {
        yield Buffer.concat(pending);
        pending = [];
        size = 0;
      }
      if (rows % PROGRESS_EVERY === 0) report();
    }
    if (pending.length > 0) yield Buffer.concat(pending);
    if (rows % PROGRESS_EVERY !== 0) report();
  }
  let written: { bytes: number; sha256: string };
  try {
    written = await writePrivateFile(join(folder, fileName), Readable.from(lines(source)), options.gzip ? [createGzip()] : []);
  } catch (cause) {
    if ((cause as { sqlState?: unknown }).sqlState !== undefined) throw databaseError(`Reading the rows of table ${table}`, cause);
    throw new EventshiftError('internal', `Writing ${fileName} for table ${table} failed: ${(cause as Error).message}`, { subject: table, cause });
  }
  return { file: { kind: 'rows', name: fileName, ...written, compression: options.gzip ? 'gzip' : null }, rows };
}
