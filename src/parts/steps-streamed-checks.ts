import type { Db } from '../db/connection.ts';
import { canonicalSql, valueKind } from '../db/checksum.ts';
import type { ColumnInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { castToColumnSql, targetAlias, targetRowsSql, type CompiledStep, type CompiledTarget } from '../mapping/compile.ts';
import { codeColumnsOf, evaluateStreamedRow, streamedSourceSql, type StreamedRow } from '../mapping/streamed.ts';
import { integerKeys, runChunks } from '../engine/chunks.ts';
import type { CheckResult } from '../verify/check-result.ts';
import { formatCount } from '../format.ts';

/** Legacy keys compared at a time: both sides of a chunk are held in memory. */
const chunkKeys = 2000;
/** Code values canonicalized per statement. */
const valuesPerStatement = 1000;

/** A streamed step's content, compared over its legacy key range; up to `limit` failures are named per check. */
export interface StreamedContentCheck {
  db: Db;
  step: CompiledStep;
  /** Each target's columns as its table has them, in `step.targets` order. */
  columns: Array<Map<string, ColumnInfo>>;
  minKey: number;
  maxKey: number;
  limit: number;
}

/**
 * The content checks of a streamed step (one with code() columns), exact and row by row: the legacy rows are read in
 * key-range chunks as the writer reads them, the code columns computed again in Node, every expected value put in its
 * canonical form by the server as the target column's type would hold it (the SQL columns in the same read, the code
 * values through `castToColumnSql`), and compared with the canonical form of the rows written for that chunk. Each
 * differing row is named by new ID and legacy key, with the columns that differ. Results in `step.targets` order.
 */
export async function streamedContentChecks({
  db,
  step,
  columns,
  minKey,
  maxKey,
  limit,
}: StreamedContentCheck): Promise<Array<Omit<CheckResult, 'seconds'>>> {
  const infoOf = new Map(step.targets.map((t, i) => [t, columns[i]!]));
  const missing = step.targets.map((t, i) => t.columns.filter((c) => !columns[i]!.has(c.name)).map((c) => c.name));
  const source = streamedSourceSql(step, {
    leftLineage: true,
    value: (sql, t, c) => {
      const info = infoOf.get(t)!.get(c.name);
      return info ? canonical(sql, info) : 'NULL';
    },
  });
  const tally = step.targets.map((): Tally => ({ expected: 0, actual: 0, failures: [], failureCount: 0 }));
  const fail = (i: number, failure: CheckResult['failures'][number]) => {
    tally[i]!.failureCount++;
    if (tally[i]!.failures.length < limit) tally[i]!.failures.push(failure);
  };

  const compareChunk = async ({ lo, hi }: { lo: number; hi: number }) => {
    const rows = (await db.query(source, [lo, hi])).map((r) => evaluateStreamedRow(step, r));
    await canonicalizeCodeValues(db, step, columns, rows);
    for (const [i, target] of step.targets.entries()) {
      if (missing[i]!.length > 0) continue;
      const written = await writtenRows(db, { step, target, columns: columns[i]! }, { lo, hi });
      tally[i]!.actual += written.size;
      compareWritten(rows, written, { target, i, columns: columns[i]!, fail: (failure) => fail(i, failure) }, tally[i]!);
    }
    return rows.length;
  };
  await runChunks({ db, keys: integerKeys(minKey, maxKey), size: { fixed: chunkKeys }, work: compareChunk });

  const code = codeColumnsOf(step);
  return step.targets.map((target, i) => streamedResult(step, target, { missing: missing[i]!, tally: tally[i]!, code }));
}

/** One target's running count over the chunks: rows expected and written, failures named (up to the limit) and counted. */
interface Tally {
  expected: number;
  actual: number;
  failures: CheckResult['failures'];
  failureCount: number;
}

/**
 * Compares the rows computed for target `i` in one chunk with the rows written for them (`written`, by ID, emptied as
 * it goes): a row without ID, missing or differing fails, and so does each written row no legacy row maps to.
 */
function compareWritten(
  rows: StreamedRow[],
  written: Map<string, string[]>,
  { target, i, columns, fail }: { target: CompiledTarget; i: number; columns: Map<string, ColumnInfo>; fail: Fail },
  tally: Tally,
): void {
  for (const row of rows) {
    const values = row.targets[i];
    if (!values) continue;
    tally.expected++;
    if (row.id === null) {
      fail({ key: '?', legacyKey: row.legacyKey, reason: 'no ID: its lineage row is missing' });
      continue;
    }
    const got = written.get(row.id);
    written.delete(row.id);
    if (!got) {
      fail({ key: row.id, legacyKey: row.legacyKey, reason: 'missing' });
      continue;
    }
    const differing = target.columns.map((c, ci) => ({ c, want: text(values[ci]), have: got[ci]! })).filter((d) => d.want !== d.have);
    if (differing.length > 0) {
      const described = differing.map((d) => {
        const info = columns.get(d.c.name)!;
        return `${d.c.name} is ${shown(d.have, info)}, expected ${shown(d.want, info)}`;
      });
      fail({ key: row.id, legacyKey: row.legacyKey, reason: `differs from its legacy row: ${described.join('; ')}` });
    }
  }
  for (const extra of written.keys()) fail({ key: extra, reason: 'no legacy row maps to it' });
}

type Fail = (failure: CheckResult['failures'][number]) => void;

/** A target's content check from its tally, or its failure when the table lacks columns the step writes. */
function streamedResult(
  step: CompiledStep,
  target: CompiledTarget,
  { missing, tally: t, code }: { missing: string[]; tally: Tally; code: string[] },
): Omit<CheckResult, 'seconds'> {
  const base = { id: `${step.name}.${target.alias}.content`, kind: 'content' as const, step: step.name, table: target.table };
  if (missing.length > 0) {
    return {
      ...base,
      title: `${step.name} -> ${target.table}: table and columns exist`,
      ok: false,
      failures: [{ key: '*', reason: `missing column(s) ${missing.join(', ')}` }],
      failureCount: 1,
    };
  }
  const ok = t.failureCount === 0 && t.expected === t.actual;
  const codeHere = code.filter((c) => c.startsWith(`${target.table}.`));
  return {
    ...base,
    title:
      `${step.name} -> ${target.table}: ${formatCount(t.expected)} row(s) expected, content as mapped, compared row by row` +
      (codeHere.length > 0 ? ` (code columns ${codeHere.join(', ')} computed again from the legacy rows)` : ' (streamed step)'),
    ok,
    expected: t.expected,
    actual: t.actual,
    failures: t.failures,
    failureCount: ok ? 0 : Math.max(t.failureCount, 1),
  };
}

/** A value's canonical form as the target column would hold it. */
const canonical = (expr: string, info: ColumnInfo) => canonicalSql(castToColumnSql(expr, info), valueKind(info));

/** Replaces each code column's value in `rows` by its canonical form as the target column holds it, computed by the server. */
async function canonicalizeCodeValues(
  db: Db,
  step: CompiledStep,
  columns: Array<Map<string, ColumnInfo>>,
  rows: ReturnType<typeof evaluateStreamedRow>[],
): Promise<void> {
  const pending: Array<{ values: unknown[]; index: number; info: ColumnInfo }> = [];
  for (const row of rows) {
    step.targets.forEach((t, ti) => {
      const values = row.targets[ti];
      if (!values) return;
      t.columns.forEach((c, ci) => {
        const info = columns[ti]!.get(c.name);
        if (c.code && info) pending.push({ values, index: ci, info });
      });
    });
  }
  for (let at = 0; at < pending.length; at += valuesPerStatement) {
    const batch = pending.slice(at, at + valuesPerStatement);
    const [row] = await db.query(
      `SELECT ${batch.map((p, j) => `${canonical('?', p.info)} AS v${j}`).join(', ')}`,
      batch.map((p) => p.values[p.index]),
    );
    batch.forEach((p, j) => (p.values[p.index] = row![`v${j}`]));
  }
}

/** The rows written for legacy keys [lo, hi], by new ID, each column in canonical form. */
async function writtenRows(
  db: Db,
  { step, target, columns }: { step: CompiledStep; target: CompiledTarget; columns: Map<string, ColumnInfo> },
  { lo, hi }: { lo: number; hi: number },
): Promise<Map<string, string[]>> {
  const t = quoteId(targetAlias);
  const rows = targetRowsSql(step, target);
  const select = target.columns.map((c, ci) => `${canonicalSql(`${t}.${quoteId(c.name)}`, valueKind(columns.get(c.name)!))} AS v${ci}`);
  const found = await db.query(
    `SELECT ${t}.${quoteId(target.keyColumn)} AS es_id, ${select.join(', ')} FROM ${rows.from} WHERE ${rows.where}`,
    rows.params(lo, hi),
  );
  return new Map(found.map((r) => [String(r.es_id), target.columns.map((_c, ci) => text(r[`v${ci}`]))]));
}

/** A canonical value as comparable text; NULL is a value no canonical text can be. */
function text(value: unknown): string {
  if (value === null || value === undefined) return '\u0000NULL';
  return Buffer.isBuffer(value) ? `\u0000hex:${value.toString('hex')}` : String(value);
}

/** A canonical value for a person: bytes as 0x-hex (and as text when printable), text quoted, cut to 60 characters. */
function shown(value: string, info: ColumnInfo): string {
  if (value === '\u0000NULL') return 'NULL';
  const cut = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);
  if (valueKind(info) === 'binary') {
    const bytes = Buffer.from(value, 'hex');
    const printable = /^[\x20-\x7e]*$/.test(bytes.toString('latin1'));
    return `0x${cut(value.toLowerCase())}${printable ? ` ('${cut(bytes.toString('latin1'))}')` : ''}`;
  }
  return valueKind(info) === 'text' ? `'${cut(value)}'` : cut(value);
}
