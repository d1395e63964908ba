import type { Db } from '../db/connection.ts';
import { tableName } from '../db/ddl.ts';
import { escapeRegExp } from '../db/quote.ts';
import { cutoverChanges, sourceTableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import { catalogForeignKeys, type CatalogForeignKey } from '../backup/foreign-keys.ts';
import type { Dependent, DependentKind, FiredTrigger } from './plan-data.ts';
import { formatCount } from '../format.ts';

/**
 * What depends on the tables and columns a run renames (cutover) or drops (finalize), and which triggers the run's own
 * writes fire, read from information_schema: views (VIEW_DEFINITION), stored procedures and functions
 * (ROUTINE_DEFINITION), scheduled events (EVENT_DEFINITION), triggers (ACTION_STATEMENT and the table they are on)
 * and foreign keys (KEY_COLUMN_USAGE), in this database and, by a name qualified with it, in others.
 *
 * An object's text "names" a table or column when it holds the name as a word, bare or quoted: a match in a comment
 * or a string is a false alarm, which only costs a declaration in the mapping; the server keeps no dependency list
 * for routines, events and triggers that could do better. An object whose definition the connecting user may not read
 * is listed as breaking, whatever it reads; one the user may not see at all (a routine without any privilege on it)
 * cannot be listed.
 */

export type DependedChange =
  | { kind: 'renameTable'; stage: 'cutover'; table: string; to: string }
  | { kind: 'renameColumn'; stage: 'cutover'; table: string; column: string; to: string }
  | {
      kind: 'dropColumn';
      stage: 'finalize';
      table: string;
      column: string;
      /** The table's name now, when the cutover renames it before finalize: foreign keys and triggers are on it now. */
      tableNow?: string;
    };

export interface DependentsPlan {
  dependents: Dependent[];
  firedTriggers: FiredTrigger[];
  refusals: string[];
}

/** A table the run writes, how, and by which of its parts. */
export interface RunWrite {
  table: string;
  event: 'INSERT' | 'UPDATE' | 'DELETE';
  by: string;
}

/** The cutover's renames and finalize's drops, by the names they have when they are made. */
export function dependedChanges(
  mapping: Mapping,
  stages: ReadonlyArray<'cutover' | 'finalize'> = ['cutover', 'finalize'],
): DependedChange[] {
  const cutover = cutoverChanges(mapping);
  const changes: DependedChange[] = [];
  if (stages.includes('cutover')) {
    for (const c of cutover) {
      changes.push(
        c.kind === 'renameTable'
          ? { kind: 'renameTable', stage: 'cutover', table: c.from, to: c.to }
          : { kind: 'renameColumn', stage: 'cutover', table: c.table, column: c.from, to: c.to },
      );
    }
  }
  if (stages.includes('finalize')) {
    const names = sourceTableNames(mapping);
    for (const d of mapping.finalize ?? []) {
      const table = names.tableOf(d.table);
      const column = names.columnOf(d.table, d.column);
      const renamed = cutover.find((c) => c.kind === 'renameTable' && c.from === table);
      const renamedColumn = cutover.find((c) => c.kind === 'renameColumn' && c.table === table && c.from === column);
      changes.push({
        kind: 'dropColumn',
        stage: 'finalize',
        table: renamed?.kind === 'renameTable' ? renamed.to : table,
        column: renamedColumn?.kind === 'renameColumn' ? renamedColumn.to : column,
        ...(renamed ? { tableNow: table } : {}),
      });
    }
  }
  return changes;
}

/** Every table a run of the mapping writes rows of, how, and by which part (rollback's DELETEs included). */
export function runWrites(mapping: Mapping): RunWrite[] {
  const names = sourceTableNames(mapping);
  const writes: RunWrite[] = [];
  for (const [name, step] of Object.entries(mapping.steps)) {
    for (const alias of Object.keys(step.rows)) {
      const table = tableName(mapping.targets[alias]!);
      writes.push(
        { table, event: 'INSERT', by: `step ${name}` },
        { table, event: 'DELETE', by: `step ${name} (rollback, and a resumed chunk)` },
      );
    }
  }
  for (const [name, p] of Object.entries(mapping.projections ?? {})) {
    writes.push({ table: names(p.table), event: 'UPDATE', by: `projection ${name}` });
  }
  for (const [name, l] of Object.entries(mapping.lookups ?? {})) {
    const table = tableName(l.table);
    writes.push({ table, event: 'INSERT', by: `lookup ${name}` }, { table, event: 'DELETE', by: `lookup ${name} (rollback)` });
    for (const alias of Object.keys(l.from)) writes.push({ table: names(alias), event: 'UPDATE', by: `lookup ${name}` });
  }
  return writes;
}

export const describeChange = (c: DependedChange): string =>
  c.kind === 'renameTable'
    ? `rename ${c.table} to ${c.to}`
    : c.kind === 'renameColumn'
      ? `rename ${c.table}.${c.column} to ${c.to}`
      : `drop ${c.table}.${c.column}`;

/** What a change's stage is called in a sentence. */
const stageWord = { cutover: 'Cutover', finalize: 'Finalize' } as const;

interface TextObject {
  kind: Exclude<DependentKind, 'foreign key'>;
  schema: string;
  name: string;
  /** Its definition; null when this user may not read it (privileges): it may name anything. */
  text: string | null;
  /** For a trigger: the table it is on, and when it fires. */
  table?: string;
  when?: string;
  event?: string;
}

/** The system schemas, whose objects never name a user's table. */
const systemSchemas = ['mysql', 'sys', 'information_schema', 'performance_schema'];

/**
 * Views, routines, events and triggers of this database, and those of other databases whose text mentions its name;
 * with the foreign keys from or to its tables.
 */
async function readObjects(db: Db): Promise<{ objects: TextObject[]; foreignKeys: CatalogForeignKey[] }> {
  const here = db.database;
  // This database's objects, and those of other (non-system) databases whose text holds its name.
  const where = (schema: string, text: string) =>
    `(${schema} = ? OR (${schema} NOT IN (${systemSchemas.map(() => '?').join(', ')}) AND LOCATE(?, ${text}) > 0))`;
  const params = [here, ...systemSchemas, here];
  const views = await db.query<{ s: string; n: string; d: string | null }>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS n, VIEW_DEFINITION AS d FROM information_schema.VIEWS
      WHERE ${where('TABLE_SCHEMA', 'VIEW_DEFINITION')} ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    params,
  );
  const routines = await db.query<{ s: string; n: string; t: string; d: string | null }>(
    `SELECT ROUTINE_SCHEMA AS s, ROUTINE_NAME AS n, ROUTINE_TYPE AS t, ROUTINE_DEFINITION AS d FROM information_schema.ROUTINES
      WHERE ${where('ROUTINE_SCHEMA', 'ROUTINE_DEFINITION')} ORDER BY ROUTINE_SCHEMA, ROUTINE_TYPE, ROUTINE_NAME`,
    params,
  );
  const events = await db.query<{ s: string; n: string; d: string | null }>(
    `SELECT EVENT_SCHEMA AS s, EVENT_NAME AS n, EVENT_DEFINITION AS d FROM information_schema.EVENTS
      WHERE ${where('EVENT_SCHEMA', 'EVENT_DEFINITION')} ORDER BY EVENT_SCHEMA, EVENT_NAME`,
    params,
  );
  const triggers = await db.query<{ s: string; n: string; ts: string; t: string; timing: string; ev: string; d: string | null }>(
    `SELECT TRIGGER_SCHEMA AS s, TRIGGER_NAME AS n, EVENT_OBJECT_SCHEMA AS ts, EVENT_OBJECT_TABLE AS t, ACTION_TIMING AS timing,
            EVENT_MANIPULATION AS ev, ACTION_STATEMENT AS d
       FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? OR ${where('TRIGGER_SCHEMA', 'ACTION_STATEMENT')}
      ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
    [here, ...params],
  );
  const foreignKeys = await catalogForeignKeys(db);
  return {
    objects: [
      // information_schema gives an empty VIEW_DEFINITION, and a NULL ROUTINE_DEFINITION, to a user who may not read it.
      ...views.map((v): TextObject => ({ kind: 'view', schema: v.s, name: v.n, text: v.d || null })),
      ...routines.map((r): TextObject => ({
        kind: r.t.toLowerCase() === 'procedure' ? 'procedure' : 'function',
        schema: r.s,
        name: r.n,
        text: r.d,
      })),
      ...events.map((e): TextObject => ({ kind: 'event', schema: e.s, name: e.n, text: e.d })),
      ...triggers.map((t): TextObject => ({
        kind: 'trigger',
        schema: t.s,
        name: t.n,
        text: t.d ?? '',
        table: t.ts === here ? t.t : `${t.ts}.${t.t}`,
        when: `${t.timing} ${t.ev}`,
        event: t.ev,
      })),
    ],
    foreignKeys,
  };
}

/** Characters of an unquoted identifier. */
const identifierChar = '[\\p{L}\\p{N}_$]';

/** The ways `name` can be written in SQL text: quoted (backticks or, under ANSI_QUOTES, double quotes) or bare. */
function namePattern(name: string): string {
  const quoted = [`\`${escapeRegExp(name.replaceAll('`', '``'))}\``, `"${escapeRegExp(name.replaceAll('"', '""'))}"`];
  const bare = /^[\p{L}\p{N}_$]+$/u.test(name) ? [`(?<!${identifierChar})${escapeRegExp(name)}(?!${identifierChar})`] : [];
  return `(?:${[...quoted, ...bare].join('|')})`;
}

/** Whether `text` names `name` (case-insensitively: a conservative reading whatever lower_case_table_names says). */
export function namesIdentifier(text: string, name: string): boolean {
  return new RegExp(namePattern(name), 'iu').test(text);
}

/** Whether `text` names `schema`.`name` (qualified: how an object of another database must name it). */
function namesQualified(text: string, schema: string, name: string): boolean {
  return new RegExp(`${namePattern(schema)}\\s*\\.\\s*${namePattern(name)}`, 'iu').test(text);
}

const kindLabel = (d: Pick<Dependent, 'kind' | 'name'>) => `${d.kind} ${d.name}`;

/** What findDependents looks for, and what is accepted already. */
export interface DependentsQuery {
  changes: readonly DependedChange[];
  writes: readonly RunWrite[];
  /** --accept-breaking: a dependent that breaks is accepted. */
  acceptBreaking?: boolean;
  /** Dependents accepted when the run was planned, as `kind name` (with --accept-breaking then): still accepted. */
  acceptedBefore?: ReadonlySet<string>;
}

/** The objects and foreign keys readObjects found, and the database they are seen from. */
interface Catalog {
  here: string;
  objects: TextObject[];
  foreignKeys: CatalogForeignKey[];
}

/** A dependent before it is tied to its change. */
type Found = Omit<Dependent, 'stage' | 'change'>;

/** A name as the plan shows it: bare in this database, `schema.name` in another. */
const nameIn = (here: string, o: { schema: string; name: string }) => (o.schema === here ? o.name : `${o.schema}.${o.name}`);

/** A set of names, matched case-insensitively. */
function nameSet(names: readonly string[] | undefined): (name: string) => boolean {
  const set = new Set((names ?? []).map((n) => n.toLowerCase()));
  return (name: string) => set.has(name.toLowerCase());
}

/**
 * The dependents of `changes` and the triggers `writes` fire, with the refusals they call for: a `breaks` dependent
 * neither the mapping (`accepts.breaking`) nor `acceptBreaking` accepts, a `blocks` dependent always, a fired trigger
 * the mapping's `accepts.triggers` does not name.
 */
export async function findDependents(db: Db, mapping: Mapping, query: DependentsQuery): Promise<DependentsPlan> {
  const { acceptBreaking = false, acceptedBefore = new Set<string>() } = query;
  const catalog: Catalog = { here: db.database, ...(await readObjects(db)) };
  const acceptedBreaking = nameSet(mapping.accepts?.breaking);
  const dependents: Dependent[] = [];
  const refusals: string[] = [];
  for (const change of query.changes) {
    const found = changeDependents(catalog, change).map((d): Dependent => ({ ...d, stage: change.stage, change: describeChange(change) }));
    for (const d of found) {
      if (d.effect !== 'breaks') continue;
      if (acceptedBreaking(d.name)) d.accepted = 'mapping';
      else if (acceptBreaking || acceptedBefore.has(kindLabel(d))) d.accepted = 'flag';
    }
    refusals.push(...changeRefusals(change, found));
    dependents.push(...found);
  }
  const fired = await firedTriggers(db, catalog, query.writes, nameSet(mapping.accepts?.triggers));
  const unaccepted = fired.filter((t) => !t.accepted);
  if (unaccepted.length > 0) {
    refusals.push(
      `The run's own writes would fire ${formatCount(unaccepted.length)} trigger(s), which can change rows the mapping does not name: ` +
        `${unaccepted.map((t) => `${t.name} (${t.when} ON ${t.table}, by ${t.by.join(' and ')})`).join(', ')}. ` +
        `Read what they do; if that is intended, name them in the mapping's accepts.triggers.`,
    );
  }
  return { dependents, firedTriggers: fired, refusals };
}

