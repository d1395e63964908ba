import type { TableInfo } from '../db/introspect.ts';
import { EventshiftError } from '../errors.ts';
import { compileLookup } from '../lookup/compile-lookup.ts';
import { compileProjection, compileStep, fromClauseSql, type TableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';

/**
 * Compiles every piece of SQL the mapping declares (steps, data problems, projections, lookups, replays, finalize
 * drops) through `names`, so that `names.named` holds every legacy column they read. Returns the names that failed to
 * resolve (alias keys aliases.yaml lacks, in strict mode), each as a sentence saying where.
 */
export function compileMappingNames(mapping: Mapping, names: TableNames, stepKeys: ReadonlyMap<string, string>): string[] {
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
    const key = stepKeys.get(name) ?? step.key ?? 'ID';
    attempt(`step ${name}`, () => compileStep(mapping, { name, keyColumn: key, ids: { strategy: 'offset', offset: 0 } }, { names }));
  }
  for (const [name, p] of Object.entries(mapping.problems ?? {})) {
    attempt(`problem ${name}`, () => [fromClauseSql(p.from, p.join ?? {}, names), names.snippet(p.where), p.key && names.snippet(p.key)]);
  }
  for (const [name, p] of Object.entries(mapping.projections ?? {})) attempt(`projection ${name}`, () => compileProjection(name, p, names));
  for (const c of mapping.finalize ?? []) {
    attempt(`finalize ${c.kind} ${c.table}.${c.column}`, () => [names.tableOf(c.table), names.columnOf(c.table, c.column)]);
  }
  for (const name of Object.keys(mapping.lookups ?? {})) attempt(`lookup ${name}`, () => compileLookup(mapping, name, names));
  for (const [name, r] of Object.entries(mapping.replays ?? {})) {
    attempt(`replay ${name}`, () => [names.snippet(r.events), ...Object.values(r.compare).map((c) => names.snippet(c.legacy))]);
  }
  return failures;
}

/**
 * The legacy columns the mapping reads (as `names.named` recorded them while compiling) that the live tables lack,
 * each with a sentence naming the source alias, the column and the table. Tables that do not exist are left to the
 * caller, which says so once.
 */
export async function missingColumns(
  mapping: Mapping,
  names: TableNames,
  describe: (table: string) => Promise<TableInfo | null>,
): Promise<Array<{ table: string; column: string; message: string }>> {
  const missing: Array<{ table: string; column: string; message: string }> = [];
  for (const [alias, columns] of names.named) {
    const table = names(alias);
    const info = await describe(table);
    if (!info) continue;
    const have = new Set(info.columns.map((c) => c.name));
    for (const column of [...columns].filter((c) => !have.has(c)).sort()) {
      missing.push({
        table,
        column,
        message:
          `Mapping ${mapping.name} reads column ${alias}.${column}, which table ${table} in the database does not have ` +
          `(it has: ${info.columns.map((c) => c.name).join(', ')}); fix the mapping or its aliases.yaml to the live schema.`,
      });
    }
  }
  return missing;
}
