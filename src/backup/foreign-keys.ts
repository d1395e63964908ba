import type { Db } from '../db/connection.ts';
import { showCreateTable } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { withoutForeignKeys } from './create-statement.ts';

/**
 * Foreign keys as a restore needs them. InnoDB keeps a foreign key's name unique in the database, moves the foreign
 * keys that reference a table along with it when it is renamed, and, with foreign_key_checks=0, adds a foreign key
 * without reading a row. So a restore stages tables without their foreign keys, swaps them in by name, points the
 * other tables' foreign keys back at them, and adds their own once the old copies that held the names are gone.
 */
export interface ForeignKey {
  name: string;
  columns: string[];
  /** The referenced table's database when the clause names one (another database), else null. */
  referencedSchema: string | null;
  referencedTable: string;
  referencedColumns: string[];
  /** `CONSTRAINT ... FOREIGN KEY ...`, exactly as SHOW CREATE TABLE writes it. */
  clause: string;
}

/** Reads a backquoted identifier at `at`; returns it and the index after it. */
function readId(text: string, at: number): [string, number] {
  if (text[at] !== '`') throw new Error(`expected an identifier at ${at} of: ${text}`);
  let name = '';
  let i = at + 1;
  for (;;) {
    const c = text[i];
    if (c === undefined) throw new Error(`unterminated identifier in: ${text}`);
    if (c === '`' && text[i + 1] === '`') {
      name += '`';
      i += 2;
    } else if (c === '`') {
      return [name, i + 1];
    } else {
      name += c;
      i++;
    }
  }
}

function expectText(text: string, at: number, literal: string): number {
  if (!text.startsWith(literal, at)) throw new Error(`expected "${literal}" at ${at} of: ${text}`);
  return at + literal.length;
}

function readIdList(text: string, at: number): [string[], number] {
  let i = expectText(text, at, '(');
  const names: string[] = [];
  for (;;) {
    const [name, next] = readId(text, i);
    names.push(name);
    if (text.startsWith(', ', next)) i = next + 2;
    else if (text.startsWith(',', next)) i = next + 1;
    else return [names, expectText(text, next, ')')];
  }
}

/** Parses one clause of withoutForeignKeys (`CONSTRAINT `n` FOREIGN KEY (`a`) REFERENCES `t` (`b`) ON ...`). */
export function parseForeignKey(clause: string): ForeignKey & { referenceAt: [number, number] } {
  let i = expectText(clause, 0, 'CONSTRAINT ');
  const [name, afterName] = readId(clause, i);
  i = expectText(clause, afterName, ' FOREIGN KEY ');
  const [columns, afterColumns] = readIdList(clause, i);
  const referenceStart = expectText(clause, afterColumns, ' REFERENCES ');
  let [first, afterFirst] = readId(clause, referenceStart);
  let referencedSchema: string | null = null;
  if (clause[afterFirst] === '.') {
    referencedSchema = first;
    [first, afterFirst] = readId(clause, afterFirst + 1);
  }
  const [referencedColumns] = readIdList(clause, expectText(clause, afterFirst, ' '));
  return { name, columns, referencedSchema, referencedTable: first, referencedColumns, clause, referenceAt: [referenceStart, afterFirst] };
}

/** The clause with the referenced table replaced by `table` of this database, all else as written. */
export function withReferencedTable(clause: string, table: string): string {
  const {
    referenceAt: [from, to],
  } = parseForeignKey(clause);
  return `${clause.slice(0, from)}${quoteId(table)}${clause.slice(to)}`;
}

/** The foreign keys a CREATE TABLE statement declares. */
export function foreignKeysOfStatement(createStatement: string): ForeignKey[] {
  return withoutForeignKeys(createStatement).clauses.map((clause) => {
    const { referenceAt: _, ...fk } = parseForeignKey(clause);
    return fk;
  });
}

/** The foreign keys `table` has now. */
export async function foreignKeysOf(db: Db, table: string): Promise<ForeignKey[]> {
  return foreignKeysOfStatement(await showCreateTable(db, table));
}

/** A foreign key of this database, named by the table that holds it. */
export interface ForeignKeyRef {
  table: string;
  constraint: string;
  referencedTable: string;
}

/** A foreign key from or to a table of this database, as the catalog lists it: its columns and theirs in order. */
export interface CatalogForeignKey {
  /** The database of the table that holds it. */
  schema: string;
  name: string;
  table: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
}

