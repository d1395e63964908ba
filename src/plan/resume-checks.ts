import type { Db } from '../db/connection.ts';
import type { Mapping } from '../mapping/types.ts';
import type { Plan } from './plan-data.ts';
import { checkPrivileges } from './privileges.ts';
import { checkServerVariables } from './server-variables.ts';
import { checkGalera } from './galera.ts';

/**
 * What stops an open run from going on, checked again against the plan it froze: the privileges its statements need,
 * the server variables it relies on, and on a Galera node (perhaps another than the one it started on) what the
 * cluster does not replicate; any of which may have changed since it stopped.
 */
export async function resumeRefusals(db: Db, mapping: Mapping, plan: Plan): Promise<string[]> {
  const privileges = await checkPrivileges(db, mapping, plan);
  const server = await checkServerVariables(db, plan);
  const galera = await checkGalera(db, mapping, plan);
  return [...privileges.refusals, ...server.refusals, ...galera.refusals];
}
