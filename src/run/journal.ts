import { hostname } from 'node:os';
import { restoreProgress } from '../backup/restore-journal.ts';
import type { Db } from '../db/connection.ts';
import { upgradePlan, type Plan } from '../plan/plan-data.ts';
import { runJournal, sqlTime, stages, type JournalEntry, type Stage } from '../engine/step-journal.ts';
import { formatCount } from '../format.ts';

/**
 * `restoring`: a restore of the run's backup replaced tables and has not finished (`eventshift restore` finishes it).
 * It is read from the restore's journal (latestRun), not stored: a restore that stopped before its swap changed
 * nothing, and the run keeps the status it had.
 */
export type RunStatus = 'running' | 'stopped' | 'interrupted' | 'failed' | 'completed' | 'restoring' | 'restored' | 'rolled_back';

/**
 * The statuses of a run that is open: migrate resumes it. `stopped` is a run that stopped after a stage by choice
 * (`--until`); `interrupted` one that SIGINT or SIGTERM stopped at a chunk boundary (its error column says which signal
 * and in which stage); `running` may also be a run whose process was killed.
 */
const openStatuses: readonly RunStatus[] = ['running', 'stopped', 'interrupted', 'failed'];

/** Whether migrate resumes this run (see openStatuses). */
export const isOpenRun = (run: RunRecord): boolean => openStatuses.includes(run.status);

export interface RunRecord {
  id: number;
  mapping: string;
  status: RunStatus;
  /** The last stage that finished, or 'none'. */
  stage: Stage | 'none';
  plan: Plan;
  backupId: string | null;
  host: string;
  pid: number;
  lockConnectionId: number | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** When the restore that makes the run `restoring` began (UTC, as sqlTime writes it). */
  restoreBegan?: string;
}

/**
 * What to tell someone who asks a run that was undone (by `rollback` or `restore`) for what it wrote: the run's rows
 * are gone, so verify and lineage have nothing to read. Null when the run was not undone.
 */
export function undoneRunMessage(run: RunRecord, asked: string): string | null {
  const restoring = restoringRunMessage(run);
  if (restoring) return `${restoring} Until then there is ${asked}.`;
  if (run.status !== 'rolled_back' && run.status !== 'restored') return null;
  const how =
    run.status === 'rolled_back' ? 'rolled back (`eventshift rollback`)' : 'undone by restoring its backup (`eventshift restore`)';
  const when = run.finishedAt ? ` at ${run.finishedAt} UTC` : '';
  return (
    `Run ${run.id} of ${run.mapping} was ${how}${when}: what it wrote is gone, so there is ${asked}. ` +
    `\`eventshift migrate ${run.mapping}\` runs it again.`
  );
}

/**
 * What to tell any command but `restore` about a run whose backup a restore began putting back and did not finish:
 * the database is part-way between the run's result and its backup, and only running restore again finishes it.
 */
export function restoringRunMessage(run: RunRecord): string | null {
  if (run.status !== 'restoring') return null;
  return (
    `A restore of run ${run.id} of ${run.mapping} (its backup ${run.backupId}) began at ${run.restoreBegan ?? run.updatedAt} UTC ` +
    'and did not finish; ' +
    `\`eventshift restore ${run.mapping}\` finishes it, from where it stopped.`
  );
}

/**
 * What to tell someone who asks a run that had not finished its write stage for what it wrote (verify, lineage): how
 * it stopped and when, the rows each step had written (from the steps journal), and the ways on. A run interrupted by
 * a signal is recorded so; one still recorded `running` is either running now (`lockHeld`: another process holds the
 * run lock) or was stopped without a chance to record it (killed, its machine or connection lost). Null for any other
 * run.
 */
