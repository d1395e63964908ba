import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
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
    // The first line: Node adds the require stack below it.
    const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0]!;
    // A package the mapping imports (a bare name); a missing file of its own is named by the reason as it is.
    const missing = /^Cannot find (?:package|module) '([^'./][^']*)'/.exec(reason)?.[1];
    const hint =
      missing && !/^([a-z]:|file:)/i.test(missing)
        ? ` Install it where the mapping can find it: \`npm install ${packageOf(missing)}\` in ${projectOf(file)}.`
        : /require\(\)|ERR_REQUIRE|Cannot use import statement/.test(reason)
          ? ' It was loaded as CommonJS: put a package.json with "type": "module" beside it, or name it .mts.'
          : '';
    const sentence = hint && !reason.endsWith('.') ? `${reason}.` : reason;
    throw usageError(`The mapping ${ref} (${file}) could not be loaded: ${sentence}${hint}`, { subject: ref, cause });
  }
  const mapping = module.default as Partial<Mapping> | undefined;
  if (!mapping || mapping.__mapping !== true) {
    throw usageError(`${file} does not export a mapping as default; end it with \`export default defineMapping({...})\`.`, {
      subject: ref,
    });
  }
  return mapping as Mapping;
}

/** The package a bare specifier names: `drizzle-orm` of `drizzle-orm/mysql-core`, `@scope/pkg` of `@scope/pkg/x`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The folder of the package.json nearest above `file`, or the file's own folder when there is none. */
function projectOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
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
