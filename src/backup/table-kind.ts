import type { ColumnInfo } from '../db/introspect.ts';
import { refusal } from '../errors.ts';
import { maskQuoted } from './create-statement.ts';

/**
 * What a backup keeps of a table, by what it is:
 * - `table`: its definition and its rows.
 * - `sequence` (CREATE SEQUENCE): its definition and its one row, the sequence's state (next value not yet cached,
 *   bounds, increment, cache, cycle option and count), loaded back like any row: a restored sequence goes on from
 *   where the original would after a server restart (values it had cached in memory are skipped, never reused).
 * - `system-versioned`: its definition and every row of its history (`FOR SYSTEM_TIME ALL`) with each row's start
 *   and end (columnsOf adds them), written back with `system_versioning_insert_history` (MariaDB 10.11+).
 * - `definition-only`: a table whose rows are those of other tables (a MERGE table; FEDERATED, CONNECT and SPIDER
 *   tables, whose rows are on another server): its definition alone. Its rows belong to the tables it is built on,
 *   which are backed up as tables in their own right; loading them through it would write them into those tables.
 */
export type TableKind = 'table' | 'sequence' | 'system-versioned' | 'definition-only';
export const tableKinds: readonly TableKind[] = ['table', 'sequence', 'system-versioned', 'definition-only'];

/** Engines whose tables hold no rows of their own (lower case, as information_schema.ENGINES names them). */
const rowsElsewhere = new Set(['mrg_myisam', 'federated', 'spider', 'connect']);

/** The kind of an object by its information_schema.TABLES TABLE_TYPE and ENGINE; null for a view or anything else. */
export function tableKindOf(tableType: string, engine: string | null): TableKind | null {
  if (tableType === 'SEQUENCE') return 'sequence';
  if (tableType === 'SYSTEM VERSIONED') return 'system-versioned';
  if (tableType !== 'BASE TABLE') return null;
  return rowsElsewhere.has((engine ?? '').toLowerCase()) ? 'definition-only' : 'table';
}

/**
 * What a restore does with a backup's table: its recorded kind, or, in a backup of format version 1 or 2 (which
 * kept the rows of a MERGE table as if they were its own), `definition-only` for an engine whose rows live elsewhere:
 * loading those rows would write them into the tables it is built on.
 */
export function restoredKind(entry: { kind?: TableKind; engine: string | null }): TableKind {
  return entry.kind ?? tableKindOf('BASE TABLE', entry.engine)!;
}

/** A column as a backup describes it, before its encoding is chosen. */
export type KindColumn = Pick<ColumnInfo, 'name' | 'dataType' | 'columnType' | 'charset' | 'collation' | 'generated' | 'autoIncrement'> & {
  systemTime?: 'start' | 'end';
};

/**
 * The row start and end columns of a system-versioned table, from its SHOW CREATE TABLE: those its `PERIOD FOR
 * SYSTEM_TIME` names, or, when it names none, the implicit ROW_START and ROW_END (which information_schema does not
 * list).
 */
export function systemTimePeriod(createStatement: string): { start: string; end: string; implicit: boolean } {
  const masked = maskQuoted(createStatement);
  const at = masked.search(/\n\s*PERIOD FOR SYSTEM_TIME \(`/);
  if (at < 0) return { start: 'ROW_START', end: 'ROW_END', implicit: true };
  const m = /^\s*PERIOD FOR SYSTEM_TIME \(`((?:[^`]|``)+)`, `((?:[^`]|``)+)`\)/.exec(createStatement.slice(at));
  if (!m) throw new Error(`Cannot read the PERIOD FOR SYSTEM_TIME of: ${createStatement.slice(at, at + 120)}`);
  return { start: m[1]!.replaceAll('``', '`'), end: m[2]!.replaceAll('``', '`'), implicit: false };
}

/**
 * The columns a backup writes for a table of `kind`: for a system-versioned table, its row start and end become
 * written columns (`systemTime`), added at the end where they are implicit. Refuses a table versioned by transaction
 * id (`BIGINT UNSIGNED ... AS ROW START`): its history refers to the server's transaction registry, which a restore
 * cannot write, so it could not come back as it was.
 */
export function columnsOf(table: string, kind: TableKind, createStatement: string, columns: readonly KindColumn[]): KindColumn[] {
  if (kind !== 'system-versioned') return [...columns];
  const period = systemTimePeriod(createStatement);
  const role = (name: string) => (name === period.start ? 'start' : name === period.end ? 'end' : undefined);
  const out: KindColumn[] = columns.map((c) => {
    const systemTime = role(c.name);
    if (!systemTime) return c;
    if (c.dataType !== 'timestamp') {
      throw refusal(
        `Table ${table} is system-versioned by transaction id (its ${systemTime} column ${c.name} is ${c.columnType}): its history ` +
          "refers to the server's transaction registry, which a restore cannot write back, so eventshift does not back it up. " +
          'Use mariadb-backup for it.',
        { subject: table },
      );
    }
    return { ...c, generated: false, systemTime };
  });
  if (period.implicit) {
    for (const [name, systemTime] of [
      [period.start, 'start'],
      [period.end, 'end'],
    ] as const) {
      out.push({
        name,
        dataType: 'timestamp',
        columnType: 'timestamp(6)',
        charset: null,
        generated: false,
        autoIncrement: false,
        systemTime,
      });
    }
  }
  return out;
}
