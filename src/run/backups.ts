import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { checkBackup, isBackupId, listBackups, type BackupSummary } from '../backup/index.ts';
import { connect, type Db } from '../db/connection.ts';
import { refusal, usageError } from '../errors.ts';
import { backupDirOrDefault } from './backup-dir.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import type { CommandOptions } from './context.ts';

/** The run a backup belongs to, as `backups list` shows it. */
export interface BackupRun {
  id: number;
  mapping: string;
  /** eventshift_runs.status: running, interrupted, completed, stopped, failed, restored, rolled_back. */
  status: string;
  /** The last stage that finished. */
  stage: string;
  /**
   * Finalize finished: its checks passed and every column the run's plan says it drops is dropped (a finalize killed
   * between two drops is not finished: the backup is the only place the columns left are kept).
   */
  finalized: boolean;
  /** The backup the run restores from (eventshift_runs.backup_id). */
  backupId: string | null;
}

/**
 * What a backup is now: `complete` (its manifest is there), `checked` (and every file matches it: --check),
 * `damaged` (a file differs: --check), `incomplete` (no manifest: interrupted, never restorable), `unreadable` (its
 * manifest is invalid), `missing` (recorded in eventshift_backups, but its folder is gone).
 */
export type BackupState = 'complete' | 'checked' | 'damaged' | 'incomplete' | 'unreadable' | 'missing';

/** One backup of a database, recorded in eventshift_backups and/or found in a backup folder. */
export interface BackupEntry {
  id: string;
  /** The database it was taken of (from its manifest or its record); null when unknown (an incomplete folder). */
  database: string | null;
  mapping: string | null;
  run: BackupRun | null;
  label: string | null;
  createdAt: string | null;
  state: BackupState;
  tables: string[];
  rows: number;
  bytes: number;
  /** The backup's own folder, absolute. */
  folder: string;
  /** Whether eventshift_backups has a row for it (in this folder). */
  recorded: boolean;
  /** Why it is not complete or does not check out; null when it is. */
  problem: string | null;
}

/** What `backups list` shows: the database, the folders it looked in, and its backups, newest first. */
export interface BackupsListing {
  /** The database asked; null when none was given (the folder's backups only). */
  database: string | null;
  folders: string[];
  backups: BackupEntry[];
}

export interface BackupsOptions extends CommandOptions {
  /** --backup-dir: a folder to look in besides those the database records (default DEFAULT_BACKUP_DIR). */
  backupDir?: string;
}

/** The backups of the database: those eventshift_backups records, and those found in the folders (see listDatabaseBackups). */
export async function backupsList(options: BackupsOptions & { check?: boolean }): Promise<BackupsListing> {
  return withDb(options, (db) => listDatabaseBackups(db, options));
}

type RecordedRow = {
  id: string;
  run_id: number | string | null;
  label: string | null;
  dir: string;
  tables: string | string[];
  rows_total: number | string;
  bytes: number | string;
  created_at: string;
};

/** What the database records: backups, runs (with whether they are finalized), and where runs began their backups. */
interface Records {
  backups: RecordedRow[];
  runs: Map<number, BackupRun>;
  /** Folder (absolute) -> run, from each run's backup step: finds a run's incomplete backup. */
  startedBy: Map<string, number>;
}

