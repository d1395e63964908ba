import type { Db } from '../db/connection.ts';
import { tableName } from '../db/ddl.ts';
import { quoteId, quoteQualified, quoteString } from '../db/quote.ts';
import { fromClauseSql, sourceTableNames } from '../mapping/compile.ts';
import type { Mapping, ReplayComparison, ReplayDefinition } from '../mapping/define.ts';
import type { RenameState } from '../run/cutover.ts';
import type { CheckResult } from './verification.ts';

/**
 * Replay checks: the state each entity reaches when its events are replayed is compared, on the server, with the
 * state the legacy data gives it. Disagreements a declared data problem accounts for are listed as its consequence.
 */

/** Fills `{{alias}}` and `{{alias.column}}` with current names: the mapping's one resolver (aliases, then renames). */
export function resolveNames(sql: string, mapping: Mapping, renames: RenameState): string {
  return sourceTableNames(mapping, renames).snippet(sql);
}

/**
 * A problem's SQL is written for plan time, before cutover, as `alias.column`; after a cutover renamed the column,
 * the same reference is rewritten to the new name so the problem's rows can still be found.
 */
export function followColumnRenames(sql: string, mapping: Mapping, renames: RenameState): string {
  let out = sql;
  for (const [table, columns] of renames.columns) {
    for (const [alias, source] of Object.entries(mapping.sources)) {
      if (source !== table) continue;
      for (const [from, to] of columns) {
        const ref = new RegExp(`(?<![\\w\`.])${escapeRegExp(alias)}\\.${escapeRegExp(from)}(?![\\w\`])`, 'g');
        out = out.replace(ref, quoteQualified(alias, to));
      }
    }
  }
  return out;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A state as compared: 64 bits of the MD5 of its utf8mb4 text. The rows grouped on the server stay a few bytes wide
 * whatever the states, so the comparison stays in memory for hundreds of thousands of entities.
 */
const digest = (expr: string) => `CAST(CONV(LEFT(MD5(CAST(${expr} AS CHAR CHARACTER SET utf8mb4)), 16), 16, 10) AS UNSIGNED)`;

/** Verdicts as the comparison query numbers them. */
export const replayVerdicts = ['agree', 'explained', 'disagree'] as const;

export interface ComparisonSqlParts {
  /** The events query, names resolved. */
  events: string;
  /** Its column holding the compared state. */
  stateColumn: string;
  legacy: string;
  absent: { events?: string; legacy?: string };
  /** SELECT k, problem ...: the entity keys each explaining problem (numbered from 1) accounts for; null when none. */
  explained: string | null;
  limit: number;
}

/**
 * One query comparing the two sides by entity key: a full outer comparison (UNION ALL, then GROUP BY key) over narrow
 * rows (side, key, state digest). It returns at most `limit` keys per verdict (1 explained, 2 disagree) plus one
 * agreeing row, each carrying its verdict's total; the states and details of the keys listed are read afterwards
 * (`replayStatesSql`).
 */
export function replayComparisonSql(p: ComparisonSqlParts): string {
  const side = (tag: number, alias: string, query: string, state: string) =>
    `SELECT ${tag} AS side, ${alias}.k AS k, ${digest(`${alias}.${quoteId(state)}`)} AS state FROM (${query}) AS ${alias}`;
  const pick = (tag: number) => `MAX(CASE WHEN u.side = ${tag} THEN u.state END)`;
  const byKey =
    `SELECT u.k, SUM(u.side = 0) AS ne, SUM(u.side = 1) AS nl, ${pick(0)} AS es, ${pick(1)} AS ls\n` +
    `FROM (${side(0, 'ev', p.events, p.stateColumn)}\nUNION ALL\n${side(1, 'lg', p.legacy, 'state')}) AS u GROUP BY u.k`;
  const agree = [
    'd.ne = 1 AND d.nl = 1 AND d.es <=> d.ls',
    ...(p.absent.events === undefined ? [] : [`d.ne = 0 AND d.nl = 1 AND d.ls <=> ${digest(quoteString(p.absent.events))}`]),
    ...(p.absent.legacy === undefined ? [] : [`d.ne = 1 AND d.nl = 0 AND d.es <=> ${digest(quoteString(p.absent.legacy))}`]),
  ].map((c) => `(${c})`).join(' OR ');
  const explained = p.explained ?? 'SELECT NULL AS k, NULL AS problem FROM DUAL WHERE 1 = 0';
  return (
    `SELECT r.k, r.ne, r.nl, r.problem, r.verdict, r.total FROM (\n` +
    `SELECT c.*, COUNT(*) OVER (PARTITION BY c.verdict) AS total, ROW_NUMBER() OVER (PARTITION BY c.verdict ORDER BY c.k) AS rn FROM (\n` +
    `SELECT d.k, d.ne, d.nl, x.problem, CASE WHEN ${agree} THEN 0 WHEN x.problem IS NOT NULL THEN 1 ELSE 2 END AS verdict\n` +
    `FROM (${byKey}) AS d\nLEFT JOIN (SELECT xk.k, MIN(xk.problem) AS problem FROM (${explained}) AS xk GROUP BY xk.k) AS x ON x.k = d.k\n` +
    `) AS c) AS r\nWHERE r.rn <= CASE WHEN r.verdict = 0 THEN 1 ELSE ${p.limit} END ORDER BY r.verdict, r.k`
  );
}

/** The state and detail one side gives the listed keys (as many `?` as keys). */
export function replayStatesSql(query: string, stateColumn: string, keys: number): string {
  return `SELECT q.k AS k, CAST(q.${quoteId(stateColumn)} AS CHAR CHARACTER SET utf8mb4) AS state, CAST(q.detail AS CHAR CHARACTER SET utf8mb4) AS detail ` +
    `FROM (${query}) AS q WHERE q.k IN (${Array(keys).fill('?').join(', ')})`;
}

/** The entity keys each problem named in `explainedBy` (numbered from 1, in order) accounts for, from its own declaration. */
export function explainedKeysSql(mapping: Mapping, renames: RenameState, explainedBy: Record<string, string>): string | null {
  const names = sourceTableNames(mapping, renames);
  // Placeholders resolve through the current names; plain `alias.column` text written before cutover follows renames.
  const current = (sql: string) => followColumnRenames(names.snippet(sql), mapping, renames);
  const parts = Object.entries(explainedBy).map(([name, keyExpr], i) => {
    const p = mapping.problems?.[name];
    if (!p) throw new Error(`problem '${name}' is not declared in mapping ${mapping.name}`);
    const joins = Object.fromEntries(Object.entries(p.join ?? {}).map(([a, on]) => [a, current(on)]));
    return `SELECT DISTINCT (${current(keyExpr)}) AS k, ${i + 1} AS problem ` +
      `FROM ${fromClauseSql(p.from, joins, names)} WHERE (${current(p.where)})`;
  });
  return parts.length === 0 ? null : parts.join('\nUNION ALL\n');
}

interface ComparisonRow {
  k: unknown;
  ne: string | number;
  nl: string | number;
  problem: string | number | null;
  verdict: string | number;
  total: string | number;
}

interface StateRow {
  k: unknown;
  state: string | null;
  detail: string | null;
}

/** Runs one comparison of one replay; never throws for a disagreement (a failing query is a failed check). */
export async function replayCheck(
  db: Db, mapping: Mapping, renames: RenameState, replayName: string, replay: ReplayDefinition,
  label: string, comparison: ReplayComparison, limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const base = {
    id: `${replayName}.${label}.replay`, kind: 'replay' as const, entity: replay.entity,
    title: `Replay ${replayName}: each ${replay.entity}'s state from its events agrees with ${label}${comparison.description ? ` (${comparison.description})` : ''}`,
  };
  const absent = comparison.absent ?? {};
  const events = resolveNames(replay.events, mapping, renames);
  const legacy = resolveNames(comparison.legacy, mapping, renames);
  const stateColumn = comparison.state ?? 'state';
  const problems = Object.keys(comparison.explainedBy ?? {});
  const verdictOf = (r: ComparisonRow) => replayVerdicts[Number(r.verdict)]!;
  let rows: ComparisonRow[];
  const states = { events: new Map<string, StateRow>(), legacy: new Map<string, StateRow>() };
  try {
    rows = await db.query<ComparisonRow & Record<string, unknown>>(replayComparisonSql({
      events, stateColumn, legacy, absent, explained: explainedKeysSql(mapping, renames, comparison.explainedBy ?? {}), limit,
    }));
    const listed = rows.filter((r) => verdictOf(r) !== 'agree').map((r) => r.k);
    if (listed.length > 0) {
      for (const [side, query, column] of [['events', events, stateColumn], ['legacy', legacy, 'state']] as const) {
        for (const r of await db.query<StateRow & Record<string, unknown>>(replayStatesSql(query, column, listed.length), listed)) {
          states[side].set(String(r.k), r);
        }
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, ok: false, failures: [{ key: '*', reason: `the replay query failed: ${message}` }], failureCount: 1, explained: [], explainedCount: 0 };
  }
  const total = (verdict: (typeof replayVerdicts)[number]) => Number(rows.find((r) => verdictOf(r) === verdict)?.total ?? 0);
  const say = (n: number, state: StateRow | undefined, absentState: string | undefined) => {
    if (n === 0) return `no row for this ${replay.entity}${absentState === undefined ? '' : `, so ${absentState}`}`;
    if (n > 1) return `${n} rows for this ${replay.entity}`;
    return `${state?.state ?? 'NULL'}${state?.detail ? ` (${state.detail})` : ''}`;
  };
  const reason = (r: ComparisonRow) => {
    const key = String(r.k);
    return `events: ${say(Number(r.ne), states.events.get(key), absent.events)}; ${label}: ${say(Number(r.nl), states.legacy.get(key), absent.legacy)}`;
  };
  const failures = rows.filter((r) => verdictOf(r) === 'disagree').map((r) => ({ key: String(r.k), reason: reason(r) }));
  const explained = rows.filter((r) => verdictOf(r) === 'explained')
    .map((r) => ({ key: String(r.k), problem: problems[Number(r.problem) - 1]!, reason: reason(r) }));
  const [agreeing, explainedCount, disagreeing] = replayVerdicts.map(total);
  return {
    ...base,
    ok: disagreeing === 0,
    expected: `${agreeing! + disagreeing! + explainedCount!} ${replay.entity}(s) compared`,
    actual: `${agreeing} agree, ${explainedCount} explained by data problems, ${disagreeing} disagree`,
    failures, failureCount: disagreeing!, explained, explainedCount,
  };
}
