import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { EventshiftError, refusal } from '../errors.ts';

/**
 * The journal of a restore, one row per backup in `eventshift_restores` of the database restored into. It is the
 * backup module's own table, created here rather than by the run's bookkeeping migrations: a backup can be restored
 * where eventshift never ran. A restore writes each step to it once the step has happened, and every step checks the
 * live schema as well, so a restore killed between a statement and its journal entry resumes without doing it twice.
 */
export const RESTORE_JOURNAL_TABLE = 'eventshift_restores';

/** The single atomic RENAME TABLE that puts a backup's tables in place, and what has to follow it. */
export interface SwapPlan {
  /** In order: each live table to its old-copy name, each staged table to its real name. */
  renames: Array<{ from: string; to: string }>;
  /** The old copies the swap makes (replaced tables, tables absent at backup time, retired tables), dropped after it. */
  oldCopies: string[];
  /** Tables absent at backup time that existed and are dropped (moved out by the swap). */
  dropped: string[];
  /** Tables outside the backup whose foreign keys pointed at a replaced table: put back to point at its real name. */
  repoint: Array<{ table: string; constraint: string; clause: string }>;
}

export interface RestoreJournal {
  backupId: string;
  /** The tables of the backup this restore puts back (all, or those named). */
  tables: string[];
  /** Tables that stand in for one of the backup's tables (e.g. renamed at cutover): removed by the swap. */
  retire: RetiredTable[];
  status: 'running' | 'done';
  startedAt: string;
  /** The steps that have happened, in order (`stage T`, `plan`, `swap`, `repoint T C`, `drop old copies`, ...). */
  done: string[];
  /** Staged and verified tables, with the warnings loading them gave. */
  staged: Record<string, { loadWarnings: number }>;
  swap: SwapPlan | null;
  /** Whether SHOW CREATE TABLE of each finished table matched the saved one. */
  definitions: Record<string, boolean>;
  /**
   * The database's default character set and collation when the restore began. Recreating a trigger switches them
   * for a moment (triggers.ts); a restore killed then puts them back from here when it resumes.
   */
  databaseDefaults?: DatabaseDefaults;
}

export interface DatabaseDefaults {
  charset: string;
  collation: string;
}

/** The database's default character set and collation now. */
export async function databaseDefaults(db: Db): Promise<DatabaseDefaults> {
  const [row] = await db.query<{ cs: string; coll: string }>(
    'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS coll FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [db.database],
  );
  return { charset: row!.cs, collation: row!.coll };
}

/** A table that is not in the backup but holds the place of one that is, and is dropped when that one comes back. */
export interface RetiredTable {
  table: string;
  /** The backup's table it stands for: foreign keys of other tables that reference it are pointed back at this one. */
  standsFor: string;
}

