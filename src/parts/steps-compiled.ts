import { compileStep, sourceTableNames, type CompiledStep, type TableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Plan } from '../plan/plan-data.ts';

/** What compiledSteps compiles: every step of the plan, with the run whose lineage rows they read. */
export interface StepsToCompile {
  mapping: Mapping;
  plan: Plan;
  runId: number;
  /** How the mapping's names become the database's (default: before any cutover rename). */
  names?: TableNames;
}

/** The plan's steps compiled, in plan order. */
export function compiledSteps({ mapping, plan, runId, names = sourceTableNames(mapping) }: StepsToCompile): CompiledStep[] {
  return plan.steps.map((p) => compileStep(mapping, p, { names, runId }));
}

/** The steps numbered in the lineage: dense steps one group each, the chronological steps one group (one numbering). */
export function lineageGroups(compiled: readonly CompiledStep[]): CompiledStep[][] {
  return [
    ...compiled.filter((c) => c.ids.strategy === 'dense').map((c) => [c]),
    compiled.filter((c) => c.ids.strategy === 'chronological'),
  ].filter((g) => g.length > 0);
}
