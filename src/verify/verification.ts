import type { Db } from '../db/connection.ts';
import { sameChecksum } from '../db/checksum.ts';
import { describeTable, type ColumnInfo } from '../db/introspect.ts';
import { quoteId, quoteQualified } from '../db/quote.ts';
import type { Mapping } from '../mapping/define.ts';
import type { CheckResult, PreRunTable, Verification } from './check-result.ts';
import {
  castToColumnSql,
  comparableSql,
  comparedColumns,
  compileProjection,
  compileStep,
  sourceTableNames,
  type CompiledStep,
  type CompiledTarget,
  type TableNames,
  targetAlias,
  targetRowsSql,
} from '../mapping/compile.ts';
import type { Plan } from '../plan/plan-data.ts';
import type { RenameState } from '../run/cutover.ts';
import { replayChecks } from './replay.ts';
import { connectAgain } from '../db/row-stream.ts';
import { sideBySide } from '../db/side-by-side.ts';
import { keyPieces } from '../engine/chunks.ts';
import { idChecks } from './id-checks.ts';
import { streamedContentChecks } from './streamed-content.ts';
import { csvChecks } from '../csv/run-steps.ts';
import { preRunRowsChecksum, reservedRanges, type ReservedRange } from '../run/pre-run-rows.ts';
import { describeChangedRow, preRunDifferences, unchangedRowLimit, withBackedUpRows, type BackupAt } from '../run/pre-run-diff.ts';
import { lookupChecks } from '../lookup/verify-lookup.ts';

export type { CheckResult, PreRunTable, Verification } from './check-result.ts';

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
  /** About how many legacy rows a content check compares per piece (default pieceRows, 50,000). */
  pieceRows?: number;
  /** Called after each check (or group of checks run by one query) with how many of `total` are done. */
  onProgress?: (done: number, total: number) => void;
  /**
   * The run's backup: when the rows that existed before the run differ from it, the check names them (key and
   * columns) from the backup's rows; without it, only their checksums are compared.
   */
  backup?: BackupAt;
  /**
   * Awaited before each check with the worker's connection: lets a run pause between checks (migrate's --pause-file),
   * that connection kept alive meanwhile.
   */
  beforeCheck?: (db: Db) => Promise<void>;
}

