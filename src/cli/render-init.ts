import type { InitResult } from '../run/init.ts';

/** What `eventshift init` prints: the folder, how the mapping imports eventshift, the files, what is left to do, what next. */
export function renderInit(r: InitResult): string {
  const imports = r.imports === 'package' ? "as the package 'eventshift'" : 'from this repository by a relative path';
  return [
    `Wrote ${r.dir} (eventshift imported ${imports}${r.eventExists ? '; event described as the database has it' : ''}):`,
    ...r.files.map((f) => `  ${f}`),
    ...r.todos.map((t) => `TODO: ${t}`),
    `Next: ${r.next}`,
  ].join('\n');
}
