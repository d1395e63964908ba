import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import { sourceTableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Plan } from '../plan/plan-data.ts';
import type { RenameState } from '../mapping/compile.ts';
import { stepRecord } from '../engine/step-journal.ts';
import type { PreRunTable } from '../verify/check-result.ts';
import type { Check, CheckWork } from '../parts/part.ts';
import {
  among,
  compilePlannedLookup,
  conflictsSql,
  lookupAlias,
  ownLookupRowSql,
  skippedKeysSql,
  type CompiledLookup,
  type CompiledLookupRows,
  type CompiledLookupSource,
} from './compile-lookup.ts';
import { displayKey } from './display-key.ts';
import type { LookupPlan } from './lookup-plan.ts';
import { lookupSteps, type LookupCreateDetail } from './write-lookup.ts';
import { formatCount } from '../format.ts';

export interface LookupVerifyContext {
  mapping: Mapping;
  plan: Plan;
  preRun: readonly PreRunTable[];
  runId: number;
  limit: number;
  /** The cutover renames that have happened: the sources are read by their current names. */
  renames: RenameState;
}

/**
 * The checks of every lookup, set-based on the server: each filled reference names the lookup row with the row's own
 * natural key (byte-equal) and values; the skipped rows are exactly the reported ones and still 0; the reported natural
 * keys are what the data gives now; lookup rows are unique; the rows the run created are the planned number and each
 * is used. That the lookup's pre-existing rows and the sources' other columns are unchanged is the backup's
 * `unchanged` check of each table.
 */
export function lookupChecks(ctx: LookupVerifyContext): CheckWork[] {
  const work: CheckWork[] = [];
  const names = sourceTableNames(ctx.mapping, ctx.renames);
  for (const planned of ctx.plan.lookups ?? []) {
    if (!ctx.mapping.lookups?.[planned.name]) continue;
    const l = compilePlannedLookup(ctx.mapping, planned, names);
    const pre = ctx.preRun.find((t) => t.name === l.table);
    const before = pre?.exists ? { mode: 'upTo' as const, params: [pre.maxKey ?? '0'] } : { mode: 'none' as const, params: [] };
    // The conflicts as the data gives them now, against the lookup rows that existed before the run.
    let conflicted: Promise<string[]> | null = null;
    const conflicts = (db: Db) =>
      (conflicted ??= db.query<{ h: string }>(conflictsSql(l, before.mode), before.params).then((r) => [...new Set(r.map((x) => x.h))]));
    const checked: CheckedLookup = { l, planned, limit: ctx.limit };
    work.push({ weight: 1, run: async (db) => [await reportedCheck(db, checked, await conflicts(db))] });
    for (const s of l.sources) {
      work.push({ weight: 2, run: async (db) => sourceChecks(db, checked, s, await conflicts(db)) });
    }
    for (const e of l.everyRowOf) {
      work.push({ weight: 1, run: async (db) => [await everyRowCheck(db, checked, e, await conflicts(db))] });
    }
    work.push({ weight: 1, run: async (db) => [await uniqueCheck(db, l, ctx.limit)] });
    work.push({ weight: 1, run: async (db) => [await createdCheck(db, checked, ctx.runId)] });
  }
  return work;
}

/** A lookup as its checks read it: compiled, as planned, and how many failures each names at most. */
interface CheckedLookup {
  l: CompiledLookup;
  planned: LookupPlan;
  limit: number;
}

