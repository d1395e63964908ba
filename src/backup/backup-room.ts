import { access, constants, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Db } from '../db/connection.ts';
import { formatBytes, formatCount } from '../format.ts';

/**
 * About how many bytes a backup of `tables` writes: the tables' data as the server sizes it (information_schema
 * DATA_LENGTH). The backup's row files are text of the rows, which is not larger than the pages that hold them, so
 * this errs on the side of room.
 */
async function estimatedBackupBytes(db: Db, tables: readonly string[]): Promise<number> {
  if (tables.length === 0) return 0;
  const [row] = await db.query<{ bytes: string | number | null }>(
    `SELECT SUM(DATA_LENGTH) AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`,
    [tables],
  );
  return Number(row?.bytes ?? 0);
}

/**
 * Why a backup of `tables` cannot be written under `dir`, or null when it can: the folder (or, while it does not exist
 * yet, the nearest folder above it that does) must be writable and its filesystem must have room for the estimate.
 * Read-only: it creates nothing.
 */
export async function backupRoomRefusal(db: Db, { dir, tables }: { dir: string; tables: readonly string[] }): Promise<string | null> {
  const folder = await nearestExisting(resolve(dir));
  try {
    await access(folder, constants.W_OK);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? 'denied';
    return `The backup folder ${resolve(dir)} cannot be written (${why} at ${folder}); give --backup-dir a folder you can write.`;
  }
  const fs = await statfs(folder);
  const free = Number(fs.bavail) * Number(fs.bsize);
  const needed = await estimatedBackupBytes(db, tables);
  if (free >= needed) return null;
  return (
    `The backup needs about ${formatBytes(needed)} (the data of ${formatCount(tables.length)} table(s), as the server sizes it), and the ` +
    `filesystem of ${resolve(dir)} has ${formatBytes(free)} free; free space there or give --backup-dir a folder with room.`
  );
}

/** `path`, or the nearest folder above it that exists. */
async function nearestExisting(path: string): Promise<string> {
  for (let at = path; ; at = dirname(at)) {
    const exists = await access(at).then(
      () => true,
      () => false,
    );
    if (exists || dirname(at) === at) return at;
  }
}
