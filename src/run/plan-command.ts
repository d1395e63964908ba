import { connect } from '../db/connection.ts';
import type { Mapping } from '../mapping/define.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import type { CommandOptions } from './context.ts';
import { isOpenRun, latestRun, type RunRecord } from './journal.ts';
import type { Plan, PlanOverrides } from '../plan/plan-data.ts';
import { planRun } from '../plan/plan-run.ts';
import { resumeRefusals } from '../plan/preflight.ts';

import { backupRoomRefusal } from '../backup/backup-room.ts';
import { backupDirOrDefault } from './backup-dir.ts';

export interface PlanOptions extends CommandOptions {
  mapping: Mapping;
  /** --ids / --start for a new run. */
  overrides?: PlanOverrides;
  /** Bad rows of CSV sources would be set aside (`--quarantine`) rather than refuse the run. */
  quarantine?: boolean;
  /** Where migrate would write the backup: the plan refuses when it cannot (not writable, too little room). */
  backupDir?: string;
}

export interface PlanResult {
  /** The plan of a new run; when a run is open, the plan it froze at its start. */
  plan: Plan;
  /** An unfinished or finished run of this mapping, which `migrate` would resume or which already did the job. */
  run: Pick<RunRecord, 'id' | 'status' | 'stage' | 'startedAt' | 'finishedAt'> | null;
  /** Whether `migrate` can go ahead now. */
  ok: boolean;
  reasons: string[];
}

/** Read-only: what `migrate` would do, and whether it may. */
export async function plan(options: PlanOptions): Promise<PlanResult> {
  const now = options.now ?? (() => new Date());
  const db = await connect(options.databaseUrl);
  try {
    const run = (await hasBookkeeping(db)) ? await latestRun(db, options.mapping.name) : null;
    const summary = run && { id: run.id, status: run.status, stage: run.stage, startedAt: run.startedAt, finishedAt: run.finishedAt };
    if (run && isOpenRun(run)) {
      // migrate checks the privileges and server variables again before it resumes; so does plan, against the plan the run froze.
      const missing = await resumeRefusals(db, options.mapping, run.plan, run.stage);
      return {
        plan: run.plan,
        run: summary,
        ok: missing.length === 0,
        reasons: missing.length > 0 ? missing : [`run ${run.id} is open after stage ${run.stage}; migrate resumes it with this plan`],
      };
    }
    if (run && run.status === 'completed') {
      return {
        plan: run.plan,
        run: summary,
        ok: false,
        reasons: [`run ${run.id} already completed this migration (finished ${run.finishedAt} UTC); restore it first to run again`],
      };
    }
    const fresh = await planRun(db, options.mapping, now(), { overrides: options.overrides, quarantine: options.quarantine });
    const room = await backupRoomRefusal(db, { dir: backupDirOrDefault(options.backupDir), tables: fresh.tables.backup });
    if (room) Object.assign(fresh, { refusals: [...fresh.refusals, room], ok: false });
    return { plan: fresh, run: summary, ok: fresh.ok, reasons: fresh.refusals };
  } finally {
    await db.close();
  }
}
