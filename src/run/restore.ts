import { join } from 'node:path';
import { cutoverChanges } from '../mapping/compile.ts';
import { dropTableIfExists, readManifest, restoreBackup, type RestoreResult } from '../backup/index.ts';
import { connect } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { refusal } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import { withRunLock, type CommandOptions } from './context.ts';
import { renameState, type RenameState } from './cutover.ts';
import { latestRun, updateRun } from './journal.ts';
import { preRunTables } from './migrate.ts';
import { reservedRanges, rowsAtRisk, type ReservedRange, type RowsAtRisk } from './pre-run-rows.ts';
import type { Db } from '../db/connection.ts';
import { bindAsPlanned } from '../csv/binding.ts';
import { dropRunStaging } from '../csv/run-steps.ts';
import type { Plan } from '../plan/plan.ts';
import type { PreRunTable } from '../verify/verification.ts';
import { preRunAfterFinalize } from './finalize.ts';
import { dropLookupWorkTables, lookupOwnRanges } from '../lookup/rollback-lookup.ts';

export interface RestoreMappingOptions extends CommandOptions {
  mapping: Mapping;
  backupDir: string;
  /** Another backup than the latest run's. */
  backupId?: string;
  /** Restore even when rows written by others since the backup would be lost. */
  force?: boolean;
}

export interface RestoreMappingResult {
  backupId: string;
  runId: number | null;
  restore: RestoreResult;
  /** Tables the run had renamed at cutover, dropped once their originals were back. */
  droppedRenamed: string[];
  /** Staging tables of the run's CSV sources and work tables of its lookups, dropped (eventshift's own, derived tables). */
  droppedStaging: string[];
  /** What --force threw away (empty without --force). */
  lost: RowsAtRisk[];
}

/** Puts back every table of the mapping's latest backup (or `backupId`), and removes what the run renamed or created. */
export async function restoreMapping(options: RestoreMappingOptions): Promise<RestoreMappingResult> {
  const now = options.now ?? (() => new Date());
  const { mapping } = options;
  return withRunLock(options, mapping, async (db) => {
    const run = (await hasBookkeeping(db)) ? await latestRun(db, mapping.name) : null;
    const backupId = options.backupId ?? run?.backupId ?? null;
    if (!backupId) {
      throw refusal(`No backup of a ${mapping.name} run is recorded in ${db.database}; name one with --backup ID (see \`eventshift backups list\`).`, { subject: mapping.name });
    }
    const ownRun = run?.backupId === backupId ? run : null;
    const bound = ownRun ? bindAsPlanned(mapping, ownRun.plan) : mapping;
    // After finalize, the altered tables are compared over the columns that stay (see finalize.ts).
    const adjust = (preRun: PreRunTable[]) => preRunAfterFinalize(db, ownRun, bound, preRun);
    const lost = await guardAgainstLoss(db, options, backupId, await renameState(db, bound), ownRun?.plan ?? null, `eventshift rollback ${mapping.name}`, undefined, adjust,
      ownRun ? await lookupOwnRanges(db, ownRun.plan, ownRun.id) : undefined);
    options.log?.(`Restoring backup ${backupId} from ${join(options.backupDir, backupId)}...`);
    const restore = await restoreBackup(db, { dir: options.backupDir, id: backupId, log: options.log, connect: () => connect(options.databaseUrl) });
    const droppedRenamed: string[] = [];
    for (const change of cutoverChanges(bound)) {
      if (change.kind !== 'renameTable') continue;
      if ((await tableExists(db, change.from)) && (await tableExists(db, change.to))) {
        await dropTableIfExists(db, change.to);
        droppedRenamed.push(change.to);
      }
    }
    const droppedStaging = [...(await dropRunStaging(db, ownRun?.plan)), ...(ownRun ? await dropLookupWorkTables(db, ownRun.plan, ownRun.id) : [])];
    if (ownRun) await updateRun(db, ownRun.id, { status: 'restored', finished: true }, now());
    return { backupId, runId: ownRun?.id ?? null, restore, droppedRenamed, droppedStaging, lost };
  });
}

export interface RestoreBackupOptions extends CommandOptions {
  backupDir: string;
  backupId: string;
  tables?: string[];
  force?: boolean;
  onProgress?: Parameters<typeof restoreBackup>[1]['onProgress'];
}

/** Restores a backup (or some of its tables) without a mapping, refusing to lose rows written since it was taken. */
export async function restoreStandalone(options: RestoreBackupOptions): Promise<{ backupId: string; restore: RestoreResult; lost: RowsAtRisk[] }> {
  const db = await connect(options.databaseUrl);
  try {
    const none: RenameState = { tables: new Map(), columns: new Map(), done: true };
    const lost = await guardAgainstLoss(db, options, options.backupId, none, null, null, options.tables);
    const restore = await restoreBackup(db, {
      dir: options.backupDir, id: options.backupId, tables: options.tables, log: options.log, onProgress: options.onProgress,
      connect: () => connect(options.databaseUrl),
    });
    return { backupId: options.backupId, restore, lost };
  } finally {
    await db.close();
  }
}

/**
 * Compares the tables with the backup (and the run's reserved ranges): refuses when restoring would throw away rows
 * that are neither in the backup nor the run's own, unless forced. Returns what a forced restore loses.
 */
async function guardAgainstLoss(
  db: Db, options: { backupDir: string; force?: boolean }, backupId: string, renames: RenameState, plan: Plan | null,
  keeper: string | null, tables?: string[], adjust?: (preRun: PreRunTable[]) => Promise<PreRunTable[]>,
  /** More rows that are the run's own: the lookup rows it created (see lookupOwnRanges). */
  ownRanges?: Map<string, ReservedRange[]>,
): Promise<RowsAtRisk[]> {
  const manifest = await readManifest(options.backupDir, backupId);
  const backedUp = preRunTables(manifest).filter((t) => !tables || tables.includes(t.name));
  const preRun = adjust ? await adjust(backedUp) : backedUp;
  const ranges = reservedRanges(plan);
  for (const [table, own] of ownRanges ?? []) ranges.set(table, [...(ranges.get(table) ?? []), ...own]);
  const atRisk = await rowsAtRisk(db, preRun, renames, ranges);
  if (atRisk.length === 0 || options.force) return atRisk;
  const what = atRisk.map((r) => [
    r.addedRows > 0 ? `${r.addedRows} row(s) added to ${r.table}` : null,
    r.changed ? `rows of ${r.table} changed` : null,
  ].filter(Boolean).join(' and ')).join(', ');
  throw refusal(
    `Restoring backup ${backupId} would lose data written since it was taken: ${what}. ` +
    `${keeper ? `\`${keeper}\` removes only the run's own writes and keeps them; ` : ''}--force restores anyway.`,
    { subject: backupId, details: { atRisk } },
  );
}
