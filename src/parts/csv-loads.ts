import { csvChecks, dropRunStaging, loadRunCsvSource } from '../csv/run-steps.ts';
import { faultPoint } from '../run/fault-points.ts';
import { journaled, type Part } from './part.ts';

/**
 * The run's CSV sources: each loaded into its staging table first thing in the write stage, its rows counted by
 * verify, and the staging tables dropped on undo.
 */
export const csvLoadsPart: Part = {
  kind: 'csv',
  async write(w) {
    for (const source of w.plan.sources) {
      if (!source.csv) continue;
      const label = `load ${source.alias}`;
      await journaled(w, label, () =>
        loadRunCsvSource(w.db, w.mapping, source, w.runId, {
          faultPoint,
          log: w.log,
          onProgress: (done, total) => w.progress(label, done, total),
        }),
      );
    }
  },
  checks(v) {
    // One check per CSV source, computed together.
    const sources = v.plan.sources.filter((s) => s.csv).length;
    return sources > 0 ? [{ weight: sources, run: (db) => csvChecks(db, v.plan, v.runId) }] : [];
  },
  async undo(u) {
    for (const table of await dropRunStaging(u.db, u.plan)) u.actions.push(`dropped ${table}, the staging table of a CSV source`);
  },
};
