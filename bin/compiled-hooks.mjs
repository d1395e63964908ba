// Module hooks of bin/compiled.mjs: an import that resolves to a TypeScript module of src/ or mappings/ gets its
// compiled copy in build/, the one the CLI itself runs, so a mapping and the CLI share every module (and so its
// classes and state).
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
  return resolved;
}
