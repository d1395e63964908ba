import type { MySqlTable } from 'drizzle-orm/mysql-core';
import { escapeRegExp, quoteId, quoteQualified, quoteString } from '../db/quote.ts';
import { EventshiftError, usageError } from '../errors.ts';
import { atVersion, strictAliases } from './aliases.ts';
import { tableName } from '../db/ddl.ts';
import { canonicalSql, valueKind } from '../db/checksum.ts';
import { isIntegerType, type ColumnInfo } from '../db/introspect.ts';
import { rowOf, whenOf, type ColumnExpr, type CutoverChange, type Mapping, type ProjectionDefinition } from './define.ts';
import type { StepIds } from '../plan/plan-data.ts';

/** Which of the mapping's cutover renames have happened, read from the live schema (so it is right after a crash too). */
export interface RenameState {
  tables: Map<string, string>;
  /** table (current name) -> old column -> new column */
  columns: Map<string, Map<string, string>>;
  done: boolean;
}

/**
 * Turns a mapping's declarations into SQL text. Every statement eventshift runs or checks with is built here, from
 * the one declaration per column, so write, verify and export cannot drift apart.
 */

/**
 * How the mapping's names become the database's: a source alias is the alias key of a legacy table, resolved through
 * the mapping's aliases.yaml (when it has one) and then through the cutover renames that have happened; a column
 * likewise. Called as a function it gives a source alias's current table name. `snippet` fills the placeholders of
 * the mapping's SQL: `{{alias}}` (the current table name, quoted) and `{{alias.column}}` (alias-qualified current
 * column name); text outside placeholders is left as written.
 */
export type TableNames = ((alias: string) => string) & {
  column(alias: string, column: string): string;
  /** A legacy table's alias key (a value of `sources`) as the real table name, before cutover renames. */
  tableOf(key: string): string;
  /** A column's alias key of a legacy table's alias key as the real column name, before cutover renames. */
  columnOf(tableKey: string, columnKey: string): string;
  snippet(sql: string): string;
  /** Alias keys that were not in aliases.yaml and were used as written (production mode only). */
  readonly warnings: string[];
  /**
   * Every legacy column resolved so far, as source alias -> real column names (those the run adds itself left out):
   * what the SQL compiled through these names reads, for the plan to prove against the live tables.
   */
  readonly named: ReadonlyMap<string, ReadonlySet<string>>;
};

export interface NameOptions {
  /** Unknown alias keys throw (default) or are recorded in `warnings` and used raw (EVENTSHIFT_ENV=production). */
  strict?: boolean;
  /** Read versioned aliases at this version (default: the file's). */
  aliasVersion?: number;
}

/** Before any cutover: every name as the mapping's aliases give it. */
const noRenames: RenameState = { tables: new Map(), columns: new Map(), done: false };

/**
 * The mapping's names in the database as it is: `renames` is every cutover rename that has happened (renameState()),
 * tables and columns both; without it, the names before any cutover.
 */