async function readRecords(db: Db): Promise<Records> {
  const records: Records = { backups: [], runs: new Map(), startedBy: new Map() };
  if (!(await hasBookkeeping(db))) return records;
  records.backups = await db.query<RecordedRow>(
    'SELECT id, run_id, label, dir, tables, rows_total, bytes, created_at FROM eventshift_backups',
  );
  const finalizeSteps = new Map(
    (
      await db.query<{ run_id: number | string; checked: number | string; dropped: number | string; open: number | string }>(
        "SELECT run_id, SUM(step = 'checks' AND status = 'done') AS checked, SUM(step LIKE 'drop %' AND status = 'done') AS dropped, " +
          "SUM(status <> 'done') AS open FROM eventshift_steps WHERE stage = 'finalize' GROUP BY run_id",
      )
    ).map((r) => [Number(r.run_id), { checked: Number(r.checked), dropped: Number(r.dropped), open: Number(r.open) }]),
  );
  // Loaded here, not as the module loads: a listing of a folder (`backups list` without a database) needs neither.
  const { isFinalizeAlteration } = await import('../mapping/finalize-names.ts');
  const runs = await db.query<{
    id: number | string;
    mapping: string;
    status: string;
    stage: string;
    backup_id: string | null;
    plan: unknown;
  }>('SELECT id, mapping, status, stage, backup_id, plan FROM eventshift_runs');
  for (const r of runs) {
    const id = Number(r.id);
    const steps = finalizeSteps.get(id);
    const finalized =
      steps !== undefined && steps.checked > 0 && steps.open === 0 && steps.dropped >= plannedDrops(r.plan, isFinalizeAlteration);
    records.runs.set(id, { id, mapping: r.mapping, status: r.status, stage: r.stage, finalized, backupId: r.backup_id });
  }
  const started = await db.query<{ run_id: number | string; detail: string | null }>(
    "SELECT run_id, detail FROM eventshift_steps WHERE stage = 'backup' AND step = 'tables'",
  );
  for (const s of started) {
    const dir = (s.detail ? (JSON.parse(s.detail) as { dir?: string }) : null)?.dir;
    if (dir) records.startedBy.set(resolve(dir), Number(s.run_id));
  }
  return records;
}

/** How many columns a run's plan says `eventshift finalize` drops (its finalize part's alterations). */
function plannedDrops(plan: unknown, isFinalizeAlteration: (a: { change?: string }) => boolean): number {
  const parsed = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { tables?: { alter?: Array<{ change?: string }> } } | null;
  return (parsed?.tables?.alter ?? []).filter(isFinalizeAlteration).length;
}

/**
 * Every backup of the database `db`: those eventshift_backups records (`missing` when their folder is gone), and
 * those in the folders the records name and in --backup-dir (default DEFAULT_BACKUP_DIR) whose manifest names this
 * database, or, incomplete, that a run of it began. Other databases' backups in those folders are left out; so are
 * incomplete folders no run of this database began, except in --backup-dir, where they show with no database. With
 * `check`, each complete backup's files are checked against its manifest (SHA-256). Newest first.
 */
async function listDatabaseBackups(db: Db, options: { backupDir?: string; check?: boolean }): Promise<BackupsListing> {
  const records = await readRecords(db);
  const given = resolve(backupDirOrDefault(options.backupDir));
  const folders = [...new Set([given, ...records.backups.map((b) => dirname(resolve(b.dir)))])];
  const found = new Map<string, BackupSummary>();
  for (const folder of folders) for (const s of await listBackups(folder)) found.set(resolve(s.folder), s);
  const entries: BackupEntry[] = [];
  for (const row of records.backups) {
    const folder = resolve(row.dir);
    const summary = found.get(folder);
    found.delete(folder);
    entries.push(summary ? fromSummary(summary, records, db.database, true) : missingEntry(row, db.database, records));
  }
  for (const summary of found.values()) {
    const entry = fromSummary(summary, records, db.database, false);
    const ours = entry.database === db.database || (entry.database === null && dirname(entry.folder) === given);
    if (ours) entries.push(entry);
  }
  if (options.check) for (const e of entries) await checkEntry(e);
  const time = (e: BackupEntry) => e.createdAt ?? e.id;
  entries.sort((a, b) => time(b).localeCompare(time(a)) || b.id.localeCompare(a.id));
  return { database: db.database, folders, backups: entries };
}

function fromSummary(s: BackupSummary, records: Records, database: string, recorded: boolean): BackupEntry {
  const folder = resolve(s.folder);
  // A manifest's run is this database's only when this database recorded the backup or began it: a folder found by
  // its database's name alone may be another server's database of that name, whose run ids mean other runs.
  const owned = recorded || records.startedBy.has(folder);
  const runId = owned ? (s.runId !== null ? Number(s.runId) : (records.startedBy.get(folder) ?? null)) : null;
  const run = runId === null ? null : (records.runs.get(runId) ?? null);
  return summaryEntry(s, {
    database: s.database ?? (owned ? database : null),
    mapping: s.mapping ?? run?.mapping ?? null,
    run,
    recorded,
  });
}