/**
 * Every foreign key held by a table of this database or referencing one (from any database), ordered by database,
 * table and name. The one catalog query of foreign keys: plan's dependents and restore's swaps read it.
 */
export async function catalogForeignKeys(db: Db): Promise<CatalogForeignKey[]> {
  const keys = await db.query<{ s: string; n: string; t: string; c: string; rs: string; rt: string; rc: string }>(
    `SELECT TABLE_SCHEMA AS s, CONSTRAINT_NAME AS n, TABLE_NAME AS t, COLUMN_NAME AS c,
            REFERENCED_TABLE_SCHEMA AS rs, REFERENCED_TABLE_NAME AS rt, REFERENCED_COLUMN_NAME AS rc
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE REFERENCED_TABLE_NAME IS NOT NULL AND (TABLE_SCHEMA = ? OR REFERENCED_TABLE_SCHEMA = ?)
      ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
    [db.database, db.database],
  );
  const foreignKeys: CatalogForeignKey[] = [];
  for (const k of keys) {
    let fk = foreignKeys.find((f) => f.schema === k.s && f.table === k.t && f.name === k.n);
    if (!fk) foreignKeys.push((fk = { schema: k.s, name: k.n, table: k.t, columns: [], refSchema: k.rs, refTable: k.rt, refColumns: [] }));
    fk.columns.push(k.c);
    fk.refColumns.push(k.rc);
  }
  return foreignKeys;
}

/** The foreign keys of this database in `catalog` (catalogForeignKeys) that reference one of `tables`, with their tables. */
export function foreignKeysReferencing(db: Db, catalog: readonly CatalogForeignKey[], tables: readonly string[]): ForeignKeyRef[] {
  return catalog
    .filter((k) => k.schema === db.database && k.refSchema === db.database && tables.includes(k.refTable))
    .map((k) => ({ table: k.table, constraint: k.name, referencedTable: k.refTable }));
}

/** Foreign keys in `catalog` of other databases' tables that reference one of `tables` of this one: `db`.`table` (constraint). */
export function foreignKeysFromElsewhere(db: Db, catalog: readonly CatalogForeignKey[], tables: readonly string[]): string[] {
  return catalog
    .filter((k) => k.schema !== db.database && k.refSchema === db.database && tables.includes(k.refTable))
    .map((k) => `${quoteId(k.schema)}.${quoteId(k.table)} (${k.name}, to ${k.refTable})`);
}

/** The table of this database that holds each of these foreign key names now (names no table holds are absent). */
export async function foreignKeyHolders(db: Db, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await db.query<{ TABLE_NAME: string; CONSTRAINT_NAME: string }>(
    `SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = ? AND CONSTRAINT_NAME IN (${names.map(() => '?').join(', ')})`,
    [db.database, ...names],
  );
  return new Map(rows.map((r) => [r.CONSTRAINT_NAME, r.TABLE_NAME]));
}

/**
 * Rows of `child` whose key columns are all set and match no row of `parent`: what a foreign key added with
 * foreign_key_checks=0 would leave violated. The count, and the first few keys as `col=value, ...`.
 */
export async function orphanRows(
  db: Db,
  child: { table: string; columns: string[] },
  parent: { table: string; columns: string[] },
  examples = 5,
): Promise<{ count: number; keys: string[] }> {
  const set = child.columns.map((c) => `c.${quoteId(c)} IS NOT NULL`).join(' AND ');
  const match = child.columns.map((c, i) => `p.${quoteId(parent.columns[i]!)} = c.${quoteId(c)}`).join(' AND ');
  const from = `FROM ${quoteId(child.table)} c WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${quoteId(parent.table)} p WHERE ${match})`;
  const [counted] = await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n ${from}`);
  const count = Number(counted?.n ?? 0);
  if (count === 0) return { count, keys: [] };
  const select = child.columns.map((c, i) => `CAST(c.${quoteId(c)} AS CHAR) AS k${i}`).join(', ');
  const rows = await db.query<Record<string, string | null>>(`SELECT DISTINCT ${select} ${from} LIMIT ${examples}`);
  return { count, keys: rows.map((r) => child.columns.map((c, i) => `${c}=${r[`k${i}`]}`).join(', ')) };
}