export function sourceTableNames(mapping: Mapping, renames: RenameState = noRenames, options: NameOptions = {}): TableNames {
  const strict = options.strict ?? strictAliases();
  const file = mapping.aliases;
  const version = options.aliasVersion ?? file?.version ?? 1;
  const warnings: string[] = [];
  const unknown = (what: string, raw: string) => {
    if (strict) throw usageError(`${what} is not an alias key in ${file!.path}; add it there, or fix the mapping.`, { subject: raw });
    const warning = `${what} is not in ${file!.path}; used as written`;
    if (!warnings.includes(warning)) warnings.push(warning);
    return raw;
  };
  const realTable = (key: string) => {
    const entry = file?.aliases[key];
    if (!file) return key;
    if (!entry) return unknown(`table ${key}`, key);
    return atVersion(entry.table, version) ?? unknown(`table ${key} (at version ${version})`, key);
  };
  const table = (alias: string) => {
    if (alias in mapping.sources) {
      const real = realTable(mapping.sources[alias]!);
      return renames.tables.get(real) ?? real;
    }
    const target = mapping.targets[alias];
    if (!target) throw usageError(`'${alias}' is neither a source nor a target of mapping ${mapping.name}.`);
    return tableName(target);
  };
  const columnOf = (tableKey: string, key: string) => {
    const entry = file?.aliases[tableKey];
    return !file
      ? key
      : !entry
        ? unknown(`table ${tableKey}`, key)
        : entry.columns[key]
          ? (atVersion(entry.columns[key]!, version) ?? unknown(`${tableKey}.${key} (at version ${version})`, key))
          : unknown(`column ${tableKey}.${key}`, key);
  };
  // Columns the mapping's projections add are the tool's own, named as declared.
  const added = new Set([
    ...Object.values(mapping.projections ?? {}).map((p) => `${mapping.sources[p.table]}\u0000${p.column.name}`),
    // and the reference columns of its lookups
    ...Object.values(mapping.lookups ?? {}).flatMap((l) =>
      Object.entries(l.from).map(([a, f]) => `${mapping.sources[a]}\u0000${f.reference.name}`),
    ),
  ]);
  const named = new Map<string, Set<string>>();
  const column = (alias: string, key: string) => {
    const tableKey = mapping.sources[alias];
    if (tableKey === undefined) return key;
    const own = added.has(`${tableKey}\u0000${key}`);
    const real = own ? key : columnOf(tableKey, key);
    const current = renames.columns.get(realTable(tableKey))?.get(real) ?? real;
    if (!own) named.set(alias, (named.get(alias) ?? new Set()).add(current));
    return current;
  };
  const snippet = (sql: string) =>
    sql.replace(/\{\{\s*([^}.\s]+)(?:\.([^}]+?))?\s*\}\}/g, (_all, alias: string, col: string | undefined) =>
      col === undefined ? quoteId(table(alias)) : quoteQualified(alias, column(alias, col)),
    );
  return Object.assign(table, { column, snippet, warnings, named, tableOf: realTable, columnOf });
}

export interface CompiledColumn {
  name: string;
  expr: ColumnExpr;
  /** SQL over the step's source aliases. A code column has none: reading it throws (its step is streamed). */
  sql: string;
  /** For a code() column: its inputs as SQL over the step's aliases, and the function computing the value from them. */
  code?: CompiledCode;
}

export interface CompiledCode {
  inputs: Array<{ name: string; sql: string }>;
  fn: (inputs: Record<string, unknown>) => unknown;
  description: string | undefined;
}

export interface CompiledTarget {
  alias: string;
  table: string;
  drizzle: MySqlTable;
  /** The column that receives the step's ID. */
  keyColumn: string;
  /** Extra condition for this target's rows (e.g. legacy rows only when someone was recorded). */
  when: string | undefined;
  columns: CompiledColumn[];
}

/** The step's target rows for a range of legacy keys: `FROM ${from} WHERE ${where}` with `params(lo, hi)`. */
export interface TargetRowsSql {
  from: string;
  where: string;
  params(lo: number, hi: number): number[];
}

export interface CompiledStep {
  name: string;
  ids: StepIds;
  /** ` JOIN eventshift_lineage ...` for steps whose IDs are recorded in the lineage table; empty for offset steps. */
  lineageJoin: string;
  /** The lineage rows of this step and run: `es_l.run_id = R AND es_l.step = 'S'`. */
  lineageFilter: string;
  fromAlias: string;
  /** The legacy key column of the from-source. */
  keyColumn: string;
  /** `pull`.`ID` */
  keySql: string;
  /** FROM ... LEFT JOIN ... with the current table names. */
  fromClause: string;
  /** The step's own filter, `1=1` when it has none. */
  where: string;
  /** SQL computing the new ID from the legacy key (with the lineage join, for lineage steps). */
  idSql: string;
  idTable: string;
  /** Targets in write order: the ID table first, so extension rows always follow their event. */
  targets: CompiledTarget[];
  /** Some column is code(): the step is written and checked on the streaming path (see src/parts/steps-stream.ts). */
  streamed: boolean;
}

export function exprSql(expr: ColumnExpr, idSql: string, names: TableNames): string {
  switch (expr.kind) {
    case 'col':
      return quoteQualified(expr.alias, names.column(expr.alias, expr.column));
    case 'lit':
      return literalSql(expr.value);
    case 'id':
      return idSql;
    case 'sql':
      return `(${names.snippet(expr.text)})`;
    case 'code':
      throw new Error('a code() column has no SQL; its step is streamed');
  }
}

/** Where a target column is compiled: its step and table, the SQL of the event's ID, and the current table names. */
interface ColumnScope {
  step: string;
  table: string;
  idSql: string;
  names: TableNames;
}

