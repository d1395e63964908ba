import { readFileSync } from 'node:fs';

/** eventshift's version, from its package.json (two levels above this module, in src/ or build/ alike). */
export const eventshiftVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
