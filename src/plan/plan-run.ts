import type { Db } from '../db/connection.ts';
import type { TableInfo } from '../db/introspect.ts';
import type { Mapping } from '../mapping/types.ts';
import { sourcesToPlan } from '../sources/sources.ts';
import type { Plan, PlanOverrides, ProblemFinding } from './plan-data.ts';
import { buildPlan } from './plan.ts';
import { preflight } from './preflight.ts';

export interface RunPlanOptions {
  /** Command-line choices that override the mapping's ID assignment. */
  overrides?: PlanOverrides;
  /** Bad rows of CSV sources are set aside (in eventshift_quarantine and quarantine.csv) instead of refusing the run. */
  quarantine?: boolean;
  /** The plan of a run migrate starts now (PlanScope.forRun): what only a person reads is not counted. */
  forRun?: boolean;
}

/**
 * The plan of a run of the mapping, over its sources as the run would read them: each source that needs it is staged
 * on this connection first (a CSV file is loaded into a TEMPORARY table: planning writes nothing anyone else sees,
 * and nothing stays), the plan is built over them exactly as over tables, and what each source adds is recorded: its
 * facts (a CSV's files, dialect and bad rows), its findings and its refusals, listed before the plan's own. Last, the
 * privileges the run needs are checked against the user's (plan/privileges.ts): each one missing refuses the plan;
 * the server variables the run relies on (plan/server-variables.ts); and on a Galera node what the cluster does not
 * replicate or certify (plan/galera.ts).
 */
export async function planRun(db: Db, mapping: Mapping, now: Date, options: RunPlanOptions = {}): Promise<Plan> {
  const sources = sourcesToPlan(mapping);
  const planning = { mapping: mapping.name, quarantine: options.quarantine === true };
  const refusals = sources.flatMap((s) => s.unreadable?.() ?? []);
  const staged = new Map<string, TableInfo>();
  try {
    for (const source of sources) {
      const table = await source.stage?.(db, planning);
      if (table) staged.set(source.table, table);
    }
    const plan = await buildPlan(db, mapping, now, { overrides: options.overrides, staged, forRun: options.forRun });
    const problems: ProblemFinding[] = [];
    for (const counted of plan.sources) {
      const added = sources.find((s) => s.alias === counted.alias)?.planned?.();
      if (!added) continue;
      if (added.csv) counted.csv = added.csv;
      problems.push(...added.problems);
      refusals.push(...added.refusals);
    }
    // The privileges the run's statements need, the server's settings it relies on, and on Galera what it replicates.
    const { privileges, server, galera, refusals: preflightRefusals } = await preflight(db, mapping, plan);
    const all = [...refusals, ...plan.refusals, ...preflightRefusals];
    return {
      ...plan,
      problems: [...problems, ...plan.problems],
      refusals: all,
      privilegeWarnings: privileges.warnings,
      serverSettings: server.facts,
      serverWarnings: server.warnings,
      ...(galera.facts ? { galera: galera.facts } : {}),
      ok: all.length === 0,
    };
  } finally {
    for (const source of sources) await source.unstage?.(db);
  }
}
