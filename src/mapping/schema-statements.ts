import { quoteId } from '../db/quote.ts';
import type { Capabilities } from '../db/capabilities.ts';

/**
 * The schema statements a run executes, one function each, so that migrate, rollback and the SQL export
 * (`eventshift sql`) run and show the very same text.
 */

export const autoIncrementSql = (table: string, next: number | bigint | string) =>
  `ALTER TABLE ${quoteId(table)} AUTO_INCREMENT = ${BigInt(next).toString()}`;

export const addColumnSql = (table: string, column: { name: string; definition: string; after?: string }) =>
  `ALTER TABLE ${quoteId(table)} ADD COLUMN ${quoteId(column.name)} ${column.definition}` +
  `${column.after ? ` AFTER ${quoteId(column.after)}` : ''}`;

export const dropColumnSql = (table: string, column: string) => `ALTER TABLE ${quoteId(table)} DROP COLUMN ${quoteId(column)}`;

export const renameTableSql = (from: string, to: string) => `RENAME TABLE ${quoteId(from)} TO ${quoteId(to)}`;

export const dropTableSql = (table: string) => `DROP TABLE ${quoteId(table)}`;

/** RENAME COLUMN where the server has it; otherwise CHANGE with the column's full definition (`columnType NULL|NOT NULL`). */
export function renameColumnSql(
  capabilities: Capabilities,
  table: string,
  { from, to, definition }: { from: string; to: string; definition?: string | undefined },
): string {
  if (capabilities.renameColumn) return `ALTER TABLE ${quoteId(table)} RENAME COLUMN ${quoteId(from)} TO ${quoteId(to)}`;
  if (!definition) throw new Error(`renaming ${table}.${from} on this server needs the column's definition`);
  return `ALTER TABLE ${quoteId(table)} CHANGE ${quoteId(from)} ${quoteId(to)} ${definition}`;
}

export const deleteKeyRangeSql = (table: string, key: string) => `DELETE FROM ${quoteId(table)} WHERE ${quoteId(key)} BETWEEN ? AND ?`;

/**
 * The statements that create `trigger` again in place of the one of the same name: CREATE OR REPLACE on MariaDB (one
 * statement, so no write goes without it), DROP and CREATE on MySQL. Run them under the trigger's sql_mode.
 */
export function recreateTriggerSql(trigger: { name: string; statement: string }, engine: 'mariadb' | 'mysql'): string[] {
  return engine === 'mariadb'
    ? [trigger.statement.replace(/^CREATE\s/i, 'CREATE OR REPLACE ')]
    : [`DROP TRIGGER ${quoteId(trigger.name)}`, trigger.statement];
}
