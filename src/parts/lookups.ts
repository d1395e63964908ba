import { lookupPatches } from '../lookup/export-lookup.ts';
import { planLookups } from '../lookup/plan-lookup.ts';
import { problemKeyLimit } from '../plan/plan-data.ts';
import { lookupChecks } from '../lookup/verify-lookup.ts';
import { dropLookupWorkTables, lookupOwnRanges, rollbackLookups } from '../lookup/rollback-lookup.ts';
import { writeLookups } from '../lookup/write-lookup.ts';
import { lookupsHtml, lookupsMarkdown, reportLookups, type ReportLookup } from '../lookup/report-lookup.ts';
import { faultPoint } from '../engine/fault-points.ts';
import { privilegeNeeds, type Part, type PrivilegeScope, type ReportSection } from './part.ts';

/**
 * The lookups' section of the report (report.json's `lookups`, `[]` when the mapping has none): per lookup its keys,
 * reused and created, and per source the rows filled and skipped and whether its reference check passed.
 */
const lookupsReport: ReportSection<'lookups', ReportLookup[]> = {
  field: 'lookups',
  data: ({ plan, checks }) => reportLookups(plan, checks),
  // A report.json written before the field was added (in version 2, without a bump) has no `lookups` to render.
  markdown: (lookups, md) => lookupsMarkdown(lookups ?? [], md),
  html: (lookups) => lookupsHtml(lookups ?? []),
};

/**
 * The mapping's lookups (see LookupDefinition, src/lookup): reference columns added, lookup rows got or created,
 * references filled; on undo, the columns dropped and the lookup rows the run created deleted. To restore, the lookup
 * rows it created are its own, and the work tables of natural keys a killed run left are dropped.
 */
export const lookupsPart = {
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
  ownRows: ({ db, plan, runId }) => lookupOwnRanges(db, plan, runId),
  dropWorkTables: ({ db, plan, runId }) => dropLookupWorkTables(db, plan, runId),
  report: lookupsReport,
  privileges: lookupPrivileges,
} satisfies Part;

/**
 * The lookup tables (INSERT of the rows got or created; CREATE is the created tables' part's), each source's reference
 * column (ALTER, then UPDATE), and the work tables of natural keys, named by the run's ID, so needed on the database.
 */
function lookupPrivileges({ plan }: PrivilegeScope) {
  const lookups = plan.lookups ?? [];
  if (lookups.length === 0) return [];
  const tables = [...new Set(lookups.map((l) => l.table))];
  const sources = [...new Set(lookups.flatMap((l) => l.sources.map((s) => s.table)))];
  const write = { when: 'run' } as const;
  return [
    ...privilegeNeeds(['SELECT', 'INSERT'], tables, { ...write, for: 'write stage: the lookup rows (INSERT)' }),
    ...privilegeNeeds(['ALTER'], sources, { ...write, for: "write stage: ALTER TABLE ... ADD COLUMN of a lookup's reference" }),
    ...privilegeNeeds(['UPDATE'], sources, { ...write, for: "write stage: filling a lookup's reference (UPDATE)" }),
    ...privilegeNeeds(['CREATE', 'INSERT', 'DROP'], [null], {
      ...write,
      for: "write stage: a lookup's work table eventshift_keys_<run>_<lookup>",
    }),
    ...privilegeNeeds(['ALTER'], sources, { for: "rollback: dropping a lookup's reference column", when: 'rollback' }),
    ...privilegeNeeds(['DELETE'], tables, { for: 'rollback: deleting the lookup rows the run created', when: 'rollback' }),
  ];
}