/** A backup as its manifest summary describes it, with what the database knows of it. */
function summaryEntry(s: BackupSummary, known: Pick<BackupEntry, 'database' | 'mapping' | 'run' | 'recorded'>): BackupEntry {
  return {
    id: s.id,
    ...known,
    label: s.label,
    createdAt: s.createdAt,
    state: s.status,
    tables: s.tables,
    rows: s.rows,
    bytes: s.bytes,
    folder: resolve(s.folder),
    problem: s.problem,
  };
}

function missingEntry(row: RecordedRow, database: string, records: Records): BackupEntry {
  const run = row.run_id === null ? null : (records.runs.get(Number(row.run_id)) ?? null);
  const folder = resolve(row.dir);
  return {
    id: row.id,
    database,
    mapping: run?.mapping ?? null,
    run,
    label: row.label,
    createdAt: `${row.created_at.replace(' ', 'T')}Z`,
    state: 'missing',
    tables: typeof row.tables === 'string' ? (JSON.parse(row.tables) as string[]) : row.tables,
    rows: Number(row.rows_total),
    bytes: Number(row.bytes),
    folder,
    recorded: true,
    problem: `Its folder ${folder} is gone (moved or deleted by hand).`,
  };
}

async function checkEntry(e: BackupEntry): Promise<void> {
  if (e.state !== 'complete') return;
  const check = await checkBackup(dirname(e.folder), e.id);
  e.state = check.ok ? 'checked' : 'damaged';
  if (!check.ok) e.problem = check.problems.join('; ');
}

async function withDb<T>(options: CommandOptions, work: (db: Db) => Promise<T>): Promise<T> {
  const db = await connect(options.databaseUrl);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** A backup deleted (or, with --dry-run, that would be), and the bytes its folder held. */
export interface DeletedBackup {
  id: string;
  folder: string;
  mapping: string | null;
  runId: number | null;
  state: BackupState;
  /** Bytes of the files removed with its folder (0 when the folder was already gone). */
  bytes: number;
}

/** A backup prune left although it is past the newest N, and why. */
export interface KeptBackup {
  id: string;
  folder: string;
  reason: string;
}

/** What `backups delete` and `backups prune` did (or, with dryRun, would do). */
export interface BackupsDeletion {
  database: string;
  dryRun: boolean;
  deleted: DeletedBackup[];
  kept: KeptBackup[];
  bytesFreed: number;
}

/**
 * Why a backup must stay, or null when it may go: it is the only restorable copy of the backup of a run that has not
 * been finalized, restored or rolled back (`restore` may still need it); it is an incomplete backup of a run that is
 * running (the run may be writing it); or eventshift is working on its mapping now (the run lock is held).
 */
async function whyKeep(db: Db, entry: BackupEntry, all: readonly BackupEntry[]): Promise<string | null> {
  const run = entry.run;
  if (!run) return null;
  const who = `run ${run.id} of ${run.mapping} (${run.status.replace('_', ' ')}, last stage ${run.stage})`;
  const { lockHolder, lockName } = await import('./lock.ts');
  if ((await lockHolder(db, lockName(db.database, run.mapping))) !== null) {
    return `eventshift is working on ${run.mapping} in ${db.database} now (its run lock is held); try again when it is done.`;
  }
  if (run.finalized || run.status === 'restored' || run.status === 'rolled_back') return null;
  if (entry.state === 'incomplete' && run.status === 'running') {
    return (
      `it is the unfinished backup of ${who}, which may still be writing it; ` +
      `\`eventshift migrate ${run.mapping}\` resumes the run (and takes it again), \`eventshift rollback ${run.mapping}\` removes it.`
    );
  }
  const restorable = (e: BackupEntry) => e.id === run.backupId && (e.state === 'complete' || e.state === 'checked');
  if (!restorable(entry) || all.some((e) => e !== entry && restorable(e))) return null;
  return (
    `it is the only backup of ${who}, which is neither finalized nor undone, so \`eventshift restore ${run.mapping}\` may ` +
    `still need it. It can go once the run is finalized (\`eventshift finalize ${run.mapping}\`) or undone ` +
    `(\`eventshift rollback ${run.mapping}\` or \`eventshift restore ${run.mapping}\`).`
  );
}

/**
 * Removes a backup: its folder (only a folder named by its backup id, never a link, never anything outside the backup
 * folder) and its eventshift_backups row, nothing else. Returns the bytes freed.
 */
async function removeBackup(db: Db, entry: BackupEntry): Promise<number> {
  if (!isBackupId(entry.id) || basename(entry.folder) !== entry.id) {
    throw refusal(`Backup ${entry.id}'s folder ${entry.folder} is not named by its id; eventshift deletes nothing there.`, {
      subject: entry.id,
    });
  }
  let bytes = 0;
  const info = await lstat(entry.folder).catch(() => null);
  if (info?.isSymbolicLink()) {
    throw refusal(`Backup ${entry.id}'s folder ${entry.folder} is a symbolic link; eventshift deletes nothing through it.`, {
      subject: entry.id,
    });
  }
  if (info?.isDirectory()) {
    bytes = await folderBytes(entry.folder);
    await rm(entry.folder, { recursive: true });
  }
  if (entry.recorded) await db.execute('DELETE FROM eventshift_backups WHERE id = ?', [entry.id]);
  return bytes;
}

async function folderBytes(folder: string): Promise<number> {
  let bytes = 0;
  for (const item of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, item.name);
    if (item.isDirectory()) bytes += await folderBytes(path);
    else if (item.isFile()) bytes += (await lstat(path)).size;
  }
  return bytes;
}

