import type { Db } from '../db/connection.ts';
import { quoteId, quoteQualified } from '../db/quote.ts';
import { compileProjection } from '../mapping/compile.ts';
import type { ProjectionPlan } from '../plan/plan-data.ts';
import type { Describe, PlanPiece, PlanScope } from './part.ts';

/**
 * The projections' share of the plan: the tables they add a column to (backed up and altered), what refuses them, and
 * a piece per projection counting how many rows of its table get a value (a pass over its aggregate each, so they go
 * side by side).
 */
export function planProjectionsPieces(p: PlanScope): PlanPiece[] {
  const projections = Object.entries(p.mapping.projections ?? {});
  if (projections.length === 0) return [];
  const tables: PlanPiece = async (_on, describe) => ({
    tables: {
      backup: projections.map(([, x]) => p.names(x.table)),
      alter: projections.map(([, x]) => ({
        table: p.names(x.table),
        change: `add column ${x.column.name} ${x.column.definition}${x.column.after ? ` after ${x.column.after}` : ''}`,
      })),
    },
    refusals: await projectionRefusals(p, describe),
  });
  return [tables, ...projections.map(([name]): PlanPiece => async (on) => ({ projections: [await planProjection(on, p, name)] }))];
}

/** A projection whose column exists already, or whose `after` column does not, refuses the plan. */
async function projectionRefusals({ mapping, names }: PlanScope, describe: Describe): Promise<string[]> {
  const refusals: string[] = [];
  for (const p of Object.values(mapping.projections ?? {})) {
    const info = await describe(names(p.table));
    if (info?.columns.some((c) => c.name === p.column.name)) {
      refusals.push(`${names(p.table)} already has a column ${p.column.name}, which the run would add; drop it or rename the projection.`);
    }
    const after = p.column.after === undefined ? undefined : names.column(p.table, p.column.after);
    if (info && after && !info.columns.some((c) => c.name === after)) {
      refusals.push(`${names(p.table)} has no column ${after} to add ${p.column.name} after.`);
    }
  }
  return refusals;
}

/** A projection's plan: its column, and (a pass over its aggregate) how many rows of its table get a value. */
async function planProjection(on: Db, { mapping, names, ready }: PlanScope, name: string): Promise<ProjectionPlan> {
  const p = mapping.projections![name]!;
  const compiled = compileProjection(name, p, names);
  const [r] = ready
    ? await on.query<{ n: string; v: string }>(
        `SELECT COUNT(*) AS n, COUNT(es_v.v) AS v FROM ${quoteId(compiled.table)} AS ${quoteId(p.table)}
         LEFT JOIN (${compiled.aggregateSql}) AS es_v ON es_v.k = ${quoteQualified(p.table, p.key)}`,
      )
    : [];
  return {
    name,
    table: compiled.table,
    key: p.key,
    column: p.column.name,
    definition: p.column.definition,
    after: p.column.after,
    rowsWithValue: Number(r?.v ?? 0),
    tableRows: Number(r?.n ?? 0),
  };
}
