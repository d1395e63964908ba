// How the CLI loads: as JavaScript compiled from src/ into build/ (each module compiled again when it is missing or
// older than its source), so that it starts without a TypeScript loader. Under tsx's loader every module's loading is
// a round trip to the loader's thread: `eventshift --help` took 0.8 s that way and takes 0.35 s compiled.
//
// Mappings are TypeScript chosen at run time, so the loader is registered when the first one is imported
// (src/mapping/load.ts calls the function this module leaves on globalThis), together with a hook that sends their
// imports of src/*.ts to the compiled modules the CLI already loaded: one copy of each module, whichever imports it.
// EVENTSHIFT_TYPESCRIPT=1, or a build/ that cannot be written, runs everything from src/ under tsx instead.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
// One level below the root, as src/ is: a module's `new URL('../..', import.meta.url)` is the root from either.
const build = join(root, 'build');

/** Imports the CLI (src/cli/main.ts), compiled unless EVENTSHIFT_TYPESCRIPT=1 or compiling is not possible. */
export async function importCli() {
  if (process.env.EVENTSHIFT_TYPESCRIPT !== '1' && (await built())) {
    let registered;
    globalThis[Symbol.for('eventshift.typescript')] = () => (registered ??= (async () => {
      (await import('tsx/esm/api')).register();
      // Registered last, so it resolves first: it asks tsx and the default resolver, then swaps src/ for build/.
      register('./compiled-hooks.mjs', import.meta.url, { data: { src: `${pathToFileURL(src).href}/`, build: `${pathToFileURL(build).href}/` } });
    })());
    return import(pathToFileURL(join(build, 'cli', 'main.js')).href);
  }
  (await import('tsx/esm/api')).register();
  return import(pathToFileURL(join(src, 'cli', 'main.ts')).href);
}

function typescriptFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typescriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

/** Relative imports of `.ts` modules, static and dynamic, as esbuild writes them: to `.js`. */
const rewriteImports = (code) => code.replace(/(\b(?:from|import)\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g, '$1$2$3.js$2');

/** Brings build/ up to date with src/; false (and a message) when it cannot. */
async function built() {
  try {
    const stale = typescriptFiles(src)
      .map((file) => ({ file, out: join(build, relative(src, file)).replace(/\.ts$/, '.js') }))
      .filter(({ file, out }) => mtime(out) < mtime(file));
    if (stale.length === 0) return true;
    const { transform } = await import('esbuild');
    const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
    await Promise.all(stale.map(async ({ file, out }) => {
      const { code } = await transform(readFileSync(file, 'utf8'), {
        loader: 'ts', format: 'esm', target: 'node20', sourcefile: file, tsconfigRaw: { compilerOptions },
      });
      mkdirSync(dirname(out), { recursive: true });
      // Written whole, then renamed: another eventshift starting meanwhile reads the old module or the new one.
      const part = `${out}.${process.pid}.part`;
      writeFileSync(part, rewriteImports(code));
      renameSync(part, out);
    }));
    return true;
  } catch (error) {
    process.stderr.write(`eventshift: running from TypeScript sources, since build/ could not be brought up to date (${error.message}).\n`);
    return false;
  }
}