/** The natural keys the plan reported (skipped, in conflict) are exactly those the data gives now. */
async function reportedCheck(db: Db, { l, planned, limit }: CheckedLookup, conflicted: string[]): Promise<Check> {
  const skipped = (await db.query<{ k: Buffer }>(skippedKeysSql(l))).length;
  const plannedSet = new Set(planned.conflictedKeys);
  const nowSet = new Set(conflicted);
  const failures = [
    ...conflicted
      .filter((h) => !plannedSet.has(h))
      .map((h) => ({ key: displayKey(Buffer.from(h, 'hex')), reason: 'in conflict now, not reported by the plan' })),
    ...planned.conflictedKeys
      .filter((h) => !nowSet.has(h))
      .map((h) => ({ key: displayKey(Buffer.from(h, 'hex')), reason: 'reported in conflict by the plan, no longer in conflict' })),
    ...(skipped === planned.skippedKeys
      ? []
      : [
          {
            key: '*',
            reason: `${formatCount(skipped)} skipped ${l.naturalKey}(s) now, ${formatCount(planned.skippedKeys)} reported by the plan`,
          },
        ]),
  ];
  return {
    id: `${l.name}.reported`,
    kind: 'lookup',
    table: l.table,
    title:
      `${l.name}: the ${formatCount(planned.skippedKeys)} skipped and ` +
      `${formatCount(planned.conflictedKeys.length)} conflicting ${l.naturalKey}(s) ` +
      'reported are those the data gives',
    ok: failures.length === 0,
    expected: `${formatCount(planned.skippedKeys)} skipped, ${formatCount(planned.conflictedKeys.length)} in conflict`,
    actual: `${formatCount(skipped)} skipped, ${formatCount(conflicted.length)} in conflict`,
    failures: failures.slice(0, limit),
    failureCount: failures.length,
  };
}

/** Every row of the source that is not skipped references its own lookup row; every skipped row still holds 0. */
async function sourceChecks(db: Db, { l, planned, limit }: CheckedLookup, s: CompiledLookupSource, conflicted: string[]): Promise<Check[]> {
  const a = quoteId(lookupAlias);
  const plannedSource = planned.sources.find((x) => x.alias === s.alias)!;
  const skippedRow = `(${s.skipped} OR ${among(s.natural, conflicted)})`;
  const from = `${s.from} LEFT JOIN ${quoteId(l.table)} AS ${a} ON ${a}.${quoteId(l.idColumn)} = ${s.referenceSql}`;
  const wrong = `NOT ${skippedRow} AND NOT (${a}.${quoteId(l.idColumn)} IS NOT NULL AND ${ownLookupRowSql(l, s)})`;
  const [counts] = await db.query<{ n: string; bad: string | null; skipped: string | null; skippedSet: string | null }>(
    `SELECT COUNT(*) AS n, SUM(${wrong}) AS bad, SUM(${skippedRow}) AS skipped, ` +
      `SUM(${skippedRow} AND ${s.referenceSql} <> 0) AS skippedSet FROM ${from}`,
  );
  const bad = Number(counts!.bad ?? 0);
  const skipped = Number(counts!.skipped ?? 0);
  const skippedSet = Number(counts!.skippedSet ?? 0);
  const ref = `${s.table}.${s.reference.name}`;
  const key = s.keySql ?? s.referenceSql;
  const shown = [s.natural, ...s.values, `${a}.${quoteId(l.idColumn)}`, l.naturalSql, ...l.columns.map((c) => `${a}.${quoteId(c)}`)];
  const rowsOf = (where: string) =>
    db.query<Record<string, unknown>>(
      `SELECT ${key} AS k, ${s.referenceSql} AS ref, ${shown.map((x, i) => `${x} AS c${i}`).join(', ')} ` +
        `FROM ${from} WHERE ${where} ORDER BY ${key} LIMIT ${limit}`,
    );
  const { describeRow, keyOf, wrongReason } = rowWords(l, s);
  const failures = bad === 0 ? [] : (await rowsOf(wrong)).map((r) => ({ key: keyOf(r), reason: wrongReason(r) }));
  const expectedSkipped = plannedSource.skipped + plannedSource.conflicted;
  const skippedFailures =
    skippedSet === 0
      ? []
      : (await rowsOf(`${skippedRow} AND ${s.referenceSql} <> 0`)).map((r) => ({
          key: keyOf(r),
          reason: `skipped (${describeRow(r)}), yet ${ref} = ${r.ref}`,
        }));
  if (skipped !== expectedSkipped)
    skippedFailures.push({
      key: '*',
      reason: `${formatCount(skipped)} row(s) are skipped now, the plan reported ${formatCount(expectedSkipped)}`,
    });
  return [
    {
      id: `${l.name}.${s.alias}.reference`,
      kind: 'lookup',
      table: s.table,
      title:
        `${ref}: each of the ${formatCount(Number(counts!.n) - skipped)} rows not skipped references the ${l.table} row ` +
        `of its own ${l.naturalKey} and ${l.columns.join(', ')}`,
      ok: bad === 0,
      expected: plannedSource.fill,
      actual: Number(counts!.n) - skipped - bad,
      failures,
      failureCount: bad,
    },
    {
      id: `${l.name}.${s.alias}.skipped`,
      kind: 'lookup',
      table: s.table,
      title: `${ref}: the ${formatCount(expectedSkipped)} skipped row(s) (reported) still hold 0`,
      ok: skippedFailures.length === 0,
      expected: expectedSkipped,
      actual: skipped - skippedSet,
      failures: skippedFailures,
      failureCount: skippedSet + (skipped !== expectedSkipped ? 1 : 0),
    },
  ];
}

