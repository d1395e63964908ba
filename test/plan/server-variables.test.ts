import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connection.ts';
import { holds, type HeldPrivileges } from '../../src/db/privileges.ts';
import { loadMapping } from '../../src/mapping/load.ts';
import type { Mapping } from '../../src/mapping/define.ts';
import { planRun } from '../../src/plan/plan-run.ts';
import { checkServerVariables } from '../../src/plan/server-variables.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { restoreMapping } from '../../src/run/restore.ts';
import { startSingle, type Topology, type ServerNode } from '../../scripts/test-servers.ts';
import { runCli } from '../support/cli.ts';
import { snapshot } from '../support/snapshot.ts';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * The server variables a run relies on, on real servers: the tests' own (lower_case_table_names=0) and one started
 * here with lower_case_table_names=1 and a max_allowed_packet of 1 MiB. The legacy table is MediaWiki's `text`
 * (revision text as a MEDIUMBLOB, as MediaWiki's own MySQL schema defines it), read by a streamed step (a code()
 * column), whose rows go to the server in INSERTs built in Node and so must fit the packet.
 */
const root = join(import.meta.dirname, '../..');
const ws = testWorkspace('server_vars');
let topology: Topology & { server: ServerNode };
let dir: string;
let textMapping: Mapping;
/** Databases on the server started here: their connections are closed before it stops, with its datadir. */
const onExtra: TestDatabase[] = [];
const extraDatabase = async (label: string) => {
  const t = await freshDatabase(label, topology.server.url);
  onExtra.push(t);
  return t;
};

const define = JSON.stringify(join(root, 'src/mapping/define.ts'));
const textMappingSource = `import { customType, int, mysqlTable } from 'drizzle-orm/mysql-core';
import { code, col, defineMapping, id } from ${define};
const mediumblob = customType<{ data: Buffer }>({ dataType: () => 'mediumblob' });
const tinyblob = customType<{ data: Buffer }>({ dataType: () => 'tinyblob' });
const eventText = mysqlTable('event_text', {
  ID: int('ID', { unsigned: true }).primaryKey(),
  old_text: mediumblob('old_text').notNull(),
  old_flags: tinyblob('old_flags').notNull(),
});
export default defineMapping({
  name: 'text-revisions', sources: { text: 'text' }, targets: { eventText },
  steps: {
    texts: {
      from: 'text', ids: { table: 'eventText', strategy: 'offset', offset: 0 },
      rows: { eventText: { ID: id, old_text: col('text.old_text'), old_flags: code({
        description: 'the flags as MediaWiki stored them, passed through Node',
        inputs: { flags: col('text.old_flags') },
        fn: ({ flags }) => flags,
      }) } },
    },
  },
});
`;

/** The same copy written set-based (no code() column): its content checks run on the server, hashed with --verify hash. */
const setMappingSource = textMappingSource
  .replace("name: 'text-revisions'", "name: 'text-set'")
  .replace(/old_flags: code\(\{[^]*?\}\) \} \},/, "old_flags: col('text.old_flags') } },");

/** Two of a mapping's tables whose names differ only by case. */
const caseMappingSource = `import { int, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { col, defineMapping, id } from ${define};
const upper = mysqlTable('Event_Text', { ID: int('ID', { unsigned: true }).primaryKey(), flags: varchar('flags', { length: 255 }) });
const lower = mysqlTable('event_text', { ID: int('ID', { unsigned: true }).primaryKey(), flags: varchar('flags', { length: 255 }) });
export default defineMapping({
  name: 'text-cases', sources: { text: 'text' }, targets: { upper, lower },
  steps: {
    texts: {
      from: 'text', ids: { table: 'upper', strategy: 'offset', offset: 0 },
      rows: { upper: { ID: id, flags: col('text.old_flags') }, lower: { ID: id, flags: col('text.old_flags') } },
    },
  },
});
`;

/** MediaWiki's `text` table, with `rows` revisions of `bytes` bytes each (made on the server: no packet carries them). */
async function wikiText(t: TestDatabase, rows: number, bytes: number): Promise<void> {
  await t.db.execute(
    'CREATE TABLE text (old_id int(10) unsigned NOT NULL AUTO_INCREMENT, old_text mediumblob NOT NULL, ' +
      'old_flags tinyblob NOT NULL, PRIMARY KEY (old_id)) ENGINE=InnoDB DEFAULT CHARSET=binary',
  );
  for (let i = 1; i <= rows; i++)
    await t.db.execute("INSERT INTO text (old_id, old_text, old_flags) VALUES (?, REPEAT(CHAR(?), ?), 'utf-8')", [i, 64 + i, bytes]);
}

