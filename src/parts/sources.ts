import { faultPoint } from '../engine/fault-points.ts';
import { runSources, sourceChecks, sourceReportFiles, undoSources } from '../sources/sources.ts';
import { journaled, privilegeNeeds, type Part } from './part.ts';

/**
 * The run's sources (see sources/source.ts), as a part: each made readable first thing in the write stage when its
 * kind needs it (a CSV file loaded into its staging table), checked by verify, and what the run made of it removed on
 * undo and on restore (the backup does not hold it). A table source does none of it.
 */
export const sourcesPart: Part = {
  kind: 'sources',
  async write(w) {
    for (const source of runSources(w.mapping, w.plan)) {
      const label = source.prepareStep;
      if (!source.prepare || label === undefined) continue;
      await journaled(w, label, () =>
        source.prepare!(w.db, {
          mapping: w.mapping.name,
          runId: w.runId,
          faultPoint,
          log: w.log,
          onProgress: (done, total, ended) => w.progress(label, done, total, ended),
        }),
      );
    }
  },
  checks(v) {
    // One item for the sources' checks, computed together; its weight is how many checks it gives.
    const checked = runSources(v.mapping, v.plan).filter((s) => s.checks);
    return checked.length > 0 ? [{ weight: checked.length, run: (db) => sourceChecks(db, checked, v.runId) }] : [];
  },
  filesBesideReport: ({ db, plan, runId, dir }) => sourceReportFiles(db, plan, runId, dir),
  async undo(u) {
    for (const { table, what } of await undoSources(u.db, runSources(u.mapping, u.plan))) u.actions.push(`dropped ${table}, ${what}`);
  },
  // A table source is read (SELECT); a CSV file is loaded into a staging table the run creates, and rollback drops.
  privileges: ({ plan }) =>
    plan.sources.flatMap((s) =>
      s.csv
        ? [
            ...privilegeNeeds(['CREATE', 'INSERT', 'DROP'], [s.table], {
              for: 'write stage: loading a CSV file into its staging table',
              when: 'run',
            }),
            ...privilegeNeeds(['DROP'], [s.table], { for: "rollback: dropping a CSV source's staging table", when: 'rollback' }),
          ]
        : privilegeNeeds(['SELECT'], [s.table], { for: 'plan, write and verify: reading the source', when: 'run' }),
    ),
  dropWorkTables: async (r) => (await undoSources(r.db, runSources(r.mapping, r.plan))).map((u) => u.table),
};
