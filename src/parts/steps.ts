import { privilegeNeeds, type Part, type PrivilegeScope } from './part.ts';
import { stepChecks } from './steps-checks.ts';
import { stepPatches } from './steps-patches.ts';
import { planStepsPieces } from './steps-plan.ts';
import { stepsReport } from './steps-report.ts';
import { undoSteps, writeSteps } from './steps-write.ts';

/**
 * The mapping's steps: their lineage numbered, their rows written in key-range chunks into the ranges the plan
 * reserved, and deleted from those ranges on undo. Whether a step is written set-based (INSERT ... SELECT) or streamed
 * through Node (a step with code() columns, parts/steps-stream.ts) is the steps part's own affair (steps-*.ts): the
 * verbs that fold over the parts never ask.
 */
export const stepsPart = {
  kind: 'steps',
  plan: planStepsPieces,
  write: writeSteps,
  checks: stepChecks,
  patches: stepPatches,
  undo: undoSteps,
  report: stepsReport,
  privileges: stepPrivileges,
} satisfies Part;

/**
 * The steps' targets: INSERT for the rows, DELETE for the rows past the last journaled chunk a resumed write clears
 * (and rollback deletes), SELECT for verify's comparisons.
 */
function stepPrivileges({ plan }: PrivilegeScope) {
  const targets = [...new Set(plan.steps.flatMap((s) => s.writes.map((w) => w.table)))];
  return [
    ...privilegeNeeds(['SELECT', 'INSERT', 'DELETE'], targets, {
      for: "write stage: the steps' INSERTs (DELETE: clearing an interrupted chunk on resume); verify reads them",
      when: 'run',
    }),
    ...privilegeNeeds(['DELETE'], targets, { for: "rollback: deleting the steps' rows", when: 'rollback' }),
  ];
}