/**
 * How sourceChecks names a row it read (columns `c0`.. as it selects them: the source's natural key and values, then
 * the lookup row's ID, natural key and columns): its key, the row, and why its reference is wrong.
 */
function rowWords(l: CompiledLookup, s: CompiledLookupSource) {
  const ref = `${s.table}.${s.reference.name}`;
  const describeRow = (r: Record<string, unknown>) =>
    `${displayKey(r.c0 as Buffer)}${s.values.map((_, i) => `, ${l.columns[i]} ${r[`c${i + 1}`] ?? 'NULL'}`).join('')}`;
  const describeLookup = (r: Record<string, unknown>) => {
    const base = s.values.length + 1;
    return `${displayKey(r[`c${base + 1}`] as Buffer)}${l.columns.map((c, i) => `, ${c} ${r[`c${base + 2 + i}`] ?? 'NULL'}`).join('')}`;
  };
  const keyOf = (r: Record<string, unknown>) => `${s.keyColumn ?? s.reference.name} ${displayKey(r.k as Buffer | string)}`;
  const wrongReason = (r: Record<string, unknown>) =>
    String(r.ref) === '0'
      ? `${ref} = 0; the row (${describeRow(r)}) should reference its ${l.table} row`
      : r[`c${s.values.length + 1}`] === null
        ? `${ref} = ${r.ref}, which is no ${l.table} row; the row is ${describeRow(r)}`
        : `${ref} = ${r.ref} names ${l.table} ${describeLookup(r)}; the row is ${describeRow(r)}`;
  return { describeRow, keyOf, wrongReason };
}

/** Every row of an `everyRowOf` source whose natural key is not in conflict has the lookup row of its key and values. */
async function everyRowCheck(db: Db, { l, limit }: CheckedLookup, e: CompiledLookupRows, conflicted: string[]): Promise<Check> {
  const a = quoteId(lookupAlias);
  const from =
    `${e.from} LEFT JOIN ${quoteId(l.table)} AS ${a} ON ${l.naturalSql} = ${e.natural} ` + `WHERE NOT ${among(e.natural, conflicted)}`;
  const wrong = `NOT (${a}.${quoteId(l.idColumn)} IS NOT NULL AND ${ownLookupRowSql(l, e)})`;
  const [counts] = await db.query<{ n: string; bad: string | null }>(`SELECT COUNT(*) AS n, SUM(${wrong}) AS bad FROM ${from}`);
  const bad = Number(counts!.bad ?? 0);
  const rows =
    bad === 0
      ? []
      : await db.query<{ k: Buffer; id: string | null }>(
          `SELECT ${e.natural} AS k, ${a}.${quoteId(l.idColumn)} AS id FROM ${from} AND ${wrong} ORDER BY k LIMIT ${limit}`,
        );
  return {
    id: `${l.name}.${e.alias}.rows`,
    kind: 'lookup',
    table: l.table,
    title:
      `${l.table}: each of the ${formatCount(Number(counts!.n))} row(s) of ${e.table} not in conflict has the ${l.table} row of its ` +
      [l.naturalKey, ...l.columns].join(', '),
    ok: bad === 0,
    expected: Number(counts!.n),
    actual: Number(counts!.n) - bad,
    failures: rows.map((r) => ({
      key: displayKey(r.k),
      reason: r.id === null ? `no ${l.table} row` : `${l.table} row ${r.id} holds other values`,
    })),
    failureCount: bad,
  };
}

