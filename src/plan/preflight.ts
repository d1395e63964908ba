import type { Db } from '../db/connection.ts';
import type { Mapping } from '../mapping/types.ts';
import type { Plan } from './plan-data.ts';
import { stages, type Stage } from '../engine/step-journal.ts';
import { checkPrivileges } from './privileges.ts';
import { allToCome, checkServerVariables, type ServerCheck, type StagesToCome } from './server-variables.ts';
import { checkGalera } from './galera.ts';

/** What the preflight found: each check's result, and every refusal of them together. */
export interface Preflight {
  privileges: Awaited<ReturnType<typeof checkPrivileges>>;
  server: ServerCheck;
  galera: Awaited<ReturnType<typeof checkGalera>>;
  refusals: string[];
}

/**
 * The preflight of a run of `plan`, on the server as it is now: the privileges its statements need
 * (plan/privileges.ts), the server variables it relies on (server-variables.ts), and on a Galera node what the cluster
 * does not replicate (galera.ts). plan runs it for a new plan; migrate again before a resumed run goes on
 * (resumeRefusals), counting only what `still` has to come.
 */
export async function preflight(db: Db, mapping: Mapping, plan: Plan, still: StagesToCome = allToCome): Promise<Preflight> {
  const privileges = await checkPrivileges(db, mapping, plan);
  const server = await checkServerVariables(db, plan, still);
  const galera = await checkGalera(db, mapping, plan, still);
  return { privileges, server, galera, refusals: [...privileges.refusals, ...server.refusals, ...galera.refusals] };
}

/**
 * What stops an open run from going on, checked again against the plan it froze: any of the preflight's findings may
 * have changed since it stopped, and a Galera run may resume through another node. Only what the stages still to come
 * rely on counts (`after`: the last stage the run finished): a run whose writes are done is not refused over the
 * packet, a write-set limit or local_infile, so its verification and a half-done cutover can always be finished.
 */
export async function resumeRefusals(db: Db, mapping: Mapping, plan: Plan, after: Stage | 'none'): Promise<string[]> {
  const done = (stage: Stage) => after !== 'none' && stages.indexOf(after) >= stages.indexOf(stage);
  return (await preflight(db, mapping, plan, { writing: !done('write') })).refusals;
}
