import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Db } from '../db/connection.ts';
import { describeTable, foreignKeys, isIntegerType, type ColumnInfo, type TableInfo } from '../db/introspect.ts';
import { refusal, usageError } from '../errors.ts';
import { aliasesFile, indexFile, requiredEventColumns, schemaFile, type InitModel, type InitSource, type InitTable } from './init-files.ts';

/** eventshift's own folder (src/run/ or build/run/ is two levels below it). */
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface InitOptions {
  databaseUrl: string;
  /** The mapping's name: lower-case words joined by '-'. */
  name: string;
  /** The legacy tables: one step and one extension table each. */
  from: string[];
  /** The folder to write (default ./mappings/<name>); refused when it exists and is not empty. */
  dir?: string;
  cwd?: string;
}

export interface InitResult {
  dir: string;
  files: string[];
  /** Where index.ts imports eventshift from. */
  imports: 'package' | 'relative';
  /** Whether the database had an `event` table, which schema.ts then describes as it is. */
  eventExists: boolean;
  /** What the user must still do by hand (each a sentence). */
  todos: string[];
  /** The command to run next. */
  next: string;
}

/**
 * `eventshift init`: scaffolds a mapping folder (index.ts, schema.ts, aliases.yaml) from the live schema of the
 * --from tables, so that it plans as written: one step per table with dense IDs, an extension table per table with
 * the legacy columns' exact types, and warnings for zero dates and rows whose foreign key names no row.
 */
export async function initMapping(options: InitOptions): Promise<InitResult> {
  const { name, from } = options;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw usageError(`The mapping name '${name}' must be lower-case words joined by '-'.`);
  if (from.length === 0) throw usageError('Name the legacy tables to map: --from TABLE[,TABLE...].');
  const twice = from.find((t, i) => from.indexOf(t) !== i);
  if (twice !== undefined) throw usageError(`--from names table ${twice} twice; name each table once.`);
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.dir ?? join('mappings', name));
  refuseNonEmpty(dir);
  const db = await connect(options.databaseUrl);
  let model: InitModel;
  try {
    model = await readModel(db, name, from, dir);
  } finally {
    await db.close();
  }
  return writeMapping(model, from, { dir, cwd });
}

/** Writes the three files and says what is left to do. */
function writeMapping(model: InitModel, from: string[], { dir, cwd }: { dir: string; cwd: string }): InitResult {
  mkdirSync(dir, { recursive: true });
  const files = { 'index.ts': indexFile(model, from), 'schema.ts': schemaFile(model), 'aliases.yaml': aliasesFile(model) };
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const shown = relative(cwd, dir) || '.';
  return {
    dir,
    files: Object.keys(files).map((f) => join(dir, f)),
    imports: model.imports.kind,
    eventExists: model.event.exists,
    todos: [
      ...model.sources
        .filter((s) => s.whenStart === null)
        .map((s) => `${s.table} has no NOT NULL date or datetime column: replace the WhenStart literal (marked TODO) in index.ts.`),
      ...requiredEventColumns(model).map((c) => `event.${c.name} is NOT NULL without a default: replace its placeholder (marked TODO).`),
    ],
    next: `eventshift plan ${shown.startsWith('.') || shown.startsWith(sep) ? shown : `.${sep}${shown}`}`,
  };
}

function refuseNonEmpty(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw refusal(`${dir} exists and is not a folder; init writes a mapping folder there.`);
  if (readdirSync(dir).length > 0)
    throw refusal(`${dir} exists and is not empty: init writes only into a new or empty folder (choose another with --dir).`);
}

/** Reads the tables, the event table and the foreign keys, and names everything. */
async function readModel(db: Db, name: string, from: string[], dir: string): Promise<InitModel> {
  const infos = await describeSources(db, from);
  const eventInfo = await describeTable(db, 'event');
  if (eventInfo) refuseUnusableEvent(eventInfo);
  const names = new Names();
  const sources: InitSource[] = [];
  for (const info of infos) {
    const target = `event_${info.name}`;
    if (await describeTable(db, target))
      throw refusal(`Table ${target} exists already: init generates it as ${info.name}'s extension table.`);
    sources.push({
      ...names.table(info.name, info.columns),
      info,
      target: { table: target, alias: names.target(target) },
      whenStart:
        info.columns.find((c) => !c.nullable && !c.generated && ['date', 'datetime', 'timestamp'].includes(c.dataType))?.name ?? null,
      foreignKeys: [],
    });
  }
  const referenced = await linkForeignKeys(db, sources, names);
  return {
    name,
    database: db.database,
    imports: importsFor(dir),
    event: { info: eventInfo ?? eventPlexEvent(), exists: eventInfo !== null },
    defaultCollation: await utf8mb4Collation(db),
    sources,
    referenced,
  };
}

/** Each --from table, described; a missing one (all of them, named) or one without a single integer key is refused. */
async function describeSources(db: Db, from: string[]): Promise<TableInfo[]> {
  const infos = await Promise.all(from.map(async (t) => [t, await describeTable(db, t)] as const));
  const missing = infos.filter(([, info]) => info === null).map(([t]) => t);
  if (missing.length > 0) throw refusal(`No table ${missing.join(', ')} in database ${db.database}: --from names existing tables.`);
  const out = infos.map(([, info]) => info!);
  for (const info of out) {
    if (info.name === 'event') throw refusal('--from event: event is the event log the mapping writes, not a legacy table.');
    const key = info.primaryKey.length === 1 ? info.columns.find((c) => c.name === info.primaryKey[0]) : undefined;
    if (!key || !isIntegerType(key.dataType))
      throw refusal(
        `Table ${info.name} has no single-column integer primary key: a step reads its table in key ranges, so init cannot ` +
          'write its step; give it such a key, or write that step by hand.',
      );
  }
  return out;
}

