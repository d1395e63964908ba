import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';

/**
 * The steps journal: the one module that writes eventshift_steps. Each step of a run's stages (and of `eventshift
 * finalize`) is recorded there as started, then how far it is (a progress key or a detail, with the rows done so far),
 * then done or failed. A chunked step records its progress inside each chunk's own transaction (chunks.ts), so a
 * killed run resumes right after the last chunk that committed. The runs themselves are in eventshift_runs
 * (run/journal.ts). Step names are frozen (test/run/frozen-names.test.ts): open runs resume from them.
 */

/** The stages of a run, in order. */
export const stages = ['backup', 'write', 'verify', 'cutover'] as const;
export type Stage = (typeof stages)[number];
/** Stages journaled in eventshift_steps: a run's, and `finalize` (eventshift finalize, later and separately). */
export type JournalStage = Stage | 'finalize';

/** UTC timestamp with milliseconds, as DATETIME(3) text. */
export const sqlTime = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

/** One step of one run's journal. */
export interface StepKey {
  runId: number;
  stage: JournalStage;
  step: string;
}

export interface StepRecord {
  status: 'started' | 'done' | 'failed';
  progressKey: number | null;
  rowsDone: number;
  detail: unknown;
}

type StepRow = {
  status: string;
  progress_key: string | number | null;
  rows_done: string | number;
  detail: string | null;
};

const toStepRecord = (row: StepRow): StepRecord => ({
  status: row.status as StepRecord['status'],
  progressKey: row.progress_key === null ? null : Number(row.progress_key),
  rowsDone: Number(row.rows_done),
  detail: row.detail === null ? null : JSON.parse(row.detail),
});

const where = 'WHERE run_id = ? AND stage = ? AND step = ?';
const keyParams = (key: StepKey) => [key.runId, key.stage, key.step];

/** Whether this database has the steps journal (a database no run has touched has no bookkeeping). */
export const hasStepsJournal = (db: Db): Promise<boolean> => tableExists(db, 'eventshift_steps');

export async function stepRecord(db: Db, runId: number, stage: JournalStage, step: string): Promise<StepRecord | null> {
  const [row] = await db.query<StepRow>(`SELECT status, progress_key, rows_done, detail FROM eventshift_steps ${where}`, [
    runId,
    stage,
    step,
  ]);
  return row ? toStepRecord(row) : null;
}

/** One step of a run's journal as `eventshift status` and an interruption's report show it: where it is and what it wrote. */
export interface JournalEntry extends StepRecord {
  stage: JournalStage;
  step: string;
  startedAt: string;
  finishedAt: string | null;
}

/** Every step journaled for a run, in the order they started. Read-only: it takes no lock and writes nothing. */
export async function runJournal(db: Db, runId: number): Promise<JournalEntry[]> {
  const rows = await db.query<StepRow & { stage: string; step: string; started_at: string; finished_at: string | null }>(
    `SELECT stage, step, status, progress_key, rows_done, detail, started_at, finished_at FROM eventshift_steps
      WHERE run_id = ? ORDER BY started_at, stage, step`,
    [runId],
  );
  return rows.map((r) => ({
    ...toStepRecord(r),
    stage: r.stage as JournalStage,
    step: r.step,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }));
}

/** Whether a step of `stage` whose name starts with `prefix` is journaled, whatever its status. */
export async function stepJournaled(db: Db, runId: number, stage: JournalStage, prefix: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM eventshift_steps WHERE run_id = ? AND stage = ? AND step LIKE ? LIMIT 1', [
    runId,
    stage,
    `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
  ]);
  return rows.length > 0;
}

/** Journals a step as started (before it runs); a resumed step keeps its progress. */
export async function startStep(db: Db, key: StepKey, now: Date): Promise<void> {
  await db.execute(
    `INSERT INTO eventshift_steps (run_id, stage, step, status, started_at) VALUES (?, ?, ?, 'started', ?)
     ON DUPLICATE KEY UPDATE status = 'started', finished_at = NULL`,
    [...keyParams(key), sqlTime(now)],
  );
}

/** How far a started step is: what a chunk (or the step's setup) records. Fields left out are left as they are. */
export interface StepProgress {
  /** The last key done, for integer key ranges. */
  progressKey?: number;
  /** Anything else the step resumes from (stored as JSON), e.g. a keyset cursor. */
  detail?: unknown;
  /** Rows written since the last record, added to the step's rows done. */
  rows?: number;
}

/** Records a step's progress; a chunk calls it inside its own transaction, so progress and rows commit together. */
export async function recordProgress(db: Db, key: StepKey, progress: StepProgress): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  if (progress.progressKey !== undefined) (sets.push('progress_key = ?'), params.push(progress.progressKey));
  if (progress.detail !== undefined) (sets.push('detail = ?'), params.push(JSON.stringify(progress.detail)));
  if (progress.rows !== undefined) (sets.push('rows_done = rows_done + ?'), params.push(progress.rows));
  await db.execute(`UPDATE eventshift_steps SET ${sets.join(', ')} ${where}`, [...params, ...keyParams(key)]);
}

/** Journals a step as done or failed, with its detail (none: NULL). */
export async function finishStep(db: Db, key: StepKey, end: { status: 'done' | 'failed'; now: Date; detail?: unknown }): Promise<void> {
  await db.execute(`UPDATE eventshift_steps SET status = ?, finished_at = ?, detail = ? ${where}`, [
    end.status,
    sqlTime(end.now),
    end.detail === undefined ? null : JSON.stringify(end.detail),
    ...keyParams(key),
  ]);
}

/** Where a journaled step runs: its journal entry, the connection it is recorded on, the clock and the fault points. */
export interface JournaledStepAt extends StepKey {
  db: Db;
  now: () => Date;
  /** Called at the step's boundaries `<stage> <step> started` and `<stage> <step> worked` (engine/fault-points.ts). */
  faultPoint: (name: string) => void;
}

/** A step that is not done yet, journaled as started: its earlier record when resumed, and how to finish it. */
export interface OpenStep {
  resumed: StepRecord | null;
  /** Passes the fault point `<stage> <step> worked`, then journals the step as done with `detail`. */
  finish(detail?: unknown): Promise<void>;
}

/**
 * Opens a step: `{ done }` with its record when the journal says it is done, otherwise the step journaled as started
 * (keeping the progress of an earlier attempt) after which it passes the fault point `<stage> <step> started`.
 */
export async function openStep(at: JournaledStepAt): Promise<OpenStep | { done: StepRecord }> {
  const { db, now, faultPoint } = at;
  const key: StepKey = { runId: at.runId, stage: at.stage, step: at.step };
  const resumed = await stepRecord(db, key.runId, key.stage, key.step);
  if (resumed?.status === 'done') return { done: resumed };
  await startStep(db, key, now());
  faultPoint(`${key.stage} ${key.step} started`);
  return {
    resumed,
    async finish(detail) {
      faultPoint(`${key.stage} ${key.step} worked`);
      await finishStep(db, key, { status: 'done', now: now(), detail });
    },
  };
}

/**
 * Runs `work` as one journaled step of a run, unless the journal says it is done: recorded as started before and done
 * after, with the fault points `<stage> <step> started` and `<stage> <step> worked` around it for the crash tests.
 */
export async function journaledStep(at: JournaledStepAt, work: () => Promise<void>): Promise<void> {
  const step = await openStep(at);
  if ('done' in step) return;
  await work();
  await step.finish();
}
