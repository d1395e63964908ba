import type { CsvSourcePlan } from '../csv/csv-plan.ts';
import type { LookupPlan } from '../lookup/lookup-plan.ts';
import type { IdStrategy } from '../mapping/types.ts';
import type { IdGap, IdRun } from '../db/id-islands.ts';
import { refusal } from '../errors.ts';

/*
 * What a plan records: plain data, frozen into a run at its start and read back by every command that finishes,
 * checks or undoes it. Anyone may import this module; it imports only other such data modules (and errors.ts).
 */

/** What a run of a mapping would do, derived from the mapping and the live database. Frozen into the run at its start. */
export interface Plan {
  /** The plan's version (see planVersion): what the code that planned the run did, and so how to finish or undo it. */
  version: number;
  mapping: string;
  database: string;
  server: string;
  createdAt: string;
  sources: SourcePlan[];
  steps: StepPlan[];
  projections: ProjectionPlan[];
  /** The mapping's lookups (see LookupDefinition). */
  lookups: LookupPlan[];
  tables: TableChanges;
  /**
   * Views, triggers, routines, events and foreign keys that name a table the cutover renames or a column finalize
   * drops, and what becomes of each (see dependents.ts).
   */
  dependents: Dependent[];
  /** Triggers the run's own INSERTs, UPDATEs and DELETEs fire. */
  firedTriggers: FiredTrigger[];
  idSpace: IdSpacePlan[];
  problems: ProblemFinding[];
  /** Why the run must not go ahead; empty when it may. */
  refusals: string[];
  /**
   * What rollback, restore or finalize would need that the planning user lacks, and RELOAD's absence (a slower backup);
   * what the run itself needs and the user lacks is among `refusals` (plan/privileges.ts). Absent in older plans.
   */
  privilegeWarnings?: string[];
  /** The server's settings the run relies on, as plan read them (server-variables.ts). Absent in older plans. */
  serverSettings?: ServerFacts;
  /** What the server's settings may mean later (names that differ only by case). Absent in older plans. */
  serverWarnings?: string[];
  /** Set when the plan was made on a Galera node (plan/galera.ts): what the cluster means for the run. */
  galera?: GaleraPlan;
  /** Names used as written because aliases.yaml lacks them (EVENTSHIFT_ENV=production; otherwise they are errors). */
  aliasWarnings: string[];
  /** When the IDs do not fit as planned: the lowest free block that fits them all, numbered densely. */
  suggestion: { args: string; first: number; last: number } | null;
  ok: boolean;
}

/** The server variables a run relies on, as plan read them. */
export interface ServerFacts {
  /** 0: table names stored and compared as written; 1: stored in lower case; 2: stored as written, compared in lower case. */
  lowerCaseTableNames: number;
  /** The session's max_allowed_packet, bytes. */
  maxAllowedPacket: number;
  /** Whether LOAD DATA LOCAL INFILE (restore's) is allowed. */
  localInfile: boolean;
  /** The server's global sql_mode, which eventshift's sessions replace with their own. */
  sqlMode: string;
}

/** What a Galera cluster means for a run, as plan read it on the node it connected to. */
export interface GaleraPlan {
  /** wsrep_node_name, and the nodes in the cluster then (wsrep_cluster_size). */
  node: string;
  clusterSize: number;
  /** wsrep_max_ws_rows (0: no limit) and wsrep_max_ws_size: each chunk stays under a quarter of them. */
  maxWriteSetRows: number;
  maxWriteSetBytes: number;
  /** How the node runs DDL (wsrep_OSU_method): TOI, in total order on every node; anything else is refused. */
  osuMethod: string;
  /** The run's DDL statements, one line each (`CREATE TABLE event_vc_ord_hold`, `RENAME TABLE ord_pull TO ...`). */
  ddl: string[];
  /** What may matter without refusing the run (a table it only reads that has no primary key). */
  warnings: string[];
}

export interface SourcePlan {
  alias: string;
  table: string;
  exists: boolean;
  rows: number;
  keyColumn: string | null;
  minKey: number | null;
  maxKey: number | null;
  /** For a source read from CSV (`table` is then its staging table): the files, their dialect and the bad rows. */
  csv?: CsvSourcePlan;
}

