import type { Db } from '../db/connection.ts';
import { quoteId, quoteQualified } from '../db/quote.ts';
import { sideBySide } from '../db/side-by-side.ts';
import { keyPieces } from '../engine/chunks.ts';
import { compileStep, comparedColumns, targetAlias, targetRowsSql, type CompiledStep, type CompiledTarget } from '../mapping/compile.ts';
import type { CheckResult, ContentCompare } from '../verify/check-result.ts';
import { idChecks } from './steps-id-checks.ts';
import { shownValue, shownValueSql } from './failing-values.ts';
import { streamedContentChecks } from './steps-streamed-checks.ts';
import type { Check, CheckScope, CheckWork, DescribedTable } from './part.ts';
import { formatCount } from '../format.ts';

/**
 * The steps' checks: per step, the content of each target compared row by row with its legacy rows (computed again
 * in Node for a streamed step, steps-streamed-checks.ts) and each extension row's reference to its ID-table row; then the
 * numbering of the steps whose IDs the lineage records (steps-id-checks.ts).
 */
export function stepChecks(v: CheckScope): CheckWork[] {
  const { plan, limit } = v;
  const work: CheckWork[] = [];
  const compiled = plan.steps.filter((s) => s.range).map((s) => compileStep(v.mapping, s, { names: v.names, runId: v.runId }));
  for (const step of compiled) {
    const planned = plan.steps.find((s) => s.name === step.name)!;
    const range = planned.range!;
    const source = plan.sources.find((s) => s.alias === step.fromAlias)!;
    work.push({
      weight: step.targets.length + step.targets.filter((t) => t.table !== step.idTable).length,
      rows: planned.sourceRows * (1 + step.targets.length),
      run: async (db) => {
        // Steps with code() columns are compared row by row, their code computed again (steps-streamed-checks.ts).
        const tables = await Promise.all(step.targets.map((t) => v.tableOf(t.table, db)));
        const checked = { db, step, minKey: source.minKey!, maxKey: source.maxKey!, limit };
        const how = v.contentCompare ?? 'exact';
        const content = step.streamed
          ? await streamedContentChecks({ ...checked, columns: tables.map((t) => t.columns) })
          : await contentChecks({ ...checked, tables, sourceRows: planned.sourceRows, rowsPerPiece: v.pieceRows ?? pieceRows, how });
        const results: Check[] = [];
        const idContent = content[step.targets.findIndex((t) => t.table === step.idTable)]!;
        for (const [i, target] of step.targets.entries()) {
          results.push(content[i]!);
          if (target.table === step.idTable) continue;
          // With offset IDs, the two content checks passing prove it: the extension rows in the range are exactly the
          // mapped ones, whose keys are a subset of the mapped ID-table rows, which are exactly those in the range.
          const implied = step.ids.strategy === 'offset' && idContent.ok && content[i]!.ok;
          results.push(implied ? impliedReference(step, target) : await referenceCheck({ db, step, target, range, limit }));
        }
        return results;
      },
    });
  }
  // idChecks gives one check per dense step and two for the chronological steps together.
  const numbered =
    plan.steps.filter((s) => s.range && s.ids.strategy === 'dense').length +
    (plan.steps.some((s) => s.range && s.ids.strategy === 'chronological') ? 2 : 0);
  if (numbered > 0) work.push({ weight: numbered, run: (db) => idChecks(db, plan, v.runId, limit) });
  return work;
}

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
  /** `exact`: every piece row by row; `hash`: each piece's two sides hashed first, and compared row by row only where they differ. */
  how: ContentCompare;
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
async function contentChecks(check: ContentCheck): Promise<Check[]> {
  const { step } = check;
  const sql = contentSql(step);
  const compared = await Promise.all(step.targets.map((target, i) => comparedTarget(check, target, i)));
  const parts = await pieceCounts(check, sql, compared);
  const total = (column: string) => parts.reduce((n, part) => n + (part[column] ?? 0), 0);
  const results: Check[] = [];
  for (const [i, target] of step.targets.entries()) {
    const c = compared[i];
    if (c) results.push(await targetContent(check, sql, c, total));
    else
      results.push({
        ...contentBase(step, target),
        title: `${step.name} -> ${target.table}: table exists`,
        ok: false,
        failures: [],
        failureCount: 1,
      });
  }
  return results;
}