async function deleteEntries(db: Db, chosen: BackupEntry[], dryRun: boolean): Promise<DeletedBackup[]> {
  const deleted: DeletedBackup[] = [];
  for (const e of chosen) {
    const bytes = dryRun ? (e.state === 'missing' ? 0 : await folderBytes(e.folder).catch(() => 0)) : await removeBackup(db, e);
    deleted.push({ id: e.id, folder: e.folder, mapping: e.mapping, runId: e.run?.id ?? null, state: e.state, bytes });
  }
  return deleted;
}

const deletion = (database: string, dryRun: boolean, deleted: DeletedBackup[], kept: KeptBackup[]): BackupsDeletion => ({
  database,
  dryRun,
  deleted,
  kept,
  bytesFreed: deleted.reduce((n, d) => n + d.bytes, 0),
});

/**
 * `eventshift backups delete ID`: deletes one backup of the database (with --backup-dir, the copy in that folder),
 * refusing, with what to do, one a run may still need (see whyKeep).
 */
export async function deleteBackup(options: BackupsOptions & { id: string; dryRun?: boolean }): Promise<BackupsDeletion> {
  return withDb(options, async (db) => {
    const { backups } = await listDatabaseBackups(db, options);
    const entry = pickCopy(backups, db.database, options);
    const reason = notOwned(entry) ?? (await whyKeep(db, entry, backups));
    if (reason) throw refusal(`Backup ${entry.id} (${entry.folder}) was not deleted: ${reason}`, { subject: entry.id });
    return deletion(db.database, options.dryRun ?? false, await deleteEntries(db, [entry], options.dryRun ?? false), []);
  });
}

/** The copy of backup `id` to delete: the one in --backup-dir when given, else the recorded one, else the only one. */
function pickCopy(backups: readonly BackupEntry[], database: string, options: BackupsOptions & { id: string }): BackupEntry {
  const copies = backups.filter((b) => b.id === options.id);
  const inGiven = options.backupDir === undefined ? copies : copies.filter((b) => dirname(b.folder) === resolve(options.backupDir!));
  const entry = inGiven.find((b) => b.recorded) ?? inGiven[0];
  if (!entry) {
    throw usageError(
      `There is no backup ${options.id} of database ${database}` +
        `${options.backupDir === undefined ? '' : ` in ${options.backupDir}`}; \`eventshift backups list\` shows them.`,
      { subject: options.id },
    );
  }
  return entry;
}

