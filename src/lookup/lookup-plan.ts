/** What the plan records of a lookup: plain data, imported by the lookup's planner, compiler, writer and report. */

/** What a run does for one lookup, as planned; frozen into the run with the rest of the plan. */
export interface LookupPlan {
  name: string;
  description: string | null;
  table: string;
  idColumn: string;
  naturalKey: string;
  /** Whether the lookup table existed (else the run creates it), its rows and highest ID then. */
  exists: boolean;
  rowsBefore: number;
  maxIdBefore: string | null;
  autoIncrementBefore: number | null;
  sources: LookupSourcePlan[];
  /** The `everyRowOf` sources and their rows, each of which gets its lookup row (absent in plans from before them). */
  everyRowOf?: Array<{ alias: string; table: string; rows: number }>;
  /** Distinct natural keys that get a lookup row: `reuse` of them have one already, `create` are new. */
  keys: number;
  reuse: number;
  create: number;
  /** Distinct natural keys of the rows the sources' `skip` picks. */
  skippedKeys: number;
  /** Every natural key in conflict (hex of its bytes): their rows are skipped too. */
  conflictedKeys: string[];
}

export interface LookupSourcePlan {
  alias: string;
  table: string;
  keyColumn: string | null;
  reference: { name: string; definition: string; after?: string };
  rows: number;
  /** Rows whose reference the run sets. */
  fill: number;
  /** Rows the source's `skip` picks, and rows whose natural key is in conflict: both keep reference 0. */
  skipped: number;
  conflicted: number;
}
