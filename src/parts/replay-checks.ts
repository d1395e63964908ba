import type { Db } from '../db/connection.ts';
import { openRowCursor, type RawRow, type RowCursor } from '../db/row-stream.ts';
import { escapeRegExp, quoteId, quoteQualified } from '../db/quote.ts';
import { fromClauseSql, sourceTableNames } from '../mapping/compile.ts';
import type { Mapping, ReplayDefinition } from '../mapping/define.ts';
import type { RenameState } from '../mapping/compile.ts';
import type { CheckResult } from '../verify/check-result.ts';
import { formatCount } from '../format.ts';

/**
 * Replay checks: the state each entity reaches when its events are replayed is compared with the state the legacy
 * data gives it. Disagreements a declared data problem accounts for are listed as its consequence.
 *
 * The server computes each side once, in key order, and the two are merged here as they stream in: the events query
 * (usually the costly one: a window over every event) runs once for all of a replay's comparisons, no side is ever
 * grouped against another on the server, and memory holds only a few thousand rows per side, whatever the size.
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

/** An entity key as the sides stream it: its utf8mb4 text as bytes (so every side orders and equates it alike). */
const keySql = 'CAST(CAST(q.k AS CHAR CHARACTER SET utf8mb4) AS BINARY)';

/**
 * How the sides of a merge are ordered: `text`, by the key's text (its length, then its bytes: for whole-number keys
 * that is numeric order), which any key has; or `integer`, by the key's value, cheaper for the server (it sorts
 * numbers, not text made from them), when every side's key is an integer column (keyOrderOf).
 */
export type KeyOrder = 'text' | 'integer';

/**
 * The SQL streaming one side: each row's key, then `columns` as utf8mb4 text, in `order` (then by `thenBy`).
 * compareKeys, or compareIntegerKeys for `integer`, is the same order.
 */
export function replayStreamSql(query: string, columns: readonly string[], thenBy?: string, order: KeyOrder = 'text'): string {
  const values = columns.map((c) => `CAST(q.${quoteId(c)} AS CHAR CHARACTER SET utf8mb4)`);
  const by = order === 'integer' ? 'q.k' : `LENGTH(${keySql}), ${keySql}`;
  return `SELECT ${[keySql, ...values].join(', ')} FROM (${query}) AS q ORDER BY ${by}${thenBy ? `, q.${quoteId(thenBy)}` : ''}`;
}

/** The order of replayStreamSql: shorter keys first, then byte order; NULL first. */
export function compareKeys(a: Buffer | null, b: Buffer | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return a.length - b.length || Buffer.compare(a, b);
}

/**
 * The `integer` order of replayStreamSql, of keys as the server writes integers (an optional minus sign, then digits
 * without leading zeros): negative before non-negative; among non-negative ones as compareKeys; among negative ones
 * the reverse. NULL first, as the server sorts it.
 */
export function compareIntegerKeys(a: Buffer | null, b: Buffer | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const negative = a[0] === 0x2d;
  if (negative !== (b[0] === 0x2d)) return negative ? -1 : 1;
  const c = a.length - b.length || Buffer.compare(a, b);
  return negative ? -c : c;
}

/** MySQL protocol column types of integers (TINYINT, SMALLINT, INT, BIGINT, MEDIUMINT). */
const integerTypes = new Set([1, 2, 3, 8, 9]);
const zerofillFlag = 0x40;

/**
 * `integer` when the column `k` of every query is an integer column (not ZEROFILL, whose text has leading zeros), as
 * the server describes it without running the query (LIMIT 0); otherwise `text`.
 */
