import type { MySqlTable } from 'drizzle-orm/mysql-core';
import type { CsvSourceDefinition, SourceDefinition } from '../csv/declaration.ts';
import type { AliasFile } from './aliases.ts';
import type { LookupDefinition } from './lookup.ts';

/*
 * The mapping contract's types: plain data, imported by everything that reads a mapping. defineMapping and the
 * expression helpers (col, lit, sql, id, code, ...) are in define.ts, which re-exports these.
 */

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

/** A change `eventshift finalize` makes; `table` is a legacy table's alias key, `column` a column's. */
export type FinalizeChange = { readonly kind: 'dropColumn'; readonly table: string; readonly column: string };

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
  /** Sources that can be read from CSV, and whether this mapping reads them so (see bind-sources.ts). */
  readonly csvSources: Readonly<Record<string, CsvSourceBinding>>;
  readonly __mapping: true;
};

/**
 * Which sources of a mapping are read from CSV. A mapping declares, per source, a table, a table that can also be read
 * from a CSV export, or only CSV; `--source NAME=path` (or the declaration's `file`) makes a source read its CSV. Such
 * a source's alias then names its staging table, so every step, check and projection reads the CSV's rows unchanged;
 * the cutover renames of the table it stands for are left out (the run did not read that table, which may not even
 * exist), and nothing else of the mapping changes.
 */
export interface CsvSourceBinding {
  definition: CsvSourceDefinition;
  /** The table (as the mapping names it) the CSV stands for; null for a CSV-only source. */
  table: string | null;
  /** The file or folder read in this run (absolute once bound by `--source` or a plan); null when the table is read. */
  file: string | null;
}
