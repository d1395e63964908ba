import type { ContentChecksum } from '../db/checksum.ts';

/**
 * The results verify reports and what it compares against, as plain data: the check runners of every feature (ids,
 * replay, streamed steps, CSV sources, lookups) import these, never the verify orchestrator that calls them.
 */

/** One check's outcome, as reports show it. */
export interface CheckResult {
  id: string;
  kind: 'count' | 'content' | 'references' | 'range' | 'unchanged' | 'projection' | 'replay' | 'lookup';
  title: string;
  step?: string;
  table?: string;
  ok: boolean;
  expected?: string | number;
  actual?: string | number;
  /** Keys of the rows that failed (up to `failureLimit`), with the legacy key and what is wrong. */
  failures: Array<{ key: string; legacyKey?: string; reason: string }>;
  failureCount: number;
  /** Replay checks: disagreements a declared data problem accounts for (up to `failureLimit`); they do not fail the check. */
  explained?: Array<{ key: string; problem: string; reason: string }>;
  explainedCount?: number;
  /** Replay checks: what a key names ('order'). */
  entity?: string;
  seconds: number;
}

export interface Verification {
  ok: boolean;
  checks: CheckResult[];
  startedAt: string;
  seconds: number;
}

/** What the backup says a table held before the run; the basis of "rows that existed are unchanged". */
export interface PreRunTable {
  name: string;
  exists: boolean;
  /** The backup's columns; `encoding` and `systemTime` say how its checksum read them (backup/manifest.ts, BackupColumn). */
  columns: Array<{ name: string; dataType: string; generated?: boolean; encoding?: string | null; systemTime?: string }>;
  primaryKey: string[];
  /** Decimal string, so BIGINT keys above 2^53 stay exact. */
  maxKey: string | null;
  checksum: ContentChecksum | null;
}
