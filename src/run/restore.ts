import { join } from 'node:path';
import { dropTableIfExists, restoreBackup, type RestoreResult } from '../backup/index.ts';
import { tableExists } from '../db/introspect.ts';
import { refusal } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import { withRunLock, type CommandOptions } from './context.ts';
import { latestRun, updateRun } from './journal.ts';

export interface RestoreMappingOptions extends CommandOptions {
  mapping: Mapping;
  backupDir: string;
  /** Another backup than the latest run's. */
  backupId?: string;
}

export interface RestoreMappingResult {
  backupId: string;
  runId: number | null;
  restore: RestoreResult;
  /** Tables the run had renamed at cutover, dropped once their originals were back. */
  droppedRenamed: string[];
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
    options.log?.(`Restoring backup ${backupId} from ${join(options.backupDir, backupId)}...`);
    const restore = await restoreBackup(db, { dir: options.backupDir, id: backupId, log: options.log });
    const droppedRenamed: string[] = [];
    for (const change of mapping.cutover ?? []) {
      if (change.kind !== 'renameTable') continue;
      if ((await tableExists(db, change.from)) && (await tableExists(db, change.to))) {
        await dropTableIfExists(db, change.to);
        droppedRenamed.push(change.to);
      }
    }
    if (run && run.backupId === backupId) await updateRun(db, run.id, { status: 'restored', finished: true }, now());
    return { backupId, runId: run?.backupId === backupId ? run.id : null, restore, droppedRenamed };
  });
}
