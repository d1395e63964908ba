import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../errors.ts';
import { bindCsvSources } from '../mapping/bind-sources.ts';
import type { Mapping } from '../mapping/types.ts';
import type { Plan } from '../plan/plan-data.ts';

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
        `The run of ${mapping.name} read ${alias} from CSV, but the mapping no longer declares how; ` +
          `restore the csv declaration of ${alias}.`,
        { subject: alias },
      );
    }
  }
  return Object.keys(unbound).length === 0 ? mapping : bindCsvSources(mapping, unbound);
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
