import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { sideBySide } from '../db/side-by-side.ts';
import { integerKeys, runChunks } from '../engine/chunks.ts';
import { deleteKeyRange } from '../engine/delete-range.ts';
import { openStep, type StepKey } from '../engine/step-journal.ts';
import { insertChunkSql, lineageFillSql, stepsIndependent, targetAlias, targetRowsSql, type CompiledStep } from '../mapping/compile.ts';
import type { StepPlan } from '../plan/plan-data.ts';
import { faultPoint } from '../engine/fault-points.ts';
import { maxStreamedChunkKeys, streamedChunkWriter } from './steps-stream.ts';
import { journaled, type UndoScope, type WriteScope } from './part.ts';
import { compiledSteps, lineageGroups } from './steps-compiled.ts';
import { formatCount } from '../format.ts';

/** Writes the steps: their lineage numbered first, then their rows, two steps at once when they may be. */
export async function writeSteps(w: WriteScope): Promise<void> {
  const { db, plan, runId } = w;
  const compiled = compiledSteps(w);
  // Lineage before rows: dense steps one at a time, the chronological steps together (they share one numbering).
  for (const group of lineageGroups(compiled)) {
    await journaled(w, `lineage ${group.map((g) => g.name).join('+')}`, async () => {
      await db.transaction(async (tx) => {
        await tx.execute(`DELETE FROM eventshift_lineage WHERE run_id = ? AND step IN (${group.map(() => '?').join(', ')})`, [
          runId,
          ...group.map((g) => g.name),
        ]);
        await tx.execute(lineageFillSql(runId, group, (group[0]!.ids as { start: number }).start));
      });
    });
  }
  // Offset and dense steps write ID ranges of their own; when none reads a table another writes, two are written at
  // once on two connections, each journaled on its own (a server with two cores works on both). Chronological steps
  // share one block of IDs (a resumed step's clean-up would lock the gaps the other fills), and a throttled run keeps
  // to one thing at a time: they are written one step after another.
  const ranged = plan.steps.filter((p) => p.range);
  const together =
    !w.throttled && ranged.length > 1 && stepsIndependent(compiled) && ranged.every((p) => p.ids.strategy !== 'chronological');
  // Steps written together show one bar: their rows added up, ended once every one of them has.
  const plannedRows = (p: StepPlan) => p.writes.reduce((n, x) => n + x.rows, 0);
  const rowsDone = new Map<string, number>();
  const ended = new Set<string>();
  const progressOf = (p: StepPlan) => (rows: number, stepEnded: boolean) => {
    rowsDone.set(p.name, rows);
    if (stepEnded) ended.add(p.name);
    if (!together) return w.progress(`write ${p.name}`, rows, stepEnded ? rows : plannedRows(p), stepEnded);
    const done = [...rowsDone.values()].reduce((a, b) => a + b, 0);
    const allEnded = ranged.every((r) => ended.has(r.name));
    w.progress(
      `write ${ranged.map((r) => r.name).join(' + ')}`,
      done,
      allEnded ? done : ranged.reduce((n, r) => n + plannedRows(r), 0),
      allEnded,
    );
  };
  // When one step fails, the other stops after its current chunk (its journal says where), and the run fails.
  let failed = false;
  const writes = ranged.map(
    (p) => (on: Db) =>
      writeStep(w, {
        db: on,
        planned: p,
        step: compiled.find((c) => c.name === p.name)!,
        progress: progressOf(p),
        stop: () => failed,
      }).catch((error: unknown) => {
        failed = true;
        throw error;
      }),
  );
  if (together) await sideBySide(db, writes);
  else for (const write of writes) await write(db);
}

/** One step to write, on the connection `db`, with its progress display and the signal to stop early. */
interface StepWrite {
  db: Db;
  planned: StepPlan;
  step: CompiledStep;
  /** The step's rows written so far (resumed ones included), after each chunk; `ended` once the step is done. */
  progress: (rows: number, ended: boolean) => void;
  /** True when another step written beside this one failed: this one stops after its current chunk. */
  stop: () => boolean;
}

