import type { Db } from '../db/connection.ts';
import { cutoverChanges, type RenameState } from '../mapping/compile.ts';
import { columnExists, describeTable, tableExists } from '../db/introspect.ts';
import { renameColumnSql, renameTableSql } from '../mapping/schema-statements.ts';
import { hasContext, readTriggers, replaceTriggers } from '../backup/triggers.ts';
import type { CutoverChange, Mapping } from '../mapping/define.ts';
import type { BackupTrigger } from '../backup/index.ts';
import { maskQuoted } from '../backup/create-statement.ts';

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
  await db.execute(renameColumnSql(db.capabilities, change.table, { from: change.from, to: change.to, definition }));
  return true;
}

/** A trigger's text from `FOR EACH ROW` on: what a rename of its table leaves as it was (null when not found). */
function triggerBody(statement: string): string | null {
  const at = maskQuoted(statement).search(/\bFOR\s+EACH\s+ROW\b/i);
  return at < 0 ? null : statement.slice(at);
}

/**
 * Renaming a table makes the server rewrite the definition of every trigger on it to name the table's new name
 * (`... ON \`OLD rental\` FOR EACH ROW ...`), and renaming it back leaves the rewritten text; the trigger's context,
 * creation time and place in the firing order stay. Of `live` (the triggers on the table now), those whose definition
 * differs from `saved` (the definitions before the renames) only where a rename rewrites it (the body from FOR EACH
 * ROW on is the same, and so is the creation time where the backup has it: a trigger someone changed or created since
 * is left alone), each as it is to be created again: as saved, with the live one's context where the backup did not
 * record one (format versions 1 and 2), and with no bytes (`statementBytes: ''`) when those cannot be known (a
 * non-UTF-8 trigger with other than ASCII text).
 */
export function rewrittenTriggers(live: readonly BackupTrigger[], saved: readonly BackupTrigger[]): Array<Required<BackupTrigger>> {
  return live.flatMap((now) => {
    const before = saved.find((t) => t.name === now.name);
    if (!before || now.statement === before.statement || !/^CREATE\s/i.test(before.statement)) return [];
    const body = triggerBody(before.statement);
    if (body === null || body !== triggerBody(now.statement)) return [];
    // A rename keeps the creation time: a trigger created since (someone's own, with the same body) is left alone.
    if (hasContext(before)) return before.created === now.created ? [before] : [];
    const known = /^utf8/i.test(now.characterSetClient ?? '') || !/[^\x00-\x7f]/.test(before.statement);
    return [
      {
        ...(now as Required<BackupTrigger>),
        statement: before.statement,
        sqlMode: before.sqlMode,
        statementBytes: known ? Buffer.from(before.statement, 'utf8').toString('hex') : '',
      },
    ];
  });
}

/**
 * Puts back the definitions the renames of a cutover rewrote (rewrittenTriggers) of the triggers on `table`, from
 * `saved` (the backup's), each as replaceTriggers creates it: in its context, at its creation time and in its place
 * in the firing order. Returns the triggers put back, and those that could not be, each with why.
 */
export async function putBackTriggerTexts(
  db: Db,
  table: string,
  saved: readonly BackupTrigger[],
): Promise<{ putBack: string[]; left: Array<{ name: string; reason: string }> }> {
  const rewritten = rewrittenTriggers(await readTriggers(db, table), saved);
  const left = rewritten
    .filter((t) => t.statementBytes === '')
    .map((t) => ({
      name: t.name,
      reason:
        `its definition has characters other than ASCII in ${t.characterSetClient}, and the backup (format version 1 or 2) ` +
        'did not record its bytes; it works as before, and `eventshift restore` or a CREATE OR REPLACE by hand gives its text back',
    }));
  const put = rewritten.filter((t) => t.statementBytes !== '');
  await replaceTriggers(db, table, put, () => undefined);
  return { putBack: put.map((t) => t.name), left };
}
