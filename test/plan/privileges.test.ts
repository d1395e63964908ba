import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { runCli } from '../support/cli.ts';
import { snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { connect } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';
import { EventshiftError } from '../../src/errors.ts';
import { migrate } from '../../src/run/migrate.ts';
import { plan } from '../../src/run/plan-command.ts';

const ws = testWorkspace('privileges');
const root = join(import.meta.dirname, '../..');
const users: string[] = [];
const roles: string[] = [];

/** The grant README.md's Privileges section gives a DBA for a run (and for rollback and restore). */
const fullGrant = 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, TRIGGER';

afterAll(async () => {
  const admin = await connect(`${serverUrl}/mysql`);
  try {
    for (const user of users) await admin.execute(`DROP USER IF EXISTS ${user}`);
    for (const role of roles) await admin.execute(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await admin.close();
  }
});

/** A VbzCart database and a user of its own holding `privileges` on it, and the URL that connects as that user. */
async function databaseAndUser(label: string, privileges: string): Promise<{ t: TestDatabase; url: string; user: string }> {
  const t = await ws.database(label);
  await generateVbzcart(t.db, { seed: 20_020 });
  const name = `es_pre_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(9).toString('hex');
  const user = `'${name}'@'%'`;
  users.push(user);
  await t.db.execute(`CREATE USER ${user} IDENTIFIED BY '${password}'`);
  await t.db.execute(`GRANT ${privileges} ON ${quoteId(t.name)}.* TO ${user}`);
  const url = new URL(t.url);
  url.username = name;
  url.password = password;
  return { t, url: url.toString(), user };
}

/** The database as it was, and nothing of eventshift's in it. */
async function expectUnchanged(t: TestDatabase, before: Awaited<ReturnType<typeof snapshot>>) {
  expect(await snapshot(t.db)).toEqual(before);
  expect(await t.db.query("SHOW TABLES LIKE 'eventshift%'")).toEqual([]);
}

describe('plan and migrate check the privileges a run needs', () => {
  it('refuses a user with SELECT only, naming each missing privilege, its table and its statement; nothing written', async () => {
    const { t, url } = await databaseAndUser('pre_select', 'SELECT');
    const before = await snapshot(t.db);
    const r = await plan({ databaseUrl: url, mapping });
    expect(r.ok).toBe(false);
    const reasons = r.reasons.join('\n');
    const on = (table: string) => `${quoteId(t.name)}.${quoteId(table)}`;
    expect(reasons).toContain(`CREATE on ${on('event_vc_ord_hold')}, ${on('event_vc_legacy')}, needed for write stage: CREATE TABLE`);
    expect(reasons).toContain(
      `INSERT, DELETE on ${on('event')}, ${on('event_vc_ord_hold')}, ${on('event_vc_legacy')}, needed for write stage`,
    );
    expect(reasons).toContain(`ALTER on ${on('orders')}, needed for write stage: ALTER TABLE ... ADD COLUMN of a projection`);
    expect(reasons).toContain(`UPDATE on ${on('orders')}, needed for write stage: the projection's fill`);
    expect(reasons).toContain(
      `ALTER, DROP on ${on('ord_pull')}; CREATE, INSERT on ${on('OLD ord_pull')}, ` +
        'needed for cutover: RENAME TABLE `ord_pull` TO `OLD ord_pull`',
    );
    expect(reasons).toContain(`ALTER on ${on('orders')}, needed for cutover: ALTER TABLE ... RENAME COLUMN ID_Pull TO ID_Pull OLD`);
    expect(reasons).toContain(`TRIGGER on ${on('event')}`);
    expect(reasons).toMatch(/CREATE, INDEX on `[^`]+`\.`eventshift_migrations`, .* needed for creating eventshift's bookkeeping tables/);
    expect(reasons).toMatch(/INSERT, UPDATE, DELETE on `[^`]+`\.`eventshift_migrations`, .* needed for the run's journal/);
    // What the run needs is all there is to refuse: SELECT on the sources is held, the data is fine.
    expect(r.reasons.every((x) => / lacks [A-Z, ]+ on /.test(x))).toBe(true);
    expect(reasons).not.toMatch(/lacks SELECT/);
    expect(r.plan.privilegeWarnings?.join('\n')).toMatch(
      /restore would need INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, TRIGGER on `[^`]+`\.\*/,
    );
    await expectUnchanged(t, before);

    const error = await migrate({ databaseUrl: url, mapping, backupDir: ws.path('select-backups') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventshiftError);
    expect((error as EventshiftError).kind).toBe('refused');
    expect((error as EventshiftError).message).toContain(`lacks CREATE on ${on('event_vc_ord_hold')}`);
    await expectUnchanged(t, before);
    expect(await readdir(ws.dir)).toEqual([]);
  });

  it('refuses a user missing only ALTER and DROP at plan time (CLI: exit 1), naming the renames and columns that need them', async () => {
    const { t, url } = await databaseAndUser('pre_noalter', 'SELECT, INSERT, UPDATE, DELETE, CREATE, INDEX, TRIGGER');
    const before = await snapshot(t.db);
    const r = runCli(['plan', 'vbzcart-ord-pull', '--backup-dir', ws.path('cli-backups')], { cwd: root, env: { DATABASE_URL: url } });
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain('REFUSED:');
    expect(out).toContain(
      `lacks ALTER on ${quoteId(t.name)}.\`orders\`, needed for write stage: ALTER TABLE ... ADD COLUMN of a projection`,
    );
    expect(out).toContain(`lacks ALTER on ${quoteId(t.name)}.\`orders\`, needed for cutover: ALTER TABLE ... RENAME COLUMN ID_Pull`);
    expect(out).toContain(
      `lacks ALTER, DROP on ${quoteId(t.name)}.\`ord_pull\`, needed for cutover: RENAME TABLE \`ord_pull\` TO \`OLD ord_pull\``,
    );
    expect(out).not.toMatch(/lacks (SELECT|INSERT|UPDATE|DELETE|CREATE|INDEX|TRIGGER) /);
    expect(out).not.toContain('OK: migrate can go ahead');
    await expectUnchanged(t, before);
  });

  it('counts the privileges of the default role, which are in effect, and those held on the tables themselves', async () => {
    const { t, url, user } = await databaseAndUser('pre_role', 'SELECT');
    const role = quoteId(`es_pre_role_${randomBytes(4).toString('hex')}`);
    roles.push(role);
    await t.db.execute(`CREATE ROLE ${role}`);
    await t.db.execute(`GRANT INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, TRIGGER ON ${quoteId(t.name)}.* TO ${role}`);
    await t.db.execute(`GRANT ${role} TO ${user}`);
    await t.db.execute(`SET DEFAULT ROLE ${role} FOR ${user}`);
    const partly = await plan({ databaseUrl: url, mapping });
    // ALTER only: granted on no level yet.
    expect(partly.reasons.join(' ')).toMatch(/^'es_pre_[0-9a-f]+'@'%' lacks ALTER on /);
    expect(partly.reasons.join(' ')).not.toMatch(/lacks [A-Z, ]*(INSERT|CREATE|DROP|TRIGGER)/);
    // ALTER on the tables that need it, table by table.
    for (const table of ['orders', 'ord_pull']) await t.db.execute(`GRANT ALTER ON ${quoteId(t.name)}.${quoteId(table)} TO ${role}`);
    const r = await plan({ databaseUrl: url, mapping });
    expect(r.reasons).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it("plans and migrates as a user holding README's grant", async () => {
    const { t, url } = await databaseAndUser('pre_full', fullGrant);
    const r = await plan({ databaseUrl: url, mapping });
    expect(r.reasons).toEqual([]);
    expect(r.ok).toBe(true);
    // Only RELOAD (global, for a faster backup) is missing; restore and rollback have what they need.
    expect(r.plan.privilegeWarnings).toEqual([expect.stringMatching(/lacks RELOAD \(global\)/)]);
    const m = await migrate({ databaseUrl: url, mapping, backupDir: ws.path('full-backups'), reportDir: ws.path('full-report') });
    expect(m.status).toBe('completed');
    expect(m.verification?.ok).toBe(true);
    expect(await t.db.query("SHOW TABLES LIKE 'OLD ord_pull'")).toHaveLength(1);
  });

  it('migrate checks again before a resumed run writes more: a grant revoked since it stopped refuses it, naming it', async () => {
    const { t, url, user } = await databaseAndUser('pre_resume', fullGrant);
    const first = await migrate({ databaseUrl: url, mapping, backupDir: ws.path('resume-backups'), until: 'backup' });
    expect(first.status).toBe('stopped');
    await t.db.execute(`REVOKE ALTER ON ${quoteId(t.name)}.* FROM ${user}`);
    const before = await snapshot(t.db);
    const planned = await plan({ databaseUrl: url, mapping });
    expect(planned.ok).toBe(false);
    expect(planned.reasons.join(' ')).toContain(`lacks ALTER on ${quoteId(t.name)}.\`orders\``);
    const error = await migrate({ databaseUrl: url, mapping, backupDir: ws.path('resume-backups') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventshiftError);
    expect((error as EventshiftError).kind).toBe('refused');
    expect((error as EventshiftError).message).toMatch(
      new RegExp(
        `^Run ${first.runId} of vbzcart-ord-pull cannot go on: .* lacks ALTER on \`${t.name}\`\\.\`orders\`, needed for write stage`,
      ),
    );
    expect(await snapshot(t.db)).toEqual(before);
    // Granted again, the same run goes on from where it stopped.
    await t.db.execute(`GRANT ALTER ON ${quoteId(t.name)}.* TO ${user}`);
    const resumed = await migrate({ databaseUrl: url, mapping, backupDir: ws.path('resume-backups'), reportDir: ws.path('resume-report') });
    expect(resumed).toMatchObject({ runId: first.runId, resumed: true, status: 'completed' });
  });
});
