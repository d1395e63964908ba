import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import { refusal, usageError } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { compileStep, sourceTableNames } from '../mapping/compile.ts';
import { withRunContext, type CommandOptions } from './context.ts';
import { renameState } from '../engine/cutover.ts';
import { undoneRunMessage, unfinishedWriteMessage, type RunRecord } from './journal.ts';
import { lockHolder, lockName } from './lock.ts';

export interface LineageOptions extends CommandOptions {
  mapping: Mapping;
  /** A new ID: which legacy row produced it. */
  event?: number;
  /** A legacy key: which new IDs it produced. */
  legacy?: number;
}

export interface LineageLink {
  step: string;
  /** The ID table (event) and the new ID. */
  table: string;
  eventId: number;
  /** The legacy table (as it is named now) and the legacy key. */
  source: string;
  legacyKey: number;
  /** `rule` for offset steps (ID = key + offset), `lineage table` for dense and chronological ones. */
  via: 'rule' | 'lineage table';
}

export interface LineageResult {
  runId: number;
  links: LineageLink[];
}

/** Which legacy row produced an event, or which events a legacy row produced, in the mapping's latest run. */
export async function lineage(options: LineageOptions): Promise<LineageResult> {
  if ((options.event === undefined) === (options.legacy === undefined)) throw usageError('Give exactly one of --event ID or --legacy KEY.');
  const choose = async (run: RunRecord | null, db: Db, mapping: Mapping) => {
    const undone = run && undoneRunMessage(run, 'no lineage to show');
    if (undone) throw refusal(undone, { subject: mapping.name });
    if (!run || run.stage === 'none' || run.stage === 'backup') {
      // Read without the lock: a run recorded `running` may be going on now, or may have died without saying so.
      const held = run !== null && (await lockHolder(db, lockName(db.database, mapping.name))) !== null;
      const unfinished = run && (await unfinishedWriteMessage(db, run, 'no lineage to show', held));
      if (unfinished) throw refusal(unfinished, { subject: mapping.name });
      throw refusal(`No run of ${mapping.name} has written anything in ${db.database}; there is no lineage to show.`, {
        subject: mapping.name,
      });
    }
    return { run };
  };
  // Read-only: it needs no run lock, and answers while a run is going on.
  return withRunContext({ options, mapping: options.mapping, locked: false, choose }, async ({ db, mapping }, { run }) => {
    const names = sourceTableNames(mapping, await renameState(db, mapping));
    const links: LineageLink[] = [];
    for (const planned of run.plan.steps) {
      if (!planned.range) continue;
      const step = compileStep(mapping, planned, { names, runId: run.id });
      const idTarget = step.targets.find((t) => t.table === step.idTable)!;
      // The link holds when the legacy row passes the step's filter and its event exists: the same SQL the write ran.
      const byId = options.event !== undefined && planned.ids.strategy !== 'offset';
      const found = await db.query<{ id: string; k: string }>(
        `SELECT ${step.idSql} AS id, ${step.keySql} AS k FROM ${step.fromClause}${step.lineageJoin}
           JOIN ${quoteId(step.idTable)} AS es_e ON es_e.${quoteId(idTarget.keyColumn)} = ${step.idSql}
          WHERE (${step.where}) AND ${byId ? `${step.idSql} = ?` : `${step.keySql} = ?`}`,
        // By ID under the offset rule is by legacy key = ID - offset, so the key's index answers it.
        [options.legacy ?? (planned.ids.strategy === 'offset' ? options.event! - planned.ids.offset : options.event)],
      );
      for (const f of found) {
        links.push({
          step: planned.name,
          table: step.idTable,
          eventId: Number(f.id),
          source: names(planned.from),
          legacyKey: Number(f.k),
          via: planned.ids.strategy === 'offset' ? 'rule' : 'lineage table',
        });
      }
    }
    return { runId: run.id, links };
  });
}