/** No natural key, and no value of a UNIQUE column, is held by two lookup rows. */
async function uniqueCheck(db: Db, l: CompiledLookup, limit: number): Promise<Check> {
  const a = quoteId(lookupAlias);
  const parts = [
    `SELECT '${l.naturalKey}' AS c, ${l.naturalSql} AS v, COUNT(*) AS n FROM ${quoteId(l.table)} AS ${a} ` +
      `GROUP BY ${l.naturalSql} HAVING COUNT(*) > 1`,
    ...l.unique.map(
      (c) =>
        `SELECT '${c}', CAST(${a}.${quoteId(c)} AS BINARY), COUNT(*) FROM ${quoteId(l.table)} AS ${a} ` +
        `WHERE ${a}.${quoteId(c)} IS NOT NULL GROUP BY ${a}.${quoteId(c)} HAVING COUNT(*) > 1`,
    ),
  ];
  const dupes = await db.query<{ c: string; v: Buffer; n: string }>(`${parts.join('\nUNION ALL ')} LIMIT ${limit + 1}`);
  return {
    id: `${l.name}.unique`,
    kind: 'lookup',
    table: l.table,
    title: `${l.table}: no ${[l.naturalKey, ...l.unique].join(' and no ')} is held by two rows`,
    ok: dupes.length === 0,
    failures: dupes.slice(0, limit).map((d) => ({ key: `${d.c} ${displayKey(d.v)}`, reason: `held by ${formatCount(Number(d.n))} rows` })),
    failureCount: dupes.length,
  };
}

/** The lookup rows the run created (the ID blocks its journal records) are as many as planned, and each is referenced. */
async function createdCheck(db: Db, { l, planned, limit }: CheckedLookup, runId: number): Promise<Check> {
  const record = await stepRecord(db, runId, 'write', lookupSteps.create(l.name));
  const detail = record?.detail as LookupCreateDetail | null;
  const base = {
    id: `${l.name}.created`,
    kind: 'lookup' as const,
    table: l.table,
    title:
      `${l.table}: the ${formatCount(planned.create)} row(s) the run created exist and each is referenced` +
      (l.everyRowOf.length ? ` (or is the row of a ${l.everyRowOf.map((e) => e.table).join(', ')} row)` : ''),
  };
  if (!detail || record?.status !== 'done')
    return {
      ...base,
      ok: false,
      expected: planned.create,
      failures: [{ key: '*', reason: 'the run has not finished creating them' }],
      failureCount: 1,
    };
  const a = quoteId(lookupAlias);
  const id = `${a}.${quoteId(l.idColumn)}`;
  const inRanges = detail.ranges.length === 0 ? '0=1' : detail.ranges.map(() => `${id} BETWEEN ? AND ?`).join(' OR ');
  const params = detail.ranges.flat();
  const refs = l.sources.map((s) => `SELECT ${s.referenceSql} AS r FROM ${s.from}`).join('\nUNION ');
  // Rows made for an everyRowOf source's keys need no reference.
  const wanted = l.everyRowOf.map((e) => ` AND ${l.naturalSql} NOT IN (SELECT ${e.natural} FROM ${e.from})`).join('');
  const [n] = await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quoteId(l.table)} AS ${a} WHERE ${inRanges}`, params);
  const unused = await db.query<{ id: string; k: Buffer }>(
    `SELECT ${id} AS id, ${l.naturalSql} AS k FROM ${quoteId(l.table)} AS ${a} LEFT JOIN (${refs}) AS u ON u.r = ${id}
      WHERE (${inRanges}) AND u.r IS NULL${wanted} ORDER BY ${id} LIMIT ${limit + 1}`,
    params,
  );
  const created = Number(n!.n);
  const failures = [
    ...(created === planned.create
      ? []
      : [{ key: '*', reason: `${formatCount(created)} row(s) in the run's ID blocks, ${formatCount(planned.create)} planned` }]),
    ...unused.slice(0, limit).map((u) => ({ key: `${l.idColumn} ${u.id}`, reason: `${displayKey(u.k)}: no row references it` })),
  ];
  return { ...base, ok: failures.length === 0, expected: planned.create, actual: created, failures, failureCount: failures.length };
}
