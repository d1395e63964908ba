import { connect } from '../db/connection.ts';
import { describeTable, type TableInfo } from '../db/introspect.ts';
import { atVersion } from '../mapping/aliases.ts';
import type { Mapping } from '../mapping/define.ts';
import { sourceTableNames } from '../mapping/compile.ts';
import { compileMappingNames, missingColumns } from '../plan/mapping-names.ts';
import type { CommandOptions } from './context.ts';
import { renameState } from '../engine/cutover.ts';
import { sourcesToPlan } from '../sources/sources.ts';

export interface CheckOptions extends CommandOptions {
  mapping: Mapping;
}

export interface AliasVerdict {
  /** `table` or `table.column`, by alias key. */
  alias: string;
  /** What it resolves to now (after any cutover rename), as `table` or `table`.`column`. */
  target: string;
  ok: boolean;
  problem?: string;
}

export interface CheckResult {
  mapping: string;
  aliasFile: string | null;
  version: number | null;
  aliases: AliasVerdict[];
  /** Names the mapping uses that are not alias keys, and columns it reads that the live tables lack (each a sentence). */
  references: string[];
  ok: boolean;
}

/**
 * Proves every alias of the mapping against the live schema, that the mapping names only alias keys, and that every
 * legacy column its SQL reads exists. Read-only.
 */
export async function checkMapping(options: CheckOptions): Promise<CheckResult> {
  const { mapping } = options;
  const file = mapping.aliases ?? null;
  const db = await connect(options.databaseUrl);
  try {
    const renames = await renameState(db, mapping);
    const tables = new Map<string, TableInfo | null>();
    const describe = async (t: string) => {
      if (!tables.has(t)) tables.set(t, await describeTable(db, t));
      return tables.get(t)!;
    };
    const aliases = file ? await aliasVerdicts({ file, renames, describe, database: db.database }) : [];
    const keyNames = sourceTableNames(mapping, renames);
    const stepKeys = await stepKeysOf(mapping, keyNames, describe);
    const names = sourceTableNames(mapping, renames, { strict: true });
    const references = compileMappingNames(mapping, names, stepKeys);
    for (const { alias, table: key, staged } of sourcesToPlan(mapping)) {
      if (file?.aliases[key]) continue; // proven with the alias file's entries above
      if (staged) continue; // read from a file into a table eventshift makes (CSV), not from a table of the database
      const table = keyNames(alias);
      if (!(await describe(table))) references.push(`source ${alias}: table ${table} does not exist in database ${db.database}`);
    }
    // A column an alias names is reported once, by its alias above.
    const brokenTargets = new Set(aliases.filter((a) => !a.ok).map((a) => a.target));
    for (const m of await missingColumns(mapping, names, describe)) {
      if (!brokenTargets.has(`${m.table}.${m.column}`)) references.push(m.message);
    }
    return {
      mapping: mapping.name,
      aliasFile: file?.path ?? null,
      version: file?.version ?? null,
      aliases,
      references,
      ok: aliases.every((a) => a.ok) && references.length === 0,
    };
  } finally {
    await db.close();
  }
}

/** What aliasVerdicts proves the alias file against: today's names (after any cutover rename) and the live tables. */
interface AliasScope {
  file: NonNullable<Mapping['aliases']>;
  renames: Awaited<ReturnType<typeof renameState>>;
  describe: (table: string) => Promise<TableInfo | null>;
  database: string;
}

/** Each alias of the file, table and column, proven against the live schema. */
async function aliasVerdicts({ file, renames, describe, database }: AliasScope): Promise<AliasVerdict[]> {
  const aliases: AliasVerdict[] = [];
  for (const [key, entry] of Object.entries(file.aliases)) {
    const real = atVersion(entry.table, file.version);
    const current = real === undefined ? undefined : (renames.tables.get(real) ?? real);
    const info = current === undefined ? null : await describe(current);
    aliases.push({
      alias: key,
      target: current ?? '(none at this version)',
      ok: info !== null,
      problem: info
        ? undefined
        : current === undefined
          ? `no target at version ${file.version}`
          : `no table ${current} in database ${database}`,
    });
    for (const [column, targets] of Object.entries(entry.columns)) {
      const realColumn = atVersion(targets, file.version);
      const currentColumn =
        realColumn === undefined || real === undefined ? realColumn : (renames.columns.get(real)?.get(realColumn) ?? realColumn);
      const exists = !!info && currentColumn !== undefined && info.columns.some((c) => c.name === currentColumn);
      aliases.push({
        alias: `${key}.${column}`,
        target: `${current ?? key}.${currentColumn ?? '(none)'}`,
        ok: exists,
        problem: exists
          ? undefined
          : !info
            ? `its table ${key} is missing`
            : currentColumn === undefined
              ? `no target at version ${file.version}`
              : `no column ${currentColumn} in ${current} (it has: ${info.columns.map((c) => c.name).join(', ')})`,
      });
    }
  }
  return aliases;
}

/** Each step's legacy key, as the plan finds it: declared, or the `from` table's single-column primary key. */
async function stepKeysOf(
  mapping: Mapping,
  keyNames: (alias: string) => string,
  describe: (table: string) => Promise<TableInfo | null>,
): Promise<Map<string, string>> {
  const stepKeys = new Map<string, string>();
  for (const [name, step] of Object.entries(mapping.steps)) {
    let info: TableInfo | null = null;
    try {
      if (step.key === undefined) info = await describe(keyNames(step.from));
    } catch {
      // An unknown alias is reported by compileMappingNames.
    }
    stepKeys.set(name, step.key ?? (info?.primaryKey.length === 1 ? info.primaryKey[0]! : 'ID'));
  }
  return stepKeys;
}