export async function keyOrderOf(db: Db, queries: readonly string[]): Promise<KeyOrder> {
  for (const query of queries) {
    const [, fields] = await db.raw.query({ sql: `SELECT q.k FROM (${query}) AS q LIMIT 0`, rowsAsArray: true });
    const k = (fields as Array<{ columnType?: number; type?: number; flags: number | string[] }> | undefined)?.[0];
    const type = k?.columnType ?? k?.type;
    if (type === undefined || !integerTypes.has(type) || typeof k!.flags !== 'number' || (k!.flags & zerofillFlag) !== 0) return 'text';
  }
  return 'integer';
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
    return (
      `SELECT DISTINCT (${current(keyExpr)}) AS k, ${i + 1} AS problem ` +
      `FROM ${fromClauseSql(p.from, joins, names)} WHERE (${current(p.where)})`
    );
  });
  return parts.length === 0 ? null : parts.join('\nUNION ALL\n');
}

/** What a side says about one key: how many rows it has for it, and its first row (key, values...). */
export interface SideGroup {
  count: number;
  row: RawRow | null;
}

/** Rows of one side in key order (a RowCursor); the merge needs only these two members. */
export type SortedRows = Pick<RowCursor, 'head' | 'advance'>;

/**
 * Merges sorted sides by key: calls `visit` once per key any side has, with each side's rows for it. Throws when a
 * side is out of order (its query does not sort as replayStreamSql does), rather than give a wrong verdict.
 */
export async function mergeByKey(
  sides: readonly SortedRows[],
  visit: (key: Buffer | null, groups: SideGroup[]) => void,
  compare: (a: Buffer | null, b: Buffer | null) => number = compareKeys,
): Promise<void> {
  // Each head's key, and its value when it is a whole number (NaN otherwise): most keys are, and numbers compare
  // without a call into Buffer.compare (the same order, shortest first, in either comparison).
  const keys = sides.map((s) => s.head?.[0] ?? null);
  const numbers = keys.map(wholeNumber);
  const order = (i: number, key: Buffer | null, n: number) =>
    numbers[i] === numbers[i] && n === n ? numbers[i]! - n : compare(keys[i]!, key);
  for (;;) {
    let min = -1;
    for (let i = 0; i < sides.length; i++) {
      if (sides[i]!.head && (min < 0 || order(i, keys[min]!, numbers[min]!) < 0)) min = i;
    }
    if (min < 0) return;
    const key = keys[min]!;
    const n = numbers[min]!;
    const groups: SideGroup[] = [];
    for (let i = 0; i < sides.length; i++) {
      const side = sides[i]!;
      const group: SideGroup = { count: 0, row: null };
      while (side.head && order(i, key, n) === 0) {
        group.count++;
        group.row ??= side.head;
        const wait = side.advance();
        if (wait) await wait;
        keys[i] = side.head?.[0] ?? null;
        numbers[i] = wholeNumber(keys[i]!);
        if (side.head && order(i, key, n) < 0) throw new Error('a replay query did not return its rows in key order');
      }
      groups.push(group);
    }
    visit(key, groups);
  }
}

/** The value of a key written as a whole number without leading zeros (up to 15 digits), else NaN. */
function wholeNumber(key: Buffer | null): number {
  if (key === null || key.length === 0 || key.length > 15 || (key[0] === 0x30 && key.length > 1)) return Number.NaN;
  let n = 0;
  for (let i = 0; i < key.length; i++) {
    const digit = key[i]! - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    n = n * 10 + digit;
  }
  return n;
}

const text = (b: Buffer | null | undefined) => (b === null || b === undefined ? null : b.toString('utf8'));
const same = (a: Buffer | null | undefined, b: Buffer | null) => ((a ?? null) === null ? b === null : b !== null && a!.equals(b));

/** The third value of a held disagreement whose reason wants the legacy side's detail. */
const wantsDetail = Buffer.from('1');

/** Disagreements a replay holds in memory until it reads which problems explain them; past this, it reads them in the merge. */
const heldDisagreements = 20_000;

/** Rows of an array, in its order, as a SortedRows side. */
function arraySide(rows: RawRow[]): SortedRows {
  let at = 0;
  return {
    get head() {
      return rows[at] ?? null;
    },
    advance() {
      at++;
      return undefined;
    },
  };
}

