import { join } from 'node:path';
import { cutoverChanges } from '../mapping/compile.ts';
import { rm } from 'node:fs/promises';
import { readManifest, restoreBackup, restoreUnfinished, type RestoreResult } from '../backup/index.ts';
import { connect } from '../db/connection.ts';
import { refusal } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { withRunContext, type CommandOptions, type RunChoice } from './context.ts';
import { renameState } from '../engine/cutover.ts';
import type { RenameState } from '../mapping/compile.ts';
import { updateRun, type RunRecord } from './journal.ts';
import { stepRecord } from '../engine/step-journal.ts';
import { faultPoint as envFaultPoint } from '../engine/fault-points.ts';
import { preRunTables, reservedRanges, rowsAtRisk, type ReservedRange, type RowsAtRisk } from '../engine/pre-run-rows.ts';
import type { Db } from '../db/connection.ts';
import type { Plan } from '../plan/plan-data.ts';
import type { PreRunTable } from '../verify/check-result.ts';
import { preRunAfterFinalize } from './finalize.ts';
import type { Part, RestoreScope } from '../parts/part.ts';
import { locateBackup } from './backup-location.ts';
import { formatCount } from '../format.ts';

export interface RestoreMappingOptions extends CommandOptions {
  mapping: Mapping;
  /** --backup-dir: where the backup is, when not where the database records it (locateBackup). */
  backupDir?: string;
  /** Another backup than the latest run's. */
  backupId?: string;
  /** Restore even when rows written by others since the backup would be lost. */
  force?: boolean;
  /** Called at each boundary of the restore (default: the EVENTSHIFT_FAULT points of fault-points.ts). */
  faultPoint?: (name: string) => void;
}

export interface RestoreMappingResult {
  /** The backup restored; null when the run had written nothing, so there was nothing to restore (see `untouched`). */
  backupId: string | null;
  runId: number | null;
  restore: RestoreResult | null;
  /**
   * Set when the latest run was stopped before its backup was complete: it wrote nothing, the database is as it was,
   * and this says so. The run is recorded as restored.
   */
  untouched: string | null;
  /** Tables the run had renamed at cutover, dropped once their originals were back. */
  droppedRenamed: string[];
  /**
   * The work tables the run's parts left (Part.dropWorkTables: staging tables of its CSV sources, work tables of its
   * lookups), dropped: eventshift's own, derived tables.
   */
  droppedStaging: string[];
  /** What --force threw away (empty without --force). */
  lost: RowsAtRisk[];
}

/**
 * Puts back every table of the mapping's latest backup (or `backupId`), and removes what the run renamed or created.
 * The tables the cutover renamed are retired by the restore itself (restoreBackup's `retire`): they move out in the
 * same atomic RENAME that puts the originals back, and are dropped before the originals get back the foreign key and
 * trigger names they held. A restore interrupted part-way is finished by running this again (without comparing the
 * tables with the backup again: they were compared when it began, and some are already the backup's).
 */
export async function restoreMapping(options: RestoreMappingOptions): Promise<RestoreMappingResult> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const faultPoint = options.faultPoint ?? envFaultPoint;
  const choose = restoreChoice(options, now);
  return withRunContext({ options, mapping: options.mapping, choose }, async ({ db, mapping, run: ownRun, parts }, { backupId }) => {
    const scope: RestoreScope | null = ownRun ? { db, mapping, plan: ownRun.plan, runId: ownRun.id } : null;
    const { dir: backupDir } = await locateBackup({ db, id: backupId, runId: ownRun?.id ?? null, given: options.backupDir });
    const resuming = await restoreUnfinished(db, backupId);
    let lost: RowsAtRisk[] = [];
    if (resuming) {
      log(
        `A restore of backup ${backupId} began earlier and did not finish; finishing it ` +
          '(the tables were compared with the backup when it began).',
      );
    } else {
      // After finalize, the altered tables are compared over the columns that stay (see finalize.ts).
      const adjust = (preRun: PreRunTable[]) => preRunAfterFinalize(db, ownRun, mapping, preRun);
      lost = await guardAgainstLoss(db, {
        backupDir,
        force: options.force,
        backupId,
        renames: await renameState(db, mapping),
        plan: ownRun?.plan ?? null,
        keeper: `eventshift rollback ${mapping.name}`,
        adjust,
        ownRanges: scope ? await ownRows(parts, scope) : undefined,
      });
    }
    log(`Restoring backup ${backupId} from ${join(backupDir, backupId)}...`);
    const retire = cutoverChanges(mapping).flatMap((c) => (c.kind === 'renameTable' ? [{ table: c.to, standsFor: c.from }] : []));
    // Until it finishes, the run reads as restoring (from the restore's journal, once it is past its swap): other
    // commands refuse, naming restore as the way on. One that stops before its swap leaves the run as it was.
    const restore = await restoreBackup(db, {
      dir: backupDir,
      id: backupId,
      log: options.log,
      connect: () => connect(options.databaseUrl),
      retire,
      faultPoint,
      now,
    });
    const droppedStaging = scope ? await dropWorkTables(parts, scope) : [];
    faultPoint('restore run work tables dropped');
    if (ownRun) await updateRun(db, ownRun.id, { status: 'restored', finished: true }, now());
    return { backupId, runId: ownRun?.id ?? null, restore, untouched: null, droppedRenamed: restore.retired, droppedStaging, lost };
  });
}

