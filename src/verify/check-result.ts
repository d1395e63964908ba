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
  /** Content checks: how the rows were compared (how many pieces their hashes settled, how many were compared row by row). */
  method?: string;
  seconds: number;
}

/**
 * How a content check compares a step's rows: `exact` (the default), every legacy row joined to its target rows and
 * compared value by value; `hash` (--verify hash), each piece of the key range hashed on both sides by the server and
 * only a piece whose hashes or counts differ compared row by row. On MariaDB 10.11 at 500,000 pulls the hashes cost
 * about twice the row-by-row comparison (SHA-1 and the texts it reads, on both sides, against primary-key lookups),
 * so `exact` is the default (README, Benchmarks: bench/migrate.ts measures both, (d) and (e)).
 */
export type ContentCompare = 'hash' | 'exact';

/** What the report says of the hash tier: what was hashed, and how. */
export const hashTierDescription =
  "Each piece of a step's legacy key range (about 50,000 rows) was hashed on both sides by the server: every mapped " +
  "row (its ID and each compared value, in the form the row-by-row comparison uses, each quoted so that NULL, '' and " +
  'separators cannot be confused) and every target row in the piece (its key and its stored values, in the same forms). ' +
  "A row's hash is the first 128 bits of the SHA-1 of its text, summed exactly over the rows in two 64-bit halves, " +
  'with the rows counted. A piece whose counts and sums agree on both sides is settled; any other piece is compared ' +
  'row by row, which names the rows, columns and values that differ.';

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
  /** How content checks compared rows (absent in verifications recorded before there was a choice: `exact`). */
  contentCompare?: ContentCompare;
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
