import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE, isBackupId, readManifest, type BackupManifest } from '../backup/index.ts';
import type { Db } from '../db/connection.ts';
import { refusal } from '../errors.ts';
import { stepRecord } from '../engine/step-journal.ts';
import { DEFAULT_BACKUP_DIR, backupDirOrDefault } from './backup-dir.ts';
import { hasBookkeeping } from './bookkeeping.ts';

/**
 * The folder the database records for backup `id` (the backup's own folder, `<backup dir>/<id>`): its
 * eventshift_backups row, else the detail of the backup step of run `runId`. Null when neither records it.
 */
async function recordedBackupFolder(db: Db, id: string, runId: number | null): Promise<string | null> {
  if (!(await hasBookkeeping(db))) return null;
  const [row] = await db.query<{ dir: string }>('SELECT dir FROM eventshift_backups WHERE id = ?', [id]);
  if (row) return row.dir;
  if (runId === null) return null;
  const step = await stepRecord(db, runId, 'backup', 'tables');
  const detail = step?.detail as { dir?: string; id?: string } | null;
  return detail?.dir && (detail.id === id || basename(detail.dir) === id) ? detail.dir : null;
}

/** Whether `dir` holds backup `id` with its manifest (written last, so a complete backup has one). */
const holdsBackup = (dir: string, id: string): boolean => isBackupId(id) && existsSync(join(dir, id, MANIFEST_FILE));

/** What locateBackup looks for: a backup, the run it belongs to, and the folder given with --backup-dir, if any. */
export interface BackupToLocate {
  db: Db;
  id: string;
  /** The run whose backup it is, named in errors; null for a backup taken by hand or named with --backup. */
  runId: number | null;
  /** --backup-dir, when given: it wins over the recorded place, but only when the backup is there. */
  given?: string;
}

/** A backup found: the folder that holds it (the backup dir, not the backup's own folder) and its manifest. */
export interface LocatedBackup {
  dir: string;
  manifest: BackupManifest;
  /** The backup's own folder as the database records it; null when it records none. */
  recorded: string | null;
}

/**
 * Finds a backup where it is: in --backup-dir when given and it holds the backup, else where the database recorded it
 * (eventshift_backups.dir), else in DEFAULT_BACKUP_DIR. Refuses, saying where it was recorded and what to do, when it is
 * not where it should be; never with "take a new backup" for a backup that was taken.
 */
export async function locateBackup(at: BackupToLocate): Promise<LocatedBackup> {
  const { db, id, runId, given } = at;
  const recorded = await recordedBackupFolder(db, id, runId);
  const recordedDir = recorded === null ? null : dirname(recorded);
  const found = async (dir: string): Promise<LocatedBackup> => ({ dir, manifest: await readManifest(dir, id), recorded });
  if (given !== undefined && (recordedDir === null || resolve(given) !== resolve(recordedDir))) {
    if (holdsBackup(given, id)) return found(given);
    throw refusal(notInGiven(at, recorded), { subject: id });
  }
  const dir = recordedDir ?? given ?? DEFAULT_BACKUP_DIR;
  if (holdsBackup(dir, id)) return found(dir);
  if (recorded === null && runId === null) return found(dir); // readManifest says why (a backup taken by hand)
  throw refusal(missingMessage(at, recorded, dir), { subject: id });
}

const whose = ({ id, runId }: BackupToLocate) => (runId === null ? `Backup ${id}` : `Backup ${id} of run ${runId}`);

/** The refusal for a --backup-dir that does not hold the backup: both places, and which one has it. */
function notInGiven(at: BackupToLocate, recorded: string | null): string {
  const where = join(at.given!, at.id);
  if (recorded === null) {
    return (
      `${whose(at)} is not in ${where} (no ${MANIFEST_FILE} there; --backup-dir ${at.given}), and the database records no other ` +
      `place for it. Pass --backup-dir with the folder that holds ${at.id}.`
    );
  }
  const there = holdsBackup(dirname(recorded), at.id);
  return (
    `${whose(at)} is not in ${where} (no ${MANIFEST_FILE} there; --backup-dir ${at.given}); the database records it in ${recorded}` +
    (there
      ? `, where it is: leave out --backup-dir to use it there.`
      : `, where it is not either. Pass --backup-dir with the folder it was moved to (the folder that holds ${at.id}).`)
  );
}

/** The refusal for a backup missing from the place the database records (or, with none recorded, from `dir`). */
function missingMessage(at: BackupToLocate, recorded: string | null, dir: string): string {
  if (recorded !== null) {
    const state = existsSync(recorded) ? `holds no ${MANIFEST_FILE}` : 'no longer exists';
    return (
      `${whose(at)} was recorded in ${recorded}, which ${state}. If the backup was moved, pass --backup-dir with the folder ` +
      `that now holds ${at.id} (\`eventshift backups list --backup-dir DIR\` shows what a folder holds).`
    );
  }
  return (
    `${whose(at)} is not in ${join(dir, at.id)}, and the database records no place for it (its eventshift_backups row is gone, ` +
    `as \`eventshift backups delete\` leaves it). If the backup is elsewhere, pass --backup-dir with the folder that holds ${at.id}.`
  );
}

/**
 * The backup folder to name in a result for backup `id` of a run, without checking that it is there: where the
 * database records it, else under --backup-dir (or DEFAULT_BACKUP_DIR).
 */
export async function backupFolderOf(db: Db, id: string, runId: number | null, given: string | undefined): Promise<string> {
  const recorded = await recordedBackupFolder(db, id, runId);
  if (given !== undefined && (recorded === null || resolve(given) !== resolve(dirname(recorded)))) return join(given, id);
  return recorded ?? join(backupDirOrDefault(given), id);
}
