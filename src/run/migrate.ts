import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDatabaseUrl, type Db } from '../db/connection.ts';
import { columnExists, tableExists } from '../db/introspect.ts';
import { refusal, usageError } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Plan, PlanOverrides } from '../plan/plan-data.ts';
import { createBackup } from '../backup/index.ts';
import { backupDirOrDefault } from './backup-dir.ts';
import { backupFolderOf, locateBackup } from './backup-location.ts';
import { backupRoomRefusal } from '../backup/backup-room.ts';
import type { Verification } from '../verify/verification.ts';
import type { ContentCompare } from '../verify/check-result.ts';
import type { ReportGalera } from '../verify/report-model.ts';
import type { CommitRetry } from '../engine/chunks.ts';
import { verifyRun, writeRunReport } from './verify-run.ts';
import { ensureBookkeeping } from './bookkeeping.ts';
import { withRunContext, type CommandOptions, type RunChoice, type RunContext } from './context.ts';
import { faultPoint } from '../engine/fault-points.ts';
import { postponeWhile, throttle, type Hold, type RunThrottle } from './throttle.ts';
import { caughtUpReplica, openSignals, resolveWatch, type Watch, type WatchOptions } from './run-signals.ts';
import type { ThrottleSignal } from './throttle-signals.ts';
import type { RunLock } from './lock.ts';
import { safeStem } from '../export/patch-file.ts';
import { dependedChanges, findDependents, type DependedChange } from '../plan/dependents.ts';
import { planRun } from '../plan/plan-run.ts';
import { resumeRefusals } from '../plan/preflight.ts';
import { connectAgain } from '../db/row-stream.ts';
import type { Part, WriteScope } from '../parts/part.ts';
import { claimRun, createRun, isOpenRun, restoringRunMessage, runById, updateRun, type RunRecord, type RunStatus } from './journal.ts';
import {
  finishStep,
  recordProgress,
  runJournal,
  stages,
  startStep,
  stepRecord,
  type JournalEntry,
  type Stage,
  type StepKey,
} from '../engine/step-journal.ts';
import { formatCount } from '../format.ts';

export interface MigrateOptions extends CommandOptions, WatchOptions {
  mapping: Mapping;
  /**
   * --backup-dir: where a new run's backup is written (default DEFAULT_BACKUP_DIR), and where a resumed run's backup is
   * read when it is not where the database records it (locateBackup).
   */
  backupDir?: string;
  /** Where the verify stage writes its report; default `reports/<database>/<mapping>-run-<id>` (made absolute). */
  reportDir?: string;
  /** Stop after this stage; a later migrate goes on from there. */
  until?: Stage;
  /** Legacy keys per write chunk to start with; adapted to about half a second per chunk. */
  chunkKeys?: number;
  /** Streamed steps (with code() columns): rows per multi-row INSERT at most (default 1000). */
  batchRows?: number;
  /** --ids / --start: how a new run numbers its rows (a resumed run keeps the plan it froze). */
  overrides?: PlanOverrides;
  /** Bad rows of CSV sources are set aside in eventshift_quarantine (and quarantine.csv) instead of refusing the run. */
  quarantine?: boolean;
  /** Progress of the long steps (rows backed up and written, checks done), for a display; undefined means none. */
  onProgress?: (progress: MigrateProgress) => void;
  /** Written rows per second at most, on average: the write stage sleeps between chunks and keeps chunks to ~1 s of it. */
  maxRowsPerSecond?: number;
  /** While this file exists, the run waits before its next write chunk, stage or check (a kill meanwhile is safe). */
  pauseFile?: string;
  /** While this file exists, a verified run waits before its cutover; it verifies again once the file is gone. */
  postponeCutoverFile?: string;
  /** How often a waiting run looks for the pause or postpone file (default 1000 ms). */
  pollMs?: number;
  /**
   * --verify-on URL: the verify stage (and the cutover's verification) reads on this replica, once it has applied
   * everything the primary had committed when the stage began (the run waits for it). Writes go to the primary only.
   */
  verifyOn?: string;
  /** --verify hash: the content checks hash each piece first and compare rows only where hashes differ (default `exact`). */
  contentCompare?: ContentCompare;
  /**
   * Aborted (its reason the signal's name, e.g. 'SIGINT') to stop the run at its next chunk boundary, stage or check:
   * what is committed stays committed and journaled, the run is recorded as `interrupted`, and migrate returns with
   * status 'interrupted' and where it stopped (MigrateResult.interruption). migrate again resumes it.
   */
  interrupt?: AbortSignal;
}

