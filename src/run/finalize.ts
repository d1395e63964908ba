import { checkBackup, readManifest } from '../backup/index.ts';
import { locateBackup } from './backup-location.ts';
import type { ContentChecksum } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { columnExists, tableExists } from '../db/introspect.ts';
import { refusal, usageError } from '../errors.ts';
import { sourceTableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import { dropColumnSql } from '../mapping/schema-statements.ts';
import { finalizeTables } from '../mapping/finalize-names.ts';
import { verifyMapping, type PreRunTable } from '../verify/verification.ts';
import { withRunContext, type CommandOptions } from './context.ts';
import type { Part } from '../parts/part.ts';
import { renameState } from '../engine/cutover.ts';
import type { RenameState } from '../mapping/compile.ts';
import { faultPoint } from '../engine/fault-points.ts';
import { isOpenRun, restoringRunMessage, type RunRecord } from './journal.ts';
import { finishStep, startStep, stepJournaled, stepRecord } from '../engine/step-journal.ts';
import { preRunRowsChecksum, preRunTables, reservedRanges } from '../engine/pre-run-rows.ts';
import { findDependents, type DependedChange } from '../plan/dependents.ts';

/**
 * `eventshift finalize <mapping>`: the later, separate step that drops the legacy columns the mapping's `finalize`
 * declares, once its latest run has completed and verified and the run's backup (which holds those tables whole)
 * checks out on disk. Journaled in eventshift_steps under stage `finalize` of that run: `checks` (the run's checks
 * run again and must pass, and a checksum of the altered tables' pre-run rows over the columns that stay is recorded,
 * so restore can still tell what others changed since), then one `drop table.column` step per column, each checking
 * the live schema first. Killed anywhere, running it again finishes it; once done, it does nothing.
 *
 * After finalize, `rollback` refuses (the dropped columns exist only in the backup) and `restore` returns the database
 * the run started from, dropped columns included; `verify` refuses (the legacy side of its checks is gone).
 */

export interface FinalizeOptions extends CommandOptions {
  mapping: Mapping;
  /** --backup-dir: where the run's backup is, when not where the database records it (locateBackup). */
  backupDir?: string;
  /** --accept-breaking: views, routines, events and triggers that read a dropped column may break. */
  acceptBreaking?: boolean;
}

export interface FinalizeResult {
  runId: number;
  backupId: string;
  /** Columns dropped by this invocation, as table.column. */
  dropped: string[];
  /** Columns already gone (an earlier, interrupted finalize), as table.column. */
  alreadyDropped: string[];
  /** The run's checks, run again before the first drop; null when an earlier invocation ran them and started dropping. */
  checksPassed: number | null;
}

/** A finalize drop with real names: `table`/`column` as the live schema has them now (after cutover renames). */
interface ResolvedDrop {
  /** The table before cutover renames: its name in the backup. */
  backupTable: string;
  /** The column's name in the backup. */
  backupColumn: string;
  table: string;
  column: string;
  step: string;
}

/** Recorded in the `checks` step: per altered table, its pre-run rows over the columns that stay, for restore's guard. */
interface FinalizeChecksDetail {
  ok: boolean;
  failed?: string[];
  tables?: Array<{ name: string; columns: PreRunTable['columns']; checksum: ContentChecksum }>;
}

function resolveDrops(mapping: Mapping, renames: RenameState): ResolvedDrop[] {
  const names = sourceTableNames(mapping);
  return (mapping.finalize ?? []).map((c) => {
    const backupTable = names.tableOf(c.table);
    const realColumn = names.columnOf(c.table, c.column);
    const table = renames.tables.get(backupTable) ?? backupTable;
    const column = renames.columns.get(backupTable)?.get(realColumn) ?? realColumn;
    return { backupTable, backupColumn: realColumn, table, column, step: `drop ${backupTable}.${realColumn}` };
  });
}

export async function finalize(options: FinalizeOptions): Promise<FinalizeResult> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const given = options.mapping;
  if ((given.finalize ?? []).length === 0) {
    throw usageError(
      `Mapping ${given.name} declares nothing to finalize; add a \`finalize\` list (e.g. dropColumn('table', 'column')) to it.`,
      { subject: given.name },
    );
  }
  const choose = finalizeChoice(options);
  return withRunContext({ options, mapping: given, choose }, async ({ db, mapping, parts }, { run, backupId, backupDir }) => {
    const renames = await renameState(db, mapping);
    const drops = resolveDrops(mapping, renames);

    await refuseBreakingDrops(db, mapping, drops, options.acceptBreaking ?? false);
    const started = await Promise.all(drops.map((d) => stepRecord(db, run.id, 'finalize', d.step)));
    let checksPassed: number | null = null;
    if (started.every((r) => r === null)) {
      checksPassed = await finalizeChecks(db, { backupDir, run, mapping, parts, renames, drops, now, log });
    }

    const dropped: string[] = [];
    const alreadyDropped: string[] = [];
    for (const [i, drop] of drops.entries()) {
      const label = `${drop.table}.${drop.column}`;
      if (started[i]?.status === 'done') {
        alreadyDropped.push(label);
        continue;
      }
      await startStep(db, { runId: run.id, stage: 'finalize', step: drop.step }, now());
      faultPoint(`finalize ${drop.step} started`);
      if ((await tableExists(db, drop.table)) && (await columnExists(db, drop.table, drop.column))) {
        await db.execute(dropColumnSql(drop.table, drop.column));
        dropped.push(label);
        log(`Dropped ${label}.`);
      } else {
        alreadyDropped.push(label);
      }
      faultPoint(`finalize ${drop.step} worked`);
      await finishStep(db, { runId: run.id, stage: 'finalize', step: drop.step }, { status: 'done', now: now() });
    }
    if (dropped.length === 0) log(`Run ${run.id} of ${mapping.name} is finalized already: ${alreadyDropped.join(', ')} are gone.`);
    return { runId: run.id, backupId, dropped, alreadyDropped, checksPassed };
  });
}

