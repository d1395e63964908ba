import { getTableConfig, type MySqlTable } from 'drizzle-orm/mysql-core';

/**
 * Lookup normalization: values repeated across rows of several source tables (MediaWiki's user id and user name in
 * `revision`, `archive`, `logging`, ...) become one row each of a lookup table (`actor`), and every source row gets a
 * reference column holding its lookup row's ID (`rev_actor`). Unlike a step, a lookup writes no reserved IDs: lookup
 * rows are found by their natural key (get-or-create, so rows that already exist are reused) and the source tables
 * gain a column.
 *
 * What a run does, all derived from this declaration: plan counts each source's rows to fill and to skip, the distinct
 * natural keys, the lookup rows to create and to reuse, and the data problems; write adds the reference columns,
 * creates the missing lookup rows in batches of natural keys (IDs consecutive in the keys' byte order, above the
 * table's highest), then fills each source's reference in key-range chunks guarded by `reference = 0`; verify proves
 * every filled reference names the lookup row with the row's own values, that skipped rows are exactly the reported
 * ones, that every lookup row the run created is used, and (through the backup) that nothing else changed; rollback
 * drops the added columns and deletes the lookup rows the run created.
 *
 * Rows are skipped (their reference stays 0, and the natural key is reported once) when the source's `skip` holds, or
 * when their natural key is in conflict: one natural key with different values of the other columns, or a value of a
 * UNIQUE column shared by several natural keys (among the sources' rows and the lookup rows that existed before).
 *
 * @example
 * lookups: {
 *   actor: {
 *     description: 'one actor per user name or IP address',
 *     table: actor,                                   // drizzle: actor_id auto-increment PK, actor_name UNIQUE, ...
 *     naturalKey: 'actor_name',
 *     skip: { description: 'registered-looking user name with user id 0', consequence: 'its rows keep *_actor = 0' },
 *     from: {
 *       revision: {
 *         values: { actor_name: '{{revision.rev_user_text}}', actor_user: 'NULLIF({{revision.rev_user}}, 0)' },
 *         reference: { name: 'rev_actor', after: 'rev_user_text' },
 *         skip: '{{revision.rev_user}} = 0 AND NOT IS_IPV4({{revision.rev_user_text}}) AND NOT IS_IPV6({{revision.rev_user_text}})',
 *       },
 *     },
 *   },
 * }
 */
export interface LookupDefinition {
  description?: string;
  /** The lookup table; created from this drizzle table when missing. Its single auto-increment primary key is the ID. */
  table: MySqlTable;
  /** The lookup column that identifies a row (UNIQUE): source rows with equal values share one lookup row. */
  naturalKey: string;
  /** What rows a source's `skip` condition picks are, for the plan and the report. Required when any source skips. */
  skip?: { description: string; consequence?: string };
  /** Source alias -> how its rows name their lookup row and where its reference goes. */
  from: Record<string, LookupSource>;
  /**
   * Sources every row of which gets its lookup row, referenced or not, and that get no reference column: MediaWiki's
   * migrateActors.php creates an actor for every `user` row before it reads the other tables. Their `values` give the
   * same columns as `from`'s; a natural key of theirs in conflict gets no row, like any other.
   */
  everyRowOf?: Record<string, { values: Record<string, string> }>;
}

export interface LookupSource {
  /** Lookup column -> SQL over the source alias giving that column's value for a row; must give the natural key. */
  values: Record<string, string>;
  /** The column added to the source table and set to the lookup row's ID (0 while it has none). */
  reference: { name: string; definition?: string; after?: string };
  /**
   * Sources LEFT JOINed to the rows, alias -> ON condition, for `values` and `skip` to read (`user` by the row's user
   * id). Each must match at most one row (join on a unique key): a join never adds or drops a row.
   */
  join?: Record<string, string>;
  /** SQL condition over the source alias (and its joins): rows that get no lookup row (reported once per natural key). */
  skip?: string;
  /** The column the fill is chunked by, in order (default: the single-column primary key); need not be unique. */
  key?: string;
}

/** The reference column's definition when the mapping gives none. */
export const defaultReferenceDefinition = 'BIGINT UNSIGNED NOT NULL DEFAULT 0';

const sqlName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The lookup tables of a mapping's lookups (drizzle). */
export function lookupTables(lookups: Record<string, LookupDefinition> | undefined): MySqlTable[] {
  return Object.values(lookups ?? {}).map((l) => l.table);
}

/** The drizzle table of a target or lookup table a run creates (a plan's `tables.create` entry), by its name. */
export function declaredTable(
  mapping: { targets: Record<string, MySqlTable>; lookups?: Record<string, LookupDefinition> },
  name: string,
): MySqlTable {
  const found = [...Object.values(mapping.targets), ...lookupTables(mapping.lookups)].find((t) => getTableConfig(t).name === name);
  if (!found) throw new Error(`No target or lookup table of the mapping is named ${name}.`);
  return found;
}

