import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Db } from '../db/connection.ts';
import { refusal } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { inOrder, undoOrder } from '../parts/registry.ts';
import type { UndoScope } from '../parts/part.ts';
import { withRunContext, type CommandOptions } from './context.ts';
import { restoringRunMessage, updateRun, type RunRecord } from './journal.ts';
import { stepRecord } from '../engine/step-journal.ts';
import { refuseAfterFinalize } from './finalize.ts';
import { backupDirOrDefault } from './backup-dir.ts';
import { locateBackup } from './backup-location.ts';

export interface RollbackOptions extends CommandOptions {
  mapping: Mapping;
  /** --backup-dir: where the run's backup is, when not where the database records it (locateBackup). */
  backupDir?: string;
  /** Rows deleted per statement (default 10,000 keys). */
  chunkKeys?: number;
}

export interface RollbackResult {
  runId: number;
  /** What was undone, in order, as sentences. */
  actions: string[];
  rowsDeleted: Record<string, number>;
  /** Tables the run created that now hold others' rows: kept, with those rows. */
  keptTables: Array<{ table: string; rows: number }>;
}

/**
 * Removes exactly what the mapping's latest run wrote, and nothing else: cutover renames are undone, added columns
 * dropped, the run's rows deleted from its reserved ranges, and tables it created dropped when no one else wrote to
 * them. Rows others wrote meanwhile stay. Every action checks the live schema first, so it works after a completed
 * run, after a crash at any point, and when itself interrupted and run again.
 */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const choose = async (run: RunRecord | null, db: Db, mapping: Mapping) => {
    const restoring = run && restoringRunMessage(run);
    if (restoring) throw refusal(restoring, { subject: mapping.name });
    if (!run || run.status === 'restored' || run.status === 'rolled_back') {
      throw refusal(
        `There is no run of ${mapping.name} to roll back in ${db.database}` +
          `${run ? ` (run ${run.id} was already ${run.status.replace('_', ' ')})` : ''}.`,
        { subject: mapping.name },
      );
    }
    await refuseAfterFinalize(db, run, mapping, 'rollback');
    return { run };
  };
  return withRunContext({ options, mapping: options.mapping, choose }, async ({ db, mapping, parts }, { run }) => {
    const plan = run.plan;
    const actions: string[] = [];
    const rowsDeleted: Record<string, number> = {};
    const keptTables: RollbackResult['keptTables'] = [];

    // Rollback needs no backup: without one it compares the pre-run rows by checksum only (parts/pre-run-rows.ts).
    const located = run.backupId
      ? await locateBackup({ db, id: run.backupId, runId: run.id, given: options.backupDir }).catch(() => null)
      : null;
    const manifest = located?.manifest ?? null;
    const undo: UndoScope = {
      db,
      mapping,
      plan,
      runId: run.id,
      backupDir: located?.dir ?? backupDirOrDefault(options.backupDir),
      manifest,
      chunkKeys: options.chunkKeys ?? 10_000,
      actions,
      rowsDeleted,
      keptTables,
      filledInPlace: [...new Set(parts.flatMap((p) => p.fillsInPlace?.({ mapping, plan }) ?? []))],
    };
    for (const part of inOrder(parts, undoOrder, (p) => p.undo !== undefined)) await part.undo?.(undo);
    // A backup the run started but never finished (no manifest) can never be restored: it goes with the run.
    const backupStep = await stepRecord(db, run.id, 'backup', 'tables');
    const unfinished = (backupStep?.detail as { dir?: string } | null)?.dir;
    if (unfinished && backupStep?.status !== 'done' && existsSync(unfinished)) {
      await rm(unfinished, { recursive: true, force: true });
      actions.push(`removed the unfinished backup folder ${unfinished}`);
    }
    await updateRun(db, run.id, { status: 'rolled_back', finished: true }, now());
    for (const a of actions) log(a);
    return { runId: run.id, actions, rowsDeleted, keptTables };
  });
}