/** What a change's dependents call for: a refusal for those it breaks that nobody accepted, one for each that blocks it. */
function changeRefusals(change: DependedChange, found: readonly Dependent[]): string[] {
  const refusals: string[] = [];
  const broken = found.filter((d) => d.effect === 'breaks' && !d.accepted);
  if (broken.length > 0) {
    refusals.push(
      `${stageWord[change.stage]} would ${describeChange(change)}, and ${formatCount(broken.length)} object(s) read it by name, ` +
        `so they would fail afterwards: ${broken.map(kindLabel).join(', ')}. If that is intended, name them in the mapping's ` +
        'accepts.breaking (or run with --accept-breaking); otherwise change them first.',
    );
  }
  for (const d of found.filter((x) => x.effect === 'blocks')) {
    refusals.push(`${stageWord[change.stage]} cannot ${describeChange(change)}: foreign key ${d.name} ${d.detail}.`);
  }
  return refusals;
}

/** The foreign keys, then the other objects, that depend on one change. */
function changeDependents(catalog: Catalog, change: DependedChange): Found[] {
  // Foreign keys and triggers are on the table under its name now (before a cutover that renames it).
  const tableNow = change.kind === 'dropColumn' ? (change.tableNow ?? change.table) : change.table;
  return [...foreignKeyDependents(catalog, change, tableNow), ...objectDependents(catalog, change, tableNow)];
}