beforeAll(async () => {
  topology = await startSingle({ port: 3330, settings: ['lower_case_table_names=1', 'max_allowed_packet=1M'] });
  await mkdir(join(root, 'test-output'), { recursive: true });
  dir = await mkdtemp(join(root, 'test-output', 'server-vars-'));
  await mkdir(join(dir, 'text'));
  await mkdir(join(dir, 'cases'));
  await mkdir(join(dir, 'set'));
  await writeFile(join(dir, 'set', 'index.ts'), setMappingSource);
  await writeFile(join(dir, 'text', 'index.ts'), textMappingSource);
  await writeFile(join(dir, 'cases', 'index.ts'), caseMappingSource);
  textMapping = await loadMapping(join(dir, 'text'));
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  for (const t of onExtra) await t.db.close();
  await topology?.stop();
});

describe('max_allowed_packet against a streamed step', () => {
  it('refuses a row the packet cannot carry as hex, names step, table and the setting, and goes ahead once it is raised', async () => {
    const t = await extraDatabase('packet');
    await wikiText(t, 3, 600_000);
    const before = await snapshot(t.db);
    const plan = runCli(['plan', join(dir, 'text')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(plan.code, plan.stdout + plan.stderr).toBe(1);
    expect(plan.stdout).toMatch(/Step texts is streamed, and its largest row for event_text is up to 1\.1 MiB as an INSERT carries it/);
    expect(plan.stdout).toMatch(/over the server's max_allowed_packet of 1\.0 MiB: .* Raise max_allowed_packet to at least 2097152/);
    expect(plan.stdout).toContain('max_allowed_packet 1.0 MiB');
    const refused = runCli(['migrate', join(dir, 'text'), '--yes', '--backup-dir', ws.path('b1')], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Nothing was written/);
    expect(await snapshot(t.db)).toEqual(before);

    const admin = await topology.server.connect();
    try {
      await admin.execute('SET GLOBAL max_allowed_packet = 2097152');
      const options = { databaseUrl: t.url, mapping: textMapping, backupDir: ws.path('b2'), reportDir: ws.path('r2') };
      const result = await migrate(options);
      expect(result.status).toBe('completed');
      expect(result.verification!.checks.filter((c) => !c.ok)).toEqual([]);
      await restoreMapping(options);
    } finally {
      await admin.execute('SET GLOBAL max_allowed_packet = 1048576');
      await admin.close();
    }
  });

  it('sends rows that fit the packet in INSERTs under it, however many a batch could hold', async () => {
    // 12 revisions of 200 kB: 4.8 MB of hex, which the 4 MiB default batch would have sent in one INSERT.
    const t = await extraDatabase('batches');
    await wikiText(t, 12, 200_000);
    const options = { databaseUrl: t.url, mapping: textMapping, backupDir: ws.path('b3'), reportDir: ws.path('r3') };
    const result = await migrate(options);
    expect(result.status).toBe('completed');
    expect(result.verification!.checks.filter((c) => !c.ok)).toEqual([]);
    const [row] = await t.db.query<{ n: string; bytes: string }>('SELECT COUNT(*) AS n, SUM(LENGTH(old_text)) AS bytes FROM event_text');
    expect([Number(row!.n), Number(row!.bytes)]).toEqual([12, 2_400_000]);
  });
});

describe('the hash tier of the content checks against max_allowed_packet', () => {
  it('compares row by row a piece with a value too long to quote in the packet, and so names a change inside it', async () => {
    const setMapping = await loadMapping(join(dir, 'set'));
    expect(setMapping.steps.texts!.rows.eventText).not.toHaveProperty('old_flags.kind', 'code');
    const t = await extraDatabase('hash_packet');
    await wikiText(t, 3, 1000);
    // 530,000 quotes: QUOTE() doubles each, past the 1 MiB packet, and so gives NULL.
    await t.db.execute('UPDATE text SET old_text = REPEAT(CHAR(39), 530000) WHERE old_id = 2');
    const admin = await topology.server.connect();
    const options = { databaseUrl: t.url, mapping: setMapping, backupDir: ws.path('b5'), reportDir: ws.path('r5') };
    try {
      await admin.execute('SET GLOBAL max_allowed_packet = 2097152');
      expect((await migrate(options)).status).toBe('completed');
    } finally {
      await admin.execute('SET GLOBAL max_allowed_packet = 1048576');
      await admin.close();
    }
    const hashed = async () =>
      (
        await verify({ databaseUrl: t.url, mapping: setMapping, backupDir: ws.path('b5'), contentCompare: 'hash' })
      ).verification.checks.find((c) => c.id === 'texts.eventText.content')!;
    const passing = await hashed();
    expect([passing.ok, passing.method]).toEqual([true, 'hashed in 1 piece; 1 piece compared row by row']);
    // One byte changed deep inside the long value: its quoted form is NULL on both sides, and must not drop out unseen.
    await t.db.execute("UPDATE event_text SET old_text = CONCAT(REPEAT(CHAR(39), 529999), 'x') WHERE ID = 2");
    const failing = await hashed();
    expect(failing.failures.map((f) => [f.key, f.reason])).toEqual([['2', 'differs from its legacy row in column old_text']]);
  });
});

describe('lower_case_table_names', () => {
  it('refuses two mapping tables that differ only by case where the server folds names, and warns where it does not', async () => {
    const folded = await extraDatabase('lctn1');
    await wikiText(folded, 2, 10);
    const refused = runCli(['plan', join(dir, 'cases')], { cwd: ws.dir, env: { DATABASE_URL: folded.url } });
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stdout).toContain('REFUSED: `Event_Text` and `event_text` differ only by case, and this server ');
    expect(refused.stdout).toContain('(lower_case_table_names=1) compares table names in lower case: they are one table.');

    const exact = await ws.database('lctn0');
    await wikiText(exact, 2, 10);
    const warned = runCli(['plan', join(dir, 'cases')], { cwd: ws.dir, env: { DATABASE_URL: exact.url } });
    expect(warned.code, warned.stdout + warned.stderr).toBe(0);
    expect(warned.stdout).toContain(
      '`Event_Text` and `event_text` differ only by case: two tables on this server (lower_case_table_names=0)',
    );
  });

  it('takes a grant on a lower-case table name as covering the same table named in another case, only where names fold', () => {
    const held = (foldCase: boolean): HeldPrivileges => ({
      grantee: "'u'@'%'",
      roles: [],
      global: new Set(),
      databases: [],
      tables: [{ database: 'wiki', table: 'event_text', privileges: new Set(['INSERT']) }],
      foldCase,
    });
    expect(holds(held(true), 'INSERT', 'wiki', 'Event_Text')).toBe(true);
    expect(holds(held(false), 'INSERT', 'wiki', 'Event_Text')).toBe(false);
    expect(holds(held(true), 'DELETE', 'wiki', 'Event_Text')).toBe(false);
  });
});

describe('a resumed run', () => {
  it('is refused over local_infile while its writes are to come, and not once they are done', async () => {
    const t = await extraDatabase('resume');
    await wikiText(t, 3, 10);
    const options = { databaseUrl: t.url, mapping: textMapping, backupDir: ws.path('b5'), reportDir: ws.path('r5') };
    const backedUp = await migrate({ ...options, until: 'backup' });
    expect(backedUp.status).toBe('stopped');
    const admin = await topology.server.connect();
    try {
      await admin.execute('SET GLOBAL local_infile = OFF');
      await expect(migrate({ ...options, until: 'write' })).rejects.toThrow(
        /^Run 1 of text-revisions cannot go on: The server has local_infile OFF: .* put that right and run migrate again\.$/,
      );
      await admin.execute('SET GLOBAL local_infile = ON');
      expect((await migrate({ ...options, until: 'write' })).status).toBe('stopped');
      // The writes are done: finishing the run (verify, cutover) is the way on, so the setting no longer stops it.
      await admin.execute('SET GLOBAL local_infile = OFF');
      const done = await migrate(options);
      expect(done.status).toBe('completed');
    } finally {
      await admin.execute('SET GLOBAL local_infile = ON');
      await admin.close();
    }
  });
});

describe('the session and LOAD DATA LOCAL', () => {
  it('refuses when local_infile is off (restore could not load the backup), and when the session lost its settings', async () => {
    const t = await extraDatabase('infile');
    await wikiText(t, 2, 10);
    const admin = await topology.server.connect();
    try {
      await admin.execute('SET GLOBAL local_infile = OFF');
      const plan = runCli(['plan', join(dir, 'text')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
      expect(plan.code, plan.stdout + plan.stderr).toBe(1);
      expect(plan.stdout).toMatch(/The server has local_infile OFF: restore, the way back, loads the backup with LOAD DATA LOCAL INFILE/);
    } finally {
      await admin.execute('SET GLOBAL local_infile = ON');
      await admin.close();
    }
    const db = await connect(t.url);
    try {
      const plan = await planRun(db, textMapping, new Date());
      expect(plan.ok).toBe(true);
      await db.execute("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
      const check = await checkServerVariables(db, plan);
      expect(check.refusals).toEqual([
        expect.stringMatching(/^This session's sql_mode is 'NO_BACKSLASH_ESCAPES' and its time_zone '\+00:00', not/),
      ]);
    } finally {
      await db.close();
    }
  });
});
