import { getTableConfig } from 'drizzle-orm/mysql-core';
import { canonicalSql, valueKind } from '../db/checksum.ts';
import type { ColumnInfo } from '../db/introspect.ts';
import { quoteId, quoteQualified } from '../db/quote.ts';
import { castToColumnSql, fromClauseSql, keptAsTheyAre, type TableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import { defaultReferenceDefinition, uniqueColumns, type LookupDefinition } from '../mapping/lookup.ts';
import type { LookupPlan } from './lookup-plan.ts';

/**
 * A lookup's declaration as SQL text: every statement that plans, writes, checks and undoes a lookup is built here
 * from the one declaration, so they cannot drift apart. Natural keys travel as bytes (`CAST(... AS BINARY)`, hex in
 * the journal), so invalid UTF-8 stays exact.
 */

/** The alias of the lookup table in SQL over it. */
export const lookupAlias = 'es_a';

/** Rows that name lookup rows: a source's (with its joins), or those of an `everyRowOf` source. */
export interface CompiledLookupRows {
  alias: string;
  /** The source table's current name. */
  table: string;
  /** `revision` AS `revision`, with the source's LEFT JOINs */
  from: string;
  /** The row's natural key, as the lookup column's type. */
  natural: string;
  /** The row's values of the lookup's other columns, as their types, in `CompiledLookup.columns` order. */
  values: string[];
  /** Canonical text of those values (NULL distinct from any value): equal exactly when the values are. */
  fingerprint: string;
  /** TRUE for the rows the source's `skip` picks (never NULL); `0` for an `everyRowOf` source. */
  skipped: string;
}

export interface CompiledLookupSource extends CompiledLookupRows {
  /** The column the fill is chunked by (null when the table has none the plan could find). */
  keyColumn: string | null;
  keySql: string | null;
  reference: { name: string; definition: string; after?: string };
  /** `revision`.`rev_actor` */
  referenceSql: string;
}

export interface CompiledLookup {
  name: string;
  description: string | undefined;
  table: string;
  idColumn: string;
  naturalKey: string;
  /** The lookup's other columns that the sources give. */
  columns: string[];
  /** Of `columns`, those UNIQUE in the lookup table (a shared value is a conflict). */
  unique: string[];
  /** The fingerprint of a lookup row's `columns`, over `es_a`. */
  fingerprint: string;
  /** The natural key column of `es_a`, as bytes. */
  naturalSql: string;
  sources: CompiledLookupSource[];
  /** The `everyRowOf` sources: every row gets its lookup row; no reference. */
  everyRowOf: CompiledLookupRows[];
}

/** Every set of rows that names lookup rows: the sources', then the `everyRowOf` sources'. */
export const lookupRowSets = (l: CompiledLookup): CompiledLookupRows[] => [...l.sources, ...l.everyRowOf];

/** The lookup column's type as information_schema would describe it, from drizzle. */
export function lookupColumnInfo(lookup: LookupDefinition, column: string): ColumnInfo {
  const c = getTableConfig(lookup.table).columns.find((x) => x.name === column)!;
  const columnType = c.getSQLType().toLowerCase();
  return {
    name: c.name,
    dataType: columnType.split(/[ (]/)[0]!,
    columnType,
    nullable: !c.notNull,
    charset: null,
    generated: false,
    autoIncrement: Boolean((c as { autoIncrement?: boolean }).autoIncrement),
  };
}

/** `keyColumns`: the column each source's fill is chunked by (else the source's declared `key`). */
// Long on purpose: one CompiledLookup, its sources and everyRowOf compiled by closures over its columns and names.
export function compileLookup(
  mapping: Mapping,
  name: string,
  names: TableNames,
  keyColumns: ReadonlyMap<string, string | null> = new Map(),
): CompiledLookup {
  const lookup = mapping.lookups![name]!;
  const config = getTableConfig(lookup.table);
  const idColumn = config.columns.find((c) => c.primary)?.name ?? config.primaryKeys[0]!.columns[0]!.name;
  const first = Object.values(lookup.from)[0]!;
  const columns = Object.keys(first.values).filter((c) => c !== lookup.naturalKey);
  const info = new Map([lookup.naturalKey, ...columns].map((c) => [c, lookupColumnInfo(lookup, c)]));
  // QUOTE() makes each value self-delimiting (a bare NULL for NULL), so two rows' texts are equal only when their values are.
  const fingerprint = (exprs: string[]) =>
    columns.length === 0
      ? "''"
      : `CONCAT_WS(',', ${exprs.map((e, i) => `QUOTE(${canonicalSql(e, valueKind(info.get(columns[i]!)!))})`).join(', ')})`;
  const a = quoteId(lookupAlias);
  const rowsOf = (alias: string, given: Record<string, string>, join: Record<string, string> = {}, skip?: string): CompiledLookupRows => {
    const values = columns.map((c) => castToColumnSql(`(${names.snippet(given[c]!)})`, info.get(c)!));
    return {
      alias,
      table: names(alias),
      from: fromClauseSql(alias, join, names),
      natural: `CAST((${names.snippet(given[lookup.naturalKey]!)}) AS BINARY)`,
      values,
      fingerprint: fingerprint(values),
      skipped: skip === undefined ? '0' : `((${names.snippet(skip)}) IS TRUE)`,
    };
  };
  const sources = Object.entries(lookup.from).map(([alias, source]): CompiledLookupSource => {
    const keyColumn = keyColumns.get(alias) ?? (source.key === undefined ? null : names.column(alias, source.key));
    return {
      ...rowsOf(alias, source.values, source.join, source.skip),
      keyColumn,
      keySql: keyColumn === null ? null : quoteQualified(alias, keyColumn),
      reference: {
        name: source.reference.name,
        definition: source.reference.definition ?? defaultReferenceDefinition,
        after: source.reference.after === undefined ? undefined : names.column(alias, source.reference.after),
      },
      referenceSql: quoteQualified(alias, source.reference.name),
    };
  });
  const everyRowOf = Object.entries(lookup.everyRowOf ?? {}).map(([alias, every]) => rowsOf(alias, every.values));
  return {
    name,
    description: lookup.description,
    table: config.name,
    idColumn,
    naturalKey: lookup.naturalKey,
    columns,
    unique: columns.filter((c) => uniqueColumns(lookup.table).includes(c)),
    fingerprint: fingerprint(columns.map((c) => `${a}.${quoteId(c)}`)),
    // A binary column as it is, so that joins on it use its UNIQUE index; other types compared as their bytes.
    naturalSql:
      valueKind(info.get(lookup.naturalKey)!) === 'binary'
        ? `${a}.${quoteId(lookup.naturalKey)}`
        : `CAST(${a}.${quoteId(lookup.naturalKey)} AS BINARY)`,
    sources,
    everyRowOf,
  };
}

/** A planned lookup compiled with the chunk keys its plan found. */
export function compilePlannedLookup(mapping: Mapping, planned: LookupPlan, names: TableNames): CompiledLookup {
  return compileLookup(mapping, planned.name, names, new Map(planned.sources.map((s) => [s.alias, s.keyColumn])));
}

/** `k NOT IN (X'..', ...)` over hex-encoded natural keys; TRUE when there are none. */
export function notAmong(expr: string, hexKeys: readonly string[]): string {
  return hexKeys.length === 0 ? '1=1' : `${expr} NOT IN (${hexKeys.map((h) => (h === '' ? "''" : `X'${h}'`)).join(', ')})`;
}

/** `k IN (...)`; FALSE when there are none. */
export function among(expr: string, hexKeys: readonly string[]): string {
  return hexKeys.length === 0 ? '0=1' : `${expr} IN (${hexKeys.map((h) => (h === '' ? "''" : `X'${h}'`)).join(', ')})`;
}

/**
 * The distinct (natural key, values) pairs of the sources' rows that are not skipped (`src` 'r'), and of the lookup
 * rows (`src` 'l'; only those with an ID up to `?` when `lookupUpTo`, i.e. the rows that existed before the run).
 * Columns: k (bytes), t (fingerprint), v0.. (values), src.
 */
export function pairsSql(l: CompiledLookup, lookup: 'none' | 'all' | 'upTo'): string {
  const parts = lookupRowSets(l).map(
    (s) =>
      `SELECT DISTINCT ${s.natural} AS k, ${s.fingerprint} AS t${s.values.map((v, i) => `, ${v} AS v${i}`).join('')}, 'r' AS src ` +
      `FROM ${s.from} WHERE NOT ${s.skipped}`,
  );
  if (lookup !== 'none') {
    const a = quoteId(lookupAlias);
    parts.push(
      `SELECT ${l.naturalSql}, ${l.fingerprint}${l.columns.map((c) => `, ${a}.${quoteId(c)}`).join('')}, 'l' ` +
        `FROM ${quoteId(l.table)} AS ${a}` +
        (lookup === 'upTo' ? ` WHERE ${a}.${quoteId(l.idColumn)} <= ?` : ''),
    );
  }
  return parts.join('\nUNION ');
}

/**
 * The natural keys of the sources' rows that are in conflict, with the reason: `values` (one key, several values of
 * the other columns) or the name of a UNIQUE column whose value several keys share. Columns: h (hex key), reason.
 */
export function conflictsSql(l: CompiledLookup, lookup: 'none' | 'all' | 'upTo'): string {
  const parts = [`SELECT HEX(k) AS h, 'values' AS reason FROM pairs GROUP BY k HAVING COUNT(DISTINCT t) > 1 AND MAX(src) = 'r'`];
  for (const column of l.unique) {
    const v = `v${l.columns.indexOf(column)}`;
    parts.push(
      `SELECT DISTINCT HEX(p.k), ${`'${column}'`} FROM pairs AS p ` +
        `JOIN (SELECT ${v} AS u FROM pairs WHERE ${v} IS NOT NULL GROUP BY ${v} HAVING COUNT(DISTINCT k) > 1) AS d ` +
        `ON d.u = p.${v} WHERE p.src = 'r'`,
    );
  }
  return `WITH pairs AS (${pairsSql(l, lookup)})\nSELECT h, reason FROM (${parts.join('\nUNION ')}) AS c ORDER BY h, reason`;
}

/** The distinct natural keys of the rows the sources' `skip` picks, in key order. Column: k (bytes). */
export function skippedKeysSql(l: CompiledLookup): string {
  const skipped = l.sources.map((s) => `SELECT DISTINCT ${s.natural} AS k FROM ${s.from} WHERE ${s.skipped}`);
  return `SELECT k FROM (${skipped.join('\nUNION ')}) AS s ORDER BY k`;
}

/** The distinct natural keys of the rows that get a lookup row (not skipped, not in conflict). Column: k (bytes). */
export function usableKeysSql(l: CompiledLookup, conflicted: readonly string[]): string {
  return lookupRowSets(l)
    .map((s) => `SELECT DISTINCT ${s.natural} AS k FROM ${s.from} WHERE NOT ${s.skipped} AND ${notAmong(s.natural, conflicted)}`)
    .join('\nUNION ');
}

/**
 * Creates the run's work table of a lookup's natural keys: the distinct (key, values) pairs of the sources' rows that
 * are not skipped (with a key after `?` when `after`, one `?` per source), read in one pass over each source, so that
 * the get-or-create batches read them in key order through the table's index rather than sorting the sources again
 * for each batch. The sources are read through `CAST(... AS BINARY)`, never their own name index: a scan in index order
 * reads each row through the primary key, far slower than a sequential pass when the table is bigger than the buffer
 * pool. Columns: k (bytes), t (fingerprint), v0.. (values), and a primary key of its own (servers may require one:
 * sql_require_primary_key, Galera).
 */
export function keysTableSql(l: CompiledLookup, table: string, runId: number, after: boolean): string {
  const parts = lookupRowSets(l).map(
    (s) =>
      `SELECT DISTINCT ${s.natural} AS k, ${s.fingerprint} AS t${s.values.map((v, i) => `, ${v} AS v${i}`).join('')} FROM ${s.from} ` +
      `WHERE NOT ${s.skipped}${after ? ` AND ${s.natural} > ?` : ''}`,
  );
  return (
    `CREATE TABLE ${quoteId(table)} (es_n BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, KEY k (k)) ENGINE=InnoDB ` +
    `COMMENT='eventshift run ${runId}: natural keys of lookup ${l.name}; dropped once its rows are created'\n` +
    `SELECT * FROM (${parts.join('\nUNION ')}) AS p`
  );
}

/** The upper bound of the next batch of `limit` natural keys of the work table after `?` (or from the first). Column: hi. */
export function keyBatchBoundSql(keysTable: string, limit: number, fromStart: boolean): string {
  const after = fromStart ? '' : ' WHERE k > ?';
  return `SELECT MAX(b.k) AS hi FROM (SELECT k FROM ${quoteId(keysTable)}${after} ORDER BY k LIMIT ${limit}) AS b`;
}

/** The work table's (key, values) pairs with a key in (?, ?] (or up to ? when `fromStart`), in key order. Columns: k, t, v0... */
export function keyBatchSql(l: CompiledLookup, keysTable: string, fromStart: boolean): string {
  const values = l.columns.map((_, i) => `, v${i}`).join('');
  return `SELECT k, t${values} FROM ${quoteId(keysTable)} WHERE ${fromStart ? '' : 'k > ? AND '}k <= ? ORDER BY k, t`;
}

/** The chunk key bound: the `limit`-th key after `?` (or from the first). Column: hi. */
export function chunkBoundSql(s: CompiledLookupSource, limit: number, fromStart: boolean): string {
  const key = quoteId(s.keyColumn!);
  return (
    `SELECT MAX(x.k) AS hi FROM (SELECT ${key} AS k FROM ${quoteId(s.table)}${fromStart ? '' : ` WHERE ${key} > ?`} ` +
    `ORDER BY ${key} LIMIT ${limit}) AS x`
  );
}

/** The condition on a lookup row `es_a` that it is the row's own: same natural key and the same values. */
export function ownLookupRowSql(l: CompiledLookup, s: CompiledLookupRows): string {
  const a = quoteId(lookupAlias);
  return [`${l.naturalSql} = ${s.natural}`, ...l.columns.map((c, i) => `${a}.${quoteId(c)} <=> ${s.values[i]}`)].join(' AND ');
}

/**
 * Fills one chunk of a source's reference, set-based: rows with a key in (?, ?] (`between`), up to ? (`upTo`) or any
 * (`all`, for the SQL export) whose reference is still 0, not skipped and not in conflict, get the ID of the lookup
 * row with their natural key and values.
 */
export function fillChunkSql(
  l: CompiledLookup,
  s: CompiledLookupSource,
  {
    conflicted,
    bounds,
    keep = [],
  }: {
    conflicted: readonly string[];
    bounds: 'between' | 'upTo' | 'all';
    /** The source table's `ON UPDATE` columns (onUpdateColumns): set to themselves, so they keep their values. */
    keep?: readonly string[];
  },
): string {
  const a = quoteId(lookupAlias);
  return (
    `UPDATE ${s.from} JOIN ${quoteId(l.table)} AS ${a} ON ${l.naturalSql} = ${s.natural}\n` +
    `SET ${s.referenceSql} = ${a}.${quoteId(l.idColumn)}${keptAsTheyAre(s.alias, keep)}\n` +
    `WHERE ${s.referenceSql} = 0 AND ${bounds === 'between' ? `${s.keySql} > ? AND ` : ''}` +
    `${bounds === 'all' ? '' : `${s.keySql} <= ? AND `}` +
    `NOT ${s.skipped} AND ${notAmong(s.natural, conflicted)}` +
    l.columns.map((c, i) => ` AND ${a}.${quoteId(c)} <=> ${s.values[i]}`).join('')
  );
}

/**
 * Creates, in one statement, the lookup rows of every usable natural key that has none, numbered from `firstId` in key
 * order: what the batched get-or-create of a run gives when nothing else writes the table (for the SQL export).
 */
export function createAllSql(l: CompiledLookup, conflicted: readonly string[], firstId: bigint): string {
  const a = quoteId(lookupAlias);
  return (
    `INSERT INTO ${quoteId(l.table)} (${[l.idColumn, l.naturalKey, ...l.columns].map(quoteId).join(', ')})\n` +
    `SELECT ${firstId - 1n} + ROW_NUMBER() OVER (ORDER BY p.k), p.k${l.columns.map((_, i) => `, p.v${i}`).join('')}\n` +
    `FROM (${pairsSql(l, 'none')}) AS p LEFT JOIN ${quoteId(l.table)} AS ${a} ON ${l.naturalSql} = p.k\n` +
    `WHERE ${a}.${quoteId(l.idColumn)} IS NULL AND ${notAmong('p.k', conflicted)}`
  );
}