function foreignKeyDependents({ here, foreignKeys }: Catalog, change: DependedChange, tableNow: string): Found[] {
  const found: Found[] = [];
  for (const fk of foreignKeys) {
    const from = fk.schema === here && fk.table === tableNow;
    const to = fk.refSchema === here && fk.refTable === tableNow;
    if (!from && !to) continue;
    const child = `${fk.schema === here ? '' : `${fk.schema}.`}${fk.table}(${fk.columns.join(', ')})`;
    const shown = `${child} -> ${fk.refTable}(${fk.refColumns.join(', ')})`;
    const name = nameIn(here, fk);
    if (change.kind === 'renameTable') {
      found.push({
        kind: 'foreign key',
        name,
        effect: 'follows',
        detail:
          from && to
            ? `${shown} refers to its own table and goes with it to ${change.to}`
            : from
              ? `${shown} stays on the table, now ${change.to}, under its name ${fk.name}`
              : `${shown} will reference ${change.to}: rows of ${fk.table} must then match rows of ${change.to}`,
      });
      continue;
    }
    const uses = (from && fk.columns.includes(change.column)) || (to && fk.refColumns.includes(change.column));
    if (!uses) continue;
    found.push(
      change.kind === 'renameColumn'
        ? { kind: 'foreign key', name, effect: 'follows', detail: `${shown} follows the column to its new name ${change.to}` }
        : {
            kind: 'foreign key',
            name,
            effect: 'blocks',
            detail:
              `${shown} uses ${change.table}.${change.column}, so the server refuses to drop it; ` +
              'drop the foreign key first, or keep the column',
          },
    );
  }
  return found;
}

