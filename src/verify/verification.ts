import type { Db } from '../db/connection.ts';
import { aggregateSql, readChecksum, sameChecksum, tableChecksum, type ContentChecksum } from '../db/checksum.ts';
import { describeTable, type ColumnInfo } from '../db/introspect.ts';
import { quoteId, quoteQualified } from '../db/quote.ts';
import type { Mapping } from '../mapping/define.ts';
import {
  castToColumnSql, compileProjection, compileStep, sourceFingerprintSql, sourceTableNames, targetFingerprintSql,
  type CompiledStep, type CompiledTarget, type TableNames, targetAlias, targetRowsSql,
} from '../mapping/compile.ts';
import { rowFingerprintSql, valueKind } from '../db/checksum.ts';
import type { Plan } from '../plan/plan.ts';
import type { RenameState } from '../run/cutover.ts';
import { replayCheck } from './replay.ts';
import { idChecks } from './id-checks.ts';
import { csvChecks } from '../csv/run-steps.ts';
import { preRunRowsChecksum, reservedRanges, type ReservedRange } from '../run/pre-run-rows.ts';

/** One check's outcome, as reports show it. */
export interface CheckResult {
  id: string;
  kind: 'count' | 'content' | 'references' | 'range' | 'unchanged' | 'projection' | 'replay';
  title: string;
  step?: string;
  table?: string;
  ok: boolean;
  expected?: string | number;
  actual?: string | number;
  /** Keys of the rows that failed (up to `failureLimit`), with the legacy key and what is wrong. */
  failures: Array<{ key: string; legacyKey?: string; reason: string }>;
  failureCount: number;
  /** Replay checks: disagreements a declared data problem accounts for (up to `failureLimit`); they do not fail the check. */
  explained?: Array<{ key: string; problem: string; reason: string }>;
  explainedCount?: number;
  /** Replay checks: what a key names ('order'). */
  entity?: string;
  seconds: number;
}

export interface Verification {
  ok: boolean;
  checks: CheckResult[];
  startedAt: string;
  seconds: number;
}

/** What the backup says a table held before the run; the basis of "rows that existed are unchanged". */
export interface PreRunTable {
  name: string;
  exists: boolean;
  columns: Array<{ name: string; dataType: string; generated?: boolean }>;
  primaryKey: string[];
  /** Decimal string, so BIGINT keys above 2^53 stay exact. */
  maxKey: string | null;
  checksum: ContentChecksum | null;
}

export interface VerifyContext {
  db: Db;
  mapping: Mapping;
  plan: Plan;
  renames: RenameState;
  preRun: PreRunTable[];
  /** The run whose lineage rows steps numbered dense or chronologically read. */
  runId: number;
  now: () => Date;
  failureLimit?: number;
  /** Called after each check (or group of checks run by one query) with how many of `total` are done. */
  onProgress?: (done: number, total: number) => void;
  /** Awaited before each check: lets a run pause between checks (migrate's --pause-file). */
  beforeCheck?: () => Promise<void>;
}

const drillChunk = 2000;

