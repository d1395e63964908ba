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

/**
 * A projection's plan: its column, and how many rows of its table get a value (a pass over its aggregate). A run's
 * plan (forRun) counts only its table's rows, and has the server resolve the aggregate's names without reading a row:
 * the fill makes the aggregate again, and a name the database lacks still refuses the plan here.
 */
async function planProjection(on: Db, { mapping, names, ready, forRun, sources }: PlanScope, name: string): Promise<ProjectionPlan> {
  const p = mapping.projections![name]!;
  const compiled = compileProjection(name, p, names);
  const joined =
    `${quoteId(compiled.table)} AS ${quoteId(p.table)} ` +
    `LEFT JOIN (${compiled.aggregateSql}) AS es_v ON es_v.k = ${quoteQualified(p.table, p.key)}`;
  if (ready && forRun) {
    await on.query(`SELECT es_v.v FROM ${joined} LIMIT 0`);
    const source = sources.find((s) => s.exists && s.table === compiled.table);
    const [r] = source ? [{ n: source.rows }] : await on.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quoteId(compiled.table)}`);
    return { ...projectionPlan(compiled, p), rowsWithValue: null, tableRows: Number(r?.n ?? 0) };
  }
  const [r] = ready ? await on.query<{ n: string; v: string }>(`SELECT COUNT(*) AS n, COUNT(es_v.v) AS v FROM ${joined}`) : [];
  return { ...projectionPlan(compiled, p), rowsWithValue: Number(r?.v ?? 0), tableRows: Number(r?.n ?? 0) };
}

/** A projection's column as the plan records it. */
function projectionPlan(
  compiled: ReturnType<typeof compileProjection>,
  p: NonNullable<PlanScope['mapping']['projections']>[string],
): Omit<ProjectionPlan, 'rowsWithValue' | 'tableRows'> {
  return {
    name: compiled.name,
    table: compiled.table,
    key: p.key,
    column: p.column.name,
    definition: p.column.definition,
    after: p.column.after,
  };
}
