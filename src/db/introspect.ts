import type { Db } from './connection.ts';
import { quoteId } from './quote.ts';

/** One column as information_schema describes it. */
export interface ColumnInfo {
  name: string;
  /** DATA_TYPE, lower case: `int`, `varchar`, `datetime`, ... */
  dataType: string;
  /** COLUMN_TYPE, the full type: `int(10) unsigned`, `enum('a','b')`, ... */
  columnType: string;
  /** COLUMN_TYPE as the server prints it, case kept (enum and set values); absent where no server described it. */
  declaredType?: string;
  /** Whether it has a DEFAULT (COLUMN_DEFAULT is not NULL: for a NOT NULL column, an INSERT may leave it out). */
  hasDefault?: boolean;
  nullable: boolean;
  charset: string | null;
  /** COLLATION_NAME (null for a column that is not text). */
  collation?: string | null;
  /** A generated (virtual or stored) column: recreated by its definition, never written. */
  generated: boolean;
  autoIncrement: boolean;
  /**
   * `ON UPDATE CURRENT_TIMESTAMP`: the server sets it whenever an UPDATE changes another column of the row, unless
   * the UPDATE sets it itself (`col = col` keeps its value). Absent where the column was not described by the server.
   */
  onUpdate?: boolean;
}

export interface TableInfo {
  name: string;
  engine: string | null;
  columns: ColumnInfo[];
  primaryKey: string[];
  autoIncrement: number | null;
  approxRows: number;
}

export async function tableExists(db: Db, table: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db.database, table]);
  return rows.length > 0;
}

export async function columnExists(db: Db, table: string, column: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [
    db.database,
    table,
    column,
  ]);
  return rows.length > 0;
}

/** Describes a table, or returns null when it does not exist. */
export async function describeTable(db: Db, table: string): Promise<TableInfo | null> {
  return (await describeTables(db, [table])).get(table) ?? null;
}

type TableRow = { TABLE_NAME: string; ENGINE: string | null; AUTO_INCREMENT: string | null; TABLE_ROWS: string | null };
type ColumnRow = {
  TABLE_NAME: string;
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  IS_NULLABLE: string;
  CHARACTER_SET_NAME: string | null;
  COLLATION_NAME: string | null;
  EXTRA: string;
  GENERATION_EXPRESSION: string | null;
  COLUMN_KEY: string;
  COLUMN_DEFAULT: string | null;
};

/**
 * describeTable of each of `tables` that exists (keyed by its name), in three queries for them all rather than three
 * per table: for a backup of many small tables, where each round trip counts.
 */