/** The rows the run owns beyond its steps' reserved ranges, per table: what every part says is its own (Part.ownRows). */
async function ownRows(parts: readonly Part[], scope: RestoreScope): Promise<Map<string, ReservedRange[]>> {
  const own = new Map<string, ReservedRange[]>();
  for (const part of parts) {
    for (const [table, ranges] of (await part.ownRows?.(scope)) ?? []) own.set(table, [...(own.get(table) ?? []), ...ranges]);
  }
  return own;
}

/** Drops the work tables every part leaves behind (Part.dropWorkTables), in the parts' write order; returns their names. */
async function dropWorkTables(parts: readonly Part[], scope: RestoreScope): Promise<string[]> {
  const dropped: string[] = [];
  for (const part of parts) dropped.push(...((await part.dropWorkTables?.(scope)) ?? []));
  return dropped;
}

/**
 * Which backup restore puts back, and whether the run is restored with it: the one named, else the latest run's; a run
 * that wrote nothing, or no run at all, answers at once; a run without a backup refuses.
 */
function restoreChoice(options: RestoreMappingOptions, now: () => Date) {
  return async (run: RunRecord | null, db: Db, mapping: Mapping): Promise<RunChoice<{ backupId: string }, RestoreMappingResult>> => {
    const backupId = options.backupId ?? run?.backupId ?? null;
    if (!backupId && run && run.stage === 'none' && run.status !== 'restored' && run.status !== 'rolled_back') {
      return { done: await nothingWritten(db, run, now()) };
    }
    if (!backupId && !run) {
      // A migrate killed before it recorded its run (while planning, or creating the bookkeeping) wrote nothing.
      const untouched =
        `No run of ${mapping.name} is recorded in ${db.database}, so eventshift has written nothing there for it ` +
        '(a migrate stopped before it recorded its run leaves the database as it was): there is nothing to restore. ' +
        'To restore a backup taken otherwise, name it with --backup ID (see `eventshift backups list`).';
      return { done: { backupId: null, runId: null, restore: null, untouched, droppedRenamed: [], droppedStaging: [], lost: [] } };
    }
    if (!backupId) {
      const why = `run ${run!.id} of ${mapping.name} has no backup recorded (it is ${run!.status.replace('_', ' ')})`;
      throw refusal(
        `Nothing to restore in ${db.database}: ${why}. ` +
          'To restore a backup taken otherwise, name it with --backup ID (see `eventshift backups list`).',
        { subject: mapping.name },
      );
    }
    // The run is the one restored when the backup is its own; its sources are then read as it read them.
    return { run: run?.backupId === backupId ? run : null, backupId };
  };
}

/**
 * The latest run stopped before its backup was complete, so it wrote nothing (nothing is written before the backup's
 * manifest is): the database is as it was. Its unfinished backup folder, which can never be restored, is removed,
 * and the run is recorded as restored, so that the next migrate starts afresh.
 */
async function nothingWritten(db: Db, run: RunRecord, at: Date): Promise<RestoreMappingResult> {
  const backupStep = await stepRecord(db, run.id, 'backup', 'tables');
  const folder = (backupStep?.detail as { dir?: string } | null)?.dir;
  if (folder && backupStep?.status !== 'done') await rm(folder, { recursive: true, force: true });
  await updateRun(db, run.id, { status: 'restored', finished: true }, at);
  const untouched =
    `Run ${run.id} of ${run.mapping} was stopped before its backup was complete, so it wrote nothing: ` +
    `${db.database} is as it was before the run, and there is nothing to restore.` +
    (folder && backupStep?.status !== 'done' ? ` Its unfinished backup ${folder} was removed.` : '') +
    ` The run is recorded as restored; \`eventshift migrate ${run.mapping}\` starts a new one.`;
  return { backupId: null, runId: run.id, restore: null, untouched, droppedRenamed: [], droppedStaging: [], lost: [] };
}