/** One replay to check, what its SQL resolves through, and how much its results list. */
export interface ReplayCheck {
  /** Opens a connection for one side of a merge (closed after it). */
  connectSide: () => Promise<Db>;
  mapping: Mapping;
  renames: RenameState;
  /** The replay's name in the mapping. */
  name: string;
  replay: ReplayDefinition;
  /** How many failures, and how many explained disagreements, each check lists. */
  limit: number;
  /** Disagreements held in memory before the merge is done again with the problems' keys (default heldDisagreements). */
  holdAtMost?: number;
}

/**
 * Runs every comparison of one replay in one merge: the events side once and each comparison's legacy side, each
 * streamed on a connection of its own (from `connectSide`), all at once. The keys the data problems explain are read
 * only for the keys that disagree: those are held (up to heldDisagreements, in key order) and merged afterwards with
 * the problems' keys of their comparison; when there are more, the merge is done again with the problems' keys as
 * sides of their own, as if all of them disagreed. Either way each disagreement is explained by the first problem
 * of `explainedBy` that names its key, exactly. Never throws for a disagreement; a failing query fails each
 * comparison's check, naming the error.
 */
export async function replayChecks(check: ReplayCheck): Promise<Array<Omit<CheckResult, 'seconds'>>> {
  const merge = new ReplayMerge(check);
  try {
    await merge.run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return merge.comparisons.map((c) => ({
      ...merge.identity(c),
      ok: false,
      failures: [{ key: '*', reason: `the replay query failed: ${message}` }],
      failureCount: 1,
      explained: [],
      explainedCount: 0,
    }));
  }
  return merge.comparisons.map((c) => {
    const [agreeing, explainedCount, disagreeing] = c.totals;
    return {
      ...merge.identity(c),
      ok: disagreeing === 0,
      expected: `${formatCount(agreeing + disagreeing + explainedCount)} ${check.replay.entity}(s) compared`,
      actual:
        `${formatCount(agreeing)} agree, ${formatCount(explainedCount)} explained by data problems, ` +
        `${formatCount(disagreeing)} disagree`,
      failures: c.failures,
      failureCount: disagreeing,
      explained: c.explainedList,
      explainedCount,
    };
  });
}

/** One comparison of a replay, and what the merge has counted and listed of it so far. */
interface Comparison {
  label: string;
  comparison: ReplayDefinition['compare'][string];
  stateColumn: string;
  absent: NonNullable<ReplayDefinition['compare'][string]['absent']>;
  absentBytes: { events: Buffer | undefined; legacy: Buffer | undefined };
  /** The names of the problems that may explain its disagreements, in order (numbered from 1 in the SQL). */
  problems: string[];
  /** The keys they explain (explainedKeysSql), or null without any. */
  explained: string | null;
  /** Agreeing, explained, disagreeing. */
  totals: [number, number, number];
  failures: Array<{ key: string; reason: string }>;
  explainedList: Array<{ key: string; problem: string; reason: string }>;
  /**
   * Listed disagreements whose legacy side has one row for the key: its `detail` is read afterwards, for these
   * keys only (legacyDetails), and added to the reason. The legacy sides stream no detail: most keys agree.
   */
  wantDetail: Array<{ key: Buffer | null; listed: { reason: string } }>;
  /** Disagreements waiting for the problems' keys: [key, reason, '1' when the legacy detail is wanted] in key order. */
  held: RawRow[];
}

