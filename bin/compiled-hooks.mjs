// Module hooks of bin/compiled.mjs: an import that resolves to a module of src/ gets its compiled copy in build/, the
// one the CLI itself runs, so a mapping and the CLI share every module (and so its classes and state).
let src;
let build;

export function initialize(data) {
  ({ src, build } = data);
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (resolved.url.startsWith(src) && resolved.url.endsWith('.ts')) {
    return { ...resolved, url: `${build}${resolved.url.slice(src.length, -'.ts'.length)}.js`, format: 'module' };
  }
  return resolved;
}