/** Runs every check the mapping implies. Never throws for a failed check: each one is a result. */
export async function verifyMapping(ctx: VerifyContext): Promise<Verification> {
  const started = ctx.now();
  const limit = ctx.failureLimit ?? 50;
  const names = sourceTableNames(ctx.mapping, ctx.renames.tables);
  const checks: CheckResult[] = [];
  const columnsOf = memoColumns(ctx.db);
  // Every check is listed first, so progress can say how many of how many are done.
  const work: Array<() => Promise<Array<Omit<CheckResult, 'seconds'>>>> = [];
  const one = (fn: () => Promise<Omit<CheckResult, 'seconds'>>) => work.push(async () => [await fn()]);

  const compiled = ctx.plan.steps.filter((s) => s.range).map((s) =>
    compileStep(ctx.mapping, s.name, ctx.mapping.steps[s.name]!, s.keyColumn, s.ids, names, ctx.runId));

  for (const step of compiled) {
    const planned = ctx.plan.steps.find((s) => s.name === step.name)!;
    const range = planned.range!;
    const source = ctx.plan.sources.find((s) => s.alias === step.fromAlias)!;
    for (const target of step.targets) {
      one(async () => contentCheck(ctx.db, step, target, await columnsOf(target.table), source.minKey!, source.maxKey!, limit));
      if (target.table !== step.idTable) one(() => referenceCheck(ctx.db, step, target, range, limit));
    }
  }

  if (ctx.plan.steps.some((s) => s.range && s.ids.strategy !== 'offset')) work.push(() => idChecks(ctx.db, ctx.plan, ctx.runId, limit));
  if (ctx.plan.sources.some((s) => s.csv)) work.push(() => csvChecks(ctx.db, ctx.plan, ctx.runId));

  const rangesByTable = reservedRanges(ctx.plan);

  for (const [table, ranges] of rangesByTable) {
    const pre = ctx.preRun.find((t) => t.name === table);
    if (pre && !pre.exists) one(() => onlyRangesCheck(ctx.db, table, ranges, applicationFloor(ctx.plan, ranges), limit));
  }

  for (const pre of ctx.preRun) {
    if (!pre.exists || !pre.checksum) continue;
    one(() => unchangedCheck(ctx.db, pre, ctx.renames, rangesByTable.get(pre.name) ?? []));
  }

  for (const [name, p] of Object.entries(ctx.mapping.projections ?? {})) {
    const projection = compileProjection(name, p, names);
    one(async () => projectionCheck(ctx.db, projection, await columnsOf(projection.table), limit));
  }

  for (const [name, replay] of Object.entries(ctx.mapping.replays ?? {})) {
    for (const [label, comparison] of Object.entries(replay.compare)) {
      one(() => replayCheck(ctx.db, ctx.mapping, ctx.renames, name, replay, label, comparison, limit));
    }
  }

  ctx.onProgress?.(0, work.length);
  for (const [i, run] of work.entries()) {
    await ctx.beforeCheck?.();
    const t0 = performance.now();
    const results = await run();
    // A query that gives several checks at once: its time is given to the first of them.
    const seconds = round((performance.now() - t0) / 1000);
    results.forEach((r, j) => checks.push({ ...r, seconds: j === 0 ? seconds : 0 }));
    ctx.onProgress?.(i + 1, work.length);
  }

  return {
    ok: checks.every((c) => c.ok),
    checks,
    startedAt: started.toISOString(),
    seconds: round((ctx.now().getTime() - started.getTime()) / 1000),
  };
}

