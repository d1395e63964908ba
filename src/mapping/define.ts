import type { MySqlTable } from 'drizzle-orm/mysql-core';
import type { AliasFile } from './aliases.ts';
import { bindCsvSources, normalizeSources, type CsvSourceBinding } from '../csv/binding.ts';
import type { SourceDefinition } from '../csv/declaration.ts';
import { validateLookups, type LookupDefinition } from './lookup.ts';

export type { LookupDefinition, LookupSource } from './lookup.ts';

/**
 * A mapping is data: sources, targets, and per step a filter and one expression per target column.
 * Plan, write, verify, backup and cutover are all derived from it.
 *
 * @example
 * export default defineMapping({
 *   name: 'shop-notes',
 *   sources: { note: 'legacy_note' },
 *   targets: { event },
 *   steps: {
 *     noted: {
 *       from: 'note',
 *       ids: { table: 'event', strategy: 'offset', offset: 10_000 },
 *       rows: { event: { ID: id, WhenStart: col('note.Created'), TypeCode: lit('shop.note') } },
 *     },
 *   },
 * });
 */
export interface MappingDefinition<
  S extends Record<string, SourceDefinition> = Record<string, SourceDefinition>,
  T extends Record<string, MySqlTable> = Record<string, MySqlTable>,
> {
  /** Names the mapping in the journal, the run lock and reports. */
  name: string;
  description?: string;
  /**
   * Source alias -> legacy table name. Aliases are what SQL snippets in the mapping refer to. A source can also be
   * read from CSV: `{ table, csv }` (the table, or its CSV export given with `--source`) or `{ csv }` (see
   * src/csv/declaration.ts).
   */
  sources: S;
  /** Target alias -> drizzle table. A target that does not exist yet is created from it. */
  targets: T;
  /** Steps writing new rows with reserved IDs; may be empty (`{}`) in a mapping that only has lookups. */
  steps: Record<string, StepDefinition<S, T>>;
  /**
   * Repeated values of source rows normalized into lookup tables (MediaWiki's actor migration): get-or-create by a
   * natural key, and a reference column added to each source table; see LookupDefinition.
   */
  lookups?: Record<string, LookupDefinition>;
  /** Columns added to existing tables and filled from the sources (e.g. orders.WhenHeld). */
  projections?: Record<string, ProjectionDefinition>;
  /** Renames made at cutover, only after every check has passed. */
  cutover?: CutoverChange[];
  /**
   * What `eventshift finalize` removes, later and separately, once a run has completed with a passed verification and
   * its backup checks out: the legacy columns the new tables replace. The tables are backed up by every run.
   */
  finalize?: FinalizeChange[];
  /** Named data checks run at plan time; `fatal` ones stop the run before anything is written. */
  problems?: Record<string, ProblemDefinition>;
  /**
   * Objects of the database the run affects that the mapping accepts, by name; see AcceptedEffects. Without them,
   * `plan` refuses a run whose cutover or finalize would break a view, routine or event, or whose own writes would
   * fire a trigger.
   */
  accepts?: AcceptedEffects;
  /** Stable names of the legacy tables and columns, usually `aliasesBeside(import.meta.url)` (see aliases.ts). */
  aliases?: AliasFile;
  /** Staged rollout for the applications (MediaWiki's old -> write-both -> write-new -> new); see RolloutDefinition. */
  rollout?: RolloutDefinition;
  /** State reached by replaying the written events, compared at verify time with what the legacy data says. */
  replays?: Record<string, ReplayDefinition>;
}

export interface StepDefinition<
  S extends Record<string, unknown> = Record<string, SourceDefinition>,
  T extends Record<string, MySqlTable> = Record<string, MySqlTable>,