export interface RestoreBackupOptions extends CommandOptions {
  /** --backup-dir: where the backup is, when not where the database records it (locateBackup). */
  backupDir?: string;
  backupId: string;
  tables?: string[];
  force?: boolean;
  onProgress?: Parameters<typeof restoreBackup>[1]['onProgress'];
}

/** Restores a backup (or some of its tables) without a mapping, refusing to lose rows written since it was taken. */
export async function restoreStandalone(
  options: RestoreBackupOptions,
): Promise<{ backupId: string; restore: RestoreResult; lost: RowsAtRisk[] }> {
  const db = await connect(options.databaseUrl);
  try {
    const none: RenameState = { tables: new Map(), columns: new Map(), done: true };
    const { dir: backupDir } = await locateBackup({ db, id: options.backupId, runId: null, given: options.backupDir });
    // An interrupted restore of this backup is finished without comparing again: it compared when it began.
    const lost = (await restoreUnfinished(db, options.backupId))
      ? []
      : await guardAgainstLoss(db, {
          backupDir,
          force: options.force,
          backupId: options.backupId,
          renames: none,
          plan: null,
          keeper: null,
          tables: options.tables,
        });
    const restore = await restoreBackup(db, {
      dir: backupDir,
      id: options.backupId,
      tables: options.tables,
      log: options.log,
      onProgress: options.onProgress,
      connect: () => connect(options.databaseUrl),
      faultPoint: envFaultPoint,
    });
    return { backupId: options.backupId, restore, lost };
  } finally {
    await db.close();
  }
}

/** What guardAgainstLoss compares, and how it words a refusal. */
interface LossGuard {
  backupDir: string;
  backupId: string;
  /** Restore anyway: what would be lost is returned, not refused. */
  force?: boolean;
  renames: RenameState;
  /** The run's plan, whose reserved ranges are its own rows (null: no run). */
  plan: Plan | null;
  /** The command that removes only the run's own writes, named in the refusal (null: none). */
  keeper: string | null;
  /** Only these tables of the backup (default all). */
  tables?: string[];
  /** The backed-up tables as they should be compared now (after finalize, see preRunAfterFinalize). */
  adjust?: (preRun: PreRunTable[]) => Promise<PreRunTable[]>;
  /** More rows that are the run's own, per table: those its parts say are (Part.ownRows, e.g. the lookup rows it created). */
  ownRanges?: Map<string, ReservedRange[]>;
}

/**
 * Compares the tables with the backup (and the run's reserved ranges): refuses when restoring would throw away rows
 * that are neither in the backup nor the run's own, unless forced. Returns what a forced restore loses.
 */
async function guardAgainstLoss(db: Db, guard: LossGuard): Promise<RowsAtRisk[]> {
  const { backupId, renames, plan, keeper, tables, adjust, ownRanges } = guard;
  const manifest = await readManifest(guard.backupDir, backupId);
  const backedUp = preRunTables(manifest).filter((t) => !tables || tables.includes(t.name));
  const preRun = adjust ? await adjust(backedUp) : backedUp;
  const ranges = reservedRanges(plan);
  for (const [table, own] of ownRanges ?? []) ranges.set(table, [...(ranges.get(table) ?? []), ...own]);
  const atRisk = await rowsAtRisk(db, preRun, renames, ranges);
  if (atRisk.length === 0 || guard.force) return atRisk;
  const what = atRisk
    .map((r) =>
      [r.addedRows > 0 ? `${formatCount(r.addedRows)} row(s) added to ${r.table}` : null, r.changed ? `rows of ${r.table} changed` : null]
        .filter(Boolean)
        .join(' and '),
    )
    .join(', ');
  throw refusal(
    `Restoring backup ${backupId} would lose data written since it was taken: ${what}. ` +
      `${keeper ? `\`${keeper}\` removes only the run's own writes and keeps them; ` : ''}--force restores anyway.`,
    { subject: backupId, details: { atRisk } },
  );
}
