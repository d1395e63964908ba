import type { Db } from '../db/connection.ts';
import type { TableInfo } from '../db/introspect.ts';
import type { CsvSourcePlan } from '../csv/csv-plan.ts';
import type { ProblemFinding } from '../plan/plan-data.ts';
import type { CheckResult } from '../verify/check-result.ts';

/**
 * A source of a mapping as one run reads it. Each kind implements it: a table (table-source.ts) is read as it is; a
 * CSV file (csv/csv-source.ts) is loaded into a staging table, which the mapping's SQL then reads. Planning, migrate,
 * verify, rollback and restore fold over a run's sources (sources.ts) and name no kind. What a kind does not need, it
 * leaves out.
 */
export interface Source {
  readonly alias: string;
  /** The table the mapping's SQL reads it as: the legacy table, or the staging table a CSV is loaded into. */
  readonly table: string;
  /** Whether eventshift makes that table (a CSV's staging table) rather than finding it in the database. */
  readonly staged: boolean;

  /** Planning: why the source cannot be read at all (a CSV-only source given no file); the plan is refused. */
  unreadable?(): string | null;
  /**
   * Planning: makes the source readable on `db` alone, for no one else to see, and returns its table as planning must
   * describe it (a TEMPORARY table, which information_schema does not show), or null when it has nothing to stage.
   * `unstage` undoes it, whatever happened.
   */
  stage?(db: Db, planning: SourcePlanning): Promise<TableInfo | null>;
  unstage?(db: Db): Promise<void>;
  /** Planning, once staged: what the plan records of it beyond its table's counts, with the findings and refusals that go with it. */
  planned?(): PlannedSource;

  /** The run's journaled step (in the write stage, before any step is written) that makes the source readable for it. */
  readonly prepareStep?: string;
  prepare?(db: Db, run: SourceRun): Promise<void>;
  /** Verification: that the run read what its plan read. */
  checks?(db: Db, runId: number): Promise<Array<Omit<CheckResult, 'seconds'>>>;
  /** Rollback and restore: removes what the run made of the source (the tool's own tables), saying what each was. */
  undo?(db: Db): Promise<Array<{ table: string; what: string }>>;
}

/** What planning a source knows of the plan being made. */
export interface SourcePlanning {
  mapping: string;
  /** Bad rows are to be set aside rather than refuse the run (`--quarantine`). */
  quarantine: boolean;
}

/** What a source adds to its plan: the CSV facts (for a CSV), findings (listed first among the plan's) and refusals. */
export interface PlannedSource {
  csv?: CsvSourcePlan;
  problems: ProblemFinding[];
  refusals: string[];
}

/** The run a source is prepared for, and the hooks of its step. */
export interface SourceRun {
  mapping: string;
  runId: number;
  faultPoint: (name: string) => void;
  log?: (line: string) => void;
  /** Rows prepared out of the plan's `total`; `ended` in the last report only, once the source is ready (see WriteScope.progress). */
  onProgress?: (rows: number, total: number, ended?: boolean) => void;
}