/** The shape problems of a mapping's lookups, as sentences (appended to `problems`). */
export function validateLookups(
  lookups: Record<string, LookupDefinition> | undefined,
  sources: Record<string, string>,
  targets: Record<string, MySqlTable>,
  problems: string[],
): void {
  const targetTables = new Set(Object.values(targets).map((t) => getTableConfig(t).name));
  for (const [name, lookup] of Object.entries(lookups ?? {})) {
    const where = `lookup '${name}'`;
    if (!sqlName.test(name)) problems.push(`${where}: its name must be a plain SQL identifier (letters, digits, _)`);
    let config: ReturnType<typeof getTableConfig>;
    try {
      config = getTableConfig(lookup.table);
    } catch {
      problems.push(`${where}: table must be a drizzle mysqlTable`);
      continue;
    }
    if (targetTables.has(config.name))
      problems.push(`${where}: table ${config.name} is also a step target; a lookup table is written only by its lookup`);
    const columns = new Map(config.columns.map((c) => [c.name, c]));
    const primary = [
      ...config.columns.filter((c) => c.primary).map((c) => c.name),
      ...config.primaryKeys.flatMap((k) => k.columns.map((c) => c.name)),
    ];
    if (primary.length !== 1 || !(columns.get(primary[0]!) as { autoIncrement?: boolean } | undefined)?.autoIncrement) {
      problems.push(`${where}: table ${config.name} needs a single auto-increment primary key column (the ID its sources reference)`);
    }
    const natural = columns.get(lookup.naturalKey);
    if (!natural) problems.push(`${where}: naturalKey '${lookup.naturalKey}' is not a column of ${config.name}`);
    else if (!uniqueColumns(lookup.table).includes(lookup.naturalKey))
      problems.push(`${where}: naturalKey '${lookup.naturalKey}' must be UNIQUE in ${config.name} (add .unique())`);
    if (Object.keys(lookup.from).length === 0) problems.push(`${where}: it reads from no source`);
    fromProblems(where, lookup, { sources, table: config.name, columns, id: primary[0] }, problems);
    everyRowOfProblems(where, lookup, sources, problems);
  }
}

/** The problems of each source a lookup reads from: the values it gives, the reference it fills, its key and joins. */
function fromProblems(
  where: string,
  lookup: LookupDefinition,
  {
    sources,
    table,
    columns,
    id,
  }: { sources: Record<string, string>; table: string; columns: Map<string, unknown>; id: string | undefined },
  problems: string[],
): void {
  const references = new Set<string>();
  for (const [alias, source] of Object.entries(lookup.from)) {
    const at = `${where}, from '${alias}'`;
    if (!(alias in sources)) problems.push(`${at}: '${alias}' is not a source`);
    if (!(lookup.naturalKey in source.values)) problems.push(`${at}: values must give the natural key ${lookup.naturalKey}`);
    for (const column of Object.keys(source.values)) {
      if (!columns.has(column)) problems.push(`${at}: values.${column} is not a column of ${table}`);
      else if (column === id) problems.push(`${at}: values.${column} is the lookup's ID, which the run assigns`);
    }
    const given = Object.keys(source.values).sort().join(',');
    const first = Object.values(lookup.from)[0]!;
    if (given !== Object.keys(first.values).sort().join(','))
      problems.push(
        `${at}: values must give the same columns as every other source of the lookup (${Object.keys(first.values).join(', ')})`,
      );
    if (!sqlName.test(source.reference?.name ?? '')) problems.push(`${at}: reference.name must be a plain column name`);
    const ref = `${sources[alias]}.${source.reference?.name}`;
    if (references.has(ref)) problems.push(`${at}: reference ${ref} is filled twice`);
    references.add(ref);
    if (source.skip !== undefined && !lookup.skip)
      problems.push(`${at}: it has a skip condition, so the lookup needs skip.description (what such rows are, for the report)`);
    if (source.key !== undefined && !sqlName.test(source.key)) problems.push(`${at}: key '${source.key}' must be a plain column name`);
    for (const joined of Object.keys(source.join ?? {})) {
      if (!(joined in sources)) problems.push(`${at}: join '${joined}' is not a source`);
      if (joined === alias) problems.push(`${at}: it joins itself; join another alias of the table`);
    }
  }
}

/** The problems of each source a lookup reads whole (everyRowOf). */
function everyRowOfProblems(where: string, lookup: LookupDefinition, sources: Record<string, string>, problems: string[]): void {
  const columnsOfFrom = Object.keys(Object.values(lookup.from)[0]?.values ?? {})
    .sort()
    .join(',');
  for (const [alias, every] of Object.entries(lookup.everyRowOf ?? {})) {
    const at = `${where}, everyRowOf '${alias}'`;
    if (!(alias in sources)) problems.push(`${at}: '${alias}' is not a source`);
    if (alias in lookup.from) problems.push(`${at}: '${alias}' is also in from; a source either gets a reference or is read whole`);
    if (!(lookup.naturalKey in (every.values ?? {}))) problems.push(`${at}: values must give the natural key ${lookup.naturalKey}`);
    if (
      Object.keys(every.values ?? {})
        .sort()
        .join(',') !== columnsOfFrom
    ) {
      problems.push(`${at}: values must give the same columns as the sources of from`);
    }
  }
}

/** Columns of a drizzle table that are UNIQUE on their own. */
export function uniqueColumns(table: MySqlTable): string[] {
  const config = getTableConfig(table);
  return [
    ...config.columns.filter((c) => c.isUnique || c.primary).map((c) => c.name),
    ...config.uniqueConstraints.filter((u) => u.columns.length === 1).map((u) => u.columns[0]!.name),
    ...config.indexes
      .filter((i) => i.config.unique && i.config.columns.length === 1)
      .map((i) => (i.config.columns[0] as { name: string }).name),
  ];
}
