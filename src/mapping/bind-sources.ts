import { resolve } from 'node:path';
import { csvDefinitionProblems, stagingTableName, type SourceDefinition } from '../csv/declaration.ts';
import { usageError } from '../errors.ts';
import type { CsvSourceBinding, Mapping } from './types.ts';

/*
 * How a mapping's sources are read: a table, or a CSV file loaded into a staging table. defineMapping normalizes the
 * declared sources here and binds the declared files; `--source` and a run's plan bind others (csv/binding.ts).
 */

/** Sources as the rest of eventshift sees them: alias -> table name, plus how the CSV ones are read. */
export function normalizeSources(sources: Record<string, SourceDefinition>): {
  tables: Record<string, string>;
  csvSources: Record<string, CsvSourceBinding>;
  problems: string[];
} {
  const tables: Record<string, string> = {};
  const csvSources: Record<string, CsvSourceBinding> = {};
  const problems: string[] = [];
  for (const [alias, source] of Object.entries(sources)) {
    if (typeof source === 'string') {
      tables[alias] = source;
      continue;
    }
    if (typeof source !== 'object' || source === null || (!('table' in source) && !('csv' in source))) {
      problems.push(`source '${alias}' must be a table name, { table, csv? } or { csv }`);
      continue;
    }
    const table = 'table' in source && typeof source.table === 'string' ? source.table : null;
    tables[alias] = table ?? stagingTableName(alias);
    if (source.csv === undefined) continue;
    problems.push(...csvDefinitionProblems(alias, source.csv));
    csvSources[alias] = { definition: source.csv, table, file: source.csv.file ?? null };
  }
  return { tables, csvSources, problems };
}

/**
 * The mapping with its CSV-read sources pointing at their staging tables: for each source read from CSV (declared
 * `file`, or `files` here, which win), the alias names `eventshift_src_<alias>` and the table's cutover renames are
 * left out. Paths are made absolute against `cwd`.
 *
 * @example
 * const mapping = bindCsvSources(await loadMapping('vbzcart-ord-pull'), { pull: 'exports/ord_pull.csv' });
 */
export function bindCsvSources(mapping: Mapping, files: Record<string, string> = {}, cwd = process.cwd()): Mapping {
  const csvSources: Record<string, CsvSourceBinding> = { ...mapping.csvSources };
  for (const [alias, file] of Object.entries(files)) {
    const binding = csvSources[alias];
    if (!(alias in mapping.sources)) {
      throw usageError(
        `--source ${alias}=...: mapping ${mapping.name} has no source ${alias} (its sources: ${Object.keys(mapping.sources).join(', ')}).`,
        { subject: alias },
      );
    }
    if (!binding) {
      throw usageError(
        `--source ${alias}=...: mapping ${mapping.name} does not say how to read ${alias} from CSV; ` +
          'declare it as { table, csv: {...} } (see "CSV sources" in README.md).',
        { subject: alias },
      );
    }
    csvSources[alias] = { ...binding, file };
  }
  const sources = { ...mapping.sources };
  const read = new Set<string>();
  for (const [alias, binding] of Object.entries(csvSources)) {
    if (binding.file === null) continue;
    csvSources[alias] = { ...binding, file: resolve(cwd, binding.file) };
    sources[alias] = stagingTableName(alias);
    if (binding.table !== null) read.add(binding.table);
  }
  for (const [name, p] of Object.entries(mapping.projections ?? {})) {
    if (csvSources[p.table]?.file) {
      throw usageError(`Projection ${name} adds a column to ${p.table}, which this run reads from CSV; read ${p.table} from its table.`, {
        subject: name,
      });
    }
  }
  const cutover = (mapping.cutover ?? []).filter((c) => !read.has(c.kind === 'renameTable' ? c.from : c.table));
  return Object.freeze({ ...mapping, sources, csvSources, cutover, aliases: stagingAliases(mapping, csvSources) });
}

/**
 * With an aliases.yaml, the mapping's names are alias keys: a staging table is its own key, and its columns are named
 * as those of the table it stands for (it has that table's columns).
 */
function stagingAliases(mapping: Mapping, csvSources: Record<string, CsvSourceBinding>): Mapping['aliases'] {
  const file = mapping.aliases;
  if (!file) return file;
  const aliases = { ...file.aliases };
  for (const [alias, binding] of Object.entries(csvSources)) {
    if (binding.file === null) continue;
    const staging = stagingTableName(alias);
    const columns =
      binding.table === null
        ? Object.fromEntries(Object.keys(binding.definition.columns).map((c) => [c, { 1: c }]))
        : (file.aliases[binding.table]?.columns ?? {});
    aliases[staging] = { table: { 1: staging }, columns };
  }
  return { ...file, aliases };
}
