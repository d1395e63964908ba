import type { Db } from '../db/connection.ts';
import type { ColumnInfo, TableInfo } from '../db/introspect.ts';
import { quoteId, quoteString } from '../db/quote.ts';
import { usageError } from '../errors.ts';
import type { CsvColumn, CsvSourceDefinition } from './declaration.ts';

/**
 * The staging table a CSV source is loaded into. It has the columns, types, character sets and keys of the table the
 * CSV stands for (the declaration's CREATE TABLE, renamed), so every step, check and projection of the mapping runs on
 * it unchanged. `plan` loads into a TEMPORARY table (gone with its connection: planning writes nothing); a run loads
 * into a real one, which stays until the run is restored or rolled back so that `verify` can run again.
 */
export function stagingTableSql(
  definition: CsvSourceDefinition,
  staging: string,
  options: { temporary: boolean; comment: string },
): string {
  const create = options.temporary ? 'CREATE TEMPORARY TABLE' : 'CREATE TABLE';
  let sql: string;
  if (definition.table !== undefined) {
    const m = /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)/i.exec(definition.table);
    if (!m) throw usageError(`The csv declaration's table is not a CREATE TABLE statement: ${definition.table.slice(0, 60)}...`);
    sql = `${create} ${quoteId(staging)}${definition.table.slice(m[0].length)}`;
    // The table's own COMMENT (if any) gives way to the staging table's, which names its owner.
    sql = sql.replace(/\s+COMMENT\s*=?\s*'(?:[^']|'')*'\s*$/i, '');
  } else {
    const lines = Object.entries(definition.columns).map(
      ([name, c]) => `${quoteId(name)} ${c.sql ?? defaultSqlType(c)}${name === definition.key ? ' NOT NULL' : ' NULL'}`,
    );
    lines.push(`PRIMARY KEY (${quoteId(definition.key)})`);
    sql = `${create} ${quoteId(staging)} (\n  ${lines.join(',\n  ')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
  }
  return `${sql} COMMENT=${quoteString(options.comment.slice(0, 1000))}`;
}

function defaultSqlType(c: CsvColumn): string {
  switch (c.type) {
    case 'integer':
      return 'BIGINT';
    case 'decimal':
      return 'DECIMAL(38,10)';
    case 'boolean':
      return 'TINYINT(1)';
    case 'text':
      return 'LONGTEXT';
    case 'date':
      return 'DATE';
    case 'datetime':
      return 'DATETIME';
  }
}

/**
 * Describes a table through SHOW statements, which (unlike information_schema) also see the session's TEMPORARY tables.
 */
export async function describeStaging(db: Db, table: string): Promise<TableInfo> {
  const columns = await db.query<{ Field: string; Type: string; Collation: string | null; Null: string; Extra: string }>(
    `SHOW FULL COLUMNS FROM ${quoteId(table)}`,
  );
  const keys = await db.query<{ Key_name: string; Column_name: string; Seq_in_index: string | number }>(`SHOW KEYS FROM ${quoteId(table)}`);
  return {
    name: table,
    engine: null,
    autoIncrement: null,
    approxRows: 0,
    primaryKey: keys
      .filter((k) => k.Key_name === 'PRIMARY')
      .sort((a, b) => Number(a.Seq_in_index) - Number(b.Seq_in_index))
      .map((k) => k.Column_name),
    columns: columns.map((c): ColumnInfo => ({
      name: c.Field,
      dataType: c.Type.toLowerCase().split(/[ (]/)[0]!,
      columnType: c.Type.toLowerCase(),
      nullable: c.Null === 'YES',
      charset: c.Collation ? c.Collation.split('_')[0]! : null,
      generated: /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.test(c.Extra),
      autoIncrement: /auto_increment/i.test(c.Extra),
    })),
  };
}

/** Drops a staging table, temporary or not; staging tables are the tool's own, so this is always safe. */
export async function dropStaging(db: Db, table: string, temporary: boolean): Promise<void> {
  await db.execute(`DROP ${temporary ? 'TEMPORARY ' : ''}TABLE IF EXISTS ${quoteId(table)}`);
}

/** The staging table's comment (who owns it), or null when there is no such (non-temporary) table. */
export async function stagingOwner(db: Db, table: string): Promise<string | null> {
  const [row] = await db.query<{ c: string }>(
    'SELECT TABLE_COMMENT AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [db.database, table],
  );
  return row ? row.c : null;
}
