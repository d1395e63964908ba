import type { BackupTrigger } from '../backup/manifest.ts';
import type { DatabaseDefaults } from '../backup/restore-journal.ts';
import type { Capabilities } from '../db/capabilities.ts';
import type { TableInfo } from '../db/introspect.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Plan } from '../plan/plan-data.ts';

/** One reviewable patch: its statements, the statements that undo it, and what it does to the server. */
export interface PatchFile {
  /** File name, numbered in the order the run applies it: `03-patch-orders-WhenHeld.sql`. */
  name: string;
  kind: 'table' | 'column' | 'data' | 'rename';
  table: string;
  description: string;
  /** Rows the statements write or change, when known from the plan. */
  expectedRows: number | null;
  locks: string;
  statements: string[];
  rollback: string[];
  /** Why the file lacks statements a run executes (a streamed step: its code() columns have no SQL); a comment in the file. */
  note?: string;
}

/** What the patches are built from: the mapping and its plan, the server, and the live tables the cutover touches. */
export interface PatchInput {
  mapping: Mapping;
  plan: Plan;
  capabilities: Capabilities;
  /** The live tables, as describeTable gives them (null: absent). */
  describe: ReadonlyMap<string, TableInfo | null>;
  /** The triggers on each table the cutover renames, as they are before it (readTriggers), in the order they fire. */
  triggers?: ReadonlyMap<string, readonly BackupTrigger[]>;
  /** The database's default character set and collation (restore-journal's databaseDefaults), put back after triggers. */
  databaseDefaults?: DatabaseDefaults;
}

/** A patch before it is numbered: `stem` is its name without the number and `.sql`. */
export type StemmedPatch = Omit<PatchFile, 'name'> & { stem: string };

/** The run id that exported lineage rows carry (a real run's ids start at 1). */
export const exportRunId = 0;

/** A name as a file name may hold it. */
export const safeStem = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');
