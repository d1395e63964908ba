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
  /**
   * Keys of the rows that failed (up to `failureLimit`), with the legacy key and what is wrong; a content check's row
   * that differs from its legacy row also has, per differing column, the value mapped from the legacy row and the one
   * found (`values`).
   */
  failures: Array<{ key: string; legacyKey?: string; reason: string; values?: FailingValue[] }>;
  failureCount: number;
  /** Replay checks: disagreements a declared data problem accounts for (up to `failureLimit`); they do not fail the check. */
  explained?: Array<{ key: string; problem: string; reason: string }>;
  explainedCount?: number;
  /** Replay checks: what a key names ('order'). */
  entity?: string;
  seconds: number;
}

/** One column of a failing row: what the mapping computes from the legacy row, and what the target row holds. */
export interface FailingValue {
  column: string;
  expected: ShownValue;
  found: ShownValue;
}

/**
 * A value as a report shows it, safe to print: SQL NULL, text (utf8mb4, as compared), bytes as hex digits, or a number
 * or time as the server writes it. A long value is cut: `value` is its start, `cut` says so and `bytes` is its whole
 * length in bytes (for text and hex; null otherwise).
 */
export interface ShownValue {
  form: 'null' | 'text' | 'hex' | 'plain';
  /** null for NULL; hex digits without `0x` for `hex`. */
  value: string | null;
  cut: boolean;
  bytes: number | null;
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
