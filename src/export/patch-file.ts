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
