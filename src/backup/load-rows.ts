import { createReadStream } from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { ResultSetHeader } from 'mysql2/promise';
import { createGunzip } from 'node:zlib';
import type { Db } from '../db/connection.ts';
import { databaseError } from '../errors.ts';
import type { BackupColumn, BackupFile } from './manifest.ts';
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

/**
 * Loads a rows file into `table` with LOAD DATA LOCAL INFILE, streaming it from disk (gunzipped if need be).
 * The session must be a restore session (see restore-backup.ts): permissive sql_mode, no backslash-escape changes.
 */
export async function loadRows(
  db: Db,
  table: string,
  columns: readonly BackupColumn[],
  path: string,
  file: BackupFile,
  progress: { label: string; totalRows: number; onProgress?: (p: BackupProgress) => void },
): Promise<LoadedRows> {
  const tap = new DigestTap();
  let streamError: Error | null = null;
  const counter = new RowCounter((rows) => progress.onProgress?.({ table: progress.label, rows, totalRows: progress.totalRows }));
  const open = (): Readable => {
    const stages = [createReadStream(path), tap, ...(file.compression === 'gzip' ? [createGunzip()] : []), counter] as const;
    return pipeline([...stages], (error) => {
      if (error) streamError = error;
    }) as unknown as Readable;
  };
  const sql = loadRowsSql(table, columns);
  let header: ResultSetHeader;
  try {
    [header] = (await db.raw.query({ sql, infileStreamFactory: open })) as unknown as [ResultSetHeader, unknown];
  } catch (cause) {
    throw databaseError(`Loading ${file.name} into ${table}`, streamError ?? cause);
  }
  if (streamError) throw databaseError(`Reading ${file.name} for ${table}`, streamError);
  const warnings = header.warningStatus ?? 0;
  const warningMessages = warnings > 0
    ? (await db.query<{ Level: string; Code: number; Message: string }>('SHOW WARNINGS LIMIT 5')).map((w) => `${w.Level} ${w.Code}: ${w.Message}`)
    : [];
  return { rows: header.affectedRows, warnings, warningMessages, bytes: tap.bytes, sha256: tap.sha256() };
}
