import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { mariadbClient } from '../support/public-data.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { runCli, tracedRun } from '../support/cli.ts';
import { actorTables, generateMediawiki, type MediawikiFixture } from '../../mappings/mediawiki-actor/fixture.ts';
import mapping from '../../mappings/mediawiki-actor/index.ts';
import { plan } from '../../src/run/plan-command.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { restoreMapping } from '../../src/run/restore.ts';
import { rollback } from '../../src/run/rollback.ts';
import { exportSql } from '../../src/run/sql-export.ts';

/**
 * The actor mapping on MediaWiki-shaped databases (tables from MediaWiki's own definitions) drawn from a seed the
 * repository never saw. What every row must get is the fixture's JavaScript model of migrateActors.php's rules, not
 * the mapping's SQL: each row is compared with it, by key.
 */
const seed = randomInt(1, 2 ** 31);
const ws = testWorkspace('mw-actor');
let t: TestDatabase;
let fixture: MediawikiFixture;
let before: Snapshot;
let migrated: Snapshot;
let killedRuns = 0;

beforeAll(async () => {
  t = await ws.database('mw_actor');
  fixture = await generateMediawiki(t.db, { seed });
  before = await snapshot(t.db);
});

const backupDir = () => ws.path('backups');
const hex = (b: Buffer) => b.toString('hex').toUpperCase();
const described = (a: { name: Buffer; user: number | null } | null) =>
  a === null ? 'unmigrated' : `${hex(a.name)} user ${a.user ?? 'NULL'}`;

/** Every row of a table as the database has it after a run: its key and the actor its reference names (or 'unmigrated'). */
async function actorsOfRows(db: TestDatabase['db'], table: (typeof actorTables)[number]): Promise<Map<string, string>> {
  const rows = await db.query<{ k: Buffer | string | number; ref: string; n: Buffer | null; u: number | null }>(
    `SELECT ${table.key} AS k, x.${table.reference} AS ref, a.actor_name AS n, a.actor_user AS u
       FROM ${table.table} x LEFT JOIN actor a ON a.actor_id = x.${table.reference}`,
  );
  return new Map(
    rows.map((r) => [
      Buffer.isBuffer(r.k) ? r.k.toString('utf8') : String(r.k),
      String(r.ref) === '0' ? 'unmigrated' : described(r.n === null ? null : { name: r.n, user: r.u }),
    ]),
  );
}

/** Asserts that every row of every table references the actor the rules give it, and that unmigrated ones hold 0. */
async function expectRulesHeld(db: TestDatabase['db'], f: MediawikiFixture): Promise<void> {
  for (const table of actorTables) {
    const actual = await actorsOfRows(db, table);
    const expected = new Map(f.rows[table.table]!.map((r) => [r.key, described(r.actor)]));
    expect(actual, `${table.table} (seed ${seed})`).toEqual(expected);
  }
  const actors = await db.query<{ actor_user: number | null; actor_name: Buffer }>('SELECT actor_user, actor_name FROM actor');
  expect(new Map(actors.map((a) => [hex(a.actor_name), a.actor_user])), `actor (seed ${seed})`).toEqual(
    new Map([...f.actors].map(([h, a]) => [h, a.user])),
  );
}