export async function unfinishedWriteMessage(db: Db, run: RunRecord, asked: string, lockHeld: boolean): Promise<string | null> {
  if (run.stage !== 'none' && stages.indexOf(run.stage) >= stages.indexOf('write')) return null;
  if (run.status !== 'interrupted' && run.status !== 'running') return null;
  const written = writtenSoFar(run.plan, await runJournal(db, run.id));
  const ways = `\`eventshift migrate ${run.mapping}\` resumes it; \`eventshift rollback ${run.mapping}\` undoes what it wrote.`;
  if (run.status === 'running' && lockHeld)
    return (
      `Run ${run.id} of ${run.mapping} is running now (another process holds its lock) and has not finished its write ` +
      `stage, so there is ${asked} yet. So far it wrote: ${written}.`
    );
  const how =
    run.status === 'interrupted'
      ? `was interrupted (${run.error ?? 'by a signal'}) at ${run.updatedAt} UTC`
      : `stopped without recording why (its process is gone: killed, or its connection lost) after ${run.updatedAt} UTC`;
  return (
    `Run ${run.id} of ${run.mapping} ${how} before its write stage finished, so there is ${asked} yet. ` +
    `So far it wrote: ${written}. ${ways}`
  );
}

/**
 * Rows per planned step from the write stage's journal (`step holdOn 4000 rows (not done, through legacy key
 * 1234), step holdOff not started`), then its other units (created tables, projections, loads) done or not.
 */
export function writtenSoFar(plan: Plan, journal: readonly JournalEntry[]): string {
  const written = journal.filter((e) => e.stage === 'write');
  const steps = plan.steps.map((p) => {
    const entry = written.find((e) => e.step === `step ${p.name}`);
    if (!entry) return `step ${p.name} not started`;
    if (entry.status === 'done') return `step ${p.name} ${formatCount(entry.rowsDone)} rows (done)`;
    const through = entry.progressKey === null ? '' : `, through legacy key ${entry.progressKey}`;
    return `step ${p.name} ${formatCount(entry.rowsDone)} rows (not done${through})`;
  });
  const others = written.filter((e) => !e.step.startsWith('step ')).map((e) => `${e.step} ${e.status === 'done' ? 'done' : 'not done'}`);
  return [...steps, ...others].join(', ');
}

interface RunRow {
  id: string | number;
  mapping: string;
  status: string;
  stage: string;
  plan: string;
  backup_id: string | null;
  host: string;
  pid: number;
  lock_connection_id: string | number | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
  error: string | null;
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: Number(r.id),
    mapping: r.mapping,
    status: r.status as RunStatus,
    stage: r.stage as Stage | 'none',
    plan: upgradePlan(JSON.parse(r.plan)),
    backupId: r.backup_id,
    host: r.host,
    pid: Number(r.pid),
    lockConnectionId: r.lock_connection_id === null ? null : Number(r.lock_connection_id),
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    error: r.error,
  };
}

export async function latestRun(db: Db, mapping: string): Promise<RunRecord | null> {
  const [row] = await db.query<RunRow & Record<string, unknown>>(
    'SELECT * FROM eventshift_runs WHERE mapping = ? ORDER BY id DESC LIMIT 1',
    [mapping],
  );
  return row ? withRestoreStatus(db, toRecord(row)) : null;
}

/**
 * The run as `restoring` when a restore of its backup is past its swap and the run is not recorded as restored: the
 * database then holds the backup's tables, or some of what the restore still has to do.
 */
async function withRestoreStatus(db: Db, run: RunRecord): Promise<RunRecord> {
  if (!run.backupId || run.status === 'restored' || run.status === 'rolled_back') return run;
  const progress = await restoreProgress(db, run.backupId);
  if (progress.state !== 'swapped' && progress.state !== 'done') return run;
  return { ...run, status: 'restoring', restoreBegan: progress.startedAt ? sqlTime(new Date(progress.startedAt)) : undefined };
}

/**
 * Every run of the mapping, newest first, each as latestRun reads it (a run whose restore is under way reads as
 * `restoring`), with the verdict of its last verification. Read-only.
 */
