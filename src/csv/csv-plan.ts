import type { TextEncoding } from './decode.ts';
import type { Detected } from './detect.ts';

/** What the plan records of a source read from CSV: plain data, imported by the CSV planner, loader, run and report. */

/** A source read from CSV, as the plan shows it and a run freezes it (the run reads exactly these files, so). */
export interface CsvSourcePlan {
  /** The file or folder given (absolute). */
  path: string;
  /** The table (as the mapping names it) the CSV stands for; null for a CSV-only source. */
  standsFor: string | null;
  staging: string;
  key: string;
  /** The zone of the file's local times, and the zone whose wall time the table's DATETIME columns hold. */
  zone: string;
  tableZone: string;
  /** Whether bad rows are set aside in eventshift_quarantine (`--quarantine`) rather than refusing the run. */
  quarantine: boolean;
  files: CsvFileFacts[];
  /** Data records in all files. */
  records: number;
  /** Records that load. */
  accepted: number;
  /** Records that do not: records = accepted + bad. */
  bad: number;
  /** The first bad rows (file, line, reason), in file and line order. */
  badRows: BadRow[];
}

/** One file of a CSV source as the plan shows it. */
export interface CsvFileFacts {
  path: string;
  bytes: number;
  sha256: string;
  encoding: Detected<TextEncoding>;
  delimiter: Detected<string>;
  quote: string;
  /** Where the column names come from: the file's first line, or the declaration's list. */
  header: 'first line' | 'declared';
  /** Data records (header and empty lines not counted). */
  records: number;
  emptyLines: number;
  bad: number;
  /** Set when the file's quoting breaks at some line: nothing from there on was read. */
  unreadable: { line: number; message: string } | null;
}

/** A row that was not loaded, and why. */
export interface BadRow {
  file: string;
  line: number;
  reason: string;
}
