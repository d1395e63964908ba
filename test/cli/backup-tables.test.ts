import { readdir } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { readManifest } from '../../src/backup/index.ts';
import { serverUrl } from '../support/database.ts';
import { runCli } from '../support/cli.ts';
import { runSqlScript } from '../support/public-data.ts';
import { testWorkspace } from '../support/workspace.ts';
import { exactState } from '../backup/exact-state.ts';

/**
 * Table names from the peer corpus (mysqldump.test Bug#2592, Bug#13146, Bug #25717383; its `pb,comma` and ` lead
 * space`), named to the real CLI: every one is backed up and restored under its exact name, and a name that is no
 * table is an error, never a table recorded as absent.
 */
const ws = testWorkspace('cli_tables');

const odd = ['pb,comma', ' lead space', 'tab\none', '`a', 't1 test', 'plain'];

it('backs up and restores tables whose names hold commas, leading spaces, newlines and backticks', async () => {
  const t = await ws.database('cli_tables');
  await runSqlScript(
    serverUrl,
    t.name,
    `CREATE TABLE \`pb,comma\` (id INT PRIMARY KEY, v VARCHAR(5));
    INSERT INTO \`pb,comma\` VALUES (1, 'c1'), (2, 'c2');
    CREATE TABLE \` lead space\` (id INT PRIMARY KEY, v VARCHAR(5));
    INSERT INTO \` lead space\` VALUES (1, 's1');
    CREATE TABLE \`lead space\` (id INT PRIMARY KEY);
    CREATE TABLE \`tab\none\` (a INT);
    INSERT INTO \`tab\none\` VALUES (7), (8);
    CREATE TABLE \`\`\`a\` (i INT);
    INSERT INTO \`\`\`a\` VALUES (1), (NULL);
    CREATE TABLE \`t1 test\` (a1 INT) ENGINE=MyISAM DEFAULT CHARSET=latin1;
    INSERT INTO \`t1 test\` VALUES (1), (2), (3);
    CREATE TABLE plain (id INT);`,
  );
  const env = { DATABASE_URL: t.url };
  const before = await Promise.all(odd.map((n) => exactState(t.db, n)));

  const r = runCli(
    [
      'backup',
      'create',
      '--json',
      '--backup-dir',
      ws.path('b'),
      '--tables',
      '`pb,comma`, ` lead space`, ```a`, t1 test',
      '--table',
      'tab\none',
      '--table',
      'plain',
    ],
    { cwd: ws.dir, env },
  );
  expect(r.code, r.stderr).toBe(0);
  const { id } = JSON.parse(r.stdout) as { id: string };
  const manifest = await readManifest(ws.path('b'), id);
  expect(manifest.tables.map((e) => [e.name, e.exists, e.rows])).toEqual([
    ['pb,comma', true, 2],
    [' lead space', true, 1],
    ['`a', true, 2],
    ['t1 test', true, 3],
    ['tab\none', true, 2],
    ['plain', true, 0],
  ]);

  for (const name of odd) await t.db.execute(`DROP TABLE \`${name.replaceAll('`', '``')}\``);
  const restored = runCli(
    ['restore', '--yes', '--backup', id, '--backup-dir', ws.path('b'), '--table', ' lead space', '--tables', '`pb,comma`,`tab\none`'],
    { cwd: ws.dir, env },
  );
  expect(restored.code, restored.stderr).toBe(0);
  expect(await exactState(t.db, ' lead space')).toEqual(before[1]);
  expect(await exactState(t.db, 'pb,comma')).toEqual(before[0]);
  expect(await exactState(t.db, 'tab\none')).toEqual(before[2]);
  expect(await exactState(t.db, '`a')).toBeNull();
  // The table whose name is the trimmed one was never touched.
  expect(await t.db.query('SELECT COUNT(*) AS n FROM `lead space`')).toEqual([{ n: '0' }]);
});

it('refuses (exit 1) a named table that does not exist, and writes no backup', async () => {
  const t = await ws.database('cli_missing');
  await t.db.execute('CREATE TABLE `pb,comma` (id INT)');
  const env = { DATABASE_URL: t.url };
  const dir = ws.path('missing');
  // Split at the comma, the old way: neither half is a table.
  const r = runCli(['backup', 'create', '--backup-dir', dir, '--tables', 'pb,comma'], { cwd: ws.dir, env });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/has no table named "pb", "comma"; nothing was backed up.*--table NAME, or backticks in --tables/s);
  const missing = runCli(['backup', 'create', '--backup-dir', dir, '--table', ' pb,comma'], { cwd: ws.dir, env });
  expect(missing.code).toBe(1);
  expect(await readdir(dir).catch(() => [])).toEqual([]);
  const bad = runCli(['backup', 'create', '--backup-dir', dir, '--tables', '`pb,comma'], { cwd: ws.dir, env });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/no closing backtick/);
});