/** Where an interrupted run stopped: the signal, the stage it was in, and its steps journal then (rows per step). */
export interface Interruption {
  signal: string;
  stage: Stage;
  journal: JournalEntry[];
}

/**
 * How far a long step of a run is. Labels: `backup <table>`, `write <step>` (rows written to all its targets, out of
 * the rows the plan counted; `write <step> + <step>` for steps written at the same time, their rows added up),
 * `load <alias>`, `lookup <name> ...`, `verify` (checks done). `total` is an estimate (a backup's TABLE_ROWS) or what
 * the plan counted, and `done` may stop short of it or pass it: read `total` with every report. A step says when it is
 * done: `ended` is true in its last report only, whose `done` is the true count and `total` equals it. A step that
 * stops early (an error, an interruption) makes no such report.
 *
 * @example
 * const steps = trackSteps(progressSink(flags));
 * await migrate({ ..., onProgress: (p) => steps.report(p.label, p.done, p.total, p.ended) });
 */
export interface MigrateProgress {
  stage: Stage;
  label: string;
  done: number;
  total: number;
  unit: 'rows' | 'checks';
  ended: boolean;
}

export interface MigrateResult {
  runId: number;
  resumed: boolean;
  status: RunStatus;
  /** The last stage that finished. */
  stage: Stage | 'none';
  plan: Plan;
  backup: { id: string; dir: string } | null;
  verification: Verification | null;
  reportDir: string | null;
  /** Seconds per stage run by this invocation. */
  stageSeconds: Partial<Record<Stage, number>>;
  /** Seconds this invocation spent planning (counting rows and scanning for data problems); null when it resumed. */
  planSeconds: number | null;
  rowsWritten: Record<string, number>;
  /** Set when MigrateOptions.interrupt stopped the run (status 'interrupted'). */
  interruption: Interruption | null;
  /** The replicas this invocation watched, by name (`replica host:port`). */
  replicas: string[];
  /** Each time replica lag or server load held the run in this invocation: by what, why at first, for how long. */
  holds: readonly Hold[];
  /**
   * On a Galera node: the node, its write-set limits, and the chunk transactions this invocation retried after a
   * certification conflict (also in the report); null elsewhere.
   */
  galera: ReportGalera | null;
}

/**
 * Thrown at the run's next chunk boundary, stage or check once MigrateOptions.interrupt is aborted; runStages turns it
 * into an `interrupted` run.
 */
class RunInterrupted extends Error {
  constructor(readonly signal: string) {
    super(`The run was interrupted (${signal}).`);
  }
}

/** Whether `error`, or an error it wraps (its cause, at any depth), is the interruption. */
function interruptionIn(error: unknown): RunInterrupted | null {
  for (let e = error; e instanceof Error; e = e.cause) if (e instanceof RunInterrupted) return e;
  return null;
}

