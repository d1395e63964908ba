import type { Db } from '../db/connection.ts';
import type { Mapping } from '../mapping/types.ts';
import type { Plan } from './plan-data.ts';
import { stages, type Stage } from '../engine/step-journal.ts';
import { checkPrivileges } from './privileges.ts';
import { checkServerVariables } from './server-variables.ts';
import { checkGalera } from './galera.ts';

/**
 * What stops an open run from going on, checked again against the plan it froze: the privileges its statements need,
 * the server variables it relies on, and on a Galera node (perhaps another than the one it started on) what the
 * cluster does not replicate; any of which may have changed since it stopped. Only what the stages still to come rely
 * on counts (`after`: the last stage the run finished): a run whose writes are done is not refused over the packet, a
 * write-set limit or local_infile, so its verification and a half-done cutover can always be finished.
 */
export async function resumeRefusals(db: Db, mapping: Mapping, plan: Plan, after: Stage | 'none'): Promise<string[]> {
  const done = (stage: Stage) => after !== 'none' && stages.indexOf(after) >= stages.indexOf(stage);
  const still = { writing: !done('write') };
  const privileges = await checkPrivileges(db, mapping, plan);
  const server = await checkServerVariables(db, plan, still);
  const galera = await checkGalera(db, mapping, plan, still);
  return [...privileges.refusals, ...server.refusals, ...galera.refusals];
}
