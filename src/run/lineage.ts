import { connect } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import { refusal, usageError } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { compileStep, sourceTableNames } from '../mapping/compile.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import type { CommandOptions } from './context.ts';
import { renameState } from './cutover.ts';
import { bindAsPlanned } from '../csv/binding.ts';
import { latestRun, undoneRunMessage } from './journal.ts';

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
  const { mapping } = options;
  const db = await connect(options.databaseUrl);
  try {
    const run = (await hasBookkeeping(db)) ? await latestRun(db, mapping.name) : null;
    const undone = run && undoneRunMessage(run, 'no lineage to show');
    if (undone) throw refusal(undone, { subject: mapping.name });
    if (!run || run.stage === 'none' || run.stage === 'backup') {
      throw refusal(`No run of ${mapping.name} has written anything in ${db.database}; there is no lineage to show.`, {
        subject: mapping.name,
      });
    }
    const bound = bindAsPlanned(mapping, run.plan);
    const names = sourceTableNames(bound, await renameState(db, bound));
    const links: LineageLink[] = [];
    for (const planned of run.plan.steps) {
      if (!planned.range) continue;
      const step = compileStep(mapping, planned.name, mapping.steps[planned.name]!, planned.keyColumn, planned.ids, names, run.id);
      const idTarget = step.targets.find((t) => t.table === step.idTable)!;
      // The link holds when the legacy row passes the step's filter and its event exists: the same SQL the write ran.
      const found = await db.query<{ id: string; k: string }>(
        `SELECT ${step.idSql} AS id, ${step.keySql} AS k FROM ${step.fromClause}${step.lineageJoin}
           JOIN ${quoteId(step.idTable)} AS es_e ON es_e.${quoteId(idTarget.keyColumn)} = ${step.idSql}
          WHERE (${step.where}) AND ${options.event !== undefined && planned.ids.strategy !== 'offset' ? `${step.idSql} = ?` : `${step.keySql} = ?`}`,
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
  } finally {
    await db.close();
  }
}