/** The SQL every content query of a step shares: its source, lineage joined, and its legacy key range. */
interface ContentSql {
  source: string;
  inRange: string;
}

function contentSql(step: CompiledStep): ContentSql {
  // A LEFT JOIN to the lineage: a legacy row without its lineage row shows up as a row with no ID, not as no row.
  return {
    source: `${step.fromClause}${step.lineageJoin.replace(/^ JOIN /, ' LEFT JOIN ')}`,
    inRange: `(${step.where}) AND ${step.keySql} BETWEEN ? AND ?`,
  };
}

function contentBase(step: CompiledStep, target: CompiledTarget) {
  return { id: `${step.name}.${target.alias}.content`, kind: 'content' as const, step: step.name, table: target.table };
}

/** How one target is compared: its join to the legacy rows, its compared values, its condition of a bad row; null if it has no table. */
async function comparedTarget({ db, step, tables }: ContentCheck, target: CompiledTarget, i: number) {
  const { columns, primaryKey } = tables[i]!;
  if (columns.size === 0) return null;
  const unique = primaryKey.length === 1 && primaryKey[0] === target.keyColumn;
  const alias = `es_t${i}`;
  const key = `${quoteId(alias)}.${quoteId(target.keyColumn)}`;
  const values = await foldLiterals(db, comparedColumns(target, columns, alias));
  const differs = values.map((v) => `NOT (${v.mapped} <=> ${v.stored})`);
  // The same values over the target's rows as targetRowsSql reads them (alias es_t), for the stored side's hash.
  const stored = comparedColumns(target, columns, targetAlias).map((v) => v.stored);
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
    hashed: {
      mapped: rowTextSql(
        step.idSql,
        values.map((v) => v.mapped),
      ),
      stored: rowTextSql(quoteQualified(targetAlias, target.keyColumn), stored),
    },
  };
}

type ComparedTarget = NonNullable<Awaited<ReturnType<typeof comparedTarget>>>;

/**
 * Per piece of the key range: its sums (n, m, b per target: mapped, missing, bad) and its target rows counted (a per
 * target), in one record, and how many pieces were settled by their hashes (h) and row by row (r). With `hash`, each
 * piece is hashed first on both sides (pieceHashes); a target whose hashes and counts agree is settled with no row
 * missing or bad, and only the others are compared row by row. Targets keyed by their primary key share one query;
 * each other target has its own.
 */
async function pieceCounts(
  { db, minKey, maxKey, sourceRows, rowsPerPiece, how }: ContentCheck,
  { source, inRange }: ContentSql,
  compared: ReadonlyArray<ComparedTarget | null>,
): Promise<Array<Record<string, number>>> {
  const present = compared.filter((c) => c !== null);
  const sumsOf = (group: typeof present) =>
    group
      .flatMap((c) => [
        `SUM(CASE WHEN ${c.when} THEN 1 ELSE 0 END) AS n${c.i}`,
        `SUM(CASE WHEN ${c.when} AND ${c.key} IS NULL THEN 1 ELSE 0 END) AS m${c.i}`,
        `SUM(CASE WHEN ${c.when} AND (${c.bad}) THEN 1 ELSE 0 END) AS b${c.i}`,
      ])
      .join(', ');
  const width = Math.ceil((maxKey - minKey + 1) / Math.max(1, Math.ceil(sourceRows / rowsPerPiece)));
  return sideBySide(
    db,
    keyPieces(minKey, maxKey, width).map(({ lo, hi }) => async (on: Db) => {
      const part: Record<string, number> = {};
      const settled = how === 'hash' ? await pieceHashes(on, { source, inRange }, present, lo, hi) : new Map<number, number>();
      for (const [i, rows] of settled) Object.assign(part, { [`n${i}`]: rows, [`m${i}`]: 0, [`b${i}`]: 0, [`a${i}`]: rows, [`h${i}`]: 1 });
      const rest = present.filter((c) => !settled.has(c.i));
      const groups = [rest.filter((c) => c.unique), ...rest.filter((c) => !c.unique).map((c) => [c])].filter((g) => g.length > 0);
      for (const group of groups) {
        const [row] = await on.query<Record<string, string | number | null>>(
          `SELECT ${sumsOf(group)} FROM ${source}${group.map((c) => c.join).join('')} WHERE ${inRange}`,
          [lo, hi],
        );
        for (const [column, value] of Object.entries(row ?? {})) part[column] = Number(value ?? 0);
      }
      for (const c of rest) {
        const [counted] = await on.query<{ n: string | number }>(
          `SELECT COUNT(*) AS n FROM ${c.rows.from} WHERE ${c.rows.where}`,
          c.rows.params(lo, hi),
        );
        part[`a${c.i}`] = Number(counted?.n ?? 0);
        part[`r${c.i}`] = 1;
      }
      return part;
    }),
  );
}