> {
  description?: string;
  /** The source alias whose rows drive the step; one step row per source row that passes `where`. */
  from: keyof S & string;
  /** The legacy key column of `from` (default: its single-column primary key). Chunks and lineage follow it. */
  key?: string;
  /** Sources LEFT JOINed in, alias -> ON condition. A join never drops a source row. */
  join?: Partial<Record<keyof S & string, string>>;
  /** SQL condition on the aliases; rows that fail it are not this step's. */
  where?: string;
  ids: IdAssignment<T>;
  /** Per target alias, the row to write: column -> expression, optionally only `when` a condition holds. */
  rows: Partial<Record<keyof T & string, TargetRow>>;
}

export type TargetRow = Record<string, ColumnExpr> | { when: string; row: Record<string, ColumnExpr> };

/**
 * How new IDs are chosen for a step (the command line can override the strategy and starts: `--ids`, `--start`):
 * - `offset`: new ID = legacy key + offset (lineage is that rule);
 * - `dense`: consecutive IDs in legacy-key order, each step's block after the previous one's;
 * - `chronological`: consecutive IDs across all the mapping's chronological steps, ordered by the value of `orderBy`
 *   in the ID table's row (e.g. WhenStart), ties by step order then legacy key, so the log reads in time order.
 * `dense` and `chronological` record each ID's legacy key in `eventshift_lineage`. Without a `start` they are placed
 * in the lowest free gap of the ID table that fits the whole plan, at a multiple of `align`.
 */
export type IdStrategy = 'offset' | 'dense' | 'chronological';
export const idStrategies: readonly IdStrategy[] = ['offset', 'dense', 'chronological'];

export interface IdAssignment<T extends Record<string, MySqlTable> = Record<string, MySqlTable>> {
  /** The target alias whose key the IDs are for (the event table); the others reuse the same ID. */
  table: keyof T & string;
  strategy: IdStrategy;
  /** For `offset`: new ID = legacy key + offset; a function gets the `from` source's key statistics at plan time. */
  offset?: number | ((source: SourceKeyStats) => number);
  /** For `dense` / `chronological`: the first ID (default: the lowest free gap that fits). */
  start?: number;
  /** Round automatic starts up to a multiple of this (default 100). */
  align?: number;
  /** For `chronological`: the column of the ID table's row whose value orders the events (default `WhenStart`). */
  orderBy?: string;
}

export interface SourceKeyStats {
  rows: number;
  minKey: number;
  maxKey: number;
}

/** A value for one target column. */
export type ColumnExpr =
  | { readonly kind: 'col'; readonly alias: string; readonly column: string }
  | { readonly kind: 'lit'; readonly value: string | number | boolean | null }
  | { readonly kind: 'id' }
  | { readonly kind: 'sql'; readonly text: string }
  | CodeExpr;

/** What a code column's function may return: written as is (a Buffer as bytes, a bigint or string exactly). */
export type CodeValue = string | number | bigint | boolean | Buffer | null;

/**
 * A value computed in Node from SQL inputs; see `code()`. A step with any code column is written on the streaming path.
 */
export interface CodeExpr {
  readonly kind: 'code';
  /** Input name -> a column, literal, id or SQL expression over the step's aliases; read losslessly (see `code()`). */
  readonly inputs: Readonly<Record<string, ColumnExpr>>;
  readonly fn: (inputs: Record<string, unknown>) => CodeValue;
  /** What the function does, for the plan and the report. */
  readonly description?: string;
}

/** A source column, as `alias.column`. */
export function col(ref: string): ColumnExpr {
  const dot = ref.indexOf('.');
  if (dot <= 0 || dot === ref.length - 1) throw new Error(`col('${ref}'): write a source column as 'alias.column'`);
  return { kind: 'col', alias: ref.slice(0, dot), column: ref.slice(dot + 1) };
}

/** A constant. */
export function lit(value: string | number | boolean | null): ColumnExpr {
  return { kind: 'lit', value };
}

/** Raw SQL over the source aliases, e.g. `sql("COALESCE(pull.Machine, '')")`. */
export function sql(text: string): ColumnExpr {
  return { kind: 'sql', text };
}

/** The step's new ID. */
export const id: ColumnExpr = { kind: 'id' };