function comparisonsOf({ mapping, renames, replay }: ReplayCheck): Comparison[] {
  return Object.entries(replay.compare).map(([label, comparison]) => ({
    label,
    comparison,
    stateColumn: comparison.state ?? 'state',
    absent: comparison.absent ?? {},
    absentBytes: {
      events: comparison.absent?.events === undefined ? undefined : Buffer.from(comparison.absent.events),
      legacy: comparison.absent?.legacy === undefined ? undefined : Buffer.from(comparison.absent.legacy),
    },
    problems: Object.keys(comparison.explainedBy ?? {}),
    explained: explainedKeysSql(mapping, renames, comparison.explainedBy ?? {}),
    totals: [0, 0, 0],
    failures: [],
    explainedList: [],
    wantDetail: [],
    held: [],
  }));
}

/** The map key of an entity key's bytes (latin1 keeps every byte as it is). */
const bytesKey = (key: Buffer | null) => (key === null ? null : key.toString('latin1'));

/** The merges of one replay (see replayChecks), and what they count per comparison. */
class ReplayMerge {
  readonly comparisons: Comparison[];
  private readonly stateColumns: string[];
  private readonly eventsSql: string;
  private readonly legacySql: string[];
  private readonly holdAtMost: number;
  /** How every side of this replay is ordered (keyOrderOf); set before the first merge. */
  private order: KeyOrder = 'text';

  constructor(private readonly check: ReplayCheck) {
    const { mapping, renames, replay } = check;
    this.comparisons = comparisonsOf(check);
    this.stateColumns = [...new Set(this.comparisons.map((c) => c.stateColumn))];
    this.eventsSql = resolveNames(replay.events, mapping, renames);
    this.legacySql = this.comparisons.map((c) => resolveNames(c.comparison.legacy, mapping, renames));
    this.holdAtMost = check.holdAtMost ?? heldDisagreements;
  }

  /** What a comparison's check is, whatever its result. */
  identity(c: Comparison) {
    const { name, replay } = this.check;
    const description = c.comparison.description ? ` (${c.comparison.description})` : '';
    return {
      id: `${name}.${c.label}.replay`,
      kind: 'replay' as const,
      entity: replay.entity,
      title: `Replay ${name}: each ${replay.entity}'s state from its events agrees with ${c.label}${description}`,
    };
  }

  async run(): Promise<void> {
    const probe = await this.check.connectSide();
    try {
      const explained = this.comparisons.flatMap((c) => (c.explained === null ? [] : [c.explained]));
      this.order = await keyOrderOf(probe, [this.eventsSql, ...this.legacySql, ...explained]);
    } finally {
      await probe.close();
    }
    if (await this.pass(false)) {
      // The held disagreements of each comparison, explained by the keys its problems name.
      for (const c of this.comparisons) await this.explainHeld(c);
    } else {
      await this.pass(true);
    }
    for (const [i, c] of this.comparisons.entries()) await this.legacyDetails(c, this.legacySql[i]!);
  }

  private explainedStreamSql(c: Comparison): string {
    return replayStreamSql(c.explained!, ['problem'], 'problem', this.order);
  }

  /**
   * One merge of the events side with every legacy side; with `explainedSides`, also with each comparison's problem
   * keys (sides 1 + comparisons.length + ...), else disagreements of comparisons with problems are held. False when
   * more disagreements came than may be held.
   */
  private async pass(explainedSides: boolean): Promise<boolean> {
    const { comparisons, order } = this;
    for (const c of comparisons) {
      c.totals = [0, 0, 0];
      c.failures = [];
      c.explainedList = [];
      c.wantDetail = [];
      c.held = [];
    }
    const explainedSide = new Map<number, number>();
    if (explainedSides)
      comparisons.forEach((c, i) => c.explained !== null && explainedSide.set(i, 1 + comparisons.length + explainedSide.size));
    const queries = [
      replayStreamSql(this.eventsSql, [...this.stateColumns, 'detail'], undefined, order),
      ...this.legacySql.map((sql) => replayStreamSql(sql, ['state'], undefined, order)),
      ...comparisons.flatMap((c) => (explainedSides && c.explained !== null ? [this.explainedStreamSql(c)] : [])),
    ];
    let held = 0;
    await this.merged(queries, (key, groups) => {
      comparisons.forEach((c, i) => {
        const reason = this.disagreement(c, groups[0]!, groups[1 + i]!);
        if (reason === null) return;
        const detail = groups[1 + i]!.count === 1;
        if (c.explained === null) return this.decide(c, key, { reason, problem: 0, detail });
        if (explainedSides) {
          const explainedBy = groups[explainedSide.get(i)!]!;
          return this.decide(c, key, { reason, problem: explainedBy.count > 0 ? Number(text(explainedBy.row![1]!)) : 0, detail });
        }
        // A copy: the row's buffers point into the connection's read buffer.
        if (held++ < this.holdAtMost)
          c.held.push([key === null ? null : Buffer.from(key), Buffer.from(reason), detail ? wantsDetail : null]);
      });
    });
    return held <= this.holdAtMost;
  }