/**
 * SQL for a row's text as the hash tier reads it: its ID, then each compared value in its comparable form (the forms
 * `<=>` compares row by row: bytes, a DOUBLE, or a value of the column's own type), each through QUOTE(): a value is
 * `'...'` with its quotes and backslashes escaped, and SQL NULL the bare word NULL, so NULL and '' differ and no comma
 * inside a value can be taken for a separator. CONCAT, not CONCAT_WS: QUOTE() of a value whose quoted form would
 * exceed max_allowed_packet is NULL, and CONCAT_WS would leave that value out of the text on both sides, unseen; the
 * whole text is NULL instead, and its piece is compared row by row (setHashSql).
 */
function rowTextSql(id: string, values: readonly string[]): string {
  return `CONCAT(${[id, ...values].map((v) => `QUOTE(${v})`).join(", ',', ")})`;
}

/**
 * The hash of a set of rows (the `hash` tier): 128 bits per row, the first 32 hex digits of the SHA-1 of its text as
 * two unsigned 64-bit halves, each half summed over the rows (exact DECIMAL sums: order-independent, and a repeated
 * row counts twice), with the row count. A row whose text is NULL (longer than max_allowed_packet) adds 2^100 to the
 * first sum instead, which setHash tells from any sum of halves. The text and its SHA-1 are built once per half: a
 * user variable would save that, but only if the server evaluated the two sums in order. On MariaDB 10.11, hashing
 * the texts of 500,000 hold rows took about 0.2 s with SHA1() and 0.8 s with MD5(), besides 0.7 s building them.
 */
function setHashSql(text: string, as: string, when = '1=1'): string {
  const half = (from: number) => `CAST(CONV(SUBSTRING(SHA1(${text}), ${from}, 16), 16, 10) AS UNSIGNED)`;
  return (
    `SUM(CASE WHEN ${when} THEN 1 ELSE 0 END) AS ${as}n, SUM(CASE WHEN ${when} THEN IFNULL(${half(1)}, ${untexted}) END) AS ${as}p, ` +
    `SUM(CASE WHEN ${when} THEN ${half(17)} END) AS ${as}q`
  );
}

/** 2^100: above any sum of 64-bit halves of fewer than 2^36 rows, so the first sum's quotient by it counts untexted rows. */
const untexted = 2n ** 100n;

/**
 * The sums of setHashSql as one comparable string; null when a row had no text (its text would exceed
 * max_allowed_packet): the piece is then compared row by row.
 */
function setHash(row: Record<string, unknown> | undefined, as: string): { rows: number; hash: string | null } {
  const [rows, first, second] = ['n', 'p', 'q'].map((k) => BigInt(String(row?.[`${as}${k}`] ?? '0')));
  return { rows: Number(rows), hash: first! >= untexted ? null : `${first}:${second}` };
}

/**
 * One piece's hash tier: the mapped rows of every target hashed in one pass over the source (setHashSql, over the
 * values as mapped and the ID the step gave), each target's rows in the piece hashed in one pass over the target
 * (the stored values and the key). Returns, for each target whose counts and hashes agree, its row count; a target
 * left out is compared row by row.
 */