async function ensureJournalTable(db: Db): Promise<void> {
  await db.execute(`CREATE TABLE IF NOT EXISTS ${RESTORE_JOURNAL_TABLE} (
    backup_id VARCHAR(64) NOT NULL PRIMARY KEY,
    status VARCHAR(16) NOT NULL,
    journal LONGTEXT NOT NULL,
    started_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
}

/** Restores of this database that began and have not finished, oldest first. Read-only: no table is created. */
export async function unfinishedRestores(db: Db): Promise<RestoreJournal[]> {
  if (!(await tableExists(db, RESTORE_JOURNAL_TABLE))) return [];
  const rows = await db.query<{ journal: string }>(
    `SELECT journal FROM ${RESTORE_JOURNAL_TABLE} WHERE status = 'running' ORDER BY started_at, backup_id`,
  );
  return rows.map((r) => JSON.parse(r.journal) as RestoreJournal);
}

/**
 * Whether a restore of backup `id` began replacing tables in this database and has not finished: some tables are then
 * the backup's already, and running it again finishes it. (One that stopped before its swap changed nothing.)
 */
export async function restoreUnfinished(db: Db, id: string): Promise<boolean> {
  return (await unfinishedRestores(db)).some((j) => j.backupId === id && swapped(j));
}

/**
 * Where the latest restore of backup `id` into this database stands, from its journal: `none` begun; `stopped` before
 * its swap (it changed nothing but staging tables); `swapped` (the tables are the backup's, steps remain); `done`.
 */
export async function restoreProgress(
  db: Db,
  id: string,
): Promise<{ state: 'none' | 'stopped' | 'swapped' | 'done'; startedAt: string | null }> {
  if (!(await tableExists(db, RESTORE_JOURNAL_TABLE))) return { state: 'none', startedAt: null };
  const [row] = await db.query<{ status: string; journal: string }>(
    `SELECT status, journal FROM ${RESTORE_JOURNAL_TABLE} WHERE backup_id = ?`,
    [id],
  );
  if (!row) return { state: 'none', startedAt: null };
  const journal = JSON.parse(row.journal) as RestoreJournal;
  const state = row.status === 'done' ? 'done' : swapped(journal) ? 'swapped' : 'stopped';
  return { state, startedAt: journal.startedAt };
}

/** Whether the journal says the tables were swapped in: from then on the database holds the backup's tables. */
export const swapped = (journal: RestoreJournal): boolean => journal.done.includes('swap');

/**
 * The journal of a restore of backup `id`: the unfinished one, to resume, or a new one. Refuses to begin while
 * a restore of another backup is unfinished past its swap (the two would fight over the same tables); one that had
 * not swapped yet (of another backup, or of this one with other tables) changed nothing but staging tables: each is
 * handed to `clearAbandoned` and its journal deleted, before the new journal is written (it may have the same backup id).
 */
export async function openRestoreJournal(
  db: Db,
  { id, tables, retire, now }: { id: string; tables: string[]; retire: RetiredTable[]; now: Date },
  clearAbandoned: (old: RestoreJournal) => Promise<void>,
): Promise<{ journal: RestoreJournal; resumed: boolean }> {
  await ensureJournalTable(db);
  const unfinished = await unfinishedRestores(db);
  const own = unfinished.find((j) => j.backupId === id);
  const others = unfinished.filter((j) => j.backupId !== id);
  const blocking = others.find(swapped);
  if (blocking) {
    throw refusal(
      `A restore of backup ${blocking.backupId} into ${db.database} began ${blocking.startedAt} and did not finish: its tables ` +
        `(${blocking.tables.join(', ')}) are back, but ${remainingSteps(blocking).join(', ')} remain to do. Nothing was changed now. ` +
        `Run that restore again (\`eventshift restore --backup ${blocking.backupId}\`, or restore its mapping) to finish it first.`,
      { subject: blocking.backupId, details: { unfinished: blocking } },
    );
  }
  const sameTables = own !== undefined && own.tables.length === tables.length && own.tables.every((t) => tables.includes(t));
  if (own && !sameTables && swapped(own)) {
    throw refusal(
      `A restore of backup ${id} of the tables ${own.tables.join(', ')} was interrupted after its tables were put back; ` +
        `run it again with those tables to finish it (it resumes), then restore others. Nothing was changed now.`,
      { subject: id, details: { unfinished: own } },
    );
  }
  for (const old of [...others, ...(own && !sameTables ? [own] : [])]) {
    await clearAbandoned(old);
    await dropRestoreJournal(db, old.backupId);
  }
  if (own && sameTables) return { journal: { ...own, retire: own.retire ?? retire }, resumed: true };
  const journal: RestoreJournal = {
    backupId: id,
    tables,
    retire,
    status: 'running',
    startedAt: now.toISOString(),
    done: [],
    staged: {},
    swap: null,
    definitions: {},
    databaseDefaults: await databaseDefaults(db),
  };
  await db.execute(
    `REPLACE INTO ${RESTORE_JOURNAL_TABLE} (backup_id, status, journal, started_at, updated_at) VALUES (?, 'running', ?, ?, ?)`,
    [id, JSON.stringify(journal), now, now],
  );
  return { journal, resumed: false };
}

/**
 * Records the journal as it stands (after a step). Throws if its row is gone (deleted by hand, or by another
 * program): a restore must not go on without a journal to resume from.
 */
export async function saveRestoreJournal(db: Db, journal: RestoreJournal, now: Date): Promise<void> {
  const { affectedRows } = await db.execute(
    `UPDATE ${RESTORE_JOURNAL_TABLE} SET status = ?, journal = ?, updated_at = ? WHERE backup_id = ?`,
    [journal.status, JSON.stringify(journal), now, journal.backupId],
  );
  if (affectedRows === 0) {
    throw new EventshiftError(
      'internal',
      `The journal of the restore of backup ${journal.backupId} (its row in ${RESTORE_JOURNAL_TABLE}) is gone, so the restore stopped ` +
        `after: ${journal.done.at(-1) ?? 'its start'}. Do not delete rows of ${RESTORE_JOURNAL_TABLE} while a restore runs.`,
      { subject: journal.backupId, details: { done: journal.done } },
    );
  }
}

/** Forgets a restore that changed nothing (it failed or was abandoned before its swap). */
export async function dropRestoreJournal(db: Db, id: string): Promise<void> {
  if (await tableExists(db, RESTORE_JOURNAL_TABLE))
    await db.execute(`DELETE FROM ${RESTORE_JOURNAL_TABLE} WHERE backup_id = ? AND status = 'running'`, [id]);
}

/** What an unfinished restore still has to do after its swap, in words. */
export function remainingSteps(journal: RestoreJournal): string[] {
  if (!swapped(journal)) return ['putting its tables in place'];
  const swap = journal.swap!;
  const left: string[] = [];
  const pointing = swap.repoint.filter((r) => !journal.done.includes(`repoint ${r.table} ${r.constraint}`));
  if (pointing.length > 0) {
    left.push(`pointing foreign keys ${pointing.map((r) => `${r.constraint} of ${r.table}`).join(', ')} back at the restored tables`);
  }
  if (!journal.done.includes('drop old copies') && swap.oldCopies.length > 0) {
    left.push(`dropping the old copies ${swap.oldCopies.join(', ')}`);
  }
  const noKeys = journal.tables.filter((t) => journal.staged[t] && !journal.done.includes(`foreign keys ${t}`));
  if (noKeys.length > 0) left.push(`adding the foreign keys of ${noKeys.join(', ')}`);
  const unfinished = journal.tables.filter((t) => journal.staged[t] && !journal.done.includes(`finish ${t}`));
  if (unfinished.length > 0) left.push(`recreating the triggers and AUTO_INCREMENT of ${unfinished.join(', ')}`);
  return left.length > 0 ? left : ['recording that it finished'];
}
