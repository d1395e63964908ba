import { lookupPatches } from '../lookup/export-lookup.ts';
import { planLookups } from '../lookup/plan-lookup.ts';
import { problemKeyLimit } from '../plan/plan-data.ts';
import { lookupChecks } from '../lookup/verify-lookup.ts';
import { rollbackLookups } from '../lookup/rollback-lookup.ts';
import { writeLookups } from '../lookup/write-lookup.ts';
import { faultPoint } from '../engine/fault-points.ts';
import type { Part } from './part.ts';

/**
 * The mapping's lookups (see LookupDefinition, src/lookup): reference columns added, lookup rows got or created,
 * references filled; on undo, the columns dropped and the lookup rows the run created deleted.
 */
export const lookupsPart: Part = {
  kind: 'lookups',
  plan: ({ mapping, names, ready }) => [
    async (on, describe) => {
      const l = await planLookups(on, { mapping, names, describe, ready, keyLimit: problemKeyLimit });
      return {
        lookups: l.lookups,
        problems: l.problems,
        refusals: l.refusals,
        tables: { backup: l.backup, create: l.create, alter: l.alter },
      };
    },
  ],
  async write(w) {
    const filled = await writeLookups({ ...w, faultPoint, onProgress: w.progress });
    Object.assign(w.rowsWritten, filled);
  },
  checks: (v) => lookupChecks(v),
  // The sources whose reference column it fills.
  fillsInPlace: ({ plan }) => (plan.lookups ?? []).flatMap((l) => l.sources.map((s) => s.table)),
  patches: (p) => ({ data: lookupPatches(p.mapping, p.plan, p.keepOf) }),
  async undo({ db, plan, runId, manifest, chunkKeys, actions, rowsDeleted }) {
    if (!plan.lookups?.length) return;
    const undone = await rollbackLookups(db, { plan, runId, manifest, chunkKeys });
    actions.push(...undone.actions);
    for (const [table, n] of Object.entries(undone.rowsDeleted)) rowsDeleted[table] = (rowsDeleted[table] ?? 0) + n;
  },
};
