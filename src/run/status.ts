import { connect, type Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import type { Mapping } from '../mapping/define.ts';
import { runJournal, type JournalEntry, type JournalStage, type Stage } from '../engine/step-journal.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import type { CommandOptions } from './context.ts';
import { runsOf, type RecordedVerification, type RunRecord, type RunStatus } from './journal.ts';
import { lockHolder, lockName, type LockHolding } from './lock.ts';

export interface StatusOptions extends CommandOptions {
  mapping: Mapping;
}

/**
 * Who holds the mapping's run lock: the server connection, and the run (with its host and pid) when one is recorded;
 * on Galera also the node it holds the lock through.
 */
export interface LockHolder {
  connectionId: number;
  /** The run whose record names that connection; null when another eventshift command holds it (rollback, verify, ...). */
  runId: number | null;
  host: string | null;
  pid: number | null;
  /** On Galera, the node whose connection holds the lock's lease; null elsewhere. */
  node: string | null;
}

/** One step of a run's journal, as status shows it. */
export interface StatusStep {
  stage: JournalStage;
  step: string;
  status: JournalEntry['status'];
  rows: number;
  /** The last legacy key committed, for chunked steps. */
  progressKey: number | null;
  startedAt: string;
  finishedAt: string | null;
}

/** One run of the mapping, as `eventshift status` shows it. */
export interface RunSummary {
  id: number;
  status: RunStatus;
  /** The last stage that finished, or 'none'. */
  stage: Stage | 'none';
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Why it failed, or for an interrupted run the signal and the stage (`SIGINT during stage write`). */
  error: string | null;
  /** Set when this run holds the mapping's run lock now (its process is alive). */
  lockHolder: LockHolder | null;
  /** Rows written per step (`step <name>` of the write stage in the journal), in the plan's order; a step not begun is absent. */
  rowsWritten: Record<string, number>;
  /** The step whose last chunk was journaled most recently (a step in progress first), with that chunk's last key. */
  lastChunk: { step: string; progressKey: number; rows: number } | null;
  steps: StatusStep[];
  backup: { id: string; dir: string | null } | null;
  /** The verdict migrate's verify stage recorded last; null before any. */
  verification: RecordedVerification | null;
  /** Whether the cutover's renames are done (the run's last stage is cutover). */
  cutover: boolean;
}

export interface StatusResult {
  mapping: string;
  database: string;
  /** Who holds the mapping's run lock now; null when it is free. */
  lock: LockHolder | null;
  /** Every run of the mapping in the database, newest first; empty when none is recorded (or no bookkeeping tables). */
  runs: RunSummary[];
}

/**
 * Every run of the mapping in the database, newest first, with where each is: status and stage, who holds the run lock,
 * rows per step and the last chunk from the steps journal, its backup, its last verification and whether its cutover
 * happened. Read-only: it takes no lock and writes nothing, so it answers while a migrate runs.
 */
export async function status(options: StatusOptions): Promise<StatusResult> {
  const db = await connect(options.databaseUrl);
  try {
    const name = options.mapping.name;
    const holder = await lockHolder(db, lockName(db.database, name));
    if (!(await hasBookkeeping(db))) {
      return { mapping: name, database: db.database, lock: holder === null ? null : unknownHolder(holder), runs: [] };
    }
    const runs = await runsOf(db, name);
    // A Galera lease names the holding process too: each node numbers its connections on its own.
    const holds = (r: RunRecord) =>
      r.lockConnectionId === holder?.connectionId &&
      r.status === 'running' &&
      (holder.host === null || (r.host === holder.host && r.pid === holder.pid));
    const holding = holder === null ? undefined : runs.find(holds);
    const lock =
      holder === null
        ? null
        : holding
          ? { connectionId: holder.connectionId, runId: holding.id, host: holding.host, pid: holding.pid, node: holder.node }
          : unknownHolder(holder);
    const backupDirs = await backupDirsOf(db);
    const summaries: RunSummary[] = [];
    for (const run of runs) summaries.push(await summary(db, run, { lock: holding === run ? lock : null, backupDirs }));
    return { mapping: name, database: db.database, lock, runs: summaries };
  } finally {
    await db.close();
  }
}

const unknownHolder = (h: LockHolding): LockHolder => ({
  connectionId: h.connectionId,
  runId: null,
  host: h.host,
  pid: h.pid,
  node: h.node,
});

/** Backup id -> its folder, from eventshift_backups (empty when that table does not exist). */
async function backupDirsOf(db: Db): Promise<Map<string, string>> {
  if (!(await tableExists(db, 'eventshift_backups'))) return new Map();
  const rows = await db.query<{ id: string; dir: string }>('SELECT id, dir FROM eventshift_backups');
  return new Map(rows.map((r) => [r.id, r.dir]));
}

async function summary(
  db: Db,
  run: RunRecord & { verification: RecordedVerification | null },
  at: { lock: LockHolder | null; backupDirs: Map<string, string> },
): Promise<RunSummary> {
  const journal = await runJournal(db, run.id);
  const rowsWritten: Record<string, number> = {};
  for (const { name } of run.plan.steps) {
    const entry = journal.find((e) => e.stage === 'write' && e.step === `step ${name}`);
    if (entry) rowsWritten[name] = entry.rowsDone;
  }
  return {
    id: run.id,
    status: run.status,
    stage: run.stage,
    startedAt: run.startedAt,
    updatedAt: run.updatedAt,
    finishedAt: run.finishedAt,
    error: run.error,
    lockHolder: at.lock,
    rowsWritten,
    lastChunk: lastChunk(journal),
    steps: journal.map((e) => ({
      stage: e.stage,
      step: e.step,
      status: e.status,
      rows: e.rowsDone,
      progressKey: e.progressKey,
      startedAt: e.startedAt,
      finishedAt: e.finishedAt,
    })),
    backup: run.backupId ? { id: run.backupId, dir: at.backupDirs.get(run.backupId) ?? null } : null,
    verification: run.verification,
    cutover: run.stage === 'cutover',
  };
}

/**
 * The chunk journaled last: of the steps with a progress key, one still in progress (started latest) before one that
 * is done (finished latest).
 */
function lastChunk(journal: readonly JournalEntry[]): RunSummary['lastChunk'] {
  const chunked = journal.filter((e) => e.progressKey !== null);
  const open = chunked.filter((e) => e.status !== 'done').sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const done = chunked.filter((e) => e.status === 'done').sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''));
  const last = open[0] ?? done[0];
  return last ? { step: last.step, progressKey: last.progressKey!, rows: last.rowsDone } : null;
}
