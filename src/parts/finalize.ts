import { finalizeAlterations, finalizeTables } from '../mapping/finalize-names.ts';
import { privilegeNeeds, type Part } from './part.ts';

/**
 * The mapping's `finalize`: the legacy columns `eventshift finalize` drops once the run is accepted. A run does not
 * touch them, but it backs their tables up (so restore can bring the columns back) and its plan shows the drops.
 */
export const finalizePart: Part = {
  kind: 'finalize',
  plan: ({ mapping }) => [async () => ({ tables: { backup: finalizeTables(mapping), alter: finalizeAlterations(mapping) } })],
  privileges: ({ mapping }) =>
    privilegeNeeds(['ALTER'], finalizeTables(mapping), { for: 'finalize: ALTER TABLE ... DROP COLUMN', when: 'finalize' }),
};