/** Runs (or resumes) the mapping's migration: backup -> write -> verify -> cutover. */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const choose = async (run: RunRecord | null, db: Db, mapping: Mapping): Promise<RunChoice<object, MigrateResult>> => {
    const restoring = run && restoringRunMessage(run);
    if (restoring) throw refusal(restoring, { subject: mapping.name });
    if (run?.status === 'completed') {
      // Running migrate again finishes the job; when the job is finished, that is nothing to do.
      log(
        `Run ${run.id} of ${mapping.name} already completed (finished ${run.finishedAt} UTC); nothing to do. ` +
          '`eventshift rollback` or `restore` undo it.',
      );
      return { done: completedResult(run, await runBackupFolder(db, run, options.backupDir)) };
    }
    // An open run is resumed, reading its CSV sources from the files its plan froze; otherwise a new run is planned.
    return { run: run !== null && isOpenRun(run) ? run : null };
  };
  return withRunContext({ options, mapping: options.mapping, choose }, async (ctx) => {
    const clock = { now, log };
    // What the run watches is settled (and refused when it cannot be watched) before anything is written.
    const watch = await resolveWatch(ctx.db, parseDatabaseUrl(options.databaseUrl), options);
    const opened = await openRun(ctx, options, clock);
    await claimRun(ctx.db, opened.run.id, ctx.lock!.connectionId, now());
    for (const line of watch.lines) log(line);
    const signals = await openSignals(ctx.db, watch);
    try {
      return await runStages(runState(ctx, options, clock, opened, { watch, signals: signals.signals }));
    } finally {
      await signals.close();
    }
  });
}

/** migrate's clock and logger, their defaults filled in. */
interface Clock {
  now: () => Date;
  log: (line: string) => void;
}

/** The run migrate works on: the open run it resumes, or a new one planned and recorded now (with its planning time). */
interface OpenedRun {
  run: RunRecord;
  resumed: boolean;
  planSeconds: number | null;
  /** The run's backup and its folder (where the database records it), when it has one. */
  backup: { id: string; dir: string } | null;
}

/** The backup of `run` and the folder the database records for it, for migrate's result (not checked to be there). */
async function runBackupFolder(db: Db, run: RunRecord, given: string | undefined): Promise<{ id: string; dir: string } | null> {
  return run.backupId ? { id: run.backupId, dir: await backupFolderOf(db, run.backupId, run.id, given) } : null;
}

async function openRun({ db, lock, mapping, run }: RunContext, options: MigrateOptions, { now, log }: Clock): Promise<OpenedRun> {
  if (run) {
    if (options.overrides?.ids !== undefined || Object.keys(options.overrides?.start ?? {}).length > 0) {
      throw usageError(
        `Run ${run.id} of ${mapping.name} is open with the IDs it planned; ` +
          'run migrate without --ids/--start to finish it, or roll it back first.',
      );
    }
    await refuseMissingPrivileges(db, mapping, run);
    log(`Resuming run ${run.id} of ${mapping.name} after stage ${run.stage}.`);
    return { run, resumed: true, planSeconds: null, backup: await runBackupFolder(db, run, options.backupDir) };
  }
  // Planning checks the privileges the run needs against the user's now, right before the first write.
  const planned = performance.now();
  const plan = await planRun(db, mapping, now(), { overrides: options.overrides, quarantine: options.quarantine, forRun: true });
  // The backup is the run's first write to disk: its folder must take it (plan says so too, with the same folder).
  const room = plan.ok ? await backupRoomRefusal(db, { dir: backupDirOrDefault(options.backupDir), tables: plan.tables.backup }) : null;
  if (room) {
    plan.refusals.push(room);
    plan.ok = false;
  }
  if (!plan.ok) {
    throw refusal(`The plan for ${mapping.name} refuses to run: ${plan.refusals.join(' ')} Nothing was written.`, {
      subject: mapping.name,
      details: { plan },
    });
  }
  await ensureBookkeeping(db);
  const id = await createRun(db, plan, lock!.connectionId, now());
  const created = (await runById(db, id))!;
  const planSeconds = Math.round(performance.now() - planned) / 1000;
  log(`Run ${id} of ${mapping.name} started.`);
  return { run: created, resumed: false, planSeconds, backup: null };
}

/**
 * A resumed run's privileges and the server variables it relies on, checked again against its frozen plan before it
 * writes anything more: grants and settings may have changed since it stopped. Each one missing is named; the run
 * stays as it was, and migrate resumes it once they are put right.
 */
