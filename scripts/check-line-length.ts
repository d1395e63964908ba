/**
 * `npm run lint` (part): no line of the project's TypeScript and scripts is longer than the formatter's width. prettier
 * wraps code but leaves long strings and comments alone; this names each one that is over.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const width = 140;
const folders = ['src', 'test', 'scripts', 'bench', 'mappings', 'bin'];
const skipped = new Set(['node_modules', 'results']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skipped.has(entry.name) ? [] : files(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

const over: string[] = [];
for (const file of [...folders.flatMap(files), ...['drizzle.config.ts', 'vitest.config.ts']]) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.length > width) over.push(`  ${relative('.', file)}:${i + 1}: ${line.length} characters`);
    });
}
if (over.length === 0) {
  console.log(`Lines: none longer than ${width} characters.`);
} else {
  console.log(`Lines: ${over.length} longer than ${width} characters (split the string or comment):`);
  console.log(over.join('\n'));
  process.exitCode = 1;
}
