import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/eventshift.mjs');
let t: TestDatabase;
let work: string;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, DATABASE_URL: t.url, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  t = await freshDatabase('compiled_cli');
  work = await mkdtemp(join(tmpdir(), 'es-compiled-'));
  await generateVbzcart(t.db, { seed: 5151, pulls: 200 });
});
afterAll(async () => {
  await t.drop();
  await rm(work, { recursive: true, force: true });
});

describe('the CLI compiled from src/', () => {
  it('runs from build/, kept no older than src/ and the shipped mappings', async () => {
    expect(cli(['--help']).code).toBe(0);
    const pairs = [
      ...['cli/main', 'mapping/load', 'parts/replay-checks'].map((m) => [`build/${m}.js`, `src/${m}.ts`]),
      ['build/shipped/vbzcart-ord-pull/index.js', 'mappings/vbzcart-ord-pull/index.ts'],
    ];
    for (const [compiled, source] of pairs) {
      expect((await stat(join(root, compiled!))).mtimeMs, compiled).toBeGreaterThanOrEqual((await stat(join(root, source!))).mtimeMs);
    }
    // A shipped mapping compiled finds its aliases.yaml where its source is: the plan uses the aliases.
    expect(cli(['plan', 'vbzcart-ord-pull', '--json']).code).toBe(0);
  });

  it("shares its modules with the TypeScript mappings it loads: an error a mapping raises is the CLI's own kind", async () => {
    // A mapping of its own whose ID offset refuses with eventshift's usageError, imported from src/ as a mapping does,
    // built on a shipped mapping: the CLI can tell it is a usage error (exit 2, its sentence) only if the mapping got
    // the very modules the CLI runs.
    const src = (path: string) => pathToFileURL(join(root, path)).href;
    const file = join(work, 'refusing.mts');
    await writeFile(
      file,
      `import vbzcart from '${src('mappings/vbzcart-ord-pull/index.ts')}';
import { defineMapping } from '${src('src/mapping/define.ts')}';
import { usageError } from '${src('src/errors.ts')}';
const holdOn = vbzcart.steps.holdOn!;
export default defineMapping({
  ...vbzcart,
  steps: { ...vbzcart.steps, holdOn: { ...holdOn, ids: { ...holdOn.ids, ` +
        `offset: () => { throw usageError('This mapping refuses to be offset.'); } } } },
});
`,
    );
    for (const env of [{}, { EVENTSHIFT_TYPESCRIPT: '1' }] as Array<Record<string, string>>) {
      const r = cli(['plan', file], env);
      expect(r.stderr, JSON.stringify(env)).toMatch(/This mapping refuses to be offset\./);
      expect(r.stderr, JSON.stringify(env)).not.toMatch(/Unexpected error/);
      expect(r.code, JSON.stringify(env)).toBe(2);
    }
  });
});
