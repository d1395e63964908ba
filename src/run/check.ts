import { connect } from '../db/connection.ts';
import { describeTable, type TableInfo } from '../db/introspect.ts';
import { EventshiftError } from '../errors.ts';
import { atVersion } from '../mapping/aliases.ts';
import type { Mapping } from '../mapping/define.ts';
import { compileProjection, compileStep, fromClauseSql, sourceTableNames } from '../mapping/compile.ts';
import type { CommandOptions } from './context.ts';
import { compileLookup } from '../lookup/compile-lookup.ts';
import { renameState } from './cutover.ts';

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
  /** Names the mapping uses that are not alias keys (each a sentence). */
  references: string[];
  ok: boolean;
}

/** Proves every alias of the mapping against the live schema, and that the mapping names only alias keys. Read-only. */
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
    const aliases: AliasVerdict[] = [];
    if (file) {
      for (const [key, entry] of Object.entries(file.aliases)) {
        const real = atVersion(entry.table, file.version);
        const current = real === undefined ? undefined : renames.tables.get(real) ?? real;
        const info = current === undefined ? null : await describe(current);
        aliases.push({
          alias: key, target: current ?? '(none at this version)', ok: info !== null,
          problem: info ? undefined : current === undefined ? `no target at version ${file.version}` : `no table ${current} in database ${db.database}`,
        });
        for (const [column, targets] of Object.entries(entry.columns)) {
          const realColumn = atVersion(targets, file.version);
          const currentColumn = realColumn === undefined || real === undefined ? realColumn : renames.columns.get(real)?.get(realColumn) ?? realColumn;
          const exists = !!info && currentColumn !== undefined && info.columns.some((c) => c.name === currentColumn);
          aliases.push({
            alias: `${key}.${column}`, target: `${current ?? key}.${currentColumn ?? '(none)'}`, ok: exists,
            problem: exists ? undefined : !info ? `its table ${key} is missing`
              : currentColumn === undefined ? `no target at version ${file.version}`
              : `no column ${currentColumn} in ${current} (it has: ${info.columns.map((c) => c.name).join(', ')})`,
          });
        }
      }
    }
    // Each step's legacy key, as the plan finds it: declared, or the `from` table's single-column primary key.
    const stepKeys = new Map<string, string>();
    const keyNames = sourceTableNames(mapping, renames);
    for (const [name, step] of Object.entries(mapping.steps)) {
      let info: TableInfo | null = null;
      try {
        if (step.key === undefined) info = await describe(keyNames(step.from));
      } catch {
        // An unknown alias is reported by mappingReferences below.
      }
      stepKeys.set(name, step.key ?? (info?.primaryKey.length === 1 ? info.primaryKey[0]! : 'ID'));
    }
    const references = mappingReferences(mapping, renames, stepKeys);
    return {
      mapping: mapping.name, aliasFile: file?.path ?? null, version: file?.version ?? null, aliases, references,
      ok: aliases.every((a) => a.ok) && references.length === 0,
    };
  } finally {
    await db.close();
  }
}

/** Resolves every name the mapping's steps, problems, projections and replays use, strictly; returns what fails. */
function mappingReferences(mapping: Mapping, renames: Awaited<ReturnType<typeof renameState>>, stepKeys: ReadonlyMap<string, string>): string[] {
  const names = sourceTableNames(mapping, renames, { strict: true });
  const failures: string[] = [];
  const attempt = (where: string, fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof EventshiftError)) throw error;
      failures.push(`${where}: ${error.message}`);
    }
  };
  for (const [name, step] of Object.entries(mapping.steps)) {
    attempt(`step ${name}`, () => compileStep(mapping, name, step, stepKeys.get(name)!, { strategy: 'offset', offset: 0 }, names));
  }
  for (const [name, p] of Object.entries(mapping.problems ?? {})) {
    attempt(`problem ${name}`, () => [fromClauseSql(p.from, p.join ?? {}, names), names.snippet(p.where), p.key && names.snippet(p.key)]);
  }
  for (const [name, p] of Object.entries(mapping.projections ?? {})) attempt(`projection ${name}`, () => compileProjection(name, p, names));
  for (const c of mapping.finalize ?? []) attempt(`finalize ${c.kind} ${c.table}.${c.column}`, () => [names.tableOf(c.table), names.columnOf(c.table, c.column)]);
  for (const name of Object.keys(mapping.lookups ?? {})) attempt(`lookup ${name}`, () => compileLookup(mapping, name, names));
  for (const [name, r] of Object.entries(mapping.replays ?? {})) {
    attempt(`replay ${name}`, () => [names.snippet(r.events), ...Object.values(r.compare).map((c) => names.snippet(c.legacy))]);
  }
  return failures;
}