function memoColumns(db: Db) {
  const cache = new Map<string, Map<string, ColumnInfo>>();
  return async (table: string) => {
    if (!cache.has(table)) {
      const info = await describeTable(db, table);
      cache.set(table, new Map((info?.columns ?? []).map((c) => [c.name, c])));
    }
    return cache.get(table)!;
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function targetFilter(step: CompiledStep, target: CompiledTarget): string {
  return target.when === undefined ? `(${step.where})` : `(${step.where}) AND (${target.when})`;
}

/**
 * Count and content of one target's rows for one step: the checksum of the mapped values computed from the source
 * equals the checksum of the rows in the step's range. On a mismatch the key range is cut into chunks and the
 * differing chunks are compared row by row, so the report names the rows.
 */
async function contentCheck(
  db: Db, step: CompiledStep, target: CompiledTarget, columns: Map<string, ColumnInfo>,
  minKey: number, maxKey: number, limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const id = `${step.name}.${target.alias}`;
  const base = { step: step.name, table: target.table };
  if (columns.size === 0) {
    return { id: `${id}.content`, kind: 'content', title: `${step.name} -> ${target.table}: table exists`, ...base, ok: false, failures: [], failureCount: 1 };
  }
  const srcFp = sourceFingerprintSql(target, columns);
  const tgtFp = targetFingerprintSql(target, columns);
  const key = `${quoteId(targetAlias)}.${quoteId(target.keyColumn)}`;
  // A LEFT JOIN to the lineage: a legacy row without its lineage row shows up as a row with no ID, not as no row.
  const source = `${step.fromClause}${step.lineageJoin.replace(/^ JOIN /, ' LEFT JOIN ')}`;
  const rows = targetRowsSql(step, target);
  const sourceSum = (lo: number, hi: number) => readChecksum(db,
    `SELECT ${aggregateSql(srcFp)} FROM ${source} WHERE ${targetFilter(step, target)} AND ${step.keySql} BETWEEN ? AND ?`, [lo, hi]);
  const targetSum = (lo: number, hi: number) => readChecksum(db,
    `SELECT ${aggregateSql(tgtFp)} FROM ${rows.from} WHERE ${rows.where}`, rows.params(lo, hi));

  const [src, tgt] = [await sourceSum(minKey, maxKey), await targetSum(minKey, maxKey)];
  const failures: CheckResult['failures'] = [];
  let failureCount = 0;
  if (!sameChecksum(src, tgt)) {
    for (let lo = minKey; lo <= maxKey && failures.length < limit; lo += drillChunk) {
      const hi = Math.min(lo + drillChunk - 1, maxKey);
      if (sameChecksum(await sourceSum(lo, hi), await targetSum(lo, hi))) continue;
      const expected = await db.query<{ id: string; lk: string; f: string }>(
        `SELECT ${step.idSql} AS id, ${step.keySql} AS lk, ${srcFp} AS f FROM ${source} WHERE ${targetFilter(step, target)} AND ${step.keySql} BETWEEN ? AND ?`, [lo, hi]);
      const actual = await db.query<{ id: string; f: string }>(
        `SELECT ${key} AS id, ${tgtFp} AS f FROM ${rows.from} WHERE ${rows.where}`, rows.params(lo, hi));
      const written = new Map(actual.map((r) => [String(r.id), r.f]));
      for (const e of expected) {
        const got = written.get(String(e.id));
        written.delete(String(e.id));
        if (got === e.f) continue;
        failureCount++;
        if (failures.length < limit) failures.push({ key: String(e.id), legacyKey: String(e.lk), reason: got === undefined ? 'missing' : 'differs from its legacy row' });
      }
      for (const extra of written.keys()) {
        failureCount++;
        if (failures.length < limit) failures.push({ key: extra, reason: 'no legacy row maps to it' });
      }
    }
  }
  const ok = sameChecksum(src, tgt);
  return {
    id: `${id}.content`, kind: 'content', ...base,
    title: `${step.name} -> ${target.table}: ${src.rows} row(s) expected, content as mapped`,
    ok, expected: src.rows, actual: tgt.rows, failures, failureCount: ok ? 0 : Math.max(failureCount, 1),
  };
}

/** Every extension row written by the step has its event. */
async function referenceCheck(
  db: Db, step: CompiledStep, target: CompiledTarget, range: { table: string; first: number; last: number }, limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const idTarget = step.targets.find((t) => t.table === step.idTable)!;
  const key = quoteQualified('x', target.keyColumn);
  const orphans = await db.query<{ id: string }>(
    `SELECT ${key} AS id FROM ${quoteId(target.table)} AS x LEFT JOIN ${quoteId(step.idTable)} AS e ON e.${quoteId(idTarget.keyColumn)} = ${key}
      WHERE ${key} BETWEEN ? AND ? AND e.${quoteId(idTarget.keyColumn)} IS NULL ORDER BY ${key} LIMIT ${limit + 1}`,
    [range.first, range.last],
  );
  return {
    id: `${step.name}.${target.alias}.references`, kind: 'references', step: step.name, table: target.table,
    title: `${step.name}: every ${target.table} row has its ${step.idTable} row`,
    ok: orphans.length === 0, failures: orphans.slice(0, limit).map((r) => ({ key: String(r.id), reason: `no ${step.idTable} row` })),
    failureCount: orphans.length,
  };
}

/** A table the run created holds only rows inside the reserved ranges. */
async function onlyRangesCheck(
  db: Db, table: string, ranges: readonly ReservedRange[], floor: number | null, limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const key = quoteId(ranges[0]!.keyColumn);
  const conditions = ranges.map(() => `${key} NOT BETWEEN ? AND ?`);
  const params: number[] = ranges.flatMap((r) => [r.first, r.last]);
  if (floor !== null) {
    conditions.push(`${key} < ?`);
    params.push(floor);
  }
  const rows = await db.query<{ id: string }>(`SELECT ${key} AS id FROM ${quoteId(table)} WHERE ${conditions.join(' AND ')} ORDER BY ${key} LIMIT ${limit + 1}`, params);
  return {
    id: `${table}.range`, kind: 'range', table,
    title: `${table}: every row${floor === null ? '' : ` below ${floor} (where the application's IDs begin)`} lies inside a reserved range`,
    ok: rows.length === 0, failures: rows.slice(0, limit).map((r) => ({ key: String(r.id), reason: 'outside every reserved range' })),
    failureCount: rows.length,
  };
}

/**
 * Where the application's own new IDs begin: the ID table's AUTO_INCREMENT when the run was planned. Rows the
 * application adds meanwhile (to a table the run created, for its own events) lie at or above it, before and after
 * any raise, so they are not the run's and not a failure; null when the ID table has no AUTO_INCREMENT.
 */
function applicationFloor(plan: Plan, ranges: readonly ReservedRange[]): number | null {
  const step = plan.steps.find((s) => s.name === ranges[0]!.step);
  const space = plan.idSpace.find((x) => x.table === step?.range?.table);
  return space?.hasAutoIncrement ? space.autoIncrement : null;
}

/** Rows that existed before the run (outside the reserved ranges, up to the backup's highest key) are unchanged. */
async function unchangedCheck(
  db: Db, pre: PreRunTable, renames: RenameState, ranges: readonly ReservedRange[],
): Promise<Omit<CheckResult, 'seconds'>> {
  const table = renames.tables.get(pre.name) ?? pre.name;
  const now = await preRunRowsChecksum(db, pre, renames, ranges);
  const ok = sameChecksum(now, pre.checksum!);
  return {
    id: `${pre.name}.unchanged`, kind: 'unchanged', table,
    title: `${table}: the ${pre.checksum!.rows} row(s) that existed before the run are unchanged`,
    ok, expected: `${pre.checksum!.rows} rows, sum ${pre.checksum!.hash}`, actual: `${now.rows} rows, sum ${now.hash}`,
    failures: ok ? [] : [{ key: '*', reason: `checksum differs from the backup (${now.rows} vs ${pre.checksum!.rows} rows)` }],
    failureCount: ok ? 0 : 1,
  };
}

/** The projected column holds exactly the aggregate the mapping defines, for every row of its table. */
async function projectionCheck(
  db: Db, p: ReturnType<typeof compileProjection>, columns: Map<string, ColumnInfo>, limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const info = columns.get(p.column.name);
  const title = `${p.table}.${p.column.name}: ${p.name} as defined`;
  const base = { id: `${p.name}.projection`, kind: 'projection' as const, table: p.table, title };
  if (!info) return { ...base, ok: false, failures: [{ key: '*', reason: `column ${p.column.name} does not exist` }], failureCount: 1 };
  const t = quoteId(p.alias);
  const keyInfo = columns.get(p.key)!;
  const keyPart = { expr: `${t}.${quoteId(p.key)}`, kind: valueKind(keyInfo) };
  const expectedFp = rowFingerprintSql([keyPart, { expr: castToColumnSql('es_v.v', info), kind: valueKind(info) }]);
  const actualFp = rowFingerprintSql([keyPart, { expr: `${t}.${quoteId(p.column.name)}`, kind: valueKind(info) }]);
  const from = `${quoteId(p.table)} AS ${t} LEFT JOIN (${p.aggregateSql}) AS es_v ON es_v.k = ${t}.${quoteId(p.key)}`;
  const [r] = await db.query<{ n: string; bad: string }>(`SELECT COUNT(*) AS n, SUM(${expectedFp} <> ${actualFp}) AS bad FROM ${from}`);
  const bad = Number(r!.bad ?? 0);
  const failures = bad === 0 ? [] : (await db.query<{ k: string; v: string | null; e: string | null }>(
    `SELECT ${t}.${quoteId(p.key)} AS k, ${t}.${quoteId(p.column.name)} AS v, es_v.v AS e FROM ${from}
      WHERE ${expectedFp} <> ${actualFp} ORDER BY k LIMIT ${limit}`)).map((row) => ({
    key: String(row.k), reason: `holds ${row.v ?? 'NULL'}, expected ${row.e ?? 'NULL'}`,
  }));
  return { ...base, ok: bad === 0, expected: Number(r!.n), actual: Number(r!.n) - bad, failures, failureCount: bad };
}

export { type TableNames };