/** One target column compiled: SQL for a SQL expression; for code(), its inputs' SQL, and `sql` throws when read. */
function compileColumn({ step, table, idSql, names }: ColumnScope, name: string, expr: ColumnExpr): CompiledColumn {
  if (expr.kind !== 'code') return { name, expr, sql: exprSql(expr, idSql, names) };
  const code: CompiledCode = {
    inputs: Object.entries(expr.inputs).map(([input, e]) => ({ name: input, sql: exprSql(e, idSql, names) })),
    fn: expr.fn,
    description: expr.description,
  };
  return {
    name,
    expr,
    code,
    get sql(): string {
      throw new EventshiftError(
        'internal',
        `Step ${step}: ${table}.${name} is computed in code (code()), so it has no SQL; ` +
          'the step is written and checked on the streaming path.',
        { subject: `${table}.${name}` },
      );
    },
  };
}

export function literalSql(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`literal ${value} is not a finite number`);
    return String(value);
  }
  return quoteString(value);
}

export function fromClauseSql(fromAlias: string, joins: Record<string, string | undefined>, names: TableNames): string {
  let sql = `${quoteId(names(fromAlias))} AS ${quoteId(fromAlias)}`;
  for (const [alias, on] of Object.entries(joins)) {
    if (on === undefined) continue;
    sql += ` LEFT JOIN ${quoteId(names(alias))} AS ${quoteId(alias)} ON (${names.snippet(on)})`;
  }
  return sql;
}

export const lineageAlias = 'es_l';
/** The alias of the target table in target-side SQL. */
export const targetAlias = 'es_t';

/** A step of the mapping to compile, by name, as planned: its legacy key column and how its IDs are assigned. */
export interface StepToCompile {
  name: string;
  keyColumn: string;
  ids: StepIds;
}

/** What a step's SQL is compiled against. */
export interface StepScope {
  /** The names the tables have now. */
  names: TableNames;
  /** The run whose lineage rows lineage steps read; without it, only counting SQL may be used. */
  runId?: number;
}

export function compileStep(mapping: Mapping, { name, keyColumn, ids }: StepToCompile, { names, runId }: StepScope): CompiledStep {
  const step = mapping.steps[name]!;
  const keySql = quoteQualified(step.from, names.column(step.from, keyColumn));
  const l = quoteId(lineageAlias);
  const lineageFilter = `${l}.run_id = ${runId ?? 'NULL'} AND ${l}.step = ${quoteString(name)}`;
  const lineageJoin =
    ids.strategy === 'offset' ? '' : ` JOIN eventshift_lineage AS ${l} ON ${lineageFilter} AND ${l}.legacy_key = ${keySql}`;
  const idSql = ids.strategy === 'offset' ? `(${keySql} + ${ids.offset})` : `${l}.event_id`;
  const order = Object.keys(step.rows).sort((a, b) => Number(b === step.ids.table) - Number(a === step.ids.table));
  const targets = order.map((alias): CompiledTarget => {
    const spec = step.rows[alias]!;
    const row = rowOf(spec);
    const drizzle = mapping.targets[alias]!;
    return {
      alias,
      table: tableName(drizzle),
      drizzle,
      keyColumn: Object.entries(row).find(([, e]) => e.kind === 'id')![0],
      when: whenOf(spec) === undefined ? undefined : names.snippet(whenOf(spec)!),
      columns: Object.entries(row).map(([column, expr]) =>
        compileColumn({ step: name, table: tableName(drizzle), idSql, names }, column, expr),
      ),
    };
  });
  return {
    name,
    ids,
    lineageJoin,
    lineageFilter,
    fromAlias: step.from,
    keyColumn,
    keySql,
    fromClause: fromClauseSql(step.from, step.join ?? {}, names),
    where: step.where === undefined ? '1=1' : names.snippet(step.where),
    idSql,
    idTable: tableName(mapping.targets[step.ids.table]!),
    targets,
    streamed: targets.some((t) => t.columns.some((c) => c.code !== undefined)),
  };
}

function targetWhere(step: CompiledStep, target: CompiledTarget): string {
  return target.when === undefined ? `(${step.where})` : `(${step.where}) AND (${target.when})`;
}

/** INSERT ... SELECT of one target's rows for source keys in [?, ?]. */
export function insertChunkSql(step: CompiledStep, target: CompiledTarget): string {
  const columns = target.columns.map((c) => quoteId(c.name)).join(', ');
  const values = target.columns.map((c) => c.sql).join(', ');
  return (
    `INSERT INTO ${quoteId(target.table)} (${columns})\n` +
    `SELECT ${values}\nFROM ${step.fromClause}${step.lineageJoin}\n` +
    `WHERE ${targetWhere(step, target)} AND ${step.keySql} BETWEEN ? AND ?`
  );
}