async function refuseMissingPrivileges(db: Db, mapping: Mapping, run: RunRecord): Promise<void> {
  const refusals = await resumeRefusals(db, mapping, run.plan, run.stage);
  if (refusals.length === 0) return;
  throw refusal(
    `Run ${run.id} of ${mapping.name} cannot go on: ${refusals.join(' ')} Nothing more was written; ` +
      'put that right and run migrate again.',
    {
      subject: mapping.name,
      details: { missing: refusals },
    },
  );
}

function runState(
  { db, lock, mapping, parts }: RunContext,
  options: MigrateOptions,
  { now, log }: Clock,
  opened: OpenedRun,
  watching: { watch: Watch; signals: ThrottleSignal[] },
): RunState {
  const { run, resumed, planSeconds, backup } = opened;
  const runThrottle = throttle({
    ...options,
    log,
    signals: watching.signals,
    whilePaused: async () => void (await db.query('SELECT 1')),
    check: () => checkGoingOn(options, lock!),
  });
  return {
    db,
    lock: lock!,
    mapping,
    parts,
    run,
    options,
    now,
    log,
    throttle: runThrottle,
    result: {
      runId: run.id,
      resumed,
      status: 'running',
      stage: run.stage,
      plan: run.plan,
      backup,
      verification: null,
      reportDir: null,
      stageSeconds: {},
      planSeconds,
      rowsWritten: {},
      interruption: null,
      replicas: watching.watch.replicas.map((r) => r.name),
      holds: runThrottle.holds(),
      galera: galeraOf(db),
    },
    alongside: [],
  };
}

/** What the run's result and report say of the Galera node it writes through: its limits, and no retries yet. */
function galeraOf(db: Db): ReportGalera | null {
  const node = db.capabilities.galera;
  if (!node) return null;
  const { maxWriteSetRows, maxWriteSetBytes } = node;
  return { node: node.node, maxWriteSetRows, maxWriteSetBytes, retries: { count: 0, byError: {}, bySteps: {} } };
}

/** Counts a chunk transaction retried after a certification conflict, and says so. */
function countRetry(s: RunState, retry: CommitRetry): void {
  const counted = s.result.galera?.retries;
  if (!counted) return;
  const step = retry.step ?? '(none)';
  counted.count++;
  counted.byError[retry.errno] = (counted.byError[retry.errno] ?? 0) + 1;
  counted.bySteps[step] = (counted.bySteps[step] ?? 0) + 1;
  s.log(
    `A chunk of ${step} lost a certification conflict on Galera (error ${retry.errno}, attempt ${retry.attempt}): ` +
      `rolled back, retried in ${retry.waitMs} ms.`,
  );
}

/**
 * What the run asks before every chunk, stage and check (the throttle's check): that it was not interrupted, and that it
 * still holds its lock. Either throws, and the run stops there.
 */
async function checkGoingOn(options: MigrateOptions, lock: RunLock): Promise<void> {
  if (options.interrupt?.aborted) throw new RunInterrupted(String(options.interrupt.reason ?? 'interrupted'));
  await lock.assertHeld();
}

/**
 * Runs the stages after the run's last one, in order, recording each; a failed stage, `until` or an interruption ends
 * the run here.
 */