/** Writes one step in key-range chunks on `db`, each committed with its journal entry; resumes after its last one. */
async function writeStep(w: WriteScope, { db, planned, step, progress, stop }: StepWrite): Promise<void> {
  const source = w.plan.sources.find((x) => x.alias === planned.from)!;
  const key: StepKey = { runId: w.runId, stage: 'write', step: `step ${planned.name}` };
  const opened = await openStep({ db, ...key, now: w.now, faultPoint });
  if ('done' in opened) {
    progress(opened.done.rowsDone, true);
    return;
  }
  const { resumed } = opened;
  const first = resumed?.progressKey != null ? resumed.progressKey + 1 : source.minKey!;
  if (resumed) {
    // Rows past the last journaled chunk can only be ours (the range is reserved): clear them so the chunk is redone
    // exactly once, whatever the table's engine.
    for (const target of [...step.targets].reverse()) {
      const rows = targetRowsSql(step, target);
      await db.execute(`DELETE ${quoteId(targetAlias)} FROM ${rows.from} WHERE ${rows.where}`, rows.params(first, source.maxKey!));
    }
  }
  // A step with a code() column is streamed through Node (steps-stream.ts); the others are INSERT ... SELECT.
  const streamed = step.streamed ? streamedChunkWriter(step, { batchRows: w.batchRows }) : null;
  const inserts = streamed ? [] : step.targets.map((t) => insertChunkSql(step, t));
  const maxChunkKeys = streamed ? maxStreamedChunkKeys : 200_000;
  let rows = resumed?.rowsDone ?? 0;
  progress(rows, false);
  const plannedRows = planned.writes.reduce((n, x) => n + x.rows, 0);
  const chunks = await runChunks({
    db,
    keys: integerKeys(first, source.maxKey!),
    size: {
      start: Math.min(w.chunkKeys ?? 5000, maxChunkKeys),
      max: maxChunkKeys,
      rowsPerKey: plannedRows / (source.maxKey! - source.minKey! + 1),
    },
    journal: { step: key, entry: (hi) => ({ progressKey: hi }) },
    work: (chunk) =>
      chunk.commit(async (tx) => {
        let n = streamed ? await streamed(tx, chunk.lo, chunk.hi) : 0;
        for (const sql of inserts) n += (await tx.execute(sql, [chunk.lo, chunk.hi])).affectedRows;
        return n;
      }),
    throttle: w.throttle,
    keepAlive: () => db.query('SELECT 1'),
    // Another step written beside this one failed: stop here, resumable like any interrupted step.
    stop,
    onChunk: (_, written) => progress((rows += written), false),
    onRetry: w.onRetry,
    faultPoint: { hook: faultPoint, name: (chunk) => `chunk ${planned.name} ${chunk.hi}` },
  });
  if (chunks.stopped) return;
  await opened.finish({ rows });
  progress(rows, true);
  w.rowsWritten[planned.name] = rows;
  w.log(`Step ${planned.name}: ${formatCount(rows)} row(s) written${streamed ? ' (streamed: code columns computed in Node)' : ''}.`);
}

/** Deletes the run's rows from each step's reserved range, the last step first, each step's last target first. */
export async function undoSteps({ db, plan, chunkKeys, actions, rowsDeleted }: UndoScope): Promise<void> {
  for (const step of [...plan.steps].reverse()) {
    if (!step.range) continue;
    const { first, last } = step.range;
    for (const x of [...step.writes].reverse()) {
      if (!(await tableExists(db, x.table))) continue;
      const deleted = await deleteKeyRange(db, { table: x.table, keyColumn: x.keyColumn, first, last, chunkKeys });
      rowsDeleted[x.table] = (rowsDeleted[x.table] ?? 0) + deleted;
      if (deleted > 0) actions.push(`deleted ${formatCount(deleted)} row(s) of step ${step.name} from ${x.table} (${first}..${last})`);
      faultPoint(`rollback delete ${step.name} ${x.table}`);
    }
  }
}