export async function describeTables(db: Db, tables: readonly string[]): Promise<Map<string, TableInfo>> {
  const out = new Map<string, TableInfo>();
  if (tables.length === 0) return out;
  const names = `TABLE_NAME IN (${tables.map(() => '?').join(', ')})`;
  const params = [db.database, ...tables];
  const found = await db.query<TableRow>(
    `SELECT TABLE_NAME, ENGINE, AUTO_INCREMENT, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND ${names}`,
    params,
  );
  if (found.length === 0) return out;
  const cols = await db.query<ColumnRow>(
    `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA,
            GENERATION_EXPRESSION, COLUMN_KEY, COLUMN_DEFAULT
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND ${names} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    params,
  );
  const pk = await db.query<{ TABLE_NAME: string; COLUMN_NAME: string }>(
    `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND ${names} AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX`,
    params,
  );
  // Grouped by the name exactly as the server gives it back, which is how each table is asked for.
  const group = <R extends { TABLE_NAME: string }>(rows: R[]) => {
    const by = new Map<string, R[]>();
    for (const r of rows) by.set(r.TABLE_NAME, [...(by.get(r.TABLE_NAME) ?? []), r]);
    return by;
  };
  const colsOf = group(cols);
  const pkOf = group(pk);
  for (const t of found) {
    // One table asked for is the one found, as the server matched it (lower_case_table_names=1 matches any case);
    // of several, only those found under the very name asked for (a caller asks again for any other).
    const name = tables.includes(t.TABLE_NAME) ? t.TABLE_NAME : tables.length === 1 ? tables[0]! : null;
    if (name === null) continue;
    out.set(name, {
      name,
      engine: t.ENGINE,
      autoIncrement: t.AUTO_INCREMENT === null ? null : Number(t.AUTO_INCREMENT),
      approxRows: Number(t.TABLE_ROWS ?? 0),
      primaryKey: (pkOf.get(t.TABLE_NAME) ?? []).map((r) => r.COLUMN_NAME),
      columns: (colsOf.get(t.TABLE_NAME) ?? []).map((c) => ({
        name: c.COLUMN_NAME,
        dataType: c.DATA_TYPE.toLowerCase(),
        columnType: c.COLUMN_TYPE.toLowerCase(),
        declaredType: c.COLUMN_TYPE,
        hasDefault: c.COLUMN_DEFAULT !== null,
        nullable: c.IS_NULLABLE === 'YES',
        charset: c.CHARACTER_SET_NAME,
        collation: c.COLLATION_NAME,
        // MySQL 8 marks `DEFAULT CURRENT_TIMESTAMP` columns DEFAULT_GENERATED: those are ordinary columns.
        generated: /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.test(c.EXTRA),
        autoIncrement: /auto_increment/i.test(c.EXTRA),
        onUpdate: /\bon update\b/i.test(c.EXTRA),
      })),
    });
  }
  return out;
}

/** A foreign key of a table: its columns, in order, and the table and columns they reference. */
export interface ForeignKeyInfo {
  name: string;
  columns: string[];
  /** The referenced table's schema: the table's own, or another database's. */
  referencedSchema: string;
  referencedTable: string;
  referencedColumns: string[];
}

/** The foreign keys declared on `table` (those pointing out of it), by constraint name. */
export async function foreignKeys(db: Db, table: string): Promise<ForeignKeyInfo[]> {
  const rows = await db.query<{ n: string; c: string; rs: string; rt: string; rc: string }>(
    `SELECT CONSTRAINT_NAME AS n, COLUMN_NAME AS c, REFERENCED_TABLE_SCHEMA AS rs, REFERENCED_TABLE_NAME AS rt,
            REFERENCED_COLUMN_NAME AS rc
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL
      ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION`,
    [db.database, table],
  );
  const keys = new Map<string, ForeignKeyInfo>();
  for (const r of rows) {
    const key = keys.get(r.n) ?? { name: r.n, columns: [], referencedSchema: r.rs, referencedTable: r.rt, referencedColumns: [] };
    key.columns.push(r.c);
    key.referencedColumns.push(r.rc);
    keys.set(r.n, key);
  }
  return [...keys.values()];
}

/** The table's `ON UPDATE` columns: an UPDATE of its rows sets them to themselves, so that they keep their values. */
export function onUpdateColumns(info: TableInfo | null): string[] {
  return info?.columns.filter((c) => c.onUpdate).map((c) => c.name) ?? [];
}

/** The table's AUTO_INCREMENT as the server holds it now (null for a table without one). */
export async function currentAutoIncrement(db: Db, table: string): Promise<number | null> {
  const info = await describeTable(db, table);
  return info?.autoIncrement ?? null;
}

export async function showCreateTable(db: Db, table: string): Promise<string> {
  const rows = await db.query<Record<string, string>>(`SHOW CREATE TABLE ${quoteId(table)}`);
  const row = rows[0];
  if (!row) throw new Error(`SHOW CREATE TABLE returned nothing for ${table}`);
  return row['Create Table'] ?? Object.values(row)[1]!;
}

const integerTypes = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
export const isIntegerType = (dataType: string) => integerTypes.has(dataType);

/** The largest value an integer column can hold, as a bigint. */
export function integerMax(column: ColumnInfo): bigint {
  const unsigned = /unsigned/.test(column.columnType);
  const bits = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, integer: 32, bigint: 64 }[column.dataType] ?? 64;
  return unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
}

/** The types whose values are bytes rather than text: backups write them as hex, checksums hash their bytes. */
export const byteTypes: ReadonlySet<string> = new Set([
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'bit',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
]);
