import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { runCli } from '../support/cli.ts';

/**
 * A mapping that names a table or column the live database lacks is refused by `plan`, `check` and `migrate` with
 * exit 1, naming the alias and the column: never a raw SQL error (exit 3), and nothing written. The mappings are
 * written to files, as a user would, and have no aliases.yaml (so nothing proves their names but the live schema).
 */
const root = join(import.meta.dirname, '../..');
const define = join(root, 'src/mapping/define.ts');
const ws = testWorkspace('missing-names');
let t: TestDatabase;
let before: Snapshot;
/** Under the project (test-output/, ignored by git), so that the mapping modules resolve drizzle-orm as a user's would. */
let mappings: string;

/** A mapping module from a body of `defineMapping`, with its event target; returns its path. */
async function mappingFile(name: string, body: string): Promise<string> {
  const dir = join(mappings, name);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'index.ts'),
    `import { bigint, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { col, defineMapping, id, lit, sql } from ${JSON.stringify(define)};
const note = mysqlTable('note_event', {
  ID: bigint('ID', { mode: 'bigint', unsigned: true }).primaryKey(),
  Body: varchar('Body', { length: 255 }),
  Kind: varchar('Kind', { length: 16 }),
});
export default defineMapping({ name: ${JSON.stringify(name)}, targets: { note }, ${body} });
`,
  );
  return dir;
}

const cli = (args: string[]) => runCli([...args, '--backup-dir', ws.path('backups')], { cwd: root, env: { DATABASE_URL: t.url } });

beforeAll(async () => {
  await mkdir(join(root, 'test-output'), { recursive: true });
  mappings = await mkdtemp(join(root, 'test-output', 'missing-names-'));
  t = await ws.database('missing_names');
  await t.db.execute('CREATE TABLE legacy_note (id INT UNSIGNED NOT NULL PRIMARY KEY, body VARCHAR(255) NOT NULL, kind VARCHAR(16) NULL)');
  await t.db.execute("INSERT INTO legacy_note VALUES (1, 'first', 'a'), (2, 'second', NULL)");
  before = await snapshot(t.db);
});

afterAll(async () => {
  if (mappings) await rm(mappings, { recursive: true, force: true });
});

describe('a mapping naming what the database lacks', () => {
  it('a column read through col() and through {{alias.column}}: plan, check and migrate exit 1 naming alias and column', async () => {
    const dir = await mappingFile(
      'names-columns',
      `sources: { n: 'legacy_note' },
      steps: { notes: { from: 'n', where: '{{n.deleted_at}} IS NULL', ids: { table: 'note', strategy: 'offset', offset: 100 },
        rows: { note: { ID: id, Body: col('n.body_text'), Kind: col('n.kind') } } } },
      problems: { noKind: { description: 'note without a kind', severity: 'warning', from: 'n', where: '{{n.kind}} IS NULL' } }`,
    );
    const plan = cli(['plan', dir]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(1);
    const said = plan.stdout + plan.stderr;
    expect(said).toMatch(/reads column n\.body_text, which table legacy_note in the database does not have \(it has: id, body, kind\)/);
    expect(said).toMatch(/reads column n\.deleted_at, which table legacy_note/);
    expect(said).not.toMatch(/n\.kind,/);
    expect(said).not.toMatch(/Unknown column|ER_BAD_FIELD/);

    const check = cli(['check', dir]);
    expect(check.code, check.stdout + check.stderr).toBe(1);
    expect(check.stdout).toMatch(/BROKEN Mapping names-columns reads column n\.body_text, which table legacy_note/);
    expect(check.stdout).toMatch(/BROKEN Mapping names-columns reads column n\.deleted_at/);

    const migrate = cli(['migrate', dir, '--yes', '--quiet']);
    expect(migrate.code, migrate.stdout + migrate.stderr).toBe(1);
    expect(migrate.stdout + migrate.stderr).toMatch(/n\.body_text/);
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('a column named in raw SQL outside the placeholders: plan exits 1 with what the server said, not 3', async () => {
    const dir = await mappingFile(
      'names-raw',
      `sources: { n: 'legacy_note' },
      steps: { notes: { from: 'n', ids: { table: 'note', strategy: 'offset', offset: 100 },
        rows: { note: { ID: id, Body: sql('UPPER(n.body_txt)'), Kind: lit('x') } } } }`,
    );
    const plan = cli(['plan', dir]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(1);
    expect(plan.stderr).toMatch(/Mapping names-raw names something database \S+ does not have: .*Unknown column 'n\.body_txt'/);
    const migrate = cli(['migrate', dir, '--yes', '--quiet']);
    expect(migrate.code, migrate.stdout + migrate.stderr).toBe(1);
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('a source table the database lacks: plan and check exit 1 naming the alias and the table', async () => {
    const dir = await mappingFile(
      'names-table',
      `sources: { n: 'legacy_notes' },
      steps: { notes: { from: 'n', ids: { table: 'note', strategy: 'offset', offset: 100 },
        rows: { note: { ID: id, Body: col('n.body'), Kind: lit('x') } } } }`,
    );
    const plan = cli(['plan', dir]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(1);
    expect(plan.stdout + plan.stderr).toMatch(/Source table legacy_notes \(n\) does not exist/);
    const check = cli(['check', dir]);
    expect(check.code, check.stdout + check.stderr).toBe(1);
    expect(check.stdout).toMatch(/BROKEN source n: table legacy_notes does not exist/);
  });

  it('a mapping whose names all exist plans (exit 0) and checks clean', async () => {
    const dir = await mappingFile(
      'names-fine',
      `sources: { n: 'legacy_note' },
      steps: { notes: { from: 'n', where: '{{n.kind}} IS NOT NULL', ids: { table: 'note', strategy: 'offset', offset: 100 },
        rows: { note: { ID: id, Body: col('n.body'), Kind: col('n.kind') } } } }`,
    );
    const plan = cli(['plan', dir]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const check = cli(['check', dir]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
