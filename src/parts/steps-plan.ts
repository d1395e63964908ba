import type { Db } from '../db/connection.ts';
import { compileStep, stepCountColumns, type CompiledStep } from '../mapping/compile.ts';
import { codeColumnsOf } from '../mapping/streamed.ts';
import type { Plan, StepPlan } from '../plan/plan-data.ts';
import type { PartPlanned, PlanPiece, PlanScope } from './part.ts';
import { idSpacePlan, idSpaceRefusals } from './steps-id-space.ts';
import { assignIds, refuseUnknownStarts, suggestPlacement } from './steps-ids.ts';

/**
 * The steps' share of the plan, one piece on one connection: each step counted as the write would write it (and
 * whether it is written set-based or streamed), its IDs fixed, the ID space of the tables it writes read, and the
 * ranges that do not fit refused with a placement that would. A --start naming no step throws before any piece runs.
 */
export function planStepsPieces(p: PlanScope): PlanPiece[] {
  if (p.ready) refuseUnknownStarts(p.mapping, p.overrides);
  // Each step's counts are asked of the plan's shared passes now, before any piece runs.
  const counted = stepsToPlan(p);
  return [
    async (on, describe): Promise<PartPlanned> => {
      const refusals: string[] = [...counted.refusals];
      const steps: StepPlan[] = [];
      for (const step of counted.steps) steps.push(await planStep(on, p, step));
      if (!p.ready) return { steps, idSpace: [], suggestion: null, refusals };
      await assignIds(on, { mapping: p.mapping, steps, sources: p.sources, overrides: p.overrides, describe });
      const idSpace = await idSpacePlan(on, p.mapping, steps, describe);
      const idRefusals = idSpaceRefusals(idSpace);
      refusals.push(...idRefusals);
      let suggestion: Plan['suggestion'] = null;
      if (idRefusals.length > 0) {
        suggestion = await suggestPlacement(on, p.mapping, steps, describe);
        refusals.push(
          suggestion
            ? `A placement that fits: \`${suggestion.args}\` (IDs ${suggestion.first}..${suggestion.last}, ` +
                `the lowest free block of ${suggestion.last - suggestion.first + 1}).`
            : "No free block of IDs fits the whole run below the key column's maximum.",
        );
      }
      return { steps, idSpace, suggestion, refusals };
    },
  ];
}

/** A step to plan: compiled for counting, and its counts as asked of the plan's shared passes (none when not ready). */
interface StepToPlan {
  name: string;
  keyColumn: string;
  counting: CompiledStep;
  counts: Promise<unknown[]> | null;
}

/**
 * The steps to plan, each with its counts asked of a shared pass over its FROM clause; a step without a usable key is
 * refused (when its source exists).
 */
function stepsToPlan(p: PlanScope): { steps: StepToPlan[]; refusals: string[] } {
  const steps: StepToPlan[] = [];
  const refusals: string[] = [];
  for (const [name, step] of Object.entries(p.mapping.steps)) {
    const source = p.sources.find((s) => s.alias === step.from)!;
    const keyColumn = step.key ?? source.keyColumn;
    if (!keyColumn) {
      if (source.exists)
        refusals.push(
          `Step ${name}: source ${source.table} has no single integer primary key; declare the legacy key column as the step's \`key\`.`,
        );
      continue;
    }
    const counting = compileStep(p.mapping, { name, keyColumn, ids: { strategy: 'offset', offset: 0 } }, { names: p.names });
    const { from, columns, where } = stepCountColumns(counting);
    steps.push({ name, keyColumn, counting, counts: p.ready ? p.pass({ from, columns, where }) : null });
  }
  return { steps, refusals };
}

/** One step's rows and each target's, counted as the write would write them, and how the step is written. */
async function planStep(on: Db, p: PlanScope, { name, keyColumn, counting, counts: asked }: StepToPlan): Promise<StepPlan> {
  const step = p.mapping.steps[name]!;
  const counts = asked ? await countStep(on, counting, asked) : {};
  return {
    name,
    description: step.description,
    from: step.from,
    keyColumn,
    sourceRows: Number(counts.total ?? 0),
    ids: { strategy: 'offset', offset: 0 },
    range: null,
    writes: counting.targets.map((t, i) => ({
      alias: t.alias,
      table: t.table,
      keyColumn: t.keyColumn,
      rows: Number(counts[`t${i}`] ?? 0),
      when: t.when,
      ...(counting.streamed ? { largestRowBytes: Number(counts[`b${i}`] ?? 0) } : {}),
    })),
    writePath: counting.streamed ? 'streamed' : 'set-based',
    codeColumns: codeColumnsOf(counting),
  };
}

/** A step's rows (`total`) and each target's (`t0`, `t1`, ...), as its shared pass counted them (see stepCountColumns). */
async function countStep(on: Db, counting: CompiledStep, asked: Promise<unknown[]>): Promise<Record<string, unknown>> {
  const values = await asked;
  const counts = Object.fromEntries(stepCountColumns(counting).names.map((name, i) => [name, values[i]]));
  // Every expression the write evaluates, resolved by the server without reading a row: a name the database
  // lacks (in SQL outside the placeholders) refuses the plan here rather than failing the write.
  const exprs = counting.targets.flatMap((t) => [
    t.when ?? '1',
    ...t.columns.flatMap((c) => (c.code ? c.code.inputs.map((i) => i.sql) : [c.sql])),
  ]);
  await on.query(`SELECT ${exprs.map((e) => `(${e})`).join(', ')} FROM ${counting.fromClause} WHERE (${counting.where}) LIMIT 0`);
  return counts;
}
