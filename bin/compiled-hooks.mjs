// Module hooks of bin/compiled.mjs: an import that resolves to a TypeScript module of src/ or mappings/ gets its
// compiled copy in build/, the one the CLI itself runs, so a mapping and the CLI share every module (and so its
// classes and state).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let pairs = [];

export function initialize(data) {
  ({ pairs } = data);
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  for (const [from, to] of pairs) {
    if (resolved.url.startsWith(from) && resolved.url.endsWith('.ts')) {
      return { ...resolved, url: `${to}${resolved.url.slice(from.length, -'.ts'.length)}.js`, format: 'module' };
    }
  }
  // A user's mapping, and the TypeScript of the project it imports, are ES modules (a mapping ends with `export
  // default`) even in a project whose package.json does not say "type" (npm init's, or none at all): the mapping needs
  // no package.json of its own. A .js module is one only when it is written as one (import or export statements), so
  // a CommonJS helper stays CommonJS. A project that says "type": "commonjs" is taken at its word.
  // tsx marks a module it takes for CommonJS with queries of its own (`?tsx-commonjs-...`, the first one escaped as
  // `%3F`); the file is the URL without them, and loaded as an ES module it needs none.
  const url = resolved.url.replace(/(%3F|\?)tsx-.*$/, '');
  const candidate = /^file:.*\.(ts|js)$/.test(url) && !url.includes('/node_modules/');
  if (candidate && packageType(url) === undefined && (url.endsWith('.ts') || writtenAsModule(url))) {
    return { ...resolved, url, format: 'module' };
  }
  return resolved;
}

/** Whether a .js file has a line that starts with an import or export statement. */
function writtenAsModule(url) {
  try {
    return /^\s*(import\s*[\w{*'"]|export\s)/m.test(readFileSync(fileURLToPath(url), 'utf8'));
  } catch {
    return false;
  }
}

const types = new Map();

/** The "type" of the package.json nearest to a file (undefined when it has none, or there is no package.json). */
function packageType(url) {
  let dir = dirname(fileURLToPath(url));
  const seen = [];
  let type;
  for (;;) {
    if (types.has(dir)) {
      type = types.get(dir);
      break;
    }
    seen.push(dir);
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        type = JSON.parse(readFileSync(manifest, 'utf8')).type;
      } catch {
        type = undefined;
      }
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of seen) types.set(d, type);
  return type;
}
