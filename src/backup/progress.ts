/**
 * Rows done out of a table's total, reported while its rows are written (backup) or loaded (restore).
 * `totalRows` may be an estimate (a backup's TABLE_ROWS): rows may stop short of it or pass it. `ended` is true in one
 * report only, the last, made once the table's rows are all written or loaded: `rows` is then the true count, and
 * `totalRows` equals it. A table whose work stops on an error has no such report.
 */
export interface BackupProgress {
  table: string;
  rows: number;
  totalRows: number;
  ended: boolean;
}

/** Progress is reported when a table starts, every this many rows, and when it ends. */
export const PROGRESS_EVERY = 10_000;