/** The run finalize works on: the latest, completed with a passed verification, its backup checked; otherwise a refusal. */
function finalizeChoice(options: FinalizeOptions) {
  const given = options.mapping;
  return async (run: RunRecord | null, db: Db) => {
    if (!run)
      throw refusal(`There is no run of ${given.name} in ${db.database} to finalize; run \`eventshift migrate ${given.name}\` first.`, {
        subject: given.name,
      });
    const restoring = restoringRunMessage(run);
    if (restoring) throw refusal(restoring, { subject: given.name });
    if (run.status !== 'completed') {
      throw refusal(
        `Run ${run.id} of ${given.name} is ${run.status.replace('_', ' ')} (last stage ${run.stage}); ` +
          'finalize needs the latest run completed, with a passed verification. ' +
          (isOpenRun(run)
            ? `Run \`eventshift migrate ${given.name}\` to finish it first.`
            : `Run \`eventshift migrate ${given.name}\` again first.`),
        { subject: given.name },
      );
    }
    const verified = await stepRecord(db, run.id, 'verify', 'checks');
    if (verified?.status !== 'done') {
      throw refusal(
        `Run ${run.id} of ${given.name} has no passed verification recorded; ` +
          `run \`eventshift verify ${given.name}\` and look at the report.`,
        { subject: given.name },
      );
    }
    return { run, ...(await checkedBackup(db, options.backupDir, run, given)) };
  };
}

/**
 * Refuses, before anything is dropped, drops that a foreign key blocks, or that would break a view, routine, event or
 * trigger reading the column which neither the mapping (accepts.breaking) nor --accept-breaking accepts; read live,
 * for the columns still there.
 */
async function refuseBreakingDrops(db: Db, mapping: Mapping, drops: readonly ResolvedDrop[], acceptBreaking: boolean): Promise<void> {
  const pending: DependedChange[] = [];
  for (const d of drops) {
    if (!(await columnExists(db, d.table, d.column))) continue;
    pending.push({ kind: 'dropColumn', stage: 'finalize', table: d.table, column: d.column });
  }
  const found = await findDependents(db, mapping, { changes: pending, writes: [], acceptBreaking });
  if (found.refusals.length > 0) {
    throw refusal(`Finalize of ${mapping.name} dropped nothing: ${found.refusals.join(' ')}`, {
      subject: mapping.name,
      details: { dependents: found.dependents },
    });
  }
}

/**
 * The run's backup, found where it is (locateBackup), checked on disk (manifest and every file's SHA-256) and holding
 * every table finalize alters: its id and the folder that holds it.
 */
async function checkedBackup(
  db: Db,
  given: string | undefined,
  run: RunRecord,
  mapping: Mapping,
): Promise<{ backupId: string; backupDir: string }> {
  if (!run.backupId)
    throw refusal(
      `Run ${run.id} of ${mapping.name} has no backup recorded; finalize drops data only a backup can give back, so it refuses.`,
      { subject: mapping.name },
    );
  const { dir: backupDir } = await locateBackup({ db, id: run.backupId, runId: run.id, given }).catch((cause: unknown) => {
    throw refusal(
      `${cause instanceof Error ? cause.message : String(cause)} Finalize refuses while the dropped columns could not be restored.`,
      { subject: run.backupId!, cause },
    );
  });
  const check = await checkBackup(backupDir, run.backupId).catch((cause: unknown) => {
    throw refusal(
      `The backup ${run.backupId} of run ${run.id} cannot be checked in ${backupDir} ` +
        `(${cause instanceof Error ? cause.message : String(cause)}); ` +
        'finalize refuses while the dropped columns could not be restored. Point --backup-dir at the folder that holds it.',
      { subject: run.backupId!, cause },
    );
  });
  if (!check.ok) {
    throw refusal(
      `The backup ${run.backupId} of run ${run.id} does not check out in ${backupDir} (${check.status}: ${check.problems.join('; ')}); ` +
        'finalize refuses while the dropped columns could not be restored. ' +
        'Point --backup-dir at the folder that holds it.',
      { subject: run.backupId },
    );
  }
  const manifest = check.manifest!;
  const missing = finalizeTables(mapping).filter((t) => !manifest.tables.some((x) => x.name === t && x.exists));
  if (missing.length > 0) {
    throw refusal(
      `The backup ${run.backupId} of run ${run.id} does not hold ${missing.join(', ')} ` +
        '(the run was planned before the mapping declared finalize), so restore could not bring the dropped columns back. ' +
        `Roll the run back (eventshift rollback ${mapping.name}) and migrate again, so the new run's backup holds them.`,
      { subject: run.backupId },
    );
  }
  return { backupId: run.backupId, backupDir };
}