async function runStages(state: RunState): Promise<MigrateResult> {
  const { db, run, options, now, log } = state;
  let current: Stage = stages[0];
  try {
    const from = run.stage === 'none' ? 0 : stages.indexOf(run.stage) + 1;
    for (const stage of stages.slice(from)) {
      current = stage;
      await state.throttle.waitWhilePaused();
      const t0 = performance.now();
      log(`Stage ${stage}...`);
      faultPoint(`stage ${stage} before`);
      const passed = await stageRunners[stage](state);
      state.result.stageSeconds[stage] = Math.round(performance.now() - t0) / 1000;
      if (!passed) {
        state.result.status = 'failed';
        await updateRun(db, run.id, { status: 'failed', error: `stage ${stage} failed; see the report` }, now());
        return state.result;
      }
      state.result.stage = stage;
      const last = stage === 'cutover';
      state.result.status = last ? 'completed' : 'running';
      await updateRun(db, run.id, { stage, ...(last ? { status: 'completed', finished: true } : {}) }, now());
      faultPoint(`stage ${stage} after`);
      if (!last && options.until === stage) {
        state.result.status = 'stopped';
        await updateRun(db, run.id, { status: 'stopped' }, now());
        log(`Stopped after stage ${stage} (--until); run migrate again to go on.`);
        break;
      }
    }
    return state.result;
  } catch (error) {
    // Nothing may still be writing once the run is marked failed (or interrupted) and its lock released.
    await Promise.allSettled(state.alongside);
    const interruption = interruptionIn(error);
    if (interruption) return interrupted(state, interruption.signal, current);
    await updateRun(db, run.id, { status: 'failed', error: error instanceof Error ? error.message : String(error) }, now()).catch(
      () => undefined,
    );
    throw error;
  }
}

/**
 * Records the run as interrupted by `signal` in `stage` (every chunk that committed is journaled, so migrate again
 * resumes right after it) and answers where it stopped.
 */
async function interrupted(state: RunState, signal: string, stage: Stage): Promise<MigrateResult> {
  const { db, run, now, log } = state;
  await updateRun(db, run.id, { status: 'interrupted', error: `${signal} during stage ${stage}` }, now());
  state.result.status = 'interrupted';
  state.result.interruption = { signal, stage, journal: await runJournal(db, run.id) };
  log(`Interrupted (${signal}) during stage ${stage}: stopped at a chunk boundary, everything committed is journaled.`);
  return state.result;
}

/** What migrate answers for a run that completed already: nothing to do. */
function completedResult(run: RunRecord, backup: { id: string; dir: string } | null): MigrateResult {
  return {
    runId: run.id,
    resumed: true,
    status: 'completed',
    stage: 'cutover',
    plan: run.plan,
    backup,
    verification: null,
    reportDir: null,
    stageSeconds: {},
    planSeconds: null,
    rowsWritten: {},
    interruption: null,
    replicas: [],
    holds: [],
    galera: null,
  };
}

interface RunState {
  db: Db;
  /** The mapping's run lock, held for the whole run. */
  lock: RunLock;
  mapping: Mapping;
  /** The run context's parts, which the write, verify and cutover stages fold over. */
  parts: readonly Part[];
  run: RunRecord;
  options: MigrateOptions;
  now: () => Date;
  log: (line: string) => void;
  throttle: RunThrottle;
  /** The throttle's pauses when this invocation's verification began: one since means the data may have changed. */
  pausesAtVerify?: number;
  /** The replica the last verification read on (--verify-on), or null: the primary. */
  checksReadOn?: string | null;
  result: MigrateResult;
  /** Work running on connections of its own beside `db` (see alongside()); settled before the run lets go of its lock. */
  alongside: Array<Promise<unknown>>;
}

const stageRunners: Record<Stage, (s: RunState) => Promise<boolean>> = {
  backup: backupStage,
  write: writeStage,
  verify: verifyStage,
  cutover: cutoverStage,
};