async function pieceHashes(
  on: Db,
  { source, inRange }: ContentSql,
  present: readonly ComparedTarget[],
  lo: number,
  hi: number,
): Promise<Map<number, number>> {
  if (present.length === 0) return new Map();
  const [mapped] = await on.query<Record<string, unknown>>(
    `SELECT ${present.map((c) => setHashSql(c.hashed.mapped, `t${c.i}`, c.when)).join(', ')} FROM ${source} WHERE ${inRange}`,
    [lo, hi],
  );
  const settled = new Map<number, number>();
  for (const c of present) {
    const expected = setHash(mapped, `t${c.i}`);
    const [stored] = await on.query<Record<string, unknown>>(
      `SELECT ${setHashSql(c.hashed.stored, 's')} FROM ${c.rows.from} WHERE ${c.rows.where}`,
      c.rows.params(lo, hi),
    );
    const found = setHash(stored, 's');
    if (expected.hash !== null && expected.rows === found.rows && expected.hash === found.hash) settled.set(c.i, found.rows);
  }
  return settled;
}

/** One target's content check from the totals of its pieces, naming up to `limit` rows that fail. */
async function targetContent(check: ContentCheck, sql: ContentSql, c: ComparedTarget, total: (column: string) => number): Promise<Check> {
  const { step, limit } = check;
  const { target, i } = c;
  const expected = total(`n${i}`);
  const missing = total(`m${i}`);
  const bad = total(`b${i}`);
  const actual = total(`a${i}`);
  const failures: CheckResult['failures'] = [];
  const repeated = await repeatedIds(check, c);
  for (const r of repeated.slice(0, limit)) failures.push({ key: String(r.id), reason: `${formatCount(Number(r.n))} rows have this ID` });
  const repeats = repeated.reduce((n, r) => n + Number(r.n) - 1, 0);
  // Every row found is in the range, so the rows beyond those found (and their repeats) are rows no legacy row maps to.
  const extra = actual - repeats - (expected - missing);
  if (bad > 0) failures.push(...(await differingRows(check, sql, c)));
  if (extra > 0 && failures.length < limit) failures.push(...(await extraRows(check, sql, c, limit - failures.length)));
  const ok = bad === 0 && extra === 0 && repeated.length === 0;
  const [hashed, rowByRow] = [total(`h${i}`), total(`r${i}`)];
  const method =
    check.how === 'exact'
      ? `compared row by row in ${pieces(rowByRow)}`
      : `hashed in ${pieces(hashed + rowByRow)}; ` +
        (rowByRow === 0 ? 'every piece settled by its hash' : `${pieces(rowByRow)} compared row by row`);
  return {
    ...contentBase(step, target),
    method,
    title: `${step.name} -> ${target.table}: ${formatCount(expected)} row(s) expected, content as mapped`,
    ok,
    expected,
    actual,
    failures,
    failureCount: ok ? 0 : Math.max(bad + Math.max(extra, 0) + repeated.length, 1),
  };
}

const pieces = (n: number) => `${formatCount(n)} ${n === 1 ? 'piece' : 'pieces'}`;

/** Two rows with one ID (possible only where the key is not the primary key): each is a failure of its own. */
async function repeatedIds({ db, minKey, maxKey }: ContentCheck, c: ComparedTarget) {
  if (c.unique) return [];
  const t = quoteQualified(targetAlias, c.target.keyColumn);
  return db.query<{ id: string; n: string | number }>(
    `SELECT ${t} AS id, COUNT(*) AS n FROM ${c.rows.from} WHERE ${c.rows.where} GROUP BY ${t} HAVING COUNT(*) > 1 ORDER BY ${t}`,
    c.rows.params(minKey, maxKey),
  );
}

/**
 * The first `limit` legacy rows whose target row is missing or differs, with the columns that differ and, for each,
 * the value mapped from the legacy row and the value found (their compared forms, failing-values.ts).
 */