/** Runs every check the mapping implies. Never throws for a failed check: each one is a result. */
export async function verifyMapping(ctx: VerifyContext): Promise<Verification> {
  const started = ctx.now();
  const limit = ctx.failureLimit ?? 50;
  const names = sourceTableNames(ctx.mapping, ctx.renames);
  const checks: CheckResult[] = [];
  const tableOf = memoTables();
  const columnsOf = async (table: string, db: Db) => (await tableOf(table, db)).columns;
  // Every check is listed first, so progress can say how many of how many are done.
  // `weight`: how many checks an item gives (some queries give several); `run` gets the connection to work on;
  // `rows`: about how many rows it reads (each row looked up in another table counted again), to start long ones first.
  const work: Array<{ weight: number; first?: boolean; rows?: number; run: (db: Db) => Promise<Array<Omit<CheckResult, 'seconds'>>> }> = [];
  const one = (fn: (db: Db) => Promise<Omit<CheckResult, 'seconds'>>, rows = 0) =>
    work.push({ weight: 1, rows, run: async (db) => [await fn(db)] });

  const compiled = ctx.plan.steps.filter((s) => s.range).map((s) => compileStep(ctx.mapping, s, { names, runId: ctx.runId }));

  for (const step of compiled) {
    const planned = ctx.plan.steps.find((s) => s.name === step.name)!;
    const range = planned.range!;
    const source = ctx.plan.sources.find((s) => s.alias === step.fromAlias)!;
    work.push({
      weight: step.targets.length + step.targets.filter((t) => t.table !== step.idTable).length,
      rows: planned.sourceRows * (1 + step.targets.length),
      run: async (db) => {
        // Steps with code() columns are compared row by row, their code computed again (streamed-content.ts).
        const tables = await Promise.all(step.targets.map((t) => tableOf(t.table, db)));
        const checked = { db, step, minKey: source.minKey!, maxKey: source.maxKey!, limit };
        const content = step.streamed
          ? await streamedContentChecks({ ...checked, columns: tables.map((t) => t.columns) })
          : await contentChecks({ ...checked, tables, sourceRows: planned.sourceRows, rowsPerPiece: ctx.pieceRows ?? pieceRows });
        const results: Array<Omit<CheckResult, 'seconds'>> = [];
        const idContent = content[step.targets.findIndex((t) => t.table === step.idTable)]!;
        for (const [i, target] of step.targets.entries()) {
          results.push(content[i]!);
          if (target.table === step.idTable) continue;
          // With offset IDs, the two content checks passing prove it: the extension rows in the range are exactly the
          // mapped ones, whose keys are a subset of the mapped ID-table rows, which are exactly those in the range.
          const implied = step.ids.strategy === 'offset' && idContent.ok && content[i]!.ok;
          results.push(implied ? impliedReference(step, target) : await referenceCheck(db, step, target, range, limit));
        }
        return results;
      },
    });
  }

  // idChecks gives one check per dense step and two for the chronological steps together; csvChecks one per CSV source.
  const numbered =
    ctx.plan.steps.filter((s) => s.range && s.ids.strategy === 'dense').length +
    (ctx.plan.steps.some((s) => s.range && s.ids.strategy === 'chronological') ? 2 : 0);
  if (numbered > 0) work.push({ weight: numbered, run: (db) => idChecks(db, ctx.plan, ctx.runId, limit) });
  const csvSources = ctx.plan.sources.filter((s) => s.csv).length;
  if (csvSources > 0) work.push({ weight: csvSources, run: (db) => csvChecks(db, ctx.plan, ctx.runId) });

  const rangesByTable = reservedRanges(ctx.plan);

  for (const [table, ranges] of rangesByTable) {
    const pre = ctx.preRun.find((t) => t.name === table);
    if (pre && !pre.exists) one((db) => onlyRangesCheck(db, table, ranges, applicationFloor(ctx.plan, ranges), limit));
  }

  for (const pre of ctx.preRun) {
    if (!pre.exists || !pre.checksum) continue;
    one((db) => unchangedCheck(db, pre, ctx.renames, rangesByTable.get(pre.name) ?? [], ctx.backup), pre.checksum.rows);
  }

  for (const [name, p] of Object.entries(ctx.mapping.projections ?? {})) {
    const projection = compileProjection(name, p, names);
    // Its table, and the aggregate's source grouped.
    const rows =
      (ctx.plan.projections.find((x) => x.name === name)?.tableRows ?? 0) +
      (ctx.plan.sources.find((x) => x.alias === p.value.from)?.rows ?? 0);
    one(async (db) => projectionCheck(db, projection, await columnsOf(projection.table, db), limit), rows);
  }

  work.push(...lookupChecks({ mapping: ctx.mapping, plan: ctx.plan, preRun: ctx.preRun, runId: ctx.runId, limit, renames: ctx.renames }));

  for (const [name, replay] of Object.entries(ctx.mapping.replays ?? {})) {
    // The longest check (its events query reads every event): started first, on connections of its own.
    work.push({
      weight: Object.keys(replay.compare).length,
      first: true,
      run: () => replayChecks({ connectSide: () => connectAgain(ctx.db), mapping: ctx.mapping, renames: ctx.renames, name, replay, limit }),
    });
  }

  // Two workers, each on a connection of its own, take the items in turn: a server with two cores or more works on
  // two checks at once. The replays first, then the others, the longest first, so that no long check is left for
  // one worker at the end while the other has nothing to do. The report lists the checks in the order above,
  // whatever order they run in.
  const total = work.reduce((n, w) => n + w.weight, 0);
  const results: Array<CheckResult[]> = [];
  const queue = [...work.keys()].sort(
    (a, b) => Number(Boolean(work[b]!.first)) - Number(Boolean(work[a]!.first)) || (work[b]!.rows ?? 0) - (work[a]!.rows ?? 0),
  );
  let done = 0;
  ctx.onProgress?.(0, total);
  const worker = async (db: Db) => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      await ctx.beforeCheck?.(db);
      const t0 = performance.now();
      const found = await work[i]!.run(db).catch((error: unknown) => {
        queue.length = 0; // the other worker stops after its current item
        throw error;
      });
      // Checks computed together share the time they took.
      const seconds = round((performance.now() - t0) / 1000 / Math.max(1, found.length));
      results[i] = found.map((r) => ({ ...r, seconds }));
      ctx.onProgress?.((done += work[i]!.weight), total);
    }
  };
  const second = await connectAgain(ctx.db);
  const settled = await Promise.allSettled([worker(ctx.db), worker(second)]);
  await second.close();
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  checks.push(...results.flat());

  return {
    ok: checks.every((c) => c.ok),
    checks,
    startedAt: started.toISOString(),
    seconds: round((ctx.now().getTime() - started.getTime()) / 1000),
  };
}