/** Selects the step's rows of one target for legacy keys [lo, hi]: by ID arithmetic, or through the lineage table. */
export function targetRowsSql(step: CompiledStep, target: CompiledTarget): TargetRowsSql {
  const t = quoteId(targetAlias);
  const key = `${t}.${quoteId(target.keyColumn)}`;
  const ids = step.ids;
  if (ids.strategy === 'offset') {
    return {
      from: `${quoteId(target.table)} AS ${t}`,
      where: `${key} BETWEEN ? AND ?`,
      params: (lo, hi) => [lo + ids.offset, hi + ids.offset],
    };
  }
  const l = quoteId(lineageAlias);
  return {
    from: `${quoteId(target.table)} AS ${t} JOIN eventshift_lineage AS ${l} ON ${step.lineageFilter} AND ${l}.event_id = ${key}`,
    where: `${l}.legacy_key BETWEEN ? AND ?`,
    params: (lo, hi) => [lo, hi],
  };
}

/**
 * The aggregates that count a step's rows (`total`) and each target's (`t0`, `t1`, ...) in a pass over its FROM clause,
 * each reading only the rows the step's WHERE admits, so that the pass may read more (plan/shared-passes.ts); for a
 * streamed step, each target's largest row as a multi-row INSERT carries it (`b0`, `b1`, ...), estimated: every value
 * written as hex, `2 * LENGTH + 3` bytes (a NULL 4), a code() column as its inputs (its output may differ). `names`
 * are the aggregates' names, in `columns`' order.
 */
export function stepCountColumns(step: CompiledStep): { from: string; where: string; columns: string[]; names: string[] } {
  const rowOf = (t?: CompiledTarget) => (t?.when === undefined ? `(${step.where})` : `(${step.where}) AND (${t.when})`);
  const counted: Array<[string, string]> = [
    ['total', `SUM(CASE WHEN ${rowOf()} THEN 1 ELSE 0 END)`],
    ...step.targets.map((t, i): [string, string] => [`t${i}`, `SUM(CASE WHEN ${rowOf(t)} THEN 1 ELSE 0 END)`]),
  ];
  const literal = (sql: string) => `COALESCE(2 * LENGTH(${sql}) + 3, 4)`;
  if (step.streamed)
    for (const [i, t] of step.targets.entries()) {
      const values = t.columns.flatMap((c) => (c.code ? c.code.inputs.map((input) => input.sql) : [c.sql]));
      counted.push([`b${i}`, `MAX(CASE WHEN ${rowOf(t)} THEN ${values.map(literal).join(' + ') || '0'} END)`]);
    }
  return { from: step.fromClause, where: step.where, columns: counted.map(([, sql]) => sql), names: counted.map(([name]) => name) };
}

/**
 * Models on the source side the conversion an INSERT makes into the target column's type, so that the checksum of
 * the mapped values equals the checksum of what was written.
 */
export function castToColumnSql(expr: string, column: ColumnInfo): string {
  const t = column.dataType;
  const unsigned = column.columnType.includes('unsigned');
  const fsp = /\((\d)\)/.exec(column.columnType)?.[1] ?? '0';
  switch (t) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
      return `CAST(${expr} AS ${unsigned ? 'UNSIGNED' : 'SIGNED'})`;
    case 'decimal': {
      const m = /decimal\((\d+),(\d+)\)/.exec(column.columnType);
      return m ? `CAST(${expr} AS DECIMAL(${m[1]},${m[2]}))` : expr;
    }
    case 'datetime':
    case 'timestamp':
      return `CAST(${expr} AS DATETIME(${fsp}))`;
    case 'date':
      return `CAST(${expr} AS DATE)`;
    case 'time':
      return `CAST(${expr} AS TIME(${fsp}))`;
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return `CAST(${expr} AS BINARY)`;
    default:
      return expr;
  }
}

/**
 * The form in which verification compares a value of `column` exactly, on either side (NULL only equal to NULL with
 * `<=>`): text as its utf8mb4 bytes; binary strings and spatial values as their bytes; BIT as HEX() (an integer mapped
 * into a BIT column is stored as its bits, so bytes would differ where the values do not); FLOAT as DOUBLE (all its
 * digits); integers, DECIMAL and temporal values as themselves (the mapped side is already of the column's type:
 * castToColumnSql); anything else (DOUBLE, YEAR, ...) as its utf8mb4 text. A mapped value goes through castToColumnSql
 * first; `stored` says `expr` is the column itself, whose text needs no conversion when the column is utf8mb4.
 */
