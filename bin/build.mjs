#!/usr/bin/env node
// Builds the package (npm pack runs it as prepack): every module of src/ and mappings/ compiled into build/ as
// bin/compiled.mjs compiles them on first use, and the library's type declarations (build/**/*.d.ts) from
// tsconfig.build.json, their imports of `.ts` modules named as the `.js` beside them.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { built } from './compiled.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!(await built(true))) process.exit(1);
// Compiled copies of modules that no longer exist are removed (build/ itself stays: a CLI may be running from it).
for (const entry of readdirSync(join(root, 'build'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !/\.(js|d\.ts)$/.test(entry.name)) continue;
  const path = join(entry.parentPath, entry.name);
  const within = relative(join(root, 'build'), path).split(sep);
  const base = within[0] === 'shipped' ? join(root, 'mappings', ...within.slice(1)) : join(root, 'src', ...within);
  if (!existsSync(base.replace(/\.(js|d\.ts)$/, '.ts'))) rmSync(path);
}
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const entry of readdirSync(join(root, 'build'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const path = join(entry.parentPath, entry.name);
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace(/(\b(?:from|import)\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g, '$1$2$3.js$2'));
}
process.stdout.write('eventshift: build/ holds the compiled modules and their type declarations.\n');