async function differingRows(check: ContentCheck, { source, inRange }: ContentSql, c: ComparedTarget) {
  const { db, step, minKey, maxKey, limit } = check;
  const flags = c.differs.map((d, j) => `${d} AS d${j}`);
  const shown = c.values.flatMap((v, j) => [shownValueSql(v.mapped, `e${j}`), shownValueSql(v.stored, `f${j}`)]);
  const found = await db.query<Record<string, unknown>>(
    `SELECT ${step.idSql} AS id, ${step.keySql} AS lk, ${c.key} IS NULL AS missing${[...flags, ...shown].map((f) => `, ${f}`).join('')}
           FROM ${source}${c.join} WHERE ${inRange} AND ${c.when} AND (${c.bad}) ORDER BY ${step.keySql} LIMIT ${limit}`,
    [minKey, maxKey],
  );
  const columns = check.tables[c.i]!.columns;
  return found.map((f) => {
    const differing = c.values.flatMap((v, j) => (Number(f[`d${j}`]) === 1 ? [{ name: v.name, j }] : []));
    if (Number(f.missing) === 1) return { key: String(f.id), legacyKey: String(f.lk), reason: 'missing' };
    const values = differing.map(({ name, j }) => ({
      column: name,
      expected: shownValue(f[`e${j}`], f[`e${j}_len`], columns.get(name)!),
      found: shownValue(f[`f${j}`], f[`f${j}_len`], columns.get(name)!),
    }));
    return {
      key: String(f.id),
      legacyKey: String(f.lk),
      reason: `differs from its legacy row in ${differing.length === 1 ? 'column' : 'columns'} ${differing.map((d) => d.name).join(', ')}`,
      values,
    };
  });
}

/** Up to `room` target rows in the range that no legacy row maps to. */
async function extraRows({ db, step, minKey, maxKey }: ContentCheck, { source, inRange }: ContentSql, c: ComparedTarget, room: number) {
  const t = quoteQualified(targetAlias, c.target.keyColumn);
  const mappedIds = `SELECT ${step.idSql} AS es_id FROM ${source} WHERE ${inRange} AND ${c.when}`;
  const extras = await db.query<{ id: string }>(
    `SELECT ${t} AS id FROM ${c.rows.from} LEFT JOIN (${mappedIds}) AS es_m ON es_m.es_id = ${t}
          WHERE ${c.rows.where} AND es_m.es_id IS NULL ORDER BY ${t} LIMIT ${room}`,
    [minKey, maxKey, ...c.rows.params(minKey, maxKey)],
  );
  return extras.map((x) => ({ key: String(x.id), reason: 'no legacy row maps to it' }));
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

/** What names a step's references check of one target, whether it is run or implied. */
const referenceHead = (step: CompiledStep, target: CompiledTarget) => ({
  id: `${step.name}.${target.alias}.references`,
  kind: 'references' as const,
  step: step.name,
  table: target.table,
  title: `${step.name}: every ${target.table} row has its ${step.idTable} row`,
});

function impliedReference(step: CompiledStep, target: CompiledTarget): Check {
  return {
    ...referenceHead(step, target),
    ok: true,
    actual: `implied by the content checks of ${target.table} and ${step.idTable}`,
    failures: [],
    failureCount: 0,
  };
}

/** One extension target of a step, checked over the step's reserved range. */
interface ReferenceCheck {
  db: Db;
  step: CompiledStep;
  target: CompiledTarget;
  range: { table: string; first: number; last: number };
  limit: number;
}

/** Every extension row written by the step has its event. */
async function referenceCheck({ db, step, target, range, limit }: ReferenceCheck): Promise<Check> {
  const idTarget = step.targets.find((t) => t.table === step.idTable)!;
  const key = quoteQualified('x', target.keyColumn);
  const idKey = `e.${quoteId(idTarget.keyColumn)}`;
  const orphans = await db.query<{ id: string }>(
    `SELECT ${key} AS id FROM ${quoteId(target.table)} AS x LEFT JOIN ${quoteId(step.idTable)} AS e ON ${idKey} = ${key}
      WHERE ${key} BETWEEN ? AND ? AND ${idKey} IS NULL ORDER BY ${key} LIMIT ${limit + 1}`,
    [range.first, range.last],
  );
  return {
    ...referenceHead(step, target),
    ok: orphans.length === 0,
    failures: orphans.slice(0, limit).map((r) => ({ key: String(r.id), reason: `no ${step.idTable} row` })),
    failureCount: orphans.length,
  };
}
