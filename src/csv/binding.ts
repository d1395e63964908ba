import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Plan } from '../plan/plan.ts';
import { csvDefinitionProblems, stagingTableName, type CsvSourceDefinition, type SourceDefinition } from './declaration.ts';

/**
 * Which sources of a mapping are read from CSV. A mapping declares, per source, a table, a table that can also be read
 * from a CSV export, or only CSV; `--source NAME=path` (or the declaration's `file`) makes a source read its CSV. Such
 * a source's alias then names its staging table, so every step, check and projection reads the CSV's rows unchanged;
 * the cutover renames of the table it stands for are left out (the run did not read that table, which may not even
 * exist), and nothing else of the mapping changes.
 */
export interface CsvSourceBinding {
  definition: CsvSourceDefinition;
  /** The table (as the mapping names it) the CSV stands for; null for a CSV-only source. */
  table: string | null;
  /** The file or folder read in this run (absolute once bound by `--source` or a plan); null when the table is read. */
  file: string | null;
}

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
        `--source ${alias}=...: mapping ${mapping.name} does not say how to read ${alias} from CSV; declare it as { table, csv: {...} } (see "CSV sources" in README.md).`,
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

/**
 * The mapping bound as a run's plan recorded it, so that a resumed run, `verify`, `rollback`, `restore` and `lineage`
 * read what the run read. A source given again (`--source`) must name the same path as the plan's.
 */
export function bindAsPlanned(mapping: Mapping, plan: Plan | null | undefined): Mapping {
  const planned = Object.fromEntries((plan?.sources ?? []).flatMap((s) => (s.csv ? [[s.alias, s.csv.path] as const] : [])));
  for (const [alias, binding] of Object.entries(mapping.csvSources)) {
    if (binding.file === null) continue;
    const path = planned[alias];
    if (path === undefined) {
      throw usageError(`Run of ${mapping.name} read ${alias} from its table, not from ${binding.file}; leave out --source ${alias}.`, {
        subject: alias,
      });
    }
    if (path !== binding.file) {
      throw usageError(
        `The run of ${mapping.name} read ${alias} from ${path}, not ${binding.file}; finish it (or roll it back) with the same --source.`,
        { subject: alias },
      );
    }
  }
  const unbound = Object.fromEntries(Object.entries(planned).filter(([alias]) => mapping.csvSources[alias]?.file == null));
  for (const alias of Object.keys(unbound)) {
    if (!mapping.csvSources[alias]) {
      throw usageError(
        `The run of ${mapping.name} read ${alias} from CSV, but the mapping no longer declares how; restore the csv declaration of ${alias}.`,
        { subject: alias },
      );
    }
  }
  return Object.keys(unbound).length === 0 ? mapping : bindCsvSources(mapping, unbound);
}

/** The sources this mapping reads from CSV. */
export function csvSourcesRead(mapping: Mapping): Array<CsvSourceBinding & { alias: string; staging: string; file: string }> {
  return Object.entries(mapping.csvSources ?? {}).flatMap(([alias, b]) =>
    b.file === null ? [] : [{ ...b, alias, staging: stagingTableName(alias), file: b.file }],
  );
}

/** CSV-only sources no file was given for. */
export function csvSourcesWithoutFile(mapping: Mapping): string[] {
  return Object.entries(mapping.csvSources ?? {})
    .filter(([, b]) => b.table === null && b.file === null)
    .map(([alias]) => alias);
}

/** The files of a path: itself, or a folder's `*.csv` files in name order. */
export function csvFilesOf(path: string): string[] {
  if (!existsSync(path)) throw usageError(`The CSV source ${path} does not exist.`, { subject: path });
  if (!statSync(path).isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => /\.csv$/i.test(f) && statSync(join(path, f)).isFile())
    .sort();
  if (files.length === 0) throw usageError(`The folder ${path} holds no .csv files.`, { subject: path });
  return files.map((f) => join(path, f));
}