/**
 * A value SQL cannot compute well (luxon date parsing, PHP-serialized values, ...), computed in Node from inputs read
 * in SQL. The exception, not the rule: a step with a code column is streamed (its rows are read in key-range chunks,
 * evaluated in Node and written with multi-row INSERTs, each chunk committed with its journal entry) instead of
 * written by `INSERT ... SELECT`, and `eventshift sql` cannot export it. Verification computes the expected value again
 * from the legacy row and compares it, row by row, with what was written.
 *
 * Inputs arrive as the connection reads them, losslessly: DATE/DATETIME/TIMESTAMP as text (`'2023-03-26 02:30:00'`,
 * zero dates included), DECIMAL and BIGINT as decimal strings, INT and smaller as numbers, binary columns as Buffers,
 * text as strings, NULL as null. The function must be pure (the same inputs give the same value: verification calls
 * it again) and return a string, number, bigint, boolean, Buffer or null (format dates yourself; a Date is refused).
 *
 * @example
 * import { DateTime } from 'luxon';
 * rows: {
 *   synced: {
 *     ID: id,
 *     WhenSynced: code({
 *       description: 'wiki-local DATETIME -> MediaWiki timestamp in UTC',
 *       inputs: { local: col('job.synced_at') },
 *       fn: ({ local }) => {
 *         const t = typeof local === 'string' ? DateTime.fromSQL(local, { zone: 'Europe/Berlin' }) : null;
 *         return t?.isValid ? t.toUTC().toFormat('yyyyMMddHHmmss') : null;
 *       },
 *     }),
 *   },
 * }
 */
export function code(definition: {
  inputs: Record<string, ColumnExpr>;
  fn: (inputs: Record<string, unknown>) => CodeValue;
  description?: string;
}): ColumnExpr {
  return { kind: 'code', inputs: { ...definition.inputs }, fn: definition.fn, description: definition.description };
}

/** A column added to an existing table and set from an aggregate over a source, per key of that table. */
export interface ProjectionDefinition {
  description?: string;
  /** The existing table (a source alias) and its key column. */
  table: string;
  key: string;
  column: { name: string; definition: string; after?: string };
  /** value(table row) = aggregate over `from` rows with groupBy = the table's key, among rows passing `where`; NULL when none. */
  value: { from: string; where?: string; groupBy: string; aggregate: string };
}

export type CutoverChange =
  | { readonly kind: 'renameTable'; readonly from: string; readonly to: string }
  | { readonly kind: 'renameColumn'; readonly table: string; readonly from: string; readonly to: string };

export function renameTable(from: string, to: string): CutoverChange {
  return { kind: 'renameTable', from, to };
}

export function renameColumn(table: string, from: string, to: string): CutoverChange {
  return { kind: 'renameColumn', table, from, to };
}

/** A change `eventshift finalize` makes; `table` is a legacy table's alias key, `column` a column's. */
export type FinalizeChange = { readonly kind: 'dropColumn'; readonly table: string; readonly column: string };

/** Drops a legacy column at finalize, e.g. `dropColumn('campaign_events', 'event_tracking_tool_id')`. */
export function dropColumn(table: string, column: string): FinalizeChange {
  return { kind: 'dropColumn', table, column };
}

/**
 * What the mapping knows its run does to other objects of the database, and accepts. `plan` reads every view, trigger,
 * stored routine and scheduled event (information_schema) that names a table the cutover renames or a column finalize
 * drops, and every trigger that the run's own INSERTs, UPDATEs and DELETEs fire (rollback's included).
 *
 * @example
 * accepts: {
 *   breaking: ['sales_by_store', 'get_customer_balance'],   // read `rental`, which the cutover renames
 *   triggers: ['upd_film'],                                 // fires on the projection's UPDATE of `film`
 * }
 */
export interface AcceptedEffects {
  /** Views, stored procedures and functions, and scheduled events that cutover or finalize leaves broken. */
  breaking?: string[];
  /** Triggers that the run's own writes fire. */
  triggers?: string[];
}

