import type { BackupManifest } from '../backup/manifest.ts';
import type { Db } from '../db/connection.ts';
import type { ColumnInfo, TableInfo } from '../db/introspect.ts';
import type { CommitRetry, Throttle } from '../engine/chunks.ts';
import { journaledStep } from '../engine/step-journal.ts';
import type { PatchInput, StemmedPatch } from '../export/patch-file.ts';
import type { RenameState, TableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import type {
  IdSpacePlan,
  Plan,
  PlanOverrides,
  ProblemFinding,
  ProjectionPlan,
  SourcePlan,
  StepPlan,
  TableChanges,
} from '../plan/plan-data.ts';
import type { LookupPlan } from '../lookup/lookup-plan.ts';
import { faultPoint } from '../engine/fault-points.ts';
import type { BackupAt } from '../engine/pre-run-diff.ts';
import type { ReservedRange } from '../engine/pre-run-rows.ts';
import type { CheckResult, ContentCompare, PreRunTable } from '../verify/check-result.ts';

/**
 * A part is one kind of thing a run does to the database: load its CSV sources, create tables, raise AUTO_INCREMENT,
 * write its steps, fill its projections, write its lookups, rename at cutover, drop columns at finalize; or one kind of
 * thing it checks: the pre-run rows against the backup, the replays. Each part implements the verbs it takes part in
 * (plan, write, beside, cutover, checks, patches, fillsInPlace, undo, restore's ownRows and dropWorkTables, its report
 * section, its files beside the report, the privileges its statements need). registry.ts lists the parts once, in the
 * order they are written; a command folds over them as its run context holds them (run/context.ts), in that order
 * (restore, the privilege check) or in the order registry.ts names for the verb (plan, verify, rollback, the report).
 *
 * A part module may import the sources and its own feature folder (csv, lookup), the engine (chunks, the steps
 * journal, fault points, cutover renames, pre-run rows), the mapping and its compiler, backup, db, and the contracts
 * (the plan's data, a check's result, the patch file type). It never imports a command (run/) nor a runner that folds
 * over the parts (verify/verification.ts, export/patch-files.ts): they import it (ARCHITECTURE.md; the lint checks).
 */
export interface Part {
  readonly kind: PartKind;
  /**
   * Its share of the plan, as read-only pieces of work that the plan runner (plan/plan.ts) shares out between
   * connections; what they find joins the plan in planOrder (registry.ts).
   */
  plan?(p: PlanScope): PlanPiece[];
  /** Its work in migrate's write stage, each unit journaled so that a killed run resumes after the last one done. */
  write?(w: WriteScope): Promise<void>;
  /** Its work in migrate's cutover stage (after a passed verification), journaled likewise. */
  cutover?(w: WriteScope): Promise<void>;
  /**
   * When set and `when` says so, the part is written on a connection of its own while the part of kind `kind` is
   * written (started before it, awaited after it), instead of in its own turn.
   */
  beside?: { kind: PartKind; when(w: WriteScope): boolean };
  /** Its files for `eventshift sql`, by the phase they are applied in (patchPhases). */
  patches?(p: PatchScope): PartPatches;
  /** Its checks, listed for verify to schedule (each item a check, or checks one query computes). */
  checks?(v: CheckScope): CheckWork[];
  /** The existing tables its writes UPDATE in place, whose pre-run rows change by design (rollback compares them). */
  fillsInPlace?(run: { mapping: Mapping; plan: Plan }): string[];
  /** What rollback undoes of it, checking the live schema first (so it can run again after an interruption). */
  undo?(u: UndoScope): Promise<void>;
  /**
   * Restore: the rows the run wrote that are its own beyond its steps' reserved ranges (the plan's), per table, e.g.
   * the lookup rows it inserted into an existing lookup table. Restore's comparison with the backup does not count
   * them as rows others added since, so restoring over them is not refused.
   */
  ownRows?(r: RestoreScope): Promise<Map<string, ReservedRange[]>>;
  /**
   * Restore: drops the tables of eventshift's own the run leaves behind that the backup does not hold (e.g. a CSV
   * source's staging table, a lookup's work table), once the backup is back. Returns their names. Checks the live
   * schema first, so it can run again after an interruption.
   */
  dropWorkTables?(r: RestoreScope): Promise<string[]>;
  /**
   * Its section of the report (report.json, report.md, report.html), placed by reportOrder (registry.ts). A part that
   * gives one is declared `satisfies Part` rather than `: Part`, so that its section's type reaches the report's
   * (ReportSections, registry.ts).
   */
  report?: ReportSection;
  /** Files it writes beside the report (the run's data, not the verdict: CSV rows set aside); returns their paths. */
  filesBesideReport?(r: ReportFilesScope): Promise<string[]>;
  /**
   * The privileges its statements need, on which tables, and why, read from the plan: plan and migrate refuse a user
   * who lacks one the run needs, and warn of those rollback, restore or finalize would need (plan/privileges.ts).
   */
  privileges?(p: PrivilegeScope): PrivilegeNeed[];
}

/** What a part's privilege needs are read from: the mapping and the plan of the run. */
export interface PrivilegeScope {
  mapping: Mapping;
  plan: Plan;
}

/**
 * One privilege a statement of eventshift's needs: `privilege` as GRANT names it (`ALTER`, `CREATE TEMPORARY TABLES`),
 * on `table` of the migrated database (null: the database as a whole, e.g. for tables whose names are not known
 * before the run), and `for` what, naming the statement or stage. `when`: `run` (plan and migrate refuse without it),
 * or the later command that needs it (only warned of).
 */
export interface PrivilegeNeed {
  privilege: string;
  table: string | null;
  for: string;
  when: 'run' | 'rollback' | 'restore' | 'finalize';
}

/** What a part's files beside the report are written from: the run, its plan, and the report's folder. */
export interface ReportFilesScope {
  db: Db;
  plan: Plan;
  runId: number;
  dir: string;
}

export type PartKind =
  'sources' | 'create' | 'autoIncrement' | 'steps' | 'projections' | 'lookups' | 'renames' | 'finalize' | 'preRunRows' | 'replays';

/** Describes a table as planning sees it (null when it does not exist), once for the whole plan whichever connection asks. */
export type Describe = (table: string) => Promise<TableInfo | null>;

/** What a part's planning gets: the mapping, its names, the command line's ID choices, and the sources as counted. */
export interface PlanScope {
  mapping: Mapping;
  names: TableNames;
  overrides: PlanOverrides;
  sources: readonly SourcePlan[];
  /** Every name the mapping reads exists, so rows may be counted (otherwise the plan is refused already, and only named). */
  ready: boolean;
  /**
   * The plan of a run migrate starts now, rather than one shown to a person (`eventshift plan`, `sql`): what only the
   * person reads, and the run's stages find again anyway, is not counted (a projection's rows with a value).
   */
  forRun: boolean;
  /**
   * Asks for aggregates over a FROM clause, computed in a pass the plan shares with whatever else reads the same rows
   * (the data problems, the encoding scan, other steps): call it while making the pieces, never inside one.
   */
  pass: AskPass;
}

/**
 * Aggregates asked of one FROM clause, computed in one pass over its rows: a step's counts, the data problems that
 * read the same rows, a source's encoding scan. Each asker gives its aggregates and, optionally, the only rows they
 * read (`where`); a pass reads the rows any of its askers reads (their `where`s joined with OR, or every row when one
 * asker gives none), so an aggregate must leave out by itself the rows its asker does not read (`SUM(CASE WHEN ...)`,
 * `GROUP_CONCAT(CASE WHEN ... END)`: a NULL adds nothing), and give the same value whatever other rows the pass reads.
 */
export interface PassRequest {
  /** The FROM clause (tables and joins) as SQL; passes are shared by equal text. */
  from: string;
  /** The aggregates, as SQL expressions; their values come back in this order. */
  columns: readonly string[];
  /** The rows the aggregates read, as a condition; undefined: every row. */
  where?: string;
}

/** Asks for the aggregates of a request; the answer comes once its pass has run. */
export type AskPass = (request: PassRequest) => Promise<unknown[]>;

/** One piece of a part's planning, run on connection `on`, describing tables through `describe`. Read-only. */
export type PlanPiece = (on: Db, describe: Describe) => Promise<PartPlanned>;

/**
 * What a piece of planning adds to the plan: its part's entries (steps with their IDs and ID space, projections,
 * lookups), the tables the run backs up, creates, alters and renames, the findings and the refusals. The plan runner
 * joins them in planOrder, so each list keeps the parts' order.
 */
export interface PartPlanned {
  steps?: StepPlan[];
  idSpace?: IdSpacePlan[];
  suggestion?: Plan['suggestion'];
  projections?: ProjectionPlan[];
  lookups?: LookupPlan[];
  tables?: Partial<TableChanges>;
  problems?: ProblemFinding[];
  refusals?: string[];
}

/** What a part's write gets: the run, its connection, its pacing, and where it reports progress and rows written. */
export interface WriteScope {
  /** The stage the part's units are journaled under. */
  stage: 'write' | 'cutover';
  db: Db;
  /** The mapping, bound as the run's plan read its sources. */
  mapping: Mapping;
  plan: Plan;
  runId: number;
  now: () => Date;
  log: (line: string) => void;
  throttle: Throttle;
  /** A throttled run (--max-rows-per-second) does one thing at a time. */
  throttled: boolean;
  /** Keys per write chunk to start with (--chunk-keys); adapted to about half a second per chunk. */
  chunkKeys?: number;
  /** Streamed steps: rows per multi-row INSERT at most. */
  batchRows?: number;
  /**
   * How far a long unit is, in rows: `write <step>`, `load <alias>`, `lookup <name> ...`. `total` is what the plan
   * counted; the rows done may stop short of it or pass it. `ended` is true in the unit's last report only, made once
   * it is done: `done` is then the true count, and `total` equals it. A unit that stops early makes no such report.
   */
  progress(label: string, done: number, total: number, ended?: boolean): void;
  /** Rows written per step and per `lookup.source`, as migrate reports them. */
  rowsWritten: Record<string, number>;
  /** Told of each chunk transaction retried after a certification conflict (Galera), for migrate's count of them. */
  onRetry?: (retry: CommitRetry) => void;
}

/** One unit of the scope's stage, journaled on its connection (a part written beside another gets its own). */
export function journaled(w: WriteScope, step: string, work: () => Promise<void>): Promise<void> {
  return journaledStep({ db: w.db, runId: w.runId, stage: w.stage, step, now: w.now, faultPoint }, work);
}

/** What a part's undo gets: the run, its backup's manifest (null when there is none), and where it says what it did. */
export interface UndoScope {
  db: Db;
  /** The mapping, bound as the run's plan read its sources. */
  mapping: Mapping;
  plan: Plan;
  runId: number;
  backupDir: string;
  manifest: BackupManifest | null;
  /** Keys deleted per statement. */
  chunkKeys: number;
  /** What was undone, in order, as sentences. */
  actions: string[];
  rowsDeleted: Record<string, number>;
  /** Tables the run created that now hold others' rows: kept, with those rows. */
  keptTables: Array<{ table: string; rows: number }>;
  /** The existing tables the parts UPDATE in place (Part.fillsInPlace), each once, in write order. */
  filledInPlace: readonly string[];
}

/** What a part gets from restore: the run whose backup is restored, and the connection. */
export interface RestoreScope {
  db: Db;
  /** The mapping, bound as the run's plan read its sources. */
  mapping: Mapping;
  plan: Plan;
  runId: number;
}

/** What a part's report section is made from: the run's plan and the verification's checks. */
export interface ReportScope {
  plan: Plan;
  checks: readonly CheckResult[];
}

/**
 * A part's section of the report, in three forms of the same content: `data` is what the part puts in report.json,
 * under `field` (the model is written as it is, so plain JSON values; docs/report-format.md documents each field),
 * and `markdown` and `html` render that data in report.md and report.html. The sections stand between the verdict
 * and the checks, in reportOrder.
 */
export interface ReportSection<F extends string = string, T = unknown> {
  /** Its field in report.json. */
  readonly field: F;
  data(r: ReportScope): T;
  /** Its lines of report.md, the first one empty; none when it has nothing to show. `md` escapes text for Markdown. */
  markdown(data: T, md: (text: unknown) => string): string[];
  /** Its element of report.html, every text in it escaped with escapeXml; '' when it has nothing to show. */
  html(data: T): string;
  /** Its link in report.html's navigation bar, when it has one. */
  readonly nav?: string;
}

/** What a part's patches are built from: the export's input, the mapping's names, and each table's ON UPDATE columns. */
export interface PatchScope extends PatchInput {
  names: TableNames;
  /** A table's `ON UPDATE` columns: the UPDATEs of the export set them to themselves, so they keep their values. */
  keepOf(table: string): string[];
}

/**
 * The phases the export's files are applied in, each in the parts' write order: schema changes first (tables created,
 * columns added), then the data, then the cutover's renames.
 */
export const patchPhases = ['schema', 'data', 'cutover'] as const;

export type PartPatches = Partial<Record<(typeof patchPhases)[number], StemmedPatch[]>>;

/** A check's outcome before verify times it. */
export type Check = Omit<CheckResult, 'seconds'>;

/**
 * One unit of verification work, as verifyMapping schedules them: `weight`, how many checks it gives (some queries give
 * several); `rows`, about how many rows it reads (each row looked up in another table counted again), to start long
 * ones first; `first`, started before all others; `run` gets the connection to work on.
 */
export interface CheckWork {
  weight: number;
  first?: boolean;
  rows?: number;
  run(db: Db): Promise<Check[]>;
}

/** A table's columns by name and its primary key, as verification needs them (no columns: the table is missing). */
export interface DescribedTable {
  columns: Map<string, ColumnInfo>;
  primaryKey: readonly string[];
}

/** What a part's checks get: the run, what the backup says was there before it, and the live tables. */
export interface CheckScope {
  /** Verify's connection (a check given one by `run` works on that one). */
  db: Db;
  /** The mapping, bound as the run's plan read its sources. */
  mapping: Mapping;
  plan: Plan;
  /** The cutover renames that have happened: the tables are read by their current names. */
  renames: RenameState;
  /** The mapping's names, through the renames that have happened. */
  names: TableNames;
  preRun: readonly PreRunTable[];
  /** The run whose lineage rows steps numbered dense or chronologically read. */
  runId: number;
  /** Failures named per check at most. */
  limit: number;
  /** About how many legacy rows a content check compares per piece (default 50,000). */
  pieceRows?: number;
  /** How content checks compare rows (default `exact`). */
  contentCompare?: ContentCompare;
  /** The run's backup, to name the pre-run rows that differ from it (without it, only checksums are compared). */
  backup?: BackupAt;
  /** A table as it is, described once per verification. */
  tableOf(table: string, db: Db): Promise<DescribedTable>;
}

/** Each of `privileges` on each of `tables` (null: the database), for the same purpose and command. */
export function privilegeNeeds(
  privileges: readonly string[],
  tables: ReadonlyArray<string | null>,
  why: Pick<PrivilegeNeed, 'for' | 'when'>,
): PrivilegeNeed[] {
  return tables.flatMap((table) => privileges.map((privilege) => ({ privilege, table, ...why })));
}