export interface StepPlan {
  name: string;
  description: string | undefined;
  from: string;
  keyColumn: string;
  /** Source rows the step reads (those passing its filter). */
  sourceRows: number;
  ids: StepIds;
  /**
   * The reserved range of new IDs; null when the step has no rows. Offset: the source's legacy keys [min, max] plus the
   * offset. Dense: the step's own block. Chronological: the block all chronological steps share.
   */
  range: { table: string; first: number; last: number } | null;
  writes: Array<{
    alias: string;
    table: string;
    keyColumn: string;
    rows: number;
    when: string | undefined;
    /**
     * A streamed step's largest row for this table as its INSERT would carry it, estimated: every value as hex (a
     * code() column sized by its inputs), in bytes; the plan refuses one over max_allowed_packet. Absent when set-based.
     */
    largestRowBytes?: number;
  }>;
  /**
   * How the step is written: `set-based` (INSERT ... SELECT on the server) or `streamed` (read in chunks, code()
   * columns computed in Node, multi-row INSERTs), because of `codeColumns` (as table.column).
   */
  writePath: 'set-based' | 'streamed';
  codeColumns: string[];
}

export interface ProjectionPlan {
  name: string;
  table: string;
  key: string;
  column: string;
  definition: string;
  after: string | undefined;
  /**
   * Rows of the table that will hold a non-NULL value; null in the plan of a run migrate started (the count is a pass
   * over the aggregate, which the fill makes again, and nothing of the run reads it).
   */
  rowsWithValue: number | null;
  tableRows: number;
}

export interface TableChanges {
  /** Every table the run writes, alters or renames, saved before the first write (absent ones recorded as absent). */
  backup: string[];
  create: string[];
  alter: Array<{ table: string; change: string }>;
  rename: Array<{ table: string; from: string; to: string; kind: 'table' | 'column' }>;
}

export interface IdSpacePlan {
  table: string;
  keyColumn: string;
  exists: boolean;
  rows: number;
  minId: number | null;
  maxId: number | null;
  autoIncrement: number | null;
  hasAutoIncrement: boolean;
  columnMax: string;
  ranges: Array<{ step: string; first: number; last: number }>;
  /** Set when a reserved range lies above the current AUTO_INCREMENT: raised past it before the first write. */
  raiseAutoIncrementTo: number | null;
  collisions: Array<{ step: string; table: string; count: number; firstIds: number[] }>;
  /** Occupied runs of IDs before the run, at most ~50 (runs split by the smallest gaps are merged); see id-islands.ts. */
  islands: IdRun[];
  /** Free gaps between those runs. */
  gaps: IdGap[];
  /** The exact numbers of runs and of free gaps, however many were merged for the picture. */
  islandCount: number;
  gapCount: number;
}

export interface ProblemFinding {
  name: string;
  description: string;
  severity: 'fatal' | 'warning';
  consequence: string | undefined;
  count: number;
  /** The first offending keys, in key order. */
  keys: string[];
  /** One offending value shown as it is, for the report (e.g. mis-encoded text and how it reads repaired). */
  example?: string;
}

export const problemKeyLimit = 20;

/** Command-line choices that override the mapping's ID assignment. */
export interface PlanOverrides {
  /** Numbering for every step; `auto` is `dense` placed in the lowest free gap that fits the whole plan. */
  ids?: IdStrategy | 'auto';
  /** First ID per step name. */
  start?: Record<string, number>;
  /** --accept-breaking: views, routines and events the cutover or finalize would break do not refuse the plan. */
  acceptBreaking?: boolean;
}

/** A step's IDs as the plan fixed them. */
export type StepIds = { strategy: 'offset'; offset: number } | { strategy: 'dense' | 'chronological'; start: number; orderBy?: string };

export type DependentKind = 'view' | 'trigger' | 'procedure' | 'function' | 'event' | 'foreign key';

/** A change a dependent depends on, with the names as the live schema has them when the change is made. */

