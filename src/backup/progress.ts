/** Rows done out of a table's total, reported while its rows are written (backup) or loaded (restore). */
export interface BackupProgress {
  table: string;
  rows: number;
  totalRows: number;
}

/** Progress is reported when a table starts, every this many rows, and when it ends. */
export const PROGRESS_EVERY = 10_000;
