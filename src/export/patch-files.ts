import { onUpdateColumns } from '../db/introspect.ts';
import { sourceTableNames } from '../mapping/compile.ts';
import { patchPhases, type PatchScope } from '../parts/part.ts';
import { partsOf } from '../parts/registry.ts';
import type { PatchFile, PatchInput } from './patch-file.ts';

/**
 * The patches a run of `plan` would apply, in order: a fold over the run's parts (parts/registry.ts), phase by phase
 * (patchPhases), each part's files built from the same compiled statements `migrate` executes, with each chunk range
 * widened to the whole step.
 */
export function patchFiles(input: PatchInput): PatchFile[] {
  const scope: PatchScope = {
    ...input,
    names: sourceTableNames(input.mapping),
    keepOf: (table) => onUpdateColumns(input.describe.get(table) ?? null),
  };
  const byPart = partsOf().map((part) => part.patches?.(scope) ?? {});
  const files = patchPhases.flatMap((phase) => byPart.flatMap((patches) => patches[phase] ?? []));
  // MediaWiki's names: patch-<table>, patch-<table>-<field>, patch-rename-<table>; data files are data-<what>.
  return files.map(({ stem, ...f }, i) => ({ ...f, name: `${String(i + 1).padStart(2, '0')}-${stem}.sql` }));
}
