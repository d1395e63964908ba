import { createReadStream } from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { ResultSetHeader } from 'mysql2/promise';
import { createGunzip } from 'node:zlib';
import type { Db } from '../db/connection.ts';
import { databaseError } from '../errors.ts';
import { rowsEncodingOf, type BackupColumn, type BackupFile } from './manifest.ts';
import { DigestTap } from './private-files.ts';
import { PROGRESS_EVERY, type BackupProgress } from './progress.ts';
import { loadRowsSql } from './row-statements.ts';

export interface LoadedRows {
  /** Rows the server reports loaded. */
  rows: number;
  warnings: number;
  /** The first few warnings, as `Level code: message`. */
  warningMessages: string[];
  /** Size and SHA-256 of the file bytes actually sent, to compare with the manifest once more. */
  bytes: number;
  sha256: string;
}

/** Counts rows (newlines) going by and reports progress every PROGRESS_EVERY rows. */
class RowCounter extends Transform {
  rows = 0;
  constructor(private readonly report: (rows: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    const before = this.rows;
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) this.rows++;
    if (Math.floor(this.rows / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY)) this.report(this.rows);
    done(null, chunk);
  }

  override _flush(done: () => void): void {
    this.report(this.rows);
    done();
  }
}

/** Bytes the socket may hold unsent before the file is held back. */
const SOCKET_BACKLOG = 4 * 1024 * 1024;

interface Socket {
  writableLength: number;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * mysql2 writes LOCAL INFILE data to the socket as fast as the file is read, without waiting for the socket to
 * drain: a server slower than the disk would have the whole file in memory. This holds each chunk back until the
 * socket's backlog is small, so memory stays flat whatever the file's size.
 */
class SocketPacer extends Transform {
  constructor(private readonly socket: Socket | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    const socket = this.socket;
    if (!socket || socket.writableLength < SOCKET_BACKLOG) {
      done(null, chunk);
      return;
    }
    const go = () => {
      socket.removeListener('drain', go);
      socket.removeListener('close', go);
      done(null, chunk);
    };
    socket.once('drain', go);
    socket.once('close', go);
  }
}

/** A rows file (`path`, listed in the manifest as `file`) and the table and columns it is loaded into. */
export interface RowsLoad {
  table: string;
  columns: readonly BackupColumn[];
  path: string;
  file: BackupFile;
}

/**
 * Loads a rows file into its table with LOAD DATA LOCAL INFILE, streaming it from disk (gunzipped if need be).
 * The session must be a restore session (see restore-backup.ts): permissive sql_mode, no backslash-escape changes.
 */
export async function loadRows(
  db: Db,
  { table, columns, path, file }: RowsLoad,
  progress: { label: string; totalRows: number; onProgress?: (p: BackupProgress) => void },
): Promise<LoadedRows> {
  const tap = new DigestTap();
  let streamError: Error | null = null;
  // In a sql-quoted/binary file a text value may hold newlines of its own, so the count is capped at the table's rows.
  // The lines read are not the rows loaded: the table's load ends (`ended`) where the caller has checked it.
  const counter = new RowCounter((rows) =>
    progress.onProgress?.({
      table: progress.label,
      rows: Math.min(rows, progress.totalRows),
      totalRows: progress.totalRows,
      ended: false,
    }),
  );
  const open = (): Readable => {
    const socket = (db.raw as unknown as { connection?: { stream?: Socket } }).connection?.stream;
    const stages = [
      // 64 KiB pieces (the default): each is one packet, well under any server's max_allowed_packet.
      createReadStream(path),
      tap,
      ...(file.compression === 'gzip' ? [createGunzip()] : []),
      counter,
      new SocketPacer(socket),
    ] as const;
    return pipeline([...stages], (error) => {
      if (error) streamError = error;
    }) as unknown as Readable;
  };
  const sql = loadRowsSql(table, columns, rowsEncodingOf(file));
  let header: ResultSetHeader;
  try {
    [header] = (await db.raw.query({ sql, infileStreamFactory: open })) as unknown as [ResultSetHeader, unknown];
  } catch (cause) {
    throw databaseError(`Loading ${file.name} into ${table}`, streamError ?? cause);
  }
  if (streamError) throw databaseError(`Reading ${file.name} for ${table}`, streamError);
  const warnings = header.warningStatus ?? 0;
  const warningMessages =
    warnings > 0
      ? (await db.query<{ Level: string; Code: number; Message: string }>('SHOW WARNINGS LIMIT 5')).map(
          (w) => `${w.Level} ${w.Code}: ${w.Message}`,
        )
      : [];
  return { rows: header.affectedRows, warnings, warningMessages, bytes: tap.bytes, sha256: tap.sha256() };
}
