import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import type { Plan } from '../plan/plan-data.ts';
import type { CheckResult } from '../verify/check-result.ts';
import { formatCount } from '../format.ts';

/**
 * Checks of the numbering itself, for steps whose IDs are recorded in the lineage table: every legacy row has exactly
 * one ID, a group's IDs fill its block without a gap, and chronological IDs follow their events' time.
 */
export async function idChecks(db: Db, plan: Plan, runId: number, limit: number): Promise<Array<Omit<CheckResult, 'seconds'>>> {
  const results: Array<Omit<CheckResult, 'seconds'>> = [];
  const groups: Array<{ steps: Plan['steps']; strategy: 'dense' | 'chronological' }> = [
    ...plan.steps.filter((s) => s.ids.strategy === 'dense' && s.range).map((s) => ({ steps: [s], strategy: 'dense' as const })),
  ];
  const chronological = plan.steps.filter((s) => s.ids.strategy === 'chronological' && s.range);
  if (chronological.length > 0) groups.push({ steps: chronological, strategy: 'chronological' });

  for (const group of groups) {
    const range = group.steps[0]!.range!;
    const expected = group.steps.reduce((n, s) => n + s.sourceRows, 0);
    const names = group.steps.map((s) => s.name);
    const [r] = await db.query<{ n: string; lo: string | null; hi: string | null }>(
      `SELECT COUNT(*) AS n, MIN(event_id) AS lo, MAX(event_id) AS hi FROM eventshift_lineage ` +
        `WHERE run_id = ? AND step IN (${names.map(() => '?').join(', ')})`,
      [runId, ...names],
    );
    const n = Number(r!.n);
    const ok = n === expected && Number(r!.lo) === range.first && Number(r!.hi) === range.last;
    results.push({
      id: `${names.join('+')}.ids`,
      kind: 'range',
      step: names.join(', '),
      table: range.table,
      title:
        `${names.join(', ')}: ${formatCount(expected)} ${group.strategy} ID(s) fill ` +
        `${range.table} ${range.first}..${range.last} without a gap`,
      ok,
      expected: `${formatCount(expected)} IDs, ${range.first}..${range.last}`,
      actual: `${formatCount(n)} IDs, ${r!.lo ?? '-'}..${r!.hi ?? '-'}`,
      failures: ok ? [] : [{ key: `${range.first}..${range.last}`, reason: 'lineage does not number the block densely' }],
      failureCount: ok ? 0 : 1,
    });
    if (group.strategy !== 'chronological') continue;
    const step = group.steps[0]!;
    const orderBy = step.ids.strategy === 'chronological' ? (step.ids.orderBy ?? 'WhenStart') : 'WhenStart';
    const key = quoteId(step.writes.find((w) => w.table === range.table)!.keyColumn);
    const o = quoteId(orderBy);
    const backwards = await db.query<{ id: string; t: string; p: string }>(
      `SELECT x.id, x.t, x.p FROM (SELECT ${key} AS id, ${o} AS t, LAG(${o}) OVER (ORDER BY ${key}) AS p FROM ${quoteId(range.table)}
         WHERE ${key} BETWEEN ? AND ?) AS x WHERE x.t < x.p ORDER BY x.id LIMIT ${limit + 1}`,
      [range.first, range.last],
    );
    results.push({
      id: `${names.join('+')}.chronological`,
      kind: 'range',
      step: names.join(', '),
      table: range.table,
      title: `${range.table} ${range.first}..${range.last}: IDs increase with ${orderBy}`,
      ok: backwards.length === 0,
      failures: backwards
        .slice(0, limit)
        .map((b) => ({ key: String(b.id), reason: `${orderBy} ${b.t} is earlier than the previous ID's ${b.p}` })),
      failureCount: backwards.length,
    });
  }
  return results;
}
