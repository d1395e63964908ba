import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { usageError } from '../errors.ts';
import type { Mapping } from './define.ts';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Finds a mapping by folder name under `mappings/` (of the working directory, then of eventshift itself) or by a
 * path to a mapping module or folder, and imports it.
 */
export async function loadMapping(ref: string, cwd = process.cwd()): Promise<Mapping> {
  const file = resolveMappingFile(ref, cwd);
  // The compiled CLI (bin/compiled.mjs) imports a shipped mapping's compiled copy, and any other mapping through a
  // TypeScript loader it registers then; run from the sources, the loader is already there.
  const mappingUrl = (globalThis as Record<symbol, ((file: string) => Promise<string>) | undefined>)[Symbol.for('eventshift.mappingUrl')];
  let module: { default?: unknown };
  try {
    module = (await import(mappingUrl ? await mappingUrl(file) : pathToFileURL(file).href)) as { default?: unknown };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const hint = /require\(\)|ERR_REQUIRE|Cannot use import statement/.test(reason)
      ? ' It was loaded as CommonJS: put a package.json with "type": "module" beside it, or name it .mts.'
      : '';
    throw usageError(`The mapping ${ref} (${file}) could not be loaded: ${reason}${hint}`, { subject: ref, cause });
  }
  const mapping = module.default as Partial<Mapping> | undefined;
  if (!mapping || mapping.__mapping !== true) {
    throw usageError(`${file} does not export a mapping as default; end it with \`export default defineMapping({...})\`.`, {
      subject: ref,
    });
  }
  return mapping as Mapping;
}

export function resolveMappingFile(ref: string, cwd: string): string {
  const looksLikePath = ref.includes('/') || ref.includes('\\') || /\.(ts|js|mjs)$/.test(ref) || ref.startsWith('.');
  const candidates = looksLikePath
    ? [isAbsolute(ref) ? ref : resolve(cwd, ref)]
    : [join(cwd, 'mappings', ref), join(packageRoot, 'mappings', ref)];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    if (statSync(candidate).isDirectory()) {
      for (const index of ['index.ts', 'index.js', 'index.mjs']) {
        if (existsSync(join(candidate, index))) return join(candidate, index);
      }
      continue;
    }
    return candidate;
  }
  throw usageError(`No mapping named ${ref}: expected a folder under mappings/ with an index.ts, or a path to a mapping module.`, {
    subject: ref,
  });
}