/** The run finalize checks again, the drops it is about to make, and its clock and log. */
interface FinalizeCheck {
  backupDir: string;
  run: RunRecord;
  mapping: Mapping;
  /** The run context's parts, whose checks are run again. */
  parts: readonly Part[];
  renames: RenameState;
  drops: ResolvedDrop[];
  now: () => Date;
  log: (line: string) => void;
}

/** The run's checks, again, right before anything is dropped; refuses unless all pass. Returns how many passed. */
async function finalizeChecks(db: Db, { backupDir, run, mapping, parts, renames, drops, now, log }: FinalizeCheck): Promise<number> {
  await startStep(db, { runId: run.id, stage: 'finalize', step: 'checks' }, now());
  faultPoint('finalize checks started');
  const manifest = await readManifest(backupDir, run.backupId!);
  const preRun = preRunTables(manifest);
  log(`Checking run ${run.id} again before dropping anything...`);
  const verification = await verifyMapping({
    db,
    mapping,
    plan: run.plan,
    renames,
    preRun,
    runId: run.id,
    now,
    backup: { dir: backupDir, manifest },
    parts,
  });
  const failed = verification.checks.filter((c) => !c.ok).map((c) => c.id);
  if (!verification.ok) {
    await finishStep(
      db,
      { runId: run.id, stage: 'finalize', step: 'checks' },
      { status: 'failed', now: now(), detail: { ok: false, failed } satisfies FinalizeChecksDetail },
    );
    throw refusal(
      `Run ${run.id} of ${mapping.name} no longer verifies (${failed.join(', ')} failed); finalize dropped nothing. ` +
        `Run \`eventshift verify ${mapping.name} --report DIR\` to see why.`,
      { subject: mapping.name, details: { failed } },
    );
  }
  const ranges = reservedRanges(run.plan);
  const tables: NonNullable<FinalizeChecksDetail['tables']> = [];
  for (const name of new Set(drops.map((d) => d.backupTable))) {
    const pre = preRun.find((t) => t.name === name)!;
    const dropped = new Set(drops.filter((d) => d.backupTable === name).map((d) => d.backupColumn));
    const columns = pre.columns.filter((c) => !dropped.has(c.name));
    // The pre-run rows are unchanged (the checks just passed), so this is also their checksum at backup time.
    tables.push({ name, columns, checksum: await preRunRowsChecksum(db, { ...pre, columns }, renames, ranges.get(name) ?? []) });
  }
  await finishStep(
    db,
    { runId: run.id, stage: 'finalize', step: 'checks' },
    { status: 'done', now: now(), detail: { ok: true, tables } satisfies FinalizeChecksDetail },
  );
  faultPoint('finalize checks done');
  return verification.checks.length;
}

/** Whether finalize has started dropping for this run: rollback and verify refuse then, restore adapts its guard. */
export async function finalizeStarted(db: Db, run: RunRecord, mapping: Mapping): Promise<boolean> {
  if ((mapping.finalize ?? []).length === 0) return false;
  return stepJournaled(db, run.id, 'finalize', 'drop ');
}

/** Refuses `what` (rollback, verify) for a run finalize has started dropping columns of. */
export async function refuseAfterFinalize(db: Db, run: RunRecord, mapping: Mapping, what: 'rollback' | 'verify'): Promise<void> {
  if (!(await finalizeStarted(db, run, mapping))) return;
  const why =
    what === 'rollback'
      ? 'rolling back would delete the rows that now hold what the dropped columns held, which only the backup still has'
      : 'the legacy columns its checks compare with are dropped ' +
        '(the checks passed right before, recorded as finalize/checks in eventshift_steps)';
  throw refusal(
    `Run ${run.id} of ${mapping.name} was finalized, so ${what} refuses: ${why}. ` +
      `\`eventshift restore ${mapping.name}\` returns the database from backup ${run.backupId}, dropped columns included.`,
    { subject: mapping.name },
  );
}

/**
 * The backed-up tables as restore's guard should compare them after finalize: the altered tables over the columns
 * that stay, with the checksum finalize recorded for them. Unchanged when finalize has not dropped anything.
 */
export async function preRunAfterFinalize(db: Db, run: RunRecord | null, mapping: Mapping, preRun: PreRunTable[]): Promise<PreRunTable[]> {
  if (!run || !(await finalizeStarted(db, run, mapping))) return preRun;
  const checks = await stepRecord(db, run.id, 'finalize', 'checks');
  const detail = checks?.detail as FinalizeChecksDetail | null;
  return preRun.map((t) => {
    const after = detail?.tables?.find((x) => x.name === t.name);
    return after ? { ...t, columns: after.columns, checksum: after.checksum } : t;
  });
}