  /**
   * Whether the events and legacy sides of a key agree for comparison `c` (counted as agreeing: null), or else the
   * reason they do not. The legacy side's detail is read later, for the disagreements listed (legacyDetails).
   */
  private disagreement(c: Comparison, events: SideGroup, legacy: SideGroup): string | null {
    if (events.count === 0 && legacy.count === 0) return null;
    const es = events.row?.[1 + this.stateColumns.indexOf(c.stateColumn)];
    const ls = legacy.row?.[1] ?? null;
    const agree =
      (events.count === 1 && legacy.count === 1 && same(es, ls)) ||
      (events.count === 0 && legacy.count === 1 && c.absentBytes.events !== undefined && same(ls, c.absentBytes.events)) ||
      (events.count === 1 && legacy.count === 0 && c.absentBytes.legacy !== undefined && same(es, c.absentBytes.legacy));
    if (agree) {
      c.totals[0]++;
      return null;
    }
    const entity = this.check.replay.entity;
    const say = (n: number, state: Buffer | null | undefined, detail: Buffer | null | undefined, absentState: string | undefined) => {
      if (n === 0) return `no row for this ${entity}${absentState === undefined ? '' : `, so ${absentState}`}`;
      if (n > 1) return `${formatCount(n)} rows for this ${entity}`;
      return `${text(state) ?? 'NULL'}${text(detail) ? ` (${text(detail)})` : ''}`;
    };
    return (
      `events: ${say(events.count, es, events.row?.[1 + this.stateColumns.length], c.absent.events)}; ` +
      `${c.label}: ${say(legacy.count, ls, null, c.absent.legacy)}`
    );
  }

  /**
   * Counts a disagreement as explained by problem number `problem` (from 1), or as a failure (0); `detail`: its
   * reason ends with the legacy side's state, to be followed by that side's detail.
   */
  private decide(
    c: Comparison,
    key: Buffer | null,
    { reason, problem, detail }: { reason: string; problem: number; detail: boolean },
  ): void {
    c.totals[problem > 0 ? 1 : 2]++;
    const k = text(key) ?? 'NULL';
    let listed: { key: string; reason: string };
    if (problem > 0) {
      if (c.explainedList.length >= this.check.limit) return;
      const explained = { key: k, problem: c.problems[problem - 1]!, reason };
      c.explainedList.push(explained);
      listed = explained;
    } else {
      if (c.failures.length >= this.check.limit) return;
      c.failures.push((listed = { key: k, reason }));
    }
    if (detail) c.wantDetail.push({ key: key === null ? null : Buffer.from(key), listed });
  }