/** Views, routines, events and triggers whose text names what the change renames or drops (or that are on its table). */
function objectDependents({ here, objects }: Catalog, change: DependedChange, tableNow: string): Found[] {
  const found: Found[] = [];
  const on = (o: TextObject) => o.kind === 'trigger' && o.table === tableNow;
  for (const o of objects) {
    if (o.text === null) {
      // What it reads cannot be known: it is listed as breaking, so that only a declaration lets the change go ahead.
      if (o.schema === here) {
        found.push({
          kind: o.kind,
          name: nameIn(here, o),
          effect: 'breaks',
          detail:
            "its definition cannot be read with this user's privileges (a view needs SHOW VIEW; a routine SELECT on " +
            'mysql.proc, or being its definer), so it may read what the change renames or drops',
        });
      }
      continue;
    }
    const nameTable = o.schema === here ? namesIdentifier(o.text, change.table) : namesQualified(o.text, here, change.table);
    if (change.kind === 'renameTable') {
      if (on(o) && !nameTable) {
        found.push({
          kind: 'trigger',
          name: nameIn(here, o),
          effect: 'follows',
          detail:
            `${o.when} ON ${change.table} goes with the table to ${change.to}; ` +
            `the server rewrites its definition to name ${change.to}`,
        });
      } else if (nameTable) {
        found.push({
          kind: o.kind,
          name: nameIn(here, o),
          effect: 'breaks',
          detail:
            `its definition reads ${change.table} by name, which no longer exists after the rename to ${change.to}: ` +
            'it fails when used',
        });
      }
      continue;
    }
    // A column is named by a trigger on its table (NEW.c, OLD.c), or by any object that also names the table.
    const nameColumn = (on(o) || nameTable) && namesIdentifier(o.text, change.column);
    if (!nameColumn) continue;
    found.push({
      kind: o.kind,
      name: nameIn(here, o),
      effect: 'breaks',
      detail:
        change.kind === 'renameColumn'
          ? `its definition reads ${change.table}.${change.column} by name, which becomes ${change.to}: it fails when used`
          : `its definition reads ${change.table}.${change.column}, which finalize drops: it fails when used`,
    });
  }
  return found;
}