export function comparableSql(expr: string, column: ColumnInfo, stored = false): string {
  switch (valueKind(column)) {
    case 'text':
      return stored && column.charset === 'utf8mb4' ? `CAST(${expr} AS BINARY)` : `CAST(CONVERT(${expr} USING utf8mb4) AS BINARY)`;
    case 'binary':
      return column.dataType === 'bit' ? `HEX(${expr})` : `CAST(${expr} AS BINARY)`;
    case 'float':
      return `CAST(${expr} AS DOUBLE)`;
    default:
      return typedTypes.has(column.dataType) ? expr : `CAST(${canonicalSql(expr, 'other')} AS BINARY)`;
  }
}

/** Types castToColumnSql casts a mapped value to, so that a comparison with a stored value is of two values of one type. */
const typedTypes = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'datetime',
  'timestamp',
  'date',
  'time',
]);

/**
 * A target's columns as verification compares them: the mapped value's SQL over the step's source (cast as the
 * INSERT casts it) and the stored value's SQL over the target row `alias`, each in comparableSql form. `literal` marks
 * a mapped value that is the same in every row (lit()). An integer key column that receives the step's ID is left
 * out: the row is found by it (joined on key = ID), so it is equal.
 */
export function comparedColumns(
  target: CompiledTarget,
  columns: ReadonlyMap<string, ColumnInfo>,
  alias: string,
): Array<{ name: string; mapped: string; stored: string; literal: boolean }> {
  return target.columns.flatMap((c) => {
    const info = columns.get(c.name);
    if (!info) throw new Error(`column ${target.table}.${c.name} of the mapping does not exist in the database`);
    if (c.name === target.keyColumn && c.expr.kind === 'id' && isIntegerType(info.dataType)) return [];
    return [
      {
        name: c.name,
        mapped: comparableSql(castToColumnSql(c.sql, info), info),
        stored: comparableSql(`${quoteId(alias)}.${quoteId(c.name)}`, info, true),
        literal: c.expr.kind === 'lit' && valueKind(info) !== 'other' && valueKind(info) !== 'float',
      },
    ];
  });
}

/** A compiled projection: the column added to an existing table and the SQL that fills and checks it. */
export interface CompiledProjection {
  name: string;
  table: string;
  alias: string;
  key: string;
  column: ProjectionDefinition['column'];
  /** SELECT groupKey AS k, aggregate AS v FROM source WHERE ... GROUP BY groupKey */
  aggregateSql: string;
}

export function compileProjection(name: string, p: ProjectionDefinition, names: TableNames): CompiledProjection {
  const from = fromClauseSql(p.value.from, {}, names);
  return {
    name,
    table: names(p.table),
    alias: p.table,
    key: names.column(p.table, p.key),
    column: { ...p.column, after: p.column.after === undefined ? undefined : names.column(p.table, p.column.after) },
    aggregateSql:
      `SELECT ${names.snippet(p.value.groupBy)} AS k, ${names.snippet(p.value.aggregate)} AS v FROM ${from} ` +
      `WHERE (${names.snippet(p.value.where ?? '1=1')}) GROUP BY ${names.snippet(p.value.groupBy)}`,
  };
}

/**
 * UPDATE filling the projected column for every row of its table (NULL where the aggregate has no rows). `keep`: the
 * table's `ON UPDATE` columns (onUpdateColumns), set to themselves so that they keep their values.
 */
export function projectionUpdateSql(p: CompiledProjection, keep: readonly string[] = []): string {
  const t = quoteId(p.alias);
  return (
    `UPDATE ${quoteId(p.table)} AS ${t} LEFT JOIN (${p.aggregateSql}) AS es_v ON es_v.k = ${t}.${quoteId(p.key)}\n` +
    `SET ${t}.${quoteId(p.column.name)} = es_v.v${keptAsTheyAre(p.alias, keep)}`
  );
}

/**
 * `, alias.c = alias.c` for each column of `keep`: an UPDATE that sets an `ON UPDATE CURRENT_TIMESTAMP` column to
 * itself leaves it as it was, where otherwise any change to the row would set it to the current time.
 */