/**
 * `eventshift backups prune --keep N`: for each mapping (backups taken by hand form one group), keeps the newest N
 * complete backups and deletes the rest of the database's backups (older ones, incomplete ones, records whose folder is
 * gone), except those a run may still need (whyKeep) and those whose manifest cannot be read, which it lists as kept.
 */
export async function pruneBackups(options: BackupsOptions & { keep: number; dryRun?: boolean }): Promise<BackupsDeletion> {
  return withDb(options, async (db) => {
    const { backups } = await listDatabaseBackups(db, options);
    const ours = backups.filter((b) => b.database === db.database);
    const kept: KeptBackup[] = [];
    const chosen: BackupEntry[] = [];
    for (const group of groupByMapping(ours).values()) {
      const newest = group.filter((b) => b.state === 'complete').slice(0, options.keep);
      for (const b of group) {
        if (newest.includes(b)) continue;
        // Decided one at a time against what is left: of two copies of a run's only backup, one stays.
        const reason =
          notOwned(b) ??
          pruneKeeps(b) ??
          (await whyKeep(
            db,
            b,
            backups.filter((e) => !chosen.includes(e)),
          ));
        if (reason) kept.push({ id: b.id, folder: b.folder, reason });
        else chosen.push(b);
      }
    }
    return deletion(db.database, options.dryRun ?? false, await deleteEntries(db, chosen, options.dryRun ?? false), kept);
  });
}

/**
 * Why neither prune nor delete takes a run's backup this database did not record or begin: its manifest names a
 * database of this name, but it may be another server's (staging and production often share names and a backups
 * folder), whose run may still need it. Backups taken by hand (no mapping) are not runs' and may go.
 */
function notOwned(b: BackupEntry): string | null {
  if (b.recorded || b.run !== null || b.mapping === null) return null;
  return (
    `this database did not record it (not in its eventshift_backups, begun by none of its runs): it may be another ` +
    `server's database of the same name. Remove ${b.folder} by hand if you know it is not needed.`
  );
}

/**
 * Why prune leaves a backup that delete would take when asked by id: one whose manifest cannot be read (it may be a
 * newer eventshift's), and the record of a run's backup whose folder is gone (it says where it was, for a restore
 * after the folder was moved).
 */
function pruneKeeps(b: BackupEntry): string | null {
  if (b.state === 'unreadable') {
    return `its manifest cannot be read (${b.problem ?? 'invalid'}); \`eventshift backups delete ${b.id}\` deletes it if it is not needed.`;
  }
  const run = b.run;
  const needed = run && !run.finalized && run.status !== 'restored' && run.status !== 'rolled_back' && run.backupId === b.id;
  if (b.state === 'missing' && needed) {
    return (
      `its folder is gone, and its record is where run ${run.id} of ${run.mapping} says its backup was: if it was moved, ` +
      `pass --backup-dir with the new folder to \`eventshift restore ${run.mapping}\`. ` +
      `\`eventshift backups delete ${b.id}\` drops the record.`
    );
  }
  return null;
}

/** Backups by mapping (null: taken by hand), each group newest first as listed. */
function groupByMapping(backups: readonly BackupEntry[]): Map<string | null, BackupEntry[]> {
  const groups = new Map<string | null, BackupEntry[]>();
  for (const b of backups) groups.set(b.mapping, [...(groups.get(b.mapping) ?? []), b]);
  return groups;
}

/**
 * The backups in one folder, without a database to ask (`backups list` given none): what their manifests say, no run
 * status.
 */
export async function folderBackups(backupDir: string | undefined): Promise<BackupsListing> {
  const folder = resolve(backupDirOrDefault(backupDir));
  const backups = (await listBackups(folder)).map((s) =>
    summaryEntry(s, { database: s.database, mapping: s.mapping, run: null, recorded: false }),
  );
  return { database: null, folders: [folder], backups };
}
