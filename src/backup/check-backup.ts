import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EventshiftError, usageError } from '../errors.ts';
import { MANIFEST_FILE, backupFolder, manifestFiles, readManifest, type BackupFile, type BackupManifest } from './manifest.ts';
import { digestFile } from './private-files.ts';
import { formatCount } from '../format.ts';

/** One listed file, as the manifest describes it and as it is on disk. */
export interface BackupFileCheck {
  table: string;
  kind: BackupFile['kind'];
  name: string;
  expectedBytes: number;
  /** null when the file is missing. */
  actualBytes: number | null;
  expectedSha256: string;
  actualSha256: string | null;
  ok: boolean;
}

/**
 * - `ok`: every listed file is present with the size and SHA-256 the manifest records.
 * - `damaged`: some file is missing or differs (see `files`); never restore it.
 * - `incomplete`: no manifest.json: the backup was interrupted (or is still being written) and can never be restored.
 * - `unreadable`: manifest.json is not a valid manifest for this backup.
 */
export type BackupCheckStatus = 'ok' | 'damaged' | 'incomplete' | 'unreadable';

export interface BackupCheck {
  id: string;
  folder: string;
  status: BackupCheckStatus;
  ok: boolean;
  manifest: BackupManifest | null;
  files: BackupFileCheck[];
  /** One sentence per problem; empty when ok. */
  problems: string[];
  /** Files in the folder that the manifest does not list; they play no part in a restore. */
  unlistedFiles: string[];
}

/**
 * Recomputes the size and SHA-256 of every file the manifest lists and compares them with it. A difference is
 * reported in the result, never thrown; only a backup that does not exist at all is a (usage) error.
 *
 * @example
 * const check = await checkBackup('backups', '20261121T104500Z-ab12cd');
 * if (!check.ok) console.error(check.problems.join('\n'));
 */
export async function checkBackup(dir: string, id: string): Promise<BackupCheck> {
  const folder = backupFolder(dir, id);
  let present: string[];
  try {
    present = await readdir(folder);
  } catch (cause) {
    throw usageError(`There is no backup ${id} in ${dir} (${(cause as Error).message}); listBackups shows the backups there.`, {
      subject: id,
      cause,
    });
  }
  const result: BackupCheck = { id, folder, status: 'ok', ok: false, manifest: null, files: [], problems: [], unlistedFiles: [] };
  if (!present.includes(MANIFEST_FILE)) {
    result.status = 'incomplete';
    result.problems.push(`Backup ${id} has no ${MANIFEST_FILE}: it was interrupted before it completed and can never be restored.`);
    result.unlistedFiles = present.sort();
    return result;
  }
  try {
    result.manifest = await readManifest(dir, id);
  } catch (error) {
    if (!(error instanceof EventshiftError)) throw error;
    result.status = 'unreadable';
    result.problems.push(error.message);
    return result;
  }
  const listed = manifestFiles(result.manifest);
  for (const file of listed) {
    const { check, problem } = await checkFile(folder, file);
    result.files.push(check);
    if (problem) result.problems.push(problem);
  }
  const names = new Set([MANIFEST_FILE, ...listed.map((f) => f.name)]);
  for (const name of present.sort()) {
    if (!names.has(name) && (await stat(join(folder, name))).isFile()) result.unlistedFiles.push(name);
  }
  result.status = result.problems.length === 0 ? 'ok' : 'damaged';
  result.ok = result.status === 'ok';
  return result;
}

/** One listed file as it is on disk, and the problem with it, if any. */
async function checkFile(
  folder: string,
  file: BackupFile & { table: string },
): Promise<{ check: BackupFileCheck; problem: string | null }> {
  let unreadable: string | null = null;
  const actual = await digestFile(join(folder, file.name)).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code !== 'ENOENT') unreadable = cause.message;
    return null;
  });
  const check: BackupFileCheck = {
    table: file.table,
    kind: file.kind,
    name: file.name,
    expectedBytes: file.bytes,
    actualBytes: actual?.bytes ?? null,
    expectedSha256: file.sha256,
    actualSha256: actual?.sha256 ?? null,
    ok: actual !== null && actual.bytes === file.bytes && actual.sha256 === file.sha256,
  };
  if (!actual) {
    return {
      check,
      problem: `File ${file.name} (${file.kind} of table ${file.table}) is ${unreadable ? `unreadable: ${unreadable}` : 'missing'}.`,
    };
  }
  if (check.ok) return { check, problem: null };
  return {
    check,
    problem:
      `File ${file.name} (${file.kind} of table ${file.table}) has ${formatCount(actual.bytes)} bytes with SHA-256 ${actual.sha256}; ` +
      `the manifest recorded ${formatCount(file.bytes)} bytes with SHA-256 ${file.sha256}.`,
  };
}
