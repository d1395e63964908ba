// How the CLI loads: as JavaScript compiled from src/ into build/ (each module compiled again when it is missing or
// older than its source), so that it starts without a TypeScript loader. Under tsx's loader every module's loading is
// a round trip to the loader's thread: `eventshift --help` took 0.8 s that way and takes 0.35 s compiled.
//
// The shipped mappings (mappings/) are compiled too, into build/shipped/, and src/mapping/load.ts imports those
// copies (asking the function this module leaves on globalThis). Any other mapping is TypeScript chosen at run time:
// for it the loader is registered when it is imported, with a hook that sends its imports of src/ and mappings/ to
// the compiled modules: one copy of each module, whichever imports it.
// EVENTSHIFT_TYPESCRIPT=1, or a build/ that cannot be written, runs everything from the sources under tsx instead.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const mappings = join(root, 'mappings');
// One level below the root, as src/ is: a module's `new URL('../..', import.meta.url)` is the root from either.
const build = join(root, 'build');
const shipped = join(build, 'shipped');

/** The compiled copy of a module of src/ or mappings/ (by path), or null for any other file. */
function compiledPath(file) {
  const within = (dir) => file.startsWith(dir + sep) && file.endsWith('.ts');
  if (within(src)) return join(build, relative(src, file)).replace(/\.ts$/, '.js');
  if (within(mappings)) return join(shipped, relative(mappings, file)).replace(/\.ts$/, '.js');
  return null;
}

/** Imports the CLI (src/cli/main.ts), compiled unless EVENTSHIFT_TYPESCRIPT=1 or compiling is not possible. */
export async function importCli() {
  if (process.env.EVENTSHIFT_TYPESCRIPT !== '1' && (await built())) {
    let registered;
    globalThis[Symbol.for('eventshift.mappingUrl')] = async (file) => {
      // built() has just brought every shipped mapping's copy up to date.
      const compiled = compiledPath(resolve(file));
      if (compiled) return pathToFileURL(compiled).href;
      registered ??= (async () => {
        (await import('tsx/esm/api')).register();
        // Registered last, so it resolves first: it asks tsx and the default resolver, then swaps in compiled copies.
        const prefix = (dir) => `${pathToFileURL(dir).href}/`;
        register('./compiled-hooks.mjs', import.meta.url, {
          data: {
            pairs: [
              [prefix(src), prefix(build)],
              [prefix(mappings), prefix(shipped)],
            ],
          },
        });
      })();
      await registered;
      return pathToFileURL(file).href;
    };
    return import(pathToFileURL(join(build, 'cli', 'main.js')).href);
  }
  (await import('tsx/esm/api')).register();
  return import(pathToFileURL(join(src, 'cli', 'main.ts')).href);
}

function typescriptFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
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

/**
 * The compiled module's imports: each relative import of a `.ts` module of src/ or mappings/ names its compiled copy
 * (relative to `out`), any other `.ts` its `.js` beside it.
 */
function rewriteImports(code, file, out) {
  return code.replace(/(\b(?:from|import)\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]*?\.ts)\2/g, (_, before, quote, specifier) => {
    const target = compiledPath(resolve(dirname(file), specifier));
    const path = target ? relative(dirname(out), target).split(sep).join('/') : specifier.replace(/\.ts$/, '.js');
    return `${before}${quote}${path.startsWith('.') ? path : `./${path}`}${quote}`;
  });
}

/**
 * A module finds the files beside it (a mapping's aliases.yaml, the bookkeeping's drizzle/ folder) where its source
 * is, not in build/: esbuild puts this name where the module says `import.meta.url` (the expression only, not text in
 * a string), and the banner sets it to the source's URL, relative to the compiled copy so that the package works
 * wherever it is installed. (Modules use import.meta.url only, not import.meta.filename or dirname.)
 */
const sourceUrlName = '__eventshiftSourceUrl';
const sourceUrlBanner = (file, out) =>
  `const ${sourceUrlName} = new URL(${JSON.stringify(relative(dirname(out), file).split(sep).join('/'))}, import.meta.url).href;`;

/**
 * Brings build/ up to date with src/ and mappings/ (every module when `all`, as `npm pack` builds the package); false
 * (and a message) when it cannot.
 */
export async function built(all = false) {
  try {
    const stale = [...typescriptFiles(src), ...typescriptFiles(mappings)]
      .map((file) => ({ file, out: compiledPath(file) }))
      .filter(({ file, out }) => all || mtime(out) < mtime(file));
    if (stale.length === 0) return true;
    const { transform } = await import('esbuild');
    const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
    await Promise.all(
      stale.map(async ({ file, out }) => {
        const { code } = await transform(readFileSync(file, 'utf8'), {
          loader: 'ts',
          format: 'esm',
          target: 'node20',
          sourcefile: file,
          tsconfigRaw: { compilerOptions },
          define: { 'import.meta.url': sourceUrlName },
          banner: sourceUrlBanner(file, out),
        });
        mkdirSync(dirname(out), { recursive: true });
        // Written whole, then renamed: another eventshift starting meanwhile reads the old module or the new one.
        const part = `${out}.${process.pid}.part`;
        writeFileSync(part, rewriteImports(code, file, out));
        renameSync(part, out);
      }),
    );
    return true;
  } catch (error) {
    process.stderr.write(`eventshift: running from TypeScript sources, since build/ could not be brought up to date (${error.message}).\n`);
    return false;
  }
}