async function backupStage(s: RunState): Promise<boolean> {
  const { db, run, options, now } = s;
  const previous = await stepRecord(db, run.id, 'backup', 'tables');
  const abandoned = (previous?.detail as { dir?: string } | null)?.dir;
  if (abandoned && previous?.status !== 'done') {
    // A backup interrupted before its step was marked done is never used: it is removed and taken again, and
    // forgotten by the bookkeeping (the kill may have come after it was recorded).
    await rm(abandoned, { recursive: true, force: true });
    await db.execute('DELETE FROM eventshift_backups WHERE run_id = ? AND dir = ?', [run.id, abandoned]);
  }
  const step: StepKey = { runId: run.id, stage: 'backup', step: 'tables' };
  const backupRoot = resolve(backupDirOrDefault(options.backupDir));
  await startStep(db, step, now());
  faultPoint('backup tables started');
  const tablesStarted = new Set<string>();
  const manifest = await createBackup(db, {
    onProgress: (p) => {
      options.onProgress?.({ stage: 'backup', label: `backup ${p.table}`, done: p.rows, total: p.totalRows, unit: 'rows', ended: p.ended });
      // The second table starting: some files are on disk, the manifest is not.
      if (!tablesStarted.has(p.table) && tablesStarted.add(p.table).size === 2) faultPoint('backup tables half-written');
    },
    // Recorded absolute (eventshift_backups.dir, the step's detail), so later commands find it from any folder.
    dir: backupRoot,
    tables: run.plan.tables.backup,
    // The tables the run will create are backed up as absent, so a restore drops them.
    recordAbsent: true,
    label: `${run.plan.mapping} run ${run.id}`,
    mapping: run.plan.mapping,
    runId: run.id,
    now,
    onStart: (dir: string) => recordProgress(db, step, { detail: { dir } }),
  });
  const dir = join(backupRoot, manifest.id);
  await db.execute(
    `INSERT INTO eventshift_backups (id, run_id, label, dir, tables, rows_total, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      manifest.id,
      run.id,
      manifest.label ?? null,
      dir,
      JSON.stringify(manifest.tables.map((t) => t.name)),
      manifest.tables.reduce((n, t) => n + t.rows, 0),
      manifest.tables.reduce((n, t) => n + t.files.reduce((b, f) => b + f.bytes, 0), 0),
      manifest.createdAt.replace('T', ' ').replace('Z', ''),
    ],
  );
  faultPoint('backup tables written');
  await updateRun(db, run.id, { backupId: manifest.id }, now());
  // The run record read at resume may still name the backup removed above.
  s.run = { ...run, backupId: manifest.id };
  faultPoint('backup tables recorded');
  await finishStep(db, step, { status: 'done', now: now(), detail: { dir, id: manifest.id } });
  s.result.backup = { id: manifest.id, dir };
  s.log(`Backup ${manifest.id}: ${formatCount(manifest.tables.length)} table(s) saved in ${dir}.`);
  return true;
}

/**
 * The write stage, a fold over the run's parts in write order (parts/registry.ts): each part writes its units,
 * journaled. A part that may be written beside another (projections beside the steps) starts first on a connection
 * of its own and is awaited after that part; which parts may, the part itself says (Part.beside).
 */
async function writeStage(s: RunState): Promise<boolean> {
  const w = partScope(s, 'write');
  // A part written beside another comes after it in the write order, and is started (and awaited) in that one's turn.
  const parts = s.parts.filter((part) => part.write);
  const started = new Set<Part>();
  for (const part of parts) {
    if (started.has(part)) continue;
    const beside = parts.filter((b) => b.beside?.kind === part.kind && b.beside.when(w));
    const writing = beside.map((b) => (started.add(b), alongside(s, (other) => b.write!({ ...w, db: other }))));
    await part.write!(w);
    await Promise.all(writing);
  }
  return true;
}

/** What the parts get in the write and cutover stages: the run, its connection and pacing, progress and rows written. */
function partScope(s: RunState, stage: WriteScope['stage']): WriteScope {
  const { db, run, mapping, options } = s;
  return {
    stage,
    db,
    mapping,
    plan: run.plan,
    runId: run.id,
    now: s.now,
    log: s.log,
    throttle: s.throttle,
    throttled: options.maxRowsPerSecond !== undefined,
    chunkKeys: options.chunkKeys,
    batchRows: options.batchRows,
    progress: (label, done, total, ended = false) => options.onProgress?.({ stage, label, done, total, unit: 'rows', ended }),
    rowsWritten: s.result.rowsWritten,
    onRetry: (retry) => countRetry(s, retry),
  };
}

/**
 * Runs `work` on a new connection (same lossless settings), closed when it ends whatever happens. The run awaits the
 * returned promise before its stage ends; if the stage fails first, migrate() still waits for it (state.alongside)
 * before it marks the run failed and lets go of the lock. A kill ends both connections, and the server rolls back
 * what either had not committed, as for the main one.
 */
function alongside<T>(s: RunState, work: (db: Db) => Promise<T>): Promise<T> {
  const running = (async () => {
    const db = await connectAgain(s.db);
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  })();
  s.alongside.push(running.catch(() => undefined));
  return running;
}

/** The run's backup, where the run recorded it (or --backup-dir): its checks compare the rows there before the run with it. */
const runBackup = (s: RunState) =>
  locateBackup({ db: s.db, id: s.run.backupId ?? s.result.backup!.id, runId: s.run.id, given: s.options.backupDir });

/**
 * Every check of the run against its backup, paced by the run's throttle; the verdict is recorded as the run's (status
 * and later commands read it). Both the verify stage and the cutover's gate verify through it.
 */
async function checkRun(s: RunState, onProgress?: (done: number, total: number, ended?: boolean) => void) {
  const { dir: backupDir, manifest } = await runBackup(s);
  const replica = s.options.verifyOn
    ? await caughtUpReplica(s.db, parseDatabaseUrl(s.options.databaseUrl), s.options.verifyOn, {
        log: s.log,
        check: () => checkGoingOn(s.options, s.lock),
      })
    : null;
  let verification: Verification;
  try {
    verification = await verifyRun(
      { db: replica?.db ?? s.db, mapping: s.mapping, parts: s.parts, run: s.run, backupDir, manifest, now: s.now },
      {
        onProgress,
        beforeCheck: (on) => s.throttle.waitWhilePaused(() => on.query('SELECT 1')),
        contentCompare: s.options.contentCompare,
      },
    );
  } finally {
    await replica?.db.close();
  }
  s.checksReadOn = replica?.name ?? null;
  s.result.verification = verification;
  const failed = verification.checks.filter((c) => !c.ok).map((c) => c.id);
  await updateRun(s.db, s.run.id, { verification: { ok: verification.ok, failed } }, s.now());
  return { verification, manifest, failed };
}

async function verifyStage(s: RunState): Promise<boolean> {
  const { db, run, mapping, now } = s;
  s.pausesAtVerify = s.throttle.pausedTimes?.() ?? 0;
  const step: StepKey = { runId: run.id, stage: 'verify', step: 'checks' };
  await startStep(db, step, now());
  faultPoint('verify checks started');
  const { verification, manifest, failed } = await checkRun(s, (done, total, ended = false) =>
    s.options.onProgress?.({ stage: 'verify', label: 'verify', done, total, unit: 'checks', ended }),
  );
  await writeReportOf(s, verification, manifest.id);
  await finishStep(db, step, { status: verification.ok ? 'done' : 'failed', now: now(), detail: { ok: verification.ok } });
  s.log(
    verification.ok
      ? `All ${formatCount(verification.checks.length)} checks passed.`
      : `${formatCount(failed.length)} check(s) failed: ${failed.join(', ')}.`,
  );
  return verification.ok;
}

/**
 * The run's report (report.json, .md, .html and the files beside it) of `verification`: in --report-dir, or
 * reports/<database>/<mapping>-run-<id>. The verify stage writes it, and the cutover's gate writes it again when it
 * verifies again, so the report always shows the verification the cutover went by (or stopped on).
 */
async function writeReportOf(s: RunState, verification: Verification, backupId: string): Promise<string> {
  const { db, run, mapping, now } = s;
  // The database's name as one folder name (a name such as `..` or with a slash stays inside reports/).
  const folder = safeStem(db.database).replace(/^\.+$/, '_');
  const reportDir = resolve(s.options.reportDir ?? join('reports', folder, `${safeStem(mapping.name)}-run-${run.id}`));
  await writeRunReport(reportDir, {
    db,
    mapping,
    parts: s.parts,
    run,
    verification,
    backupId,
    now,
    checksReadOn: s.checksReadOn ?? null,
    stageSeconds: s.result.stageSeconds,
    galera: s.result.galera ?? undefined,
  });
  s.result.reportDir = reportDir;
  return reportDir;
}

async function cutoverStage(s: RunState): Promise<boolean> {
  const { db, run } = s;
  const verification = await stepRecord(db, run.id, 'verify', 'checks');
  if (verification?.status !== 'done') {
    throw refusal(`Run ${run.id}: cutover needs a passed verification, and there is none; run migrate again to verify.`);
  }
  const postponed = s.options.postponeCutoverFile
    ? await postponeWhile(s.options.postponeCutoverFile, {
        log: s.log,
        pollMs: s.options.pollMs,
        whileWaiting: async () => {
          // An interruption (or a lost lock) ends the wait like any pause: the run stops before its cutover.
          await checkGoingOn(s.options, s.lock);
          await db.query('SELECT 1');
        },
      })
    : false;
  await verifiedNow(s, postponed);
  await refuseBreakingRenames(s);
  // A fold over the parts in write order: the renames.
  const w = partScope(s, 'cutover');
  for (const part of s.parts) await part.cutover?.(w);
  return true;
}

/**
 * The cutover's gate: it renames only what a verification of the data as it is now has passed. The verification this
 * invocation made just before is such a one, unless the run waited since it began (--postpone-cutover-file, or a
 * --pause-file pause during or after it). Otherwise (a run resumed after its verify stage, or one that waited) every
 * check runs again first, its verdict is recorded as the run's, and a failure stops the cutover before its next
 * rename, naming the checks: the data changed after it was verified.
 */
async function verifiedNow(s: RunState, postponed: boolean): Promise<void> {
  const paused = s.pausesAtVerify !== undefined && (s.throttle.pausedTimes?.() ?? 0) !== s.pausesAtVerify;
  if (s.result.verification && !postponed && !paused) return;
  s.log(
    postponed || paused
      ? `Verifying again before the cutover: the data may have changed while the run ${postponed ? 'was postponed' : 'was paused'}.`
      : `Verifying again before the cutover: run ${s.run.id} was verified by an earlier migrate, and the data may have changed since.`,
  );
  const { verification, manifest, failed } = await checkRun(s);
  // The report shows this verification now, the one the cutover goes by or stops on.
  const reportDir = await writeReportOf(s, verification, manifest.id);
  if (verification.ok) return;
  const named = `${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', ...' : ''}`;
  throw refusal(
    `Run ${s.run.id}: the data changed after it was verified, so the cutover renamed nothing more: ` +
      `${formatCount(failed.length)} check(s) now fail (${named}). The report in ${reportDir} names the rows; ` +
      `put them right and run migrate again, or undo the run with \`eventshift rollback ${s.mapping.name}\`.`,
    { subject: s.mapping.name },
  );
}