describe(`mediawiki-actor on a MediaWiki-shaped database (seed ${seed})`, () => {
  it('plans the counts, the actors to create and reuse, and every unmigrated row by key', async () => {
    const r = await plan({ databaseUrl: t.url, mapping });
    expect(r.ok, r.reasons.join(' ')).toBe(true);
    const lookup = r.plan.lookups![0]!;
    expect({ keys: lookup.keys, reuse: lookup.reuse, create: lookup.create }).toEqual({
      keys: fixture.keys,
      reuse: fixture.reuse,
      create: fixture.create,
    });
    for (const s of lookup.sources) {
      expect({ rows: s.rows, fill: s.fill, skipped: s.skipped, conflicted: s.conflicted }, s.table).toEqual(fixture.tables[s.table]);
    }
    expect(lookup.everyRowOf).toEqual([{ alias: 'user', table: 'user', rows: expect.any(Number) }]);
    expect(lookup.conflictedKeys.sort()).toEqual(fixture.conflictedNames);
    const problem = (name: string) => r.plan.problems.find((p) => p.name === name)!;
    expect(problem('actor.skipped').count).toBe(fixture.skippedNames.length);
    // Names shown as text, or as bytes when they are not UTF-8.
    expect(problem('actor.skipped').keys).toEqual(expect.arrayContaining(['Ghost Writer', 'Ghöst 2', '0x47686f7374ff', 'Vanished User']));
    expect(problem('actor.conflict.values').keys).toEqual(['Disputed']);
    expect(problem('actor.conflict.actor_user').keys).toEqual(['Fresh Name']);
    // Each table's unmigrated rows by key, as the rules name them.
    for (const table of actorTables) {
      for (const kind of ['unknownUser', 'unusableName'] as const) {
        const keys = fixture.rows[table.table]!.filter((x) => x.problem === kind).map((x) => x.key);
        const found = problem(`${kind}.${table.table}`);
        expect(found.count, `${kind}.${table.table}`).toBe(keys.length);
        expect(keys.length, `every table has planted rows of ${kind}`).toBeGreaterThan(0);
        expect(
          found.keys.every((k) => keys.includes(k)),
          `${kind}.${table.table}: ${found.keys.join(', ')}`,
        ).toBe(true);
        expect(found.keys.length).toBe(Math.min(keys.length, 20));
      }
    }
    expect(r.plan.tables.backup.sort()).toEqual([...actorTables.map((x) => x.table), 'actor'].sort());
    expect(r.plan.tables.create).toEqual([]);
    expect(r.plan.tables.alter.map((a) => a.table).sort()).toEqual(actorTables.map((x) => x.table).sort());
    expect(r.plan.steps).toEqual([]);
    expect(await snapshot(t.db)).toEqual(before);
    const check = runCli(['check', 'mediawiki-actor'], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it("migrates by migrateActors.php's rules: every row gets the actor they give it, or stays 0", async () => {
    const result = await migrate({ databaseUrl: t.url, mapping, backupDir: backupDir(), reportDir: ws.path('report'), chunkKeys: 300 });
    expect(result.status).toBe('completed');
    migrated = await snapshot(t.db);
    expect(result.verification!.checks.filter((c) => !c.ok)).toEqual([]);
    await expectRulesHeld(t.db, fixture);

    // The planted cases, one by one.
    const { renamed, missingUser, missingUserUnderIp, registeredNameWithUserZero, idleUsers, invalidUtf8Name } = fixture.planted;
    const actorOf = 'revision r JOIN actor a ON a.actor_id = r.rev_actor';
    const [old] = await t.db.query<{ n: Buffer; u: number }>(
      `SELECT a.actor_name AS n, a.actor_user AS u FROM ${actorOf} WHERE r.rev_user_text = ? LIMIT 1`,
      [renamed.oldName],
    );
    expect({ name: hex(old!.n), user: old!.u }, "a renamed user's old rows carry the name in user").toEqual({
      name: hex(renamed.newName),
      user: renamed.user,
    });
    const [gone] = await t.db.query<{ n: string; set: string }>(
      'SELECT COUNT(*) AS n, SUM(rev_actor <> 0) AS `set` FROM revision WHERE rev_user IN (?, ?)',
      [missingUser, missingUserUnderIp.user],
    );
    expect(Number(gone!.n)).toBeGreaterThan(1);
    expect(Number(gone!.set), 'rows by a user id missing from user stay 0').toBe(0);
    const [named] = await t.db.query<{ u: number }>(
      `SELECT a.actor_user AS u FROM ${actorOf} WHERE r.rev_user = 0 AND r.rev_user_text = ?`,
      [registeredNameWithUserZero.name],
    );
    expect(named!.u, "user id 0 under a user's name gets that user's actor").toBe(registeredNameWithUserZero.user);
    for (const idle of idleUsers) {
      expect(
        await t.db.query('SELECT actor_user FROM actor WHERE actor_name = ?', [idle.name]),
        'a user who did nothing has an actor',
      ).toEqual([{ actor_user: idle.user }]);
    }
    expect(await t.db.query('SELECT COUNT(*) AS n FROM actor WHERE actor_name = ? AND actor_user IS NOT NULL', [invalidUtf8Name])).toEqual([
      { n: '1' },
    ]);
    const actors = await t.db.query<{ actor_id: string; actor_name: Buffer }>('SELECT actor_id, actor_name FROM actor ORDER BY actor_id');
    // New actors: consecutive IDs after the existing ones, in the byte order of their names.
    const created = actors.slice(fixture.existingActors);
    expect(created.map((a) => Number(a.actor_id))).toEqual(created.map((_, i) => fixture.existingActors + 1 + i));
    expect(created.map((a) => hex(a.actor_name))).toEqual(created.map((a) => hex(a.actor_name)).sort());

    const report = JSON.parse(await readFile(ws.path('report', 'report.json'), 'utf8'));
    expect(report.verdict).toBe('pass');
    expect(report.lookups[0].everyRowOf).toEqual([{ table: 'user', rows: expect.any(Number), ok: true }]);
    expect(report.dataProblems.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['actor.skipped', 'unknownUser.revision', 'unusableName.logging']),
    );
    expect(await readFile(ws.path('report', 'report.md'), 'utf8')).toMatch(
      /## Lookups[\s\S]*revision\.rev_actor[\s\S]*every row gets its actor row/,
    );
  });

  it('verify names a corrupted *_actor value, and an actor missing for a user', async () => {
    const [row] = await t.db.query<{ rev_id: number; rev_actor: string }>(
      'SELECT rev_id, rev_actor FROM revision WHERE rev_actor <> 0 ORDER BY rev_id LIMIT 1 OFFSET 7',
    );
    const [other] = await t.db.query<{ actor_id: string }>(
      'SELECT actor_id FROM actor WHERE actor_id <> ? ORDER BY actor_id DESC LIMIT 1',
      [row!.rev_actor],
    );
    const idle = fixture.planted.idleUsers[0]!;
    const [idleActor] = await t.db.query<{ actor_id: string; actor_user: number; actor_name: Buffer }>(
      'SELECT * FROM actor WHERE actor_name = ?',
      [idle.name],
    );
    await t.db.execute('UPDATE revision SET rev_actor = ? WHERE rev_id = ?', [other!.actor_id, row!.rev_id]);
    await t.db.execute('DELETE FROM actor WHERE actor_id = ?', [idleActor!.actor_id]);
    try {
      const r = await verify({ databaseUrl: t.url, mapping, backupDir: backupDir() });
      const failed = r.verification.checks.filter((c) => !c.ok);
      expect(failed.map((c) => c.id)).toEqual(expect.arrayContaining(['actor.revision.reference', 'actor.user.rows']));
      expect(failed.find((c) => c.id === 'actor.revision.reference')!.failures).toEqual([
        {
          key: `rev_id ${row!.rev_id}`,
          reason: expect.stringMatching(new RegExp(`^revision\\.rev_actor = ${other!.actor_id} names actor .*; the row is `)),
        },
      ]);
      expect(failed.find((c) => c.id === 'actor.user.rows')!.failures).toEqual([{ key: 'Lurker 1', reason: 'no actor row' }]);
    } finally {
      await t.db.execute('UPDATE revision SET rev_actor = ? WHERE rev_id = ?', [row!.rev_actor, row!.rev_id]);
      await t.db.execute('INSERT INTO actor (actor_id, actor_user, actor_name) VALUES (?, ?, ?)', [
        idleActor!.actor_id,
        idleActor!.actor_user,
        idleActor!.actor_name,
      ]);
    }
    expect((await verify({ databaseUrl: t.url, mapping, backupDir: backupDir() })).verification.ok).toBe(true);
  });

  it('restore returns the original database exactly', async () => {
    await restoreMapping({ databaseUrl: t.url, mapping, backupDir: backupDir() });
    expect(await snapshot(t.db)).toEqual(before);
  });

  // On a database of its own (the same seed), so that it does not depend on restore.
  let rolledBack: { db: TestDatabase; before: Snapshot; migrated: Snapshot };
  it('rollback removes exactly what a run did: its columns and its actors', async () => {
    const db = await ws.database('mw_actor_rb');
    await generateMediawiki(db.db, { seed });
    const original = await snapshot(db.db);
    expect(original).toEqual(before);
    const run = await migrate({ databaseUrl: db.url, mapping, backupDir: ws.path('backups-2'), reportDir: ws.path('report-2') });
    expect(run.status).toBe('completed');
    const afterRun = await snapshot(db.db);
    expect(afterRun).toEqual(migrated);
    const r = await rollback({ databaseUrl: db.url, mapping, backupDir: ws.path('backups-2') });
    expect(r.rowsDeleted.actor).toBe(fixture.create);
    expect(r.actions.filter((a) => a.startsWith('dropped '))).toHaveLength(actorTables.length);
    expect(await snapshot(db.db)).toEqual(original);
    rolledBack = { db, before: original, migrated: afterRun };
  });

  it(
    'eventshift sql exports the same statements: applied by hand they give the migrated database; ' + 'their rollbacks the original',
    async () => {
      const { db, before: original, migrated: expected } = rolledBack;
      const out = ws.path('sql');
      const result = await exportSql({ databaseUrl: db.url, mapping, outDir: out });
      expect(result.ok, JSON.stringify(result.findings.filter((f) => f.severity === 'error'))).toBe(true);
      // oldimage has no primary key, but the lookup declares its chunk key.
      expect(result.findings.filter((f) => f.rule === 'no-primary-key')).toEqual([
        {
          file: 'oldimage',
          severity: 'info',
          rule: 'no-primary-key',
          message: expect.stringContaining('lookup actor chunks it by oi_name'),
        },
      ]);
      const files = (await readdir(out)).filter((f) => /^\d+-.*\.sql$/.test(f)).sort();
      expect(files.some((f) => /^\d+-data-actor-create\.sql$/.test(f))).toBe(true);
      const apply = async (dir: string, list: string[]) => {
        for (const f of list) {
          const client = mariadbClient(serverUrl, db.name);
          const r = spawnSync('mariadb', client.args, { input: await readFile(join(dir, f), 'utf8'), encoding: 'utf8', env: client.env });
          expect(r.status, `${f}: ${r.stderr}`).toBe(0);
        }
      };
      await apply(out, files);
      expect(await snapshot(db.db)).toEqual(expected);
      await apply(join(out, 'rollback'), [...files].reverse());
      expect(await snapshot(db.db)).toEqual(original);
    },
  );

  it('without an actor table: the run creates it and every actor; rollback drops it, restore removes it', async () => {
    const db = await ws.database('mw_actor_new');
    const older = await generateMediawiki(db.db, { seed, revisions: 400, actorTable: false });
    const original = await snapshot(db.db);
    expect(Object.keys(original)).not.toContain('actor');
    const planned = await plan({ databaseUrl: db.url, mapping });
    expect(planned.ok, planned.reasons.join(' ')).toBe(true);
    expect(planned.plan.tables.create).toEqual(['actor']);
    const lookup = planned.plan.lookups![0]!;
    expect({ exists: lookup.exists, keys: lookup.keys, reuse: lookup.reuse, create: lookup.create }).toEqual({
      exists: false,
      keys: older.keys,
      reuse: 0,
      create: older.keys,
    });
    expect(lookup.conflictedKeys).toEqual([]);

    const dir = ws.path('backups-new');
    const migrateOnce = async () => {
      const run = await migrate({ databaseUrl: db.url, mapping, backupDir: dir, reportDir: join(dir, 'report'), chunkKeys: 100 });
      expect(run.status).toBe('completed');
      expect(run.verification!.checks.filter((c) => !c.ok)).toEqual([]);
      await expectRulesHeld(db.db, older);
      const actors = await db.db.query<{ actor_id: string; actor_name: Buffer }>(
        'SELECT actor_id, actor_name FROM actor ORDER BY actor_id',
      );
      // IDs from 1, in the byte order of the names.
      expect(actors.map((a) => Number(a.actor_id))).toEqual(actors.map((_, i) => i + 1));
      expect(actors.map((a) => hex(a.actor_name))).toEqual(actors.map((a) => hex(a.actor_name)).sort());
    };
    await migrateOnce();
    const r = await rollback({ databaseUrl: db.url, mapping, backupDir: dir });
    expect(r.rowsDeleted.actor).toBe(older.keys);
    expect(r.actions).toContain('dropped actor, which the run had created');
    expect(await snapshot(db.db)).toEqual(original);

    await migrateOnce();
    await restoreMapping({ databaseUrl: db.url, mapping, backupDir: dir });
    expect(await snapshot(db.db)).toEqual(original);
  });

  it('a NULL user id is user id 0, as the script reads it; a row that gives no name at all is refused, nothing written', async () => {
    const db = await ws.database('mw_actor_null');
    await generateMediawiki(db.db, { seed, revisions: 300 });
    // filearchive's fa_user and fa_user_text may be NULL (tables.sql has no NOT NULL there).
    const [ip, nameless] = await db.db.query<{ fa_id: number }>('SELECT fa_id FROM filearchive ORDER BY fa_id DESC LIMIT 2');
    await db.db.execute("UPDATE filearchive SET fa_user = NULL, fa_user_text = '198.51.100.23' WHERE fa_id = ?", [ip!.fa_id]);
    await db.db.execute('UPDATE filearchive SET fa_user = 0, fa_user_text = NULL WHERE fa_id = ?', [nameless!.fa_id]);
    const original = await snapshot(db.db);
    const cli = (args: string[]) =>
      runCli([...args, '--backup-dir', ws.path('backups-null')], { cwd: ws.dir, env: { DATABASE_URL: db.url } });
    const planned = cli(['plan', 'mediawiki-actor']);
    expect(planned.code, planned.stdout + planned.stderr).toBe(1);
    expect(planned.stdout).toContain(`Lookup actor: 1 row(s) of filearchive (fa_id ${nameless!.fa_id}) give no actor_name (NULL)`);
    const run = cli(['migrate', 'mediawiki-actor', '--yes', '--quiet']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await snapshot(db.db)).toEqual(original);

    await db.db.execute("UPDATE filearchive SET fa_user_text = '203.0.113.9' WHERE fa_id = ?", [nameless!.fa_id]);
    const fixed = cli(['migrate', 'mediawiki-actor', '--yes', '--quiet']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const got = await db.db.query<{ fa_id: number; n: Buffer; u: number | null }>(
      `SELECT f.fa_id, a.actor_name AS n, a.actor_user AS u FROM filearchive f JOIN actor a ON a.actor_id = f.fa_actor
        WHERE f.fa_id IN (?, ?) ORDER BY f.fa_id`,
      [ip!.fa_id, nameless!.fa_id],
    );
    expect(got.map((g) => ({ id: g.fa_id, name: g.n.toString(), user: g.u }))).toEqual(
      [
        { id: ip!.fa_id, name: '198.51.100.23', user: null },
        { id: nameless!.fa_id, name: '203.0.113.9', user: null },
      ].sort((a, b) => a.id - b.id),
    );
  });

  it('a run killed mid-fill and mid-create reruns to the same database as an uninterrupted run', { timeout: 240_000 }, async () => {
    // Enough names for more than one get-or-create batch of 100.
    const small = { seed, revisions: 1500 };
    const args = ['migrate', 'mediawiki-actor', '--yes', '--quiet', '--chunk-keys', '100'];
    const ref = await ws.database('mw_actor_ref');
    await generateMediawiki(ref.db, small);
    const traced = await tracedRun([...args, '--backup-dir', ws.path('ref')], { cwd: ws.dir, env: { DATABASE_URL: ref.url } });
    expect(traced.run.code, traced.run.stderr).toBe(0);
    const reference = await snapshot(ref.db);
    const fills = traced.points.filter((p) => p.startsWith('chunk lookup actor revision '));
    const batches = traced.points.filter((p) => p.startsWith('lookup actor create batch '));
    expect(fills.length).toBeGreaterThan(2);
    expect(batches.length).toBeGreaterThan(1);
    // The last: the work table of names is gone when the run resumes (dropped by hand), so it is built again from the
    // names after the journal's cursor.
    for (const [point, dropKeys] of [
      [fills[1]!, false],
      [batches[0]!, false],
      [batches[0]!, true],
    ] as const) {
      const killed = await ws.database('mw_actor_kill');
      await generateMediawiki(killed.db, small);
      const dir = join(ws.dir, `kill-${++killedRuns}`);
      const first = runCli([...args, '--backup-dir', dir], { cwd: ws.dir, env: { DATABASE_URL: killed.url, EVENTSHIFT_FAULT: point } });
      expect(first.signal, `${point}: ${first.stderr}`).toBe('SIGKILL');
      const keysTables = await killed.db.query<{ name: string }>(
        'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ' +
          "AND TABLE_NAME LIKE 'eventshift\\_keys\\_%'",
      );
      expect(keysTables.length, point).toBe(point === batches[0] ? 1 : 0);
      if (dropKeys) await killed.db.execute(`DROP TABLE ${keysTables[0]!.name}`);
      const resumed = runCli([...args, '--backup-dir', dir], { cwd: ws.dir, env: { DATABASE_URL: killed.url } });
      expect(resumed.code, `${point}: ${resumed.stderr}`).toBe(0);
      expect(await snapshot(killed.db), `${point} (seed ${seed})`).toEqual(reference);
      expect(
        await killed.db.query(
          "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'eventshift\\_keys\\_%'",
        ),
      ).toEqual([]);
      await ws.drop(killed);
    }
  });

  it('restore after a run killed mid-create counts the actors it created as its own and drops its work table of names', async () => {
    const killed = await ws.database('mw_actor_kill_restore');
    await generateMediawiki(killed.db, { seed, revisions: 1500 });
    const original = await snapshot(killed.db);
    const actors = async () => Number((await killed.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM actor'))[0]!.n);
    const existing = await actors();
    const keysTables =
      'SELECT TABLE_NAME AS name FROM information_schema.TABLES ' +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'eventshift\\_keys\\_%'";
    const dir = ws.path('kill-restore');
    const args = ['migrate', 'mediawiki-actor', '--yes', '--quiet', '--chunk-keys', '100', '--backup-dir', dir];
    const env = { DATABASE_URL: killed.url, EVENTSHIFT_FAULT: 'lookup actor create batch 1' };
    const first = runCli(args, { cwd: ws.dir, env });
    expect(first.signal, first.stderr).toBe('SIGKILL');
    // The first batch's actors are in the actor table, and the work table of names is left.
    expect(await actors()).toBeGreaterThan(existing);
    const [left] = await killed.db.query<{ name: string }>(keysTables);
    expect(left).toBeDefined();
    const restored = await restoreMapping({ databaseUrl: killed.url, mapping, backupDir: dir });
    expect(restored.lost).toEqual([]);
    expect(restored.droppedStaging).toEqual([left!.name]);
    expect(await killed.db.query(keysTables)).toEqual([]);
    expect(await snapshot(killed.db)).toEqual(original);
    await ws.drop(killed);
  });
});