/** A table's columns by name and its primary key, as verification needs them (no columns: the table is missing). */
interface DescribedTable {
  columns: Map<string, ColumnInfo>;
  primaryKey: readonly string[];
}

function memoTables() {
  const cache = new Map<string, DescribedTable>();
  return async (table: string, db: Db) => {
    if (!cache.has(table)) {
      const info = await describeTable(db, table);
      cache.set(table, { columns: new Map((info?.columns ?? []).map((c) => [c.name, c])), primaryKey: info?.primaryKey ?? [] });
    }
    return cache.get(table)!;
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * About how many legacy rows contentChecks compares per piece: a piece's target rows are counted right after they were
 * compared, while their pages are still in the buffer pool. At 500,000 pulls and the default 128 MiB buffer pool, a
 * count over a whole range read two thirds of its pages from disk again.
 */
const pieceRows = 50_000;

/** One step's content, compared over its legacy key range; up to `limit` failures are named per check. */
interface ContentCheck {
  db: Db;
  step: CompiledStep;
  /** Each target's table as it is, in `step.targets` order. */
  tables: readonly DescribedTable[];
  minKey: number;
  maxKey: number;
  /** The legacy rows the plan counted in the range. */
  sourceRows: number;
  rowsPerPiece: number;
  limit: number;
}

/**
 * Count and content of each target's rows for one step, row by row and value by value, in one pass over the step's
 * source: each legacy row in the key range is joined to the row it maps to in every target (by the ID the step gave
 * it) and every mapped value is compared exactly with the stored one (comparableSql). Then each target's rows in the
 * range are counted: with every mapped row found and equal, and no ID on two rows, an equal count proves there is no
 * other row. No fingerprint, so no collision can hide a difference; the failures name the rows and the columns that
 * differ. Targets whose key column is their primary key are joined in one query; a target keyed otherwise gets a query
 * of its own (two rows with one ID would repeat the legacy row in every target's sums) and a check that no ID is on
 * two of its rows. The range is compared in pieces of equal key width, about `rowsPerPiece` of its `sourceRows` each,
 * two at once (this connection and one more), each piece's target rows counted after its comparison. Results in the
 * order of `step.targets`.
 */
async function contentChecks({
  db,
  step,
  tables,
  minKey,
  maxKey,
  sourceRows,
  rowsPerPiece,
  limit,
}: ContentCheck): Promise<Array<Omit<CheckResult, 'seconds'>>> {
  // A LEFT JOIN to the lineage: a legacy row without its lineage row shows up as a row with no ID, not as no row.
  const source = `${step.fromClause}${step.lineageJoin.replace(/^ JOIN /, ' LEFT JOIN ')}`;
  const inRange = `(${step.where}) AND ${step.keySql} BETWEEN ? AND ?`;
  const compared = await Promise.all(
    step.targets.map(async (target, i) => {
      const { columns, primaryKey } = tables[i]!;
      if (columns.size === 0) return null;
      const unique = primaryKey.length === 1 && primaryKey[0] === target.keyColumn;
      const alias = `es_t${i}`;
      const key = `${quoteId(alias)}.${quoteId(target.keyColumn)}`;
      const values = await foldLiterals(db, comparedColumns(target, columns, alias));
      const differs = values.map((v) => `NOT (${v.mapped} <=> ${v.stored})`);
      return {
        target,
        i,
        key,
        values,
        unique,
        rows: targetRowsSql(step, target),
        join: ` LEFT JOIN ${quoteId(target.table)} AS ${quoteId(alias)} ON ${key} = ${step.idSql}`,
        when: target.when === undefined ? '1=1' : `(${target.when})`,
        bad: `${key} IS NULL${differs.map((d) => ` OR ${d}`).join('')}`,
        differs,
      };
    }),
  );
  const present = compared.filter((c) => c !== null);
  const groups = [present.filter((c) => c.unique), ...present.filter((c) => !c.unique).map((c) => [c])].filter((g) => g.length > 0);
  const sumsOf = (group: typeof present) =>
    group
      .flatMap((c) => [
        `SUM(CASE WHEN ${c.when} THEN 1 ELSE 0 END) AS n${c.i}`,
        `SUM(CASE WHEN ${c.when} AND ${c.key} IS NULL THEN 1 ELSE 0 END) AS m${c.i}`,
        `SUM(CASE WHEN ${c.when} AND (${c.bad}) THEN 1 ELSE 0 END) AS b${c.i}`,
      ])
      .join(', ');
  const width = Math.ceil((maxKey - minKey + 1) / Math.max(1, Math.ceil(sourceRows / rowsPerPiece)));
  // Each piece: its sums (n, m, b per target) and its target rows counted (a per target), in one record.
  const parts = await sideBySide(
    db,
    keyPieces(minKey, maxKey, width).map(({ lo, hi }) => async (on: Db) => {
      const part: Record<string, number> = {};
      for (const group of groups) {
        const [row] = await on.query<Record<string, string | number | null>>(
          `SELECT ${sumsOf(group)} FROM ${source}${group.map((c) => c.join).join('')} WHERE ${inRange}`,
          [lo, hi],
        );
        for (const [column, value] of Object.entries(row ?? {})) part[column] = Number(value ?? 0);
      }
      for (const c of present) {
        const [counted] = await on.query<{ n: string | number }>(
          `SELECT COUNT(*) AS n FROM ${c.rows.from} WHERE ${c.rows.where}`,
          c.rows.params(lo, hi),
        );
        part[`a${c.i}`] = Number(counted?.n ?? 0);
      }
      return part;
    }),
  );
  const total = (column: string) => parts.reduce((n, part) => n + (part[column] ?? 0), 0);
  const results: Array<Omit<CheckResult, 'seconds'>> = [];
  for (const [i, target] of step.targets.entries()) {
    const base = { id: `${step.name}.${target.alias}.content`, kind: 'content' as const, step: step.name, table: target.table };
    const c = compared[i];
    if (!c) {
      results.push({ ...base, title: `${step.name} -> ${target.table}: table exists`, ok: false, failures: [], failureCount: 1 });
      continue;
    }
    const expected = total(`n${i}`);
    const missing = total(`m${i}`);
    const bad = total(`b${i}`);
    const actual = total(`a${i}`);
    const rows = c.rows;
    const failures: CheckResult['failures'] = [];
    // Two rows with one ID (possible only where the key is not the primary key) are each a failure of their own.
    const t = quoteQualified(targetAlias, target.keyColumn);
    const repeated = c.unique
      ? []
      : await db.query<{ id: string; n: string | number }>(
          `SELECT ${t} AS id, COUNT(*) AS n FROM ${rows.from} WHERE ${rows.where} GROUP BY ${t} HAVING COUNT(*) > 1 ORDER BY ${t}`,
          rows.params(minKey, maxKey),
        );
    for (const r of repeated.slice(0, limit)) failures.push({ key: String(r.id), reason: `${r.n} rows have this ID` });
    const repeats = repeated.reduce((n, r) => n + Number(r.n) - 1, 0);
    // Every row found is in the range, so the rows beyond those found (and their repeats) are rows no legacy row maps to.
    const extra = actual - repeats - (expected - missing);
    if (bad > 0) {
      const flags = c.differs.map((d, j) => `${d} AS d${j}`);
      const found = await db.query<Record<string, string | number | null>>(
        `SELECT ${step.idSql} AS id, ${step.keySql} AS lk, ${c.key} IS NULL AS missing${flags.map((f) => `, ${f}`).join('')}
           FROM ${source}${c.join} WHERE ${inRange} AND ${c.when} AND (${c.bad}) ORDER BY ${step.keySql} LIMIT ${limit}`,
        [minKey, maxKey],
      );
      for (const f of found) {
        const columnsDiffering = c.values.filter((_, j) => Number(f[`d${j}`]) === 1).map((v) => v.name);
        failures.push({
          key: String(f.id),
          legacyKey: String(f.lk),
          reason:
            Number(f.missing) === 1
              ? 'missing'
              : `differs from its legacy row in ${columnsDiffering.length === 1 ? 'column' : 'columns'} ${columnsDiffering.join(', ')}`,
        });
      }
    }
    if (extra > 0 && failures.length < limit) {
      const mappedIds = `SELECT ${step.idSql} AS es_id FROM ${source} WHERE ${inRange} AND ${c.when}`;
      const extras = await db.query<{ id: string }>(
        `SELECT ${t} AS id FROM ${rows.from} LEFT JOIN (${mappedIds}) AS es_m ON es_m.es_id = ${t}
          WHERE ${rows.where} AND es_m.es_id IS NULL ORDER BY ${t} LIMIT ${limit - failures.length}`,
        [minKey, maxKey, ...rows.params(minKey, maxKey)],
      );
      for (const x of extras) failures.push({ key: String(x.id), reason: 'no legacy row maps to it' });
    }
    const ok = bad === 0 && extra === 0 && repeated.length === 0;
    results.push({
      ...base,
      title: `${step.name} -> ${target.table}: ${expected} row(s) expected, content as mapped`,
      ok,
      expected,
      actual,
      failures,
      failureCount: ok ? 0 : Math.max(bad + Math.max(extra, 0) + repeated.length, 1),
    });
  }
  return results;
}

/**
 * The compared columns with each literal's mapped side evaluated once by the server and written back as the bytes it
 * gave: the server evaluates a constant CONVERT() for every row (two literal columns made a 650,000-row comparison
 * twice as slow). Only text and binary literals, whose comparable form is bytes.
 */
async function foldLiterals<T extends { mapped: string; literal: boolean }>(db: Db, values: T[]): Promise<T[]> {
  const literals = values.flatMap((v, j) => (v.literal ? [j] : []));
  if (literals.length === 0) return values;
  const [row] = await db.query<Record<string, string | null>>(
    `SELECT ${literals.map((j, k) => `HEX(${values[j]!.mapped}) AS v${k}`).join(', ')}`,
  );
  const folded = [...values];
  literals.forEach((j, k) => {
    const hex = row?.[`v${k}`];
    folded[j] = { ...values[j]!, mapped: hex === null || hex === undefined ? 'NULL' : `_binary X'${hex}'` };
  });
  return folded;
}

const referenceTitle = (step: CompiledStep, target: CompiledTarget) =>
  `${step.name}: every ${target.table} row has its ${step.idTable} row`;

function impliedReference(step: CompiledStep, target: CompiledTarget): Omit<CheckResult, 'seconds'> {
  return {
    id: `${step.name}.${target.alias}.references`,
    kind: 'references',
    step: step.name,
    table: target.table,
    title: referenceTitle(step, target),
    ok: true,
    actual: `implied by the content checks of ${target.table} and ${step.idTable}`,
    failures: [],
    failureCount: 0,
  };
}

/** Every extension row written by the step has its event. */
async function referenceCheck(
  db: Db,
  step: CompiledStep,
  target: CompiledTarget,
  range: { table: string; first: number; last: number },
  limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const idTarget = step.targets.find((t) => t.table === step.idTable)!;
  const key = quoteQualified('x', target.keyColumn);
  const orphans = await db.query<{ id: string }>(
    `SELECT ${key} AS id FROM ${quoteId(target.table)} AS x ` +
      `LEFT JOIN ${quoteId(step.idTable)} AS e ON e.${quoteId(idTarget.keyColumn)} = ${key}
      WHERE ${key} BETWEEN ? AND ? AND e.${quoteId(idTarget.keyColumn)} IS NULL ORDER BY ${key} LIMIT ${limit + 1}`,
    [range.first, range.last],
  );
  return {
    id: `${step.name}.${target.alias}.references`,
    kind: 'references',
    step: step.name,
    table: target.table,
    title: referenceTitle(step, target),
    ok: orphans.length === 0,
    failures: orphans.slice(0, limit).map((r) => ({ key: String(r.id), reason: `no ${step.idTable} row` })),
    failureCount: orphans.length,
  };
}

/** A table the run created holds only rows inside the reserved ranges. */
async function onlyRangesCheck(
  db: Db,
  table: string,
  ranges: readonly ReservedRange[],
  floor: number | null,
  limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const key = quoteId(ranges[0]!.keyColumn);
  const conditions = ranges.map(() => `${key} NOT BETWEEN ? AND ?`);
  const params: number[] = ranges.flatMap((r) => [r.first, r.last]);
  if (floor !== null) {
    conditions.push(`${key} < ?`);
    params.push(floor);
  }
  const rows = await db.query<{ id: string }>(
    `SELECT ${key} AS id FROM ${quoteId(table)} WHERE ${conditions.join(' AND ')} ORDER BY ${key} LIMIT ${limit + 1}`,
    params,
  );
  return {
    id: `${table}.range`,
    kind: 'range',
    table,
    title: `${table}: every row${floor === null ? '' : ` below ${floor} (where the application's IDs begin)`} lies inside a reserved range`,
    ok: rows.length === 0,
    failures: rows.slice(0, limit).map((r) => ({ key: String(r.id), reason: 'outside every reserved range' })),
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
  db: Db,
  pre: PreRunTable,
  renames: RenameState,
  ranges: readonly ReservedRange[],
  backup: BackupAt | undefined,
): Promise<Omit<CheckResult, 'seconds'>> {
  const table = renames.tables.get(pre.name) ?? pre.name;
  const now = await preRunRowsChecksum(db, pre, renames, ranges);
  const ok = sameChecksum(now, pre.checksum!);
  const base = {
    id: `${pre.name}.unchanged`,
    kind: 'unchanged' as const,
    table,
    title: `${table}: the ${pre.checksum!.rows} row(s) that existed before the run are unchanged`,
    ok,
    expected: `${pre.checksum!.rows} rows, sum ${pre.checksum!.hash}`,
    actual: `${now.rows} rows, sum ${now.hash}`,
  };
  if (ok) return { ...base, failures: [], failureCount: 0 };
  const checksumOnly = (why: string) => ({
    ...base,
    failureCount: 1,
    failures: [{ key: '*', reason: `checksum differs from the backup (${now.rows} vs ${pre.checksum!.rows} rows); ${why}` }],
  });
  const entry = backup?.manifest.tables.find((t) => t.name === pre.name);
  if (!backup || !entry?.exists) return checksumOnly('the backup is not at hand to name the rows');
  if (entry.primaryKey.length === 0) return checksumOnly('the table has no primary key to name its rows by');
  // Which rows and columns: the backup's rows loaded beside the table and compared row by row.
  const diff = await withBackedUpRows(db, { backup, entry, renames }, (staged) =>
    preRunDifferences(db, { entry, staged, renames, ranges, limit: unchangedRowLimit }),
  ).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  if (diff instanceof Error) return checksumOnly(`the rows could not be compared with the backup's: ${diff.message}`);
  if (diff.count === 0) {
    return checksumOnly(
      "no row differs from the backup's by primary key and value, so the difference is in rows the checksum reads " +
        'and the comparison does not',
    );
  }
  return { ...base, failures: diff.rows.map((r) => ({ key: r.key, reason: describeChangedRow(r) })), failureCount: diff.count };
}

/** The projected column holds exactly the aggregate the mapping defines, for every row of its table. */
async function projectionCheck(
  db: Db,
  p: ReturnType<typeof compileProjection>,
  columns: Map<string, ColumnInfo>,
  limit: number,
): Promise<Omit<CheckResult, 'seconds'>> {
  const info = columns.get(p.column.name);
  const title = `${p.table}.${p.column.name}: ${p.name} as defined`;
  const base = { id: `${p.name}.projection`, kind: 'projection' as const, table: p.table, title };
  if (!info) return { ...base, ok: false, failures: [{ key: '*', reason: `column ${p.column.name} does not exist` }], failureCount: 1 };
  const t = quoteId(p.alias);
  // Row by row, compared exactly as the content checks compare (comparableSql; NULL only equal to NULL).
  const mapped = comparableSql(castToColumnSql('es_v.v', info), info);
  const stored = comparableSql(`${t}.${quoteId(p.column.name)}`, info, true);
  const differs = `NOT (${mapped} <=> ${stored})`;
  const from = `${quoteId(p.table)} AS ${t} LEFT JOIN (${p.aggregateSql}) AS es_v ON es_v.k = ${t}.${quoteId(p.key)}`;
  const [r] = await db.query<{ n: string; bad: string }>(`SELECT COUNT(*) AS n, SUM(${differs}) AS bad FROM ${from}`);
  const bad = Number(r!.bad ?? 0);
  const failures =
    bad === 0
      ? []
      : (
          await db.query<{ k: string; v: string | null; e: string | null }>(
            `SELECT ${t}.${quoteId(p.key)} AS k, ${t}.${quoteId(p.column.name)} AS v, es_v.v AS e FROM ${from}
      WHERE ${differs} ORDER BY k LIMIT ${limit}`,
          )
        ).map((row) => ({
          key: String(row.k),
          reason: `holds ${row.v ?? 'NULL'}, expected ${row.e ?? 'NULL'}`,
        }));
  return { ...base, ok: bad === 0, expected: Number(r!.n), actual: Number(r!.n) - bad, failures, failureCount: bad };
}

export { type TableNames };
