import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ContentChecksum } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { EventshiftError, databaseError } from '../errors.ts';
import { rowStreamingConnection } from '../db/row-stream.ts';
import type { BackupColumn, BackupFile } from './manifest.ts';
import { writePrivateFile } from './private-files.ts';
import { PROGRESS_EVERY, type BackupProgress } from './progress.ts';
import { RowChecksum } from './row-checksum.ts';
import { maxLineBytes, writeRow } from './row-encoding.ts';
import { selectRowsAndFingerprintsSql } from './row-statements.ts';

/** Rows are encoded into chunks of this size, each written (and hashed) as one piece. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Streams a table's rows into a new rows file (format: row-encoding.ts), gzipped if asked, reporting progress;
 * returns the file as the manifest lists it, the number of rows written, and the table's content checksum
 * (tableChecksum's, computed by the server in the same SELECT: row-checksum.ts). Run inside the backup's snapshot.
 *
 * Rows go straight from the driver's packets into the chunk being filled (every value as the raw bytes the server
 * sent, no driver conversion, no per-row stream objects); the connection is paused while the file falls behind, so
 * memory stays flat whatever the table's size.
 */
export async function writeRowsFile(
  db: Db,
  folder: string,
  fileName: string,
  table: string,
  columns: BackupColumn[],
  totalRows: number,
  options: { gzip?: boolean; onProgress?: (progress: BackupProgress) => void },
): Promise<{ file: BackupFile; rows: number; checksum: ContentChecksum }> {
  const encodings = columns.map((c) => c.encoding ?? 'text');
  const connection = rowStreamingConnection(db);
  const checksum = new RowChecksum(db.capabilities.checksumRecipe);
  let rows = 0;
  const report = () => options.onProgress?.({ table, rows, totalRows });

  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  const output = new Readable({ highWaterMark: 2 * CHUNK_BYTES, read: () => connection.resume() });
  const flush = () => {
    if (used === 0) return;
    const full = chunk.subarray(0, used);
    chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    used = 0;
    if (!output.push(full)) connection.pause();
  };

  report();
  connection
    .query({ sql: selectRowsAndFingerprintsSql(table, columns, db.capabilities.checksumRecipe), rowsAsArray: true, typeCast: (field) => field.buffer() })
    .on('result', (record) => {
      if (output.destroyed) return;
      try {
        // Column 0 is the row's fingerprint, the written columns follow.
        checksum.add(record[0] ?? null);
        const need = maxLineBytes(record, 1);
        if (used + need > chunk.length) {
          flush();
          if (need > chunk.length) chunk = Buffer.allocUnsafe(need);
        }
        used = writeRow(chunk, used, record, encodings, 1);
      } catch (error) {
        output.destroy(error as Error);
        return;
      }
      rows++;
      if (rows % PROGRESS_EVERY === 0) report();
    })
    .on('end', () => {
      if (output.destroyed) return;
      flush();
      output.push(null);
    })
    .on('error', (error) => output.destroy(error));

  let written: { bytes: number; sha256: string };
  try {
    written = await writePrivateFile(join(folder, fileName), output, options.gzip ? [createGzip()] : []);
  } catch (cause) {
    // The query must not stay paused on a connection the caller goes on using (to roll back the snapshot).
    connection.resume();
    if ((cause as { sqlState?: unknown }).sqlState !== undefined) throw databaseError(`Reading the rows of table ${table}`, cause);
    throw new EventshiftError('internal', `Writing ${fileName} for table ${table} failed: ${(cause as Error).message}`, { subject: table, cause });
  }
  if (rows % PROGRESS_EVERY !== 0) report();
  return { file: { kind: 'rows', name: fileName, ...written, compression: options.gzip ? 'gzip' : null }, rows, checksum: checksum.result() };
}