/** The triggers of this database that the run's own `writes` fire, and the other tables each names. */
async function firedTriggers(
  db: Db,
  { here, objects }: Catalog,
  writes: readonly RunWrite[],
  accepted: (name: string) => boolean,
): Promise<FiredTrigger[]> {
  const firedBy = (o: TextObject) => [...new Set(writes.filter((w) => w.table === o.table && w.event === o.event).map((w) => w.by))];
  const fired = objects.filter((o) => o.kind === 'trigger' && o.schema === here && firedBy(o).length > 0);
  const tables =
    fired.length === 0
      ? []
      : (
          await db.query<{ t: string }>(
            `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'
      ORDER BY TABLE_NAME`,
            [here],
          )
        ).map((r) => r.t);
  return fired.map((o) => {
    const names = tables.filter((t) => t !== o.table && namesIdentifier(o.text ?? '', t));
    return { name: o.name, table: o.table!, when: o.when!, by: firedBy(o), accepted: accepted(o.name), names };
  });
}

/** Who accepted a dependent the cutover or finalize breaks, as the plan, report.md and report.html say it. */
export const acceptedBy = (accepted: Dependent['accepted'] | null): string | null =>
  accepted === 'mapping' ? 'by the mapping' : accepted === 'flag' ? 'by --accept-breaking' : null;

/** A dependent as one line of the plan or report: `view sales_by_store breaks (accepted by the mapping): ...`. */
export function dependentLine(d: Dependent): string {
  const accepted = acceptedBy(d.accepted) ? ` (accepted ${acceptedBy(d.accepted)})` : '';
  return `${kindLabel(d)} ${d.effect === 'blocks' ? 'BLOCKS it' : d.effect === 'breaks' ? `BREAKS${accepted}` : 'follows'}: ${d.detail}`;
}
