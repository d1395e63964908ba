import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freshDatabase, type TestDatabase } from './database.ts';

export interface TestWorkspace {
  /** The file's temporary folder (backups, reports, CSV files); set once the file's first beforeAll has run. */
  readonly dir: string;
  /** A path inside `dir`. */
  path(...parts: string[]): string;
  /** A fresh, empty database (on `server`, default the tests' own), dropped with the others after the file's tests. */
  database(label: string, server?: string): Promise<TestDatabase>;
  /** Drops one of those databases now (tests that make many keep the server's disk small). */
  drop(t: TestDatabase): Promise<void>;
}

/**
 * What a test file that runs the tool needs around it: a temporary folder and fresh databases, all removed after the
 * file's tests. Call it at the top of the file, before the file's own hooks, so they can use it.
 *
 * @example
 * const ws = testWorkspace('ids');
 * it('...', async () => { const t = await ws.database('dense'); await migrate({ databaseUrl: t.url, backupDir: ws.path('b'), ... }); });
 */
export function testWorkspace(prefix: string): TestWorkspace {
  let dir: string | undefined;
  const databases: TestDatabase[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `es-${prefix}-`));
  });
  afterAll(async () => {
    for (const t of databases) await t.drop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const workspace: TestWorkspace = {
    get dir() {
      if (dir === undefined)
        throw new Error('testWorkspace: the folder exists once the beforeAll hooks have started; use it inside hooks and tests.');
      return dir;
    },
    path: (...parts) => join(workspace.dir, ...parts),
    async database(label, server) {
      const t = await freshDatabase(label, server);
      databases.push(t);
      return t;
    },
    async drop(t) {
      databases.splice(databases.indexOf(t), 1);
      await t.drop();
    },
  };
  return workspace;
}