export async function runsOf(db: Db, mapping: string): Promise<Array<RunRecord & { verification: RecordedVerification | null }>> {
  const rows = await db.query<RunRow & { verification: string | null } & Record<string, unknown>>(
    'SELECT * FROM eventshift_runs WHERE mapping = ? ORDER BY id DESC',
    [mapping],
  );
  const runs = [];
  for (const row of rows) {
    const verification = row.verification === null ? null : (JSON.parse(row.verification) as RecordedVerification);
    runs.push({ ...(await withRestoreStatus(db, toRecord(row))), verification });
  }
  return runs;
}

/** The verdict migrate's verify stage records in the run (eventshift_runs.verification): passed, or the checks that failed. */
export interface RecordedVerification {
  ok: boolean;
  failed: string[];
}

export async function runById(db: Db, id: number): Promise<RunRecord | null> {
  const [row] = await db.query<RunRow & Record<string, unknown>>('SELECT * FROM eventshift_runs WHERE id = ?', [id]);
  return row ? toRecord(row) : null;
}

/**
 * The running run whose lock connection is `holder`'s; where the lock names its process too (a Galera lease: each node
 * numbers its connections on its own), the run of that process.
 */
export async function runHoldingLock(
  db: Db,
  holder: { connectionId: number; host: string | null; pid: number | null },
): Promise<RunRecord | null> {
  const process = holder.host !== null && holder.pid !== null ? ' AND host = ? AND pid = ?' : '';
  const [row] = await db.query<RunRow & Record<string, unknown>>(
    `SELECT * FROM eventshift_runs WHERE lock_connection_id = ? AND status = 'running'${process} ORDER BY id DESC LIMIT 1`,
    [holder.connectionId, ...(process ? [holder.host, holder.pid] : [])],
  );
  return row ? toRecord(row) : null;
}

export async function createRun(db: Db, plan: Plan, lockConnectionId: number, now: Date): Promise<number> {
  const t = sqlTime(now);
  const { insertId } = await db.execute(
    `INSERT INTO eventshift_runs (mapping, status, stage, plan, host, pid, lock_connection_id, started_at, updated_at)
     VALUES (?, 'running', 'none', ?, ?, ?, ?, ?, ?)`,
    [plan.mapping, JSON.stringify(plan), hostname(), process.pid, lockConnectionId, t, t],
  );
  return insertId;
}

/** Marks a resumed run as held by this process. */
export async function claimRun(db: Db, id: number, lockConnectionId: number, now: Date): Promise<void> {
  await db.execute(
    "UPDATE eventshift_runs SET status = 'running', host = ?, pid = ?, lock_connection_id = ?, updated_at = ?, error = NULL WHERE id = ?",
    [hostname(), process.pid, lockConnectionId, sqlTime(now), id],
  );
}

export async function updateRun(
  db: Db,
  id: number,
  fields: Partial<{
    status: RunStatus;
    stage: Stage | 'none';
    backupId: string;
    error: string | null;
    verification: unknown;
    finished: boolean;
  }>,
  now: Date,
): Promise<void> {
  const sets: string[] = ['updated_at = ?'];
  const params: unknown[] = [sqlTime(now)];
  if (fields.status !== undefined) (sets.push('status = ?'), params.push(fields.status));
  if (fields.stage !== undefined) (sets.push('stage = ?'), params.push(fields.stage));
  if (fields.backupId !== undefined) (sets.push('backup_id = ?'), params.push(fields.backupId));
  if (fields.error !== undefined) (sets.push('error = ?'), params.push(fields.error));
  if (fields.verification !== undefined) (sets.push('verification = ?'), params.push(JSON.stringify(fields.verification)));
  if (fields.finished) (sets.push('finished_at = ?'), params.push(sqlTime(now)));
  params.push(id);
  await db.execute(`UPDATE eventshift_runs SET ${sets.join(', ')} WHERE id = ?`, params);
}