/** A named data check: the rows of `from` (with joins) that satisfy `where`, reported by `key`. */
export interface ProblemDefinition {
  description: string;
  /** `fatal` stops the run before anything is written; `warning` is reported and the run goes on. */
  severity: 'fatal' | 'warning';
  from: string;
  join?: Record<string, string>;
  where: string;
  /** SQL naming each offending row in the report (default: the `from` source's key). */
  key?: string;
  /** What happens to such rows, for the report. */
  consequence?: string;
}

/**
 * The stages applications move through while a migration rolls out, in order. The current stage is stored in
 * `eventshift_rollout` (one row per mapping) for applications to read, and changes only forward, by command.
 *
 * @example
 * rollout: { stages: ['old', 'write-both', 'write-new', 'new'], requires: { 'write-new': 'migrated', new: 'migrated' } }
 */
export interface RolloutDefinition {
  stages: string[];
  /** What a stage needs before it may be entered: `migrated` = a run of the mapping has completed (verified, cut over). */
  requires?: Record<string, 'migrated'>;
}
/**
 * A replay check: each entity's events, replayed in time order, give its state; one or more legacy queries say what
 * that state is. Each comparison is one check, compared on the server (a full outer comparison by entity key), and
 * every disagreement is listed with the key and both sides' states.
 *
 * The SQL is whole queries, so tables are named by placeholders filled from the live schema, which keeps them right
 * before and after cutover: `{{alias}}` is the current (quoted) name of a source or target table, and
 * `{{alias.column}}` is `alias`.`column` under its current name (a column a cutover renamed is found under its new
 * name). Use the alias as the table alias: `FROM {{orders}} AS orders ... {{orders.ID_Pull}}`.
 *
 * @example
 * replays: {
 *   orderHolds: {
 *     description: 'each order is on hold exactly while its hold events say so',
 *     entity: 'order',
 *     events: `SELECT h.ID_Order AS k, IF(SUM(IF(h.isRelease = 0, 1, -1)) > 0, 'on hold', 'not on hold') AS state,
 *              NULL AS detail FROM {{hold}} AS h GROUP BY h.ID_Order`,
 *     compare: {
 *       'orders.ID_Pull': {
 *         legacy: `SELECT orders.ID AS k, IF({{orders.ID_Pull}} IS NULL, 'not on hold', 'on hold') AS state,
 *                  NULL AS detail FROM {{orders}} AS orders`,
 *         absent: { events: 'not on hold' },
 *         explainedBy: { danglingPullPointer: 'orders.ID' },
 *       },
 *     },
 *   },
 * }
 */
export interface ReplayDefinition {
  description: string;
  /** What one compared thing is, in the report's words: 'order'. */
  entity: string;
  /**
   * SQL over the written events: one row per entity with `k` (its key), `detail` (text shown in the report, or NULL)
   * and one column per state the comparisons read (`state` unless a comparison names another).
   */
  events: string;
  /** Comparison name (shown in the report: 'orders.ID_Pull', 'unreleased pulls') -> what the legacy data says. */
  compare: Record<string, ReplayComparison>;
}

export interface ReplayComparison {
  description?: string;
  /** The column of the events query compared here; default `state`. */
  state?: string;
  /** SQL over the legacy data: one row per entity with `k`, `state` (the expected state) and `detail` (or NULL). */
  legacy: string;
  /** The state of an entity a side has no row for; without one, a missing row is a disagreement. */
  absent?: { events?: string; legacy?: string };
  /**
   * Disagreements that a declared data problem accounts for: problem name -> SQL over that problem's aliases giving
   * the entity key of each of its rows. Such disagreements are listed under the problem and do not fail the check.
   */
  explainedBy?: Record<string, string>;
}

export type Mapping = Omit<MappingDefinition, 'sources'> & {
  /** Source alias -> the table its SQL reads: the legacy table, or the staging table of a source read from CSV. */
  readonly sources: Record<string, string>;
  /** Sources that can be read from CSV, and whether this mapping reads them so (see src/csv/binding.ts). */
  readonly csvSources: Readonly<Record<string, CsvSourceBinding>>;
  readonly __mapping: true;
};