  /** The disagreements `c` held, each explained by the first of its problems whose keys name it, or failed. */
  private async explainHeld(c: Comparison): Promise<void> {
    if (c.held.length === 0) return;
    if (c.held.every(([key]) => !Number.isNaN(wholeNumber(key!)))) {
      // Whole-number keys: only the problems' rows with those keys are read (rowsForKeys); a key the rows of
      // several problems name is explained by the first of them.
      const first = new Map<string | null, number>();
      for (const row of await this.rowsForKeys(
        c.explained!,
        'q.problem',
        c.held.map(([key]) => key ?? null),
      )) {
        const k = bytesKey(row.k);
        first.set(k, Math.min(first.get(k) ?? Number.POSITIVE_INFINITY, Number(row.v)));
      }
      for (const [key, reason, detail] of c.held) {
        this.decide(c, key!, { reason: text(reason)!, problem: first.get(bytesKey(key!)) ?? 0, detail: detail !== null });
      }
    } else {
      await this.merged(
        [this.explainedStreamSql(c)],
        (key, [explainedBy, held]) => {
          if (held!.count === 0) return;
          const problem = explainedBy!.count > 0 ? Number(text(explainedBy!.row![1]!)) : 0;
          this.decide(c, key, { reason: text(held!.row![1]!)!, problem, detail: held!.row![2] !== null });
        },
        c.held,
      );
    }
    c.held = [];
  }

  /**
   * The rows of `sql` (a side's query, with its column k) whose key is one of `keys`, each with `value` (SQL over q):
   * `k IN (...)` a thousand keys at a time, which the server pushes into the query (an index range where there is
   * one). Each row's key comes as the merge has it, bytes to be matched exactly: `IN` may find more, e.g. under a
   * case-blind collation.
   */
  private async rowsForKeys(sql: string, value: string, keys: ReadonlyArray<Buffer | null>) {
    const rows: Array<{ k: Buffer | null; v: Buffer | string | number | null }> = [];
    const connection = await this.check.connectSide();
    try {
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000).flatMap((key) => (key === null ? [] : [text(key)]));
        const conditions = [
          ...(chunk.length > 0 ? [`q.k IN (${chunk.map(() => '?').join(', ')})`] : []),
          ...(keys.slice(i, i + 1000).includes(null) ? ['q.k IS NULL'] : []),
        ];
        rows.push(
          ...(await connection.query<{ k: Buffer | null; v: Buffer | string | number | null }>(
            `SELECT ${keySql} AS k, ${value} AS v FROM (${sql}) AS q WHERE ${conditions.join(' OR ')}`,
            chunk,
          )),
        );
      }
    } finally {
      await connection.close();
    }
    return rows;
  }

  /** Adds the legacy side's detail to the reasons that want it (wantDetail), read for their keys only. */
  private async legacyDetails(c: Comparison, legacy: string): Promise<void> {
    if (c.wantDetail.length === 0) return;
    const found = await this.rowsForKeys(
      legacy,
      `CAST(CAST(q.${quoteId('detail')} AS CHAR CHARACTER SET utf8mb4) AS BINARY)`,
      c.wantDetail.map((w) => w.key),
    );
    const details = new Map(found.map((row) => [bytesKey(row.k), text(row.v as Buffer | null)]));
    for (const w of c.wantDetail) {
      const detail = details.get(bytesKey(w.key));
      if (detail) w.listed.reason += ` (${detail})`;
    }
  }

  /** Streams `queries` at once, each on a connection of its own, and merges them (then the `held` rows, if any). */
  private async merged(queries: string[], visit: (key: Buffer | null, groups: SideGroup[]) => void, held: RawRow[] = []): Promise<void> {
    const connections: Db[] = [];
    try {
      // The events query sorts every event of the replay into a temporary table, kept in memory up to the limit
      // every eventshift session sets (ConnectionTarget.tempTableMiB).
      for (const _ of queries) connections.push(await this.check.connectSide());
      const sides = await Promise.all(queries.map((sql, i) => openRowCursor(connections[i]!, sql)));
      await mergeByKey(
        held.length > 0 ? [...sides, arraySide(held)] : sides,
        visit,
        this.order === 'integer' ? compareIntegerKeys : compareKeys,
      );
    } catch (error) {
      for (const connection of connections) connection.raw.destroy();
      throw error;
    }
    for (const connection of connections) await connection.close();
  }
}
