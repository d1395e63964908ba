import type { Db } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';
import { exactValue } from './table-state.ts';

/**
 * Everything a restore must give back of one table, sequence or system-versioned table, as the server shows it:
 * SHOW CREATE TABLE (and SHOW CREATE SEQUENCE), AUTO_INCREMENT, CHECKSUM TABLE, every row of every column (invisible,
 * generated and, for a system-versioned table, its history and its row start and end) as the hex of its stored value,
 * and every trigger's SHOW CREATE TRIGGER, each field as the bytes the server stores (Created included). Two equal
 * states are the same object, byte for byte.
 */
export interface ExactState {
  kind: string;
  create: string;
  createSequence: string | null;
  autoIncrement: string | null;
  checksum: string | null;
  rows: string[];
  triggers: string[][];
}

/** The names of a system-versioned table's row start and end: its PERIOD FOR SYSTEM_TIME, or the implicit ones. */
function periodColumns(create: string): [string, string] {
  const m = /PERIOD FOR SYSTEM_TIME \(`((?:[^`]|``)+)`, `((?:[^`]|``)+)`\)/.exec(create);
  return m ? [m[1]!.replaceAll('``', '`'), m[2]!.replaceAll('``', '`')] : ['ROW_START', 'ROW_END'];
}

/** SHOW CREATE TRIGGER of `name`, every field as hex of the bytes the server stores (no conversion of results). */
export async function rawTrigger(db: Db, name: string): Promise<string[]> {
  await db.execute('SET SESSION character_set_results = NULL');
  try {
    const [rows] = await db.raw.query({
      sql: `SHOW CREATE TRIGGER ${quoteId(name)}`,
      rowsAsArray: true,
      typeCast: (field) => field.buffer(),
    });
    const [row] = rows as Array<Array<Buffer | null>>;
    return (row ?? []).map((value) => (value === null ? 'NULL' : value.toString('hex')));
  } finally {
    await db.execute('SET SESSION character_set_results = utf8mb4');
  }
}

export async function exactState(db: Db, table: string): Promise<ExactState | null> {
  const [info] = await db.query<{ TABLE_TYPE: string; AUTO_INCREMENT: string | number | null }>(
    'SELECT TABLE_TYPE, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [db.database, table],
  );
  if (!info) return null;
  const [created] = await db.query<Record<string, string>>(`SHOW CREATE TABLE ${quoteId(table)}`);
  const create = created!['Create Table']!;
  const sequence =
    info.TABLE_TYPE === 'SEQUENCE'
      ? (await db.query<Record<string, string>>(`SHOW CREATE SEQUENCE ${quoteId(table)}`))[0]!['Create Table']!
      : null;
  const columns = await db.query<{ COLUMN_NAME: string; DATA_TYPE: string }>(
    'SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [db.database, table],
  );
  const values = columns.map((c) => exactValue(c.COLUMN_NAME, c.DATA_TYPE.toLowerCase()));
  let from = quoteId(table);
  if (info.TABLE_TYPE === 'SYSTEM VERSIONED') {
    const period = periodColumns(create);
    if (!columns.some((c) => c.COLUMN_NAME === period[0])) values.push(...period.map((p) => exactValue(p, 'timestamp')));
    from += ' FOR SYSTEM_TIME ALL';
  }
  const rows = await db.query<{ r: string }>(`SELECT CONCAT_WS(' | ', ${values.join(', ')}) AS r FROM ${from}`);
  const [checksum] = await db.query<{ Checksum: string | number | null }>(`CHECKSUM TABLE ${quoteId(table)} EXTENDED`);
  const triggers = await db.query<{ TRIGGER_NAME: string }>(
    `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?
      ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
    [db.database, table],
  );
  return {
    kind: info.TABLE_TYPE,
    create,
    createSequence: sequence,
    autoIncrement: info.AUTO_INCREMENT === null ? null : String(info.AUTO_INCREMENT),
    checksum: checksum?.Checksum == null ? null : String(checksum.Checksum),
    rows: rows.map((r) => r.r).sort(),
    triggers: await Promise.all(triggers.map(async (t) => rawTrigger(db, t.TRIGGER_NAME))),
  };
}

/** Every table, sequence and system-versioned table of the database (views excluded), by name. */
export async function allTables(db: Db): Promise<string[]> {
  const rows = await db.query<{ TABLE_NAME: string }>(
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' ORDER BY TABLE_NAME",
    [db.database],
  );
  return rows.map((r) => r.TABLE_NAME);
}