export function keptAsTheyAre(alias: string | null, keep: readonly string[]): string {
  const q = (c: string) => (alias === null ? quoteId(c) : quoteQualified(alias, c));
  return keep.map((c) => `, ${q(c)} = ${q(c)}`).join('');
}

/** Whether `sql` names `table`, quoted or bare, even inside a string: a false alarm only costs running work in turn. */
const namesTable = (sql: string, table: string) =>
  sql.includes(quoteId(table)) || new RegExp(`(?<![\\w$])${escapeRegExp(table)}(?![\\w$])`, 'i').test(sql);

/** The SQL a step reads its rows with: source, joins, conditions, ID and values. */
function stepReadsSql(step: CompiledStep): string {
  return [
    step.fromClause,
    step.where,
    step.lineageJoin,
    step.idSql,
    ...step.targets.flatMap((t) => [t.when ?? '', ...t.columns.flatMap((c) => (c.code ? c.code.inputs.map((i) => i.sql) : [c.sql]))]),
  ].join('\n');
}

/**
 * Whether a projection and the steps can be written at the same time: no SQL of a step names the projection's table,
 * and the projection's SQL names no table a step writes (its targets, the lineage).
 */
export function independentOfSteps(p: CompiledProjection, steps: readonly CompiledStep[]): boolean {
  const projectionSql = projectionUpdateSql(p);
  return steps.every((step) => {
    const writes = [...step.targets.map((t) => t.table), 'eventshift_lineage'];
    return !writes.includes(p.table) && !namesTable(stepReadsSql(step), p.table) && !writes.some((t) => namesTable(projectionSql, t));
  });
}

/**
 * Whether steps can be written at the same time: each writes its own reserved IDs, so they may share target tables,
 * but no step may read a table another one writes (its source, joins, conditions and values name none).
 */
export function stepsIndependent(steps: readonly CompiledStep[]): boolean {
  return steps.every((step) => {
    const reads = stepReadsSql(step);
    return steps.every((other) => other === step || other.targets.every((t) => !namesTable(reads, t.table)));
  });
}

/**
 * INSERT ... SELECT numbering a group of lineage steps from `start`: one dense step in legacy-key order, or all the
 * chronological steps by the value of their ID-table row's `orderBy` column, ties by step order then legacy key.
 */
export function lineageFillSql(runId: number, group: readonly CompiledStep[], start: number): string {
  const first = group[0]!;
  if (first.ids.strategy === 'dense') {
    return (
      `INSERT INTO eventshift_lineage (run_id, step, legacy_key, event_id)\n` +
      `SELECT ${runId}, ${quoteString(first.name)}, ${first.keySql}, ${start} - 1 + ROW_NUMBER() OVER (ORDER BY ${first.keySql})\n` +
      `FROM ${first.fromClause} WHERE (${first.where})`
    );
  }
  const parts = group.map((step, i) => {
    const orderBy = step.ids.strategy === 'chronological' ? (step.ids.orderBy ?? 'WhenStart') : 'WhenStart';
    const column = step.targets.find((t) => t.table === step.idTable)!.columns.find((c) => c.name === orderBy);
    if (!column) throw new Error(`step ${step.name} writes no ${step.idTable}.${orderBy} to order chronological IDs by`);
    if (column.code)
      throw usageError(
        `Step ${step.name}: ${step.idTable}.${orderBy} is a code() column, so it cannot order chronological IDs ` +
          '(they are numbered in SQL); use --ids dense or offset.',
      );
    return (
      `SELECT ${quoteString(step.name)} AS step, ${i} AS o, ${step.keySql} AS k, ${column.sql} AS t ` +
      `FROM ${step.fromClause} WHERE (${step.where})`
    );
  });
  return (
    `INSERT INTO eventshift_lineage (run_id, step, legacy_key, event_id)\n` +
    `SELECT ${runId}, u.step, u.k, ${start} - 1 + ROW_NUMBER() OVER (ORDER BY u.t, u.o, u.k)\n` +
    `FROM (${parts.join('\nUNION ALL ')}) AS u`
  );
}

/** The mapping's cutover renames with alias keys resolved to real names (the new names are written as they are). */
export function cutoverChanges(mapping: Mapping, options: NameOptions = {}): CutoverChange[] {
  const names = sourceTableNames(mapping, noRenames, options);
  return (mapping.cutover ?? []).map((c) =>
    c.kind === 'renameTable'
      ? { ...c, from: names.tableOf(c.from) }
      : { ...c, table: names.tableOf(c.table), from: names.columnOf(c.table, c.from) },
  );
}
