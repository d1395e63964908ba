import { getTableConfig, type MySqlTable } from 'drizzle-orm/mysql-core';
import { is, SQL } from 'drizzle-orm';
import { quoteId, quoteString } from './quote.ts';

/** The real table name of a drizzle table. */
export function tableName(table: MySqlTable): string {
  return getTableConfig(table).name;
}

/** The column names of a drizzle table, in declaration order. */
export function tableColumns(table: MySqlTable): string[] {
  return getTableConfig(table).columns.map((c) => c.name);
}

/** `CREATE TABLE` for a drizzle table: columns, primary key, unique constraints and indexes; utf8mb4, InnoDB. */
export function createTableSql(table: MySqlTable): string {
  const config = getTableConfig(table);
  const lines: string[] = [];
  for (const column of config.columns) {
    let line = `${quoteId(column.name)} ${column.getSQLType()}`;
    line += column.notNull || column.primary ? ' NOT NULL' : ' NULL';
    if ((column as { autoIncrement?: boolean }).autoIncrement) line += ' AUTO_INCREMENT';
    if (column.default !== undefined) line += ` DEFAULT ${defaultSql(config.name, column.name, column.default)}`;
    lines.push(line);
  }
  const primary = [
    ...config.columns.filter((c) => c.primary).map((c) => c.name),
    ...config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)),
  ];
  if (primary.length > 0) lines.push(`PRIMARY KEY (${primary.map(quoteId).join(', ')})`);
  for (const unique of config.uniqueConstraints) {
    const name = unique.getName() ?? `${config.name}_${unique.columns.map((c) => c.name).join('_')}_unique`;
    lines.push(`UNIQUE KEY ${quoteId(name)} (${unique.columns.map((c) => quoteId(c.name)).join(', ')})`);
  }
  for (const column of config.columns) {
    if (column.isUnique)
      lines.push(`UNIQUE KEY ${quoteId(column.uniqueName ?? `${config.name}_${column.name}_unique`)} (${quoteId(column.name)})`);
  }
  for (const index of config.indexes) {
    const columns = index.config.columns.map((c) => {
      if (is(c, SQL))
        throw new Error(`Index ${index.config.name} on ${config.name}: expression indexes are not supported; index columns instead.`);
      return quoteId((c as { name: string }).name);
    });
    lines.push(`${index.config.unique ? 'UNIQUE KEY' : 'KEY'} ${quoteId(index.config.name)} (${columns.join(', ')})`);
  }
  return `CREATE TABLE ${quoteId(config.name)} (\n  ${lines.join(',\n  ')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

function defaultSql(table: string, column: string, value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') return quoteString(value);
  throw new Error(`${table}.${column}: only literal defaults are supported in target schemas; use a literal or none.`);
}
