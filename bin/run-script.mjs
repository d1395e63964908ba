#!/usr/bin/env node
// Runs a TypeScript script of the project (demo, benchmarks) under tsx's loader: node bin/run-script.mjs FILE [ARGS].
import { register } from 'tsx/esm/api';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [script, ...rest] = process.argv.slice(2);
if (!script) {
  console.error('usage: node bin/run-script.mjs SCRIPT.ts [ARGS]');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(script), ...rest];
register();
await import(pathToFileURL(resolve(script)).href);
