import { hostname } from 'node:os';
import { refusal, usageError } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { ensureBookkeeping, hasBookkeeping } from './bookkeeping.ts';
import { withRunLock, type CommandOptions } from './context.ts';
import { latestRun } from './journal.ts';
import { sqlTime } from '../engine/step-journal.ts';
import { connect, type Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';

export interface StageOptions extends CommandOptions {
  mapping: Mapping;
  /** Move to this stage (forward only); without it, only report. */
  set?: string;
}

export interface StageResult {
  mapping: string;
  stages: string[];
  stage: string;
  /** Set when this call changed the stage. */
  changedFrom: string | null;
  history: Array<{ from: string; to: string; at: string; host: string; pid: number }>;
  /** The query applications use to read the stage. */
  query: string;
}

export const rolloutQuery = 'SELECT stage FROM eventshift_rollout WHERE mapping = ?';

/** The mapping's current rollout stage, or moves it forward when `set` is given (refusing backward moves and unmet requirements). */
export async function rolloutStage(options: StageOptions): Promise<StageResult> {
  const { mapping } = options;
  const declared = mapping.rollout;
  if (!declared) throw usageError(`Mapping ${mapping.name} declares no rollout stages; add \`rollout: { stages: [...] }\` to it.`);
  const read = (db: Db) => storedStage(db, mapping.name, declared.stages);
  const result = (stage: string, history: StageResult['history'], changedFrom: string | null): StageResult => ({
    mapping: mapping.name,
    stages: declared.stages,
    stage,
    changedFrom,
    history,
    query: rolloutQuery,
  });

  if (options.set === undefined) {
    const db = await connect(options.databaseUrl);
    try {
      const { stage, history } = await read(db);
      return result(stage, history, null);
    } finally {
      await db.close();
    }
  }
  const target = options.set;
  if (!declared.stages.includes(target))
    throw usageError(`${target} is not a rollout stage of ${mapping.name}; its stages are ${declared.stages.join(' -> ')}.`);
  return withRunLock(options, mapping, async (db) => {
    const { stage, history } = await read(db);
    const from = declared.stages.indexOf(stage);
    const to = declared.stages.indexOf(target);
    if (to < from)
      throw refusal(`Rollout stages only move forward: ${mapping.name} is at ${stage}, after ${target}.`, { subject: mapping.name });
    if (to === from) return result(stage, history, null);
    await refuseUnmetRequirements(db, mapping, declared.stages.slice(from + 1, to + 1));
    await ensureBookkeeping(db);
    const at = sqlTime((options.now ?? (() => new Date()))());
    const next = [...history, { from: stage, to: target, at, host: hostname(), pid: process.pid }];
    await db.execute(
      `INSERT INTO eventshift_rollout (mapping, stage, changed_at, history) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE stage = VALUES(stage), changed_at = VALUES(changed_at), history = VALUES(history)`,
      [mapping.name, target, at, JSON.stringify(next)],
    );
    return result(target, next, stage);
  });
}

/** The mapping's stage and history as stored, or its first stage and no history when none is. */
async function storedStage(
  db: Db,
  mapping: string,
  stages: readonly string[],
): Promise<{ stage: string; history: StageResult['history'] }> {
  const stored = (await tableExists(db, 'eventshift_rollout'))
    ? (await db.query<{ stage: string; history: string }>('SELECT stage, history FROM eventshift_rollout WHERE mapping = ?', [mapping]))[0]
    : undefined;
  return { stage: stored?.stage ?? stages[0]!, history: stored ? (JSON.parse(stored.history) as StageResult['history']) : [] };
}

/** Refuses a move through a stage that requires a completed migration when the latest run has not completed. */
async function refuseUnmetRequirements(db: Db, mapping: Mapping, passed: readonly string[]): Promise<void> {
  for (const stage of passed) {
    if (mapping.rollout?.requires?.[stage] !== 'migrated') continue;
    const run = (await hasBookkeeping(db)) ? await latestRun(db, mapping.name) : null;
    if (run?.status !== 'completed') {
      throw refusal(
        `Stage ${stage} needs a completed migration of ${mapping.name}${run ? ` (run ${run.id} is ${run.status})` : ''}; ` +
          `run \`eventshift migrate ${mapping.name}\` first.`,
        { subject: mapping.name },
      );
    }
  }
}
