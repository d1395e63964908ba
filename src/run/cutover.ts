import type { Db } from '../db/connection.ts';
import { cutoverChanges } from '../mapping/compile.ts';
import { columnExists, describeTable, tableExists, triggersOn, type TriggerDefinition } from '../db/introspect.ts';
import { recreateTriggerSql, renameColumnSql, renameTableSql } from '../mapping/schema-statements.ts';
import type { CutoverChange, Mapping } from '../mapping/define.ts';
import type { BackupTrigger } from '../backup/index.ts';
import { maskQuoted } from '../backup/create-statement.ts';
import { quoteId } from '../db/quote.ts';

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

/** A trigger's text from `FOR EACH ROW` on: what a rename of its table leaves as it was (null when not found). */
function triggerBody(statement: string): string | null {
  const at = maskQuoted(statement).search(/\bFOR\s+EACH\s+ROW\b/i);
  return at < 0 ? null : statement.slice(at);
}

/**
 * Renaming a table makes the server rewrite the definition of every trigger on it to name the table's new name
 * (`... ON \`OLD rental\` FOR EACH ROW ...`), and renaming it back leaves the rewritten text. Of `live` (the triggers
 * on the table now), those whose definition differs from `saved` (the definitions before the renames) only where a
 * rename rewrites it (the body from FOR EACH ROW on is the same: a trigger someone changed since is left alone), each
 * with the definition to create again, under its saved sql_mode and its character set and collation.
 */
export function rewrittenTriggers(
  live: readonly TriggerDefinition[], saved: ReadonlyArray<Pick<TriggerDefinition, 'name' | 'statement' | 'sqlMode'>>,
): TriggerDefinition[] {
  return live.flatMap((now) => {
    const before = saved.find((t) => t.name === now.name);
    if (!before || now.statement === before.statement || !/^CREATE\s/i.test(before.statement)) return [];
    const body = triggerBody(before.statement);
    if (body === null || body !== triggerBody(now.statement)) return [];
    return [{ ...now, statement: before.statement, sqlMode: before.sqlMode }];
  });
}

/**
 * Puts back the definitions the renames of a cutover rewrote (rewrittenTriggers) of the triggers on `table`, from
 * `saved` (the backup's), each created under its sql_mode, character set and collation. Returns the triggers put back.
 */
export async function putBackTriggerTexts(db: Db, table: string, saved: readonly BackupTrigger[]): Promise<string[]> {
  const putBack: string[] = [];
  for (const trigger of rewrittenTriggers(await triggersOn(db, table), saved)) {
    // The driver sends UTF-8: a definition with other characters can only be sent under a UTF-8 client character set.
    if (!/^utf8/i.test(trigger.characterSetClient) && /[^\x00-\x7f]/.test(trigger.statement)) continue;
    const [session] = await db.query<{ mode: string; cs: string; cc: string }>(
      'SELECT @@SESSION.sql_mode AS mode, @@SESSION.character_set_client AS cs, @@SESSION.collation_connection AS cc');
    await db.execute('SET SESSION sql_mode = ?, character_set_client = ?, collation_connection = ?',
      [trigger.sqlMode, trigger.characterSetClient, trigger.collationConnection]);
    try {
      for (const sql of recreateTriggerSql(trigger, db.capabilities.engine)) await db.execute(sql);
    } finally {
      await db.execute('SET SESSION sql_mode = ?, character_set_client = ?, collation_connection = ?',
        [session!.mode, session!.cs, session!.cc]);
    }
    putBack.push(trigger.name);
  }
  return putBack;
}
