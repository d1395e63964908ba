import type { Db } from '../../src/db/connection.ts';
import { describeTable, showCreateTable } from '../../src/db/introspect.ts';
import { quoteId } from '../../src/db/quote.ts';

/**
 * A table exactly as the server holds it: its SHOW CREATE TABLE (AUTO_INCREMENT included), its AUTO_INCREMENT per
 * information_schema, its triggers, and every row as the hex of each stored value (FLOAT at double precision,
 * ENUM/SET with their index), sorted. Two equal states mean byte-identical tables.
 */
export interface TableState {
  create: string;
  autoIncrement: number | null;
  triggers: string[];
  rows: string[];
}

/** SQL for one column's stored value as exact text: hex of its bytes (FLOAT at double precision, ENUM/SET with their index). */
export function exactValue(column: string, dataType: string): string {
  const c = quoteId(column);
  let value: string;
  if (dataType === 'float') value = `HEX(CAST(CAST(${c} AS DOUBLE) AS CHAR))`;
  else if (dataType === 'enum' || dataType === 'set') value = `CONCAT(${c} + 0, '/', HEX(${c}))`;
  else if (/char|text|binary|blob|json|bit|geometry|point|linestring|polygon|collection/.test(dataType)) value = `HEX(${c})`;
  else value = `HEX(CAST(${c} AS CHAR))`;
  return `IF(${c} IS NULL, 'NULL', ${value})`;
}

export async function tableState(db: Db, table: string): Promise<TableState | null> {
  const info = await describeTable(db, table);
  if (!info) return null;
  const values = info.columns.map((c) => exactValue(c.name, c.dataType));
  const rows = await db.query<{ r: string }>(`SELECT CONCAT_WS(' | ', ${values.join(', ')}) AS r FROM ${quoteId(table)}`);
  const triggers = await db.query<{ t: string }>(
    `SELECT CONCAT_WS(' ', TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, ACTION_STATEMENT, SQL_MODE, DEFINER) AS t
       FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY TRIGGER_NAME`,
    [db.database, table],
  );
  return {
    create: await showCreateTable(db, table),
    autoIncrement: info.autoIncrement,
    triggers: triggers.map((t) => t.t),
    rows: rows.map((r) => r.r).sort(),
  };
}

export async function tableStates(db: Db, tables: readonly string[]): Promise<Record<string, TableState | null>> {
  const out: Record<string, TableState | null> = {};
  for (const table of tables) out[table] = await tableState(db, table);
  return out;
}

/** Tables left behind by a restore (staging or trash): there must never be any once it returns or refuses. */
export async function leftoverTables(db: Db): Promise<string[]> {
  const rows = await db.query<{ TABLE_NAME: string }>(
    'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ' +
      "AND (TABLE_NAME LIKE '\\_es\\_restore\\_%' OR TABLE_NAME LIKE '\\_es\\_trash\\_%')",
    [db.database],
  );
  return rows.map((r) => r.TABLE_NAME);
}
