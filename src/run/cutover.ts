import type { Db } from '../db/connection.ts';
import { cutoverChanges } from '../mapping/compile.ts';
import { columnExists, describeTable, tableExists } from '../db/introspect.ts';
import { renameColumnSql, renameTableSql } from '../mapping/schema-statements.ts';
import type { CutoverChange, Mapping } from '../mapping/define.ts';

/** Which of the mapping's cutover renames have happened, read from the live schema (so it is right after a crash too). */
export interface RenameState {
  tables: Map<string, string>;
  /** table (current name) -> old column -> new column */
  columns: Map<string, Map<string, string>>;
  done: boolean;
}

export async function renameState(db: Db, mapping: Mapping): Promise<RenameState> {
  const tables = new Map<string, string>();
  const columns = new Map<string, Map<string, string>>();
  let done = true;
  for (const c of cutoverChanges(mapping)) {
    if (c.kind === 'renameTable') {
      if (!(await tableExists(db, c.from)) && (await tableExists(db, c.to))) tables.set(c.from, c.to);
      else done = false;
    }
  }
  for (const c of cutoverChanges(mapping)) {
    if (c.kind !== 'renameColumn') continue;
    const table = tables.get(c.table) ?? c.table;
    if (!(await columnExists(db, table, c.from)) && (await columnExists(db, table, c.to))) {
      if (!columns.has(c.table)) columns.set(c.table, new Map());
      columns.get(c.table)!.set(c.from, c.to);
    } else done = false;
  }
  return { tables, columns, done };
}

/** Applies one cutover change unless it has already happened; returns whether it did anything. */
export async function applyCutoverChange(db: Db, change: CutoverChange): Promise<boolean> {
  if (change.kind === 'renameTable') {
    if (!(await tableExists(db, change.from)) && (await tableExists(db, change.to))) return false;
    await db.execute(renameTableSql(change.from, change.to));
    return true;
  }
  if (!(await columnExists(db, change.table, change.from)) && (await columnExists(db, change.table, change.to))) return false;
  let definition: string | undefined;
  if (!db.capabilities.renameColumn) {
    const column = (await describeTable(db, change.table))?.columns.find((c) => c.name === change.from);
    if (!column) throw new Error(`${change.table}.${change.from} vanished during cutover`);
    definition = `${column.columnType} ${column.nullable ? 'NULL' : 'NOT NULL'}`;
  }
  await db.execute(renameColumnSql(db.capabilities, change.table, change.from, change.to, definition));
  return true;
}
