import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EventshiftError, usageError } from '../errors.ts';
import { MANIFEST_FILE, backupIdTime, isBackupId, readManifest } from './manifest.ts';

/** One backup folder, as listBackups sees it without reading its data files. */
export interface BackupSummary {
  id: string;
  folder: string;
  /** `incomplete`: no manifest (interrupted; never restorable). `unreadable`: the manifest is invalid. */
  status: 'complete' | 'incomplete' | 'unreadable';
  complete: boolean;
  label: string | null;
  mapping: string | null;
  runId: string | null;
  database: string | null;
  /** From the manifest; null when there is none. */
  createdAt: string | null;
  /** The table names the backup holds, absent ones included. */
  tables: string[];
  rows: number;
  /** Bytes of the files the manifest lists; for an incomplete backup, of whatever files are in its folder. */
  bytes: number;
  /** Why the backup is not complete, in one sentence; null when it is. */
  problem: string | null;
}

/**
 * Every backup folder under `dir`, newest first. Folders whose names are not backup ids are ignored; a missing `dir`
 * holds no backups. Reads only manifests: use checkBackup to verify a backup's files.
 */
export async function listBackups(dir: string): Promise<BackupSummary[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw usageError(`The backup folder ${dir} cannot be read (${(cause as Error).message}); check its permissions.`, {
      subject: dir,
      cause,
    });
  }
  const summaries: BackupSummary[] = [];
  for (const id of names.filter(isBackupId)) {
    const folder = join(dir, id);
    if (!(await stat(folder)).isDirectory()) continue;
    summaries.push(await summarize(dir, id, folder));
  }
  const time = (s: BackupSummary) => s.createdAt ?? backupIdTime(s.id)?.toISOString() ?? '';
  return summaries.sort((a, b) => time(b).localeCompare(time(a)) || b.id.localeCompare(a.id));
}

async function summarize(dir: string, id: string, folder: string): Promise<BackupSummary> {
  const base = { id, folder, label: null, mapping: null, runId: null, database: null, createdAt: null, tables: [], rows: 0 };
  const files = await readdir(folder);
  if (!files.includes(MANIFEST_FILE)) {
    return {
      ...base,
      status: 'incomplete',
      complete: false,
      bytes: await folderBytes(folder, files),
      problem: `Backup ${id} has no ${MANIFEST_FILE}: it was interrupted and can never be restored.`,
    };
  }
  try {
    const m = await readManifest(dir, id);
    return {
      id,
      folder,
      status: 'complete',
      complete: true,
      label: m.label,
      mapping: m.mapping,
      runId: m.runId,
      database: m.database,
      createdAt: m.createdAt,
      tables: m.tables.map((t) => t.name),
      rows: m.tables.reduce((n, t) => n + t.rows, 0),
      bytes: m.tables.reduce((n, t) => n + t.files.reduce((b, f) => b + f.bytes, 0), 0),
      problem: null,
    };
  } catch (error) {
    if (!(error instanceof EventshiftError)) throw error;
    return { ...base, status: 'unreadable', complete: false, bytes: await folderBytes(folder, files), problem: error.message };
  }
}

async function folderBytes(folder: string, files: string[]): Promise<number> {
  let bytes = 0;
  for (const name of files) {
    const s = await stat(join(folder, name));
    if (s.isFile()) bytes += s.size;
  }
  return bytes;
}