/** An object that names a table the cutover renames or a column finalize drops, and what becomes of it. */
export interface Dependent {
  kind: DependentKind;
  /** Its name; `schema.name` when it lives in another database. */
  name: string;
  stage: 'cutover' | 'finalize';
  /** The change, as the plan shows it: `rename rental to OLD rental`, `drop rental.return_date`. */
  change: string;
  /**
   * `follows`: it keeps working after the change (a foreign key, a trigger on the renamed table); `breaks`: its text
   * names what the change renames or drops, so it fails once the change is made; `blocks`: the server refuses the
   * change while it exists (a foreign key over a column finalize drops).
   */
  effect: 'follows' | 'breaks' | 'blocks';
  /** What happens to it, as a sentence. */
  detail: string;
  /** For `breaks`: accepted by the mapping's `accepts.breaking`, or by --accept-breaking; absent when not. */
  accepted?: 'mapping' | 'flag';
}

/** A trigger the run's own INSERTs, UPDATEs or DELETEs fire. */
export interface FiredTrigger {
  name: string;
  table: string;
  /** `AFTER UPDATE`, ... */
  when: string;
  /** The run's statements that fire it: `projection copies`, `step rented`, `rollback`. */
  by: string[];
  /** Declared in the mapping's `accepts.triggers`. */
  accepted: boolean;
  /**
   * The tables of this database its body names (besides its own): what it may write. The run backs them up, so that
   * verify's unchanged check covers them and restore can put them back.
   */
  names: string[];
}

/**
 * The version of the plans this code makes. A run finishes, verifies and undoes what its plan's version did:
 * - 1: plans from before a run's fills kept the ON UPDATE columns of the rows they filled (those fills rewrote them,
 *   and rollback puts the backup's times back). Such plans list no fired triggers, dependents or lookups.
 * - 2: since. Fills keep ON UPDATE columns, and the plan lists the triggers the run fires.
 * Plans stored before plans had a version have none; upgradePlan gives them theirs.
 */
export const planVersion = 2;

/** The first plan version whose fills keep ON UPDATE columns (see rollback's comparePreRunRows). */
export const keepsOnUpdateSince = 2;

/** A plan as a run stored it, by this code or older: what was added to plans since may be absent. */
export type StoredPlan = Omit<Plan, 'version' | 'lookups' | 'dependents' | 'firedTriggers' | 'steps'> & {
  version?: number;
  lookups?: LookupPlan[];
  dependents?: Dependent[];
  firedTriggers?: Array<Omit<FiredTrigger, 'names'> & { names?: string[] }>;
  steps: Array<Omit<StepPlan, 'writePath' | 'codeColumns'> & { writePath?: StepPlan['writePath']; codeColumns?: string[] }>;
};

/**
 * A stored plan in this version's shape, keeping the version it was made in: what it lacks, the code that made it did
 * not have (no lookups, dependents or fired triggers; every step set-based). Applied wherever a stored plan is read,
 * also to a run record that holds less than a plan (`{}`): only what it lacks of the lists is filled in.
 */
export function upgradePlan(stored: StoredPlan): Plan {
  if (stored.version !== undefined && stored.version > planVersion) {
    throw refusal(
      `The plan of this run of ${stored.mapping} is of version ${stored.version}, made by a newer eventshift ` +
        `(this one reads versions up to ${planVersion}); finish the run with that eventshift.`,
      { subject: stored.mapping },
    );
  }
  // Every plan since version 2 lists the triggers the run fires: one without that list was made by version 1's code.
  const version = stored.firedTriggers === undefined ? 1 : (stored.version ?? planVersion);
  return {
    ...stored,
    version,
    steps: (stored.steps ?? []).map((s) => ({ ...s, writePath: s.writePath ?? 'set-based', codeColumns: s.codeColumns ?? [] })),
    lookups: stored.lookups ?? [],
    dependents: stored.dependents ?? [],
    firedTriggers: (stored.firedTriggers ?? []).map((t) => ({ ...t, names: t.names ?? [] })),
  };
}