function refuseUnusableEvent(info: TableInfo): void {
  const lacking = ['ID', 'WhenStart', 'TypeCode'].filter((c) => !info.columns.some((x) => x.name === c));
  if (lacking.length > 0 || info.primaryKey.join() !== 'ID')
    throw refusal(
      `The database's event table ${lacking.length > 0 ? `lacks ${lacking.join(', ')}` : 'is not keyed by ID alone'}: ` +
        'init writes events as ID, WhenStart and TypeCode; write this mapping by hand.',
    );
}

/** The foreign keys of each source to tables of this database; returns the tables only those checks read. */
async function linkForeignKeys(db: Db, sources: InitSource[], names: Names): Promise<InitTable[]> {
  const referenced = new Map<string, InitTable>();
  for (const s of sources) {
    for (const fk of await foreignKeys(db, s.table)) {
      if (fk.referencedSchema !== db.database) continue;
      const asSource = sources.find((x) => x.table === fk.referencedTable);
      let target: InitTable | undefined = asSource && asSource !== s ? asSource : referenced.get(fk.referencedTable);
      if (!target) {
        // A table read only here; a self-reference gets a second alias of the table under the same alias key.
        target = asSource ? { ...asSource, alias: names.alias(`${asSource.alias}_ref`) } : names.table(fk.referencedTable, []);
        referenced.set(fk.referencedTable, target);
      }
      for (const c of fk.referencedColumns) if (!target.columnKeys.has(c)) target.columnKeys.set(c, names.columnKey(target, c));
      s.foreignKeys.push({ ...fk, referenced: target });
    }
  }
  return [...referenced.values()];
}

/** index.ts imports 'eventshift' when the folder resolves it as an installed package, else this repository's sources. */
function importsFor(dir: string): InitModel['imports'] {
  let resolved: string | null = null;
  try {
    resolved = createRequire(join(dir, 'index.ts')).resolve('eventshift');
  } catch {
    resolved = null;
  }
  const src = join(packageRoot, 'src', 'mapping');
  if ((resolved && resolved.split(sep).includes('node_modules')) || !existsSync(join(src, 'define.ts'))) return { kind: 'package' };
  const rel = (file: string) => {
    const r = relative(dir, join(src, file)).split(sep).join('/');
    return r.startsWith('.') ? r : `./${r}`;
  };
  return { kind: 'relative', define: rel('define.ts'), aliases: rel('aliases.ts') };
}

/** The collation a utf8mb4 column of a table created with DEFAULT CHARSET=utf8mb4 gets. */
async function utf8mb4Collation(db: Db): Promise<string> {
  const [row] = await db.query<{ c: string }>(
    "SELECT COLLATION_NAME AS c FROM information_schema.COLLATIONS WHERE CHARACTER_SET_NAME = 'utf8mb4' AND IS_DEFAULT = 'Yes'",
  );
  return row?.c ?? 'utf8mb4_general_ci';
}

const column = (name: string, columnType: string, nullable: boolean, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name,
  dataType: columnType.replace(/[( ].*$/, ''),
  columnType,
  declaredType: columnType,
  nullable,
  charset: /char|text/.test(columnType) ? 'utf8mb4' : null,
  collation: null,
  generated: false,
  autoIncrement: false,
  ...extra,
});

/** EventPlex's event table, as the shipped mappings declare it: created by the run when the database has none. */
function eventPlexEvent(): TableInfo {
  return {
    name: 'event',
    engine: 'InnoDB',
    autoIncrement: null,
    approxRows: 0,
    primaryKey: ['ID'],
    columns: [
      column('ID', 'int(10) unsigned', false, { autoIncrement: true }),
      column('WhenStart', 'datetime', false),
      column('WhenFinish', 'datetime', true),
      column('ID_Session', 'int(10) unsigned', true),
      column('ID_Acct', 'int(10) unsigned', true),
      column('TypeCode', 'varchar(63)', false),
      column('Descrip', 'varchar(255)', true),
      column('Stash', 'text', true),
    ],
  };
}

const plainName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const sanitize = (name: string) => {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `t_${s}`;
};

/** Aliases, alias keys and export names, each unique where it must be. */
class Names {
  private readonly aliases = new Set<string>(['event']);
  private readonly keys = new Set<string>();

  alias(wanted: string): string {
    let alias = sanitize(wanted);
    for (let i = 2; this.aliases.has(alias); i++) alias = `${sanitize(wanted)}_${i}`;
    this.aliases.add(alias);
    return alias;
  }

  /** The target alias and schema.ts export of an extension table: `event_rental` -> eventRental. */
  target(table: string): string {
    return this.alias(sanitize(table).replace(/_+([A-Za-z0-9])/g, (_, c: string) => c.toUpperCase()));
  }

  table(table: string, columns: ColumnInfo[]): InitTable {
    let key = plainName.test(table) ? table : sanitize(table);
    for (let i = 2; this.keys.has(key); i++) key = `${sanitize(table)}_${i}`;
    this.keys.add(key);
    const t: InitTable = { alias: this.alias(table), key, table, columnKeys: new Map() };
    for (const c of columns) t.columnKeys.set(c.name, this.columnKey(t, c.name));
    return t;
  }

  columnKey(t: InitTable, column: string): string {
    if (plainName.test(column)) return column;
    const taken = new Set(t.columnKeys.values());
    let key = sanitize(column);
    for (let i = 2; taken.has(key); i++) key = `${sanitize(column)}_${i}`;
    return key;
  }
}