/** Declares a mapping; validates its shape so mistakes surface when the mapping is loaded, not mid-run. */
export function defineMapping<S extends Record<string, SourceDefinition>, T extends Record<string, MySqlTable>>(
  definition: MappingDefinition<S, T>,
): Mapping {
  const { tables, csvSources, problems } = normalizeSources(definition.sources);
  const normalized = { ...(definition as unknown as MappingDefinition), sources: tables };
  validateMapping(normalized, problems);
  return bindCsvSources(Object.freeze({ ...normalized, csvSources, __mapping: true as const }));
}

const sqlName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validateMapping(m: Omit<MappingDefinition, 'sources'> & { sources: Record<string, string> }, problems: string[] = []): void {
  if (!m.name || !/^[a-z0-9][a-z0-9-]*$/.test(m.name)) problems.push(`name '${m.name}' must be lower-case words joined by '-'`);
  for (const alias of [...Object.keys(m.sources), ...Object.keys(m.targets)]) {
    if (!sqlName.test(alias)) problems.push(`alias '${alias}' must be a plain SQL identifier (letters, digits, _)`);
  }
  for (const alias of Object.keys(m.sources)) {
    if (alias in m.targets) problems.push(`alias '${alias}' names both a source and a target`);
  }
  if (Object.keys(m.steps).length === 0 && Object.keys(m.lookups ?? {}).length === 0) {
    problems.push('it has neither steps nor lookups: declare at least one step (new rows) or one lookup (see LookupDefinition)');
  }
  validateLookups(m.lookups, m.sources, m.targets, problems);
  for (const [stepName, step] of Object.entries(m.steps)) {
    const where = `step '${stepName}'`;
    if (!(step.from in m.sources)) problems.push(`${where}: from '${step.from}' is not a source`);
    for (const alias of Object.keys(step.join ?? {})) {
      if (!(alias in m.sources)) problems.push(`${where}: join '${alias}' is not a source`);
    }
    if (!(step.ids.table in m.targets)) problems.push(`${where}: ids.table '${step.ids.table}' is not a target`);
    if (!idStrategies.includes(step.ids.strategy))
      problems.push(`${where}: ids.strategy '${step.ids.strategy}' is not one of ${idStrategies.join(', ')}`);
    if (step.ids.strategy === 'offset' && step.ids.offset === undefined) problems.push(`${where}: the offset strategy needs ids.offset`);
    if (!(step.ids.table in step.rows)) problems.push(`${where}: writes no row to its ids.table '${step.ids.table}'`);
    const visible = new Set([step.from, ...Object.keys(step.join ?? {})]);
    for (const [target, spec] of Object.entries(step.rows)) {
      if (!(target in m.targets)) {
        problems.push(`${where}: rows.${target} is not a target`);
        continue;
      }
      const row = rowOf(spec!);
      const idColumns = Object.entries(row)
        .filter(([, e]) => e.kind === 'id')
        .map(([c]) => c);
      if (idColumns.length !== 1) problems.push(`${where}: rows.${target} must set exactly one column to id (found ${idColumns.length})`);
      for (const [column, e] of Object.entries(row)) {
        if (e.kind === 'col' && !visible.has(e.alias)) {
          problems.push(`${where}: rows.${target}.${column} reads '${e.alias}', which is neither 'from' nor joined`);
        }
        if (e.kind === 'code') problems.push(...codeProblems(`${where}: rows.${target}.${column}`, e, visible));
      }
    }
  }
  for (const [stepName, step] of Object.entries(m.steps)) {
    const idRow = step.rows[step.ids.table];
    const orderBy = step.ids.orderBy ?? 'WhenStart';
    if (step.ids.strategy === 'chronological' && idRow && rowOf(idRow)[orderBy]?.kind === 'code') {
      problems.push(`step '${stepName}': chronological IDs are ordered by ${orderBy} in SQL, so it cannot be a code() column`);
    }
  }
  for (const change of m.finalize ?? []) {
    if (change.kind !== 'dropColumn') problems.push(`finalize: unknown change ${(change as { kind: string }).kind}`);
    else if (!Object.values(m.sources).includes(change.table))
      problems.push(`finalize drops a column of '${change.table}', which is not a source table`);
  }
  for (const change of m.cutover ?? []) {
    const table = change.kind === 'renameTable' ? change.from : change.table;
    if (!Object.values(m.sources).includes(table)) problems.push(`cutover renames '${table}', which is not a source table`);
  }
  for (const [name, replay] of Object.entries(m.replays ?? {})) {
    const aliases = new Set([...Object.keys(m.sources), ...Object.keys(m.targets)]);
    const texts = [replay.events, ...Object.values(replay.compare).map((c) => c.legacy)];
    for (const [, alias] of texts.flatMap((t) => [...t.matchAll(/\{\{\s*([^}.\s]+)/g)])) {
      if (!aliases.has(alias!)) problems.push(`replay '${name}': {{${alias}}} is neither a source nor a target`);
    }
    if (Object.keys(replay.compare).length === 0) problems.push(`replay '${name}' compares with nothing`);
    for (const [label, c] of Object.entries(replay.compare)) {
      for (const problem of Object.keys(c.explainedBy ?? {})) {
        if (!(problem in (m.problems ?? {})))
          problems.push(`replay '${name}', '${label}': explainedBy '${problem}' is not a declared problem`);
      }
      if (c.state !== undefined && !sqlName.test(c.state))
        problems.push(`replay '${name}', '${label}': state '${c.state}' must be a plain column name`);
    }
  }
  for (const [field, names] of Object.entries(m.accepts ?? {})) {
    if (field !== 'breaking' && field !== 'triggers') problems.push(`accepts.${field} is not known (accepts has breaking and triggers)`);
    else if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) {
      problems.push(`accepts.${field} must be a list of object names`);
    }
  }
  if (m.rollout) {
    const stages = m.rollout.stages;
    if (stages.length < 2 || new Set(stages).size !== stages.length) problems.push('rollout.stages must name two or more distinct stages');
    for (const stage of Object.keys(m.rollout.requires ?? {})) {
      if (!stages.includes(stage)) problems.push(`rollout.requires names '${stage}', which is not a rollout stage`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`Mapping '${m.name}' is not valid: ${problems.join('; ')}.`);
  }
}

function codeProblems(where: string, e: CodeExpr, visible: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (typeof e.fn !== 'function') problems.push(`${where}: code() needs fn, a function of its inputs`);
  const inputs = Object.entries(e.inputs ?? {});
  if (inputs.length === 0) problems.push(`${where}: code() has no inputs; a constant is lit(value)`);
  for (const [name, input] of inputs) {
    if (!input || typeof input !== 'object' || !('kind' in input))
      problems.push(`${where}: code() input '${name}' is not a column expression (col(), sql(), lit() or id)`);
    else if (input.kind === 'code') problems.push(`${where}: code() input '${name}' is itself code(); compute both in one function`);
    else if (input.kind === 'col' && !visible.has(input.alias))
      problems.push(`${where}: code() input '${name}' reads '${input.alias}', which is neither 'from' nor joined`);
  }
  return problems;
}

/** The column expressions of a target row spec, whether or not it has a `when`. */
export function rowOf(spec: TargetRow): Record<string, ColumnExpr> {
  return isConditional(spec) ? spec.row : spec;
}

export function whenOf(spec: TargetRow): string | undefined {
  return isConditional(spec) ? spec.when : undefined;
}

function isConditional(spec: TargetRow): spec is { when: string; row: Record<string, ColumnExpr> } {
  return typeof (spec as { when?: unknown }).when === 'string' && typeof (spec as { row?: unknown }).row === 'object';
}
