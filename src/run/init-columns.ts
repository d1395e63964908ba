import * as mysqlCore from 'drizzle-orm/mysql-core';
import type { ColumnInfo } from '../db/introspect.ts';

/*
 * `eventshift init`'s column types: for each legacy column, the drizzle mysql-core builder whose SQL type is exactly
 * the column's COLUMN_TYPE (checked by building it and reading its getSQLType()), or, when none is, a customType
 * carrying the COLUMN_TYPE itself. A target created from them has the legacy types, so nothing is lost in the copy.
 */

/** A drizzle builder call, as code and as what it builds. */
interface BuilderSpec {
  /** The mysql-core export: `int`, `varchar`, `mysqlEnum`, ... */
  fn: string;
  /** Its second argument: a config object, or an enum's values. */
  arg?: Record<string, unknown> | string[];
}

/** How a generated schema writes one column's type. */
export interface ColumnCode {
  /** The builder call without modifiers: `int('ID', { unsigned: true })`, `legacyType('bit(7)')('flags')`. */
  code: string;
  /** The mysql-core export it uses, or null for the file's `legacyType` customType. */
  import: string | null;
}

/** MariaDB's display widths when none was declared: `int` is shown `int(11)`, `int unsigned` `int(10) unsigned`. */
const defaultWidths: Record<string, [signed: number, unsigned: number]> = {
  tinyint: [4, 3],
  smallint: [6, 5],
  mediumint: [9, 8],
  int: [11, 10],
  bigint: [20, 20],
};

/** The type drizzle would have to print for `declared` to be created: default display widths left out. */
function comparableType(declared: string): string {
  const t = declared.replace(/^([a-z]+)/i, (m) => m.toLowerCase());
  const int = /^(tinyint|smallint|mediumint|int|bigint)\((\d+)\)( unsigned)?$/.exec(t);
  if (int) {
    const [signed, unsigned] = defaultWidths[int[1]!]!;
    if (Number(int[2]) === (int[3] ? unsigned : signed)) return `${int[1]}${int[3] ?? ''}`;
    if (t === 'tinyint(1)') return 'boolean';
  }
  if (t === 'year(4)') return 'year';
  return t;
}

/** The values of `enum('a','b''c')` as the server prints it (quotes doubled, backslashes doubled). */
export function enumValues(declared: string): string[] | null {
  const m = /^enum\((.*)\)$/is.exec(declared);
  if (!m) return null;
  const values: string[] = [];
  const re = /'((?:[^'\\]|''|\\.)*)'(,|$)/gsy;
  let match: RegExpExecArray | null;
  let end = 0;
  while ((match = re.exec(m[1]!)) !== null) {
    values.push(match[1]!.replace(/''/g, "'").replace(/\\(.)/gs, '$1'));
    end = re.lastIndex;
    if (match[2] === '') break;
  }
  return end === m[1]!.length ? values : null;
}

const sizeOf = (t: string) => /^\w+\((\d+)(?:,(\d+))?\)/.exec(t);

/** The builder that should write `declared` (lower case but for enum values), before it is checked. */
function candidate(dataType: string, declared: string): BuilderSpec | null {
  const t = declared.toLowerCase();
  const unsigned = / unsigned$/.test(t) ? { unsigned: true } : {};
  const size = sizeOf(t);
  if (t === 'tinyint(1)') return { fn: 'boolean' };
  if (dataType === 'bigint') return { fn: 'bigint', arg: { mode: 'string', ...unsigned } };
  if (['tinyint', 'smallint', 'mediumint', 'int'].includes(dataType)) return { fn: dataType, arg: { ...unsigned } };
  if (dataType === 'decimal') return { fn: 'decimal', arg: { precision: Number(size?.[1]), scale: Number(size?.[2] ?? 0), ...unsigned } };
  if (dataType === 'float' || dataType === 'double') {
    const ps = size ? { precision: Number(size[1]), scale: Number(size[2] ?? 0) } : {};
    return { fn: dataType, arg: { ...ps, ...unsigned } };
  }
  if (dataType === 'date') return { fn: 'date', arg: { mode: 'string' } };
  if (dataType === 'datetime' || dataType === 'timestamp')
    return { fn: dataType, arg: { mode: 'string', ...(size ? { fsp: Number(size[1]) } : {}) } };
  if (dataType === 'time') return { fn: 'time', arg: size ? { fsp: Number(size[1]) } : {} };
  if (dataType === 'year') return { fn: 'year' };
  if (['char', 'varchar', 'binary', 'varbinary'].includes(dataType)) return { fn: dataType, arg: { length: Number(size?.[1]) } };
  if (['tinytext', 'text', 'mediumtext', 'longtext', 'json'].includes(dataType)) return { fn: dataType };
  if (dataType === 'enum') {
    const values = enumValues(declared);
    return values && values.length > 0 ? { fn: 'mysqlEnum', arg: values } : null;
  }
  return null;
}

/** The SQL type drizzle's builder writes. */
function builtType(spec: BuilderSpec): string {
  const make = (mysqlCore as unknown as Record<string, (name: string, arg?: unknown) => mysqlCore.MySqlColumnBuilderBase>)[spec.fn]!;
  const table = mysqlCore.mysqlTable('t', { c: make('c', spec.arg) });
  return mysqlCore.getTableConfig(table).columns[0]!.getSQLType();
}

/**
 * How to write `column` in a drizzle schema so that a table created from it has exactly its COLUMN_TYPE, and its
 * character set and collation where those are not the new table's (`defaultCollation`, utf8mb4's default).
 */
export function columnCode(column: ColumnInfo, defaultCollation: string): ColumnCode {
  const declared = column.declaredType ?? column.columnType;
  const name = tsString(column.name);
  const defaultText = column.charset === 'utf8mb4' && (column.collation == null || column.collation === defaultCollation);
  const keepsCharset = column.charset !== null && !defaultText;
  const spec = keepsCharset ? null : candidate(column.dataType, declared);
  if (spec && builtType(spec) === comparableType(declared)) {
    const arg = spec.arg === undefined || (!Array.isArray(spec.arg) && Object.keys(spec.arg).length === 0) ? '' : `, ${tsValue(spec.arg)}`;
    return { code: `${spec.fn}(${name}${arg})`, import: spec.fn };
  }
  const charset = keepsCharset ? ` CHARACTER SET ${column.charset}${column.collation ? ` COLLATE ${column.collation}` : ''}` : '';
  return { code: `legacyType(${tsString(declared + charset)})(${name})`, import: null };
}

/** A TypeScript string literal: single-quoted when plain, JSON otherwise. */
export function tsString(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) && !/['\\]/.test(value) ? `'${value}'` : JSON.stringify(value);
}

/** A TypeScript literal of a config object or array (keys are plain identifiers). */
function tsValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => tsString(String(v))).join(', ')}]`;
  if (typeof value === 'string') return tsString(value);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${k}: ${tsValue(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return String(value);
}