/**
 * What reads the tables and columns the cutover renames is read again right before the renames (the plan is as old as
 * the run): a view, routine, event or trigger made since that would break, and that neither the mapping, the plan
 * (accepted when the run started) nor this invocation's --accept-breaking accepts, stops the cutover before any rename.
 */
async function refuseBreakingRenames(s: RunState): Promise<void> {
  const { db, mapping, run } = s;
  const pending: DependedChange[] = [];
  for (const change of dependedChanges(mapping, ['cutover'])) {
    const there = change.kind === 'renameTable' ? await tableExists(db, change.table) : await columnExists(db, change.table, change.column);
    if (there) pending.push(change);
  }
  const acceptedBefore = new Set((run.plan.dependents ?? []).filter((d) => d.accepted).map((d) => `${d.kind} ${d.name}`));
  const found = await findDependents(db, mapping, {
    changes: pending,
    writes: [],
    acceptBreaking: s.options.overrides?.acceptBreaking ?? false,
    acceptedBefore,
  });
  if (found.refusals.length > 0) {
    throw refusal(
      `Run ${run.id} of ${mapping.name} stopped before its cutover, nothing renamed: ${found.refusals.join(' ')} ` +
        `Then run migrate again: it goes on with the cutover.`,
      { subject: mapping.name, details: { dependents: found.dependents } },
    );
  }
}
