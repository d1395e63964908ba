import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { serverUrl } from '../support/database.ts';
import { loadSakila } from '../support/public-data.ts';
import { addLatin1RentalTrigger } from '../support/sakila-trigger.ts';
import { sakilaDistrictsMapping, sakilaMapping as mapping } from '../support/sakila-mapping.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';
import { migrate } from '../../src/run/migrate.ts';
import { rollback } from '../../src/run/rollback.ts';
import { verify } from '../../src/run/verify-run.ts';

/**
 * The Sakila mapping (test/support/sakila-mapping.ts) on the public Sakila database: its projections fill columns of
 * customer and film, whose `last_update` is `ON UPDATE CURRENT_TIMESTAMP`; nothing but the projected column changes.
 */
const ws = testWorkspace('sakila_writes');
const options = (t: TestDatabase) => ({ databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: ws.path('reports') });

describe('writes on Sakila change only what the mapping says', () => {
  let t: TestDatabase;
  let original: Snapshot;

  beforeAll(async () => {
    t = await ws.database('sakila_writes');
    await loadSakila(serverUrl, t.name);
    await addLatin1RentalTrigger(t);
    original = await snapshot(t.db);
    expect(original['trigger rental_note']!.create).toContain('"order":"rental BEFORE INSERT 2"');
  }, 120_000);

  it('migrates and verifies; every last_update stays as it was', async () => {
    const result = await migrate(options(t));
    const failed = result.verification?.checks.filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(result.status).toBe('completed');
    // The report shows what the cutover breaks (accepted by the mapping) and the trigger the projection fires.
    const html = await readFile(join(result.reportDir!, 'report.html'), 'utf8');
    expect(html).toMatch(
      /<section id="dependents">[\s\S]*view <code>sales_by_store<\/code><\/td><td><span class="bad">breaks<\/span>[^<]*<\/td><td>by the/,
    );
    expect(html).toContain('<code>upd_film</code> (AFTER UPDATE ON <code>film</code>), by projection copies, accepted by the mapping');
    // film_text, which the fired upd_film writes when a title changes, was backed up and is unchanged.
    expect(result.verification!.checks.find((c) => c.id === 'film_text.unchanged')?.ok).toBe(true);
    const report = JSON.parse(await readFile(join(result.reportDir!, 'report.json'), 'utf8'));
    expect(report.dependents.filter((d: { effect: string }) => d.effect === 'breaks')).toHaveLength(5);
    const now = await snapshot(t.db);
    for (const table of ['customer', 'film']) {
      const strip = (rows: string[]) =>
        rows.map((r) => JSON.stringify({ ...JSON.parse(r), last_rental_date: undefined, copies: undefined }));
      expect(strip(now[table]!.rows).sort(), table).toEqual(original[table]!.rows);
    }
  }, 120_000);

  it('after the cutover, verify names a changed row of the renamed table by its key', async () => {
    const before = JSON.parse(original.rental!.rows.find((r) => JSON.parse(r).rental_id === 42)!).last_update;
    await t.db.execute("UPDATE `OLD rental` SET last_update = '2031-01-01 00:00:00' WHERE rental_id = 42");
    const { verification } = await verify({ ...options(t), reportDir: ws.path('after-cutover') });
    expect(verification.checks.filter((c) => !c.ok).map((c) => [c.id, c.table, c.failures])).toEqual([
      [
        'rental.unchanged',
        'OLD rental',
        [{ key: 'rental_id=42', reason: `last_update differs from the backup (last_update ${before} -> 2031-01-01 00:00:00)` }],
      ],
    ]);
    await t.db.execute('UPDATE `OLD rental` SET last_update = ? WHERE rental_id = 42', [before]);
    expect((await verify(options(t))).verification.ok).toBe(true);
  }, 120_000);

  it('rolls back to the database it started from: rows, definitions, views, triggers and routines', async () => {
    const result = await rollback(options(t));
    expect(result.actions).toContain('put back trigger rental_date on rental as the backup has it (the renames had rewritten it)');
    expect(result.actions).toContain('put back trigger rental_note on rental as the backup has it (the renames had rewritten it)');
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
  }, 120_000);
});

describe('rows that existed before the run, changed behind its back', () => {
  /** Sakila migrated up to its writes, then rows of customer changed as a fill that rewrote times would have left them. */
  async function changedBehind(name: string) {
    const t = await ws.database(name);
    await loadSakila(serverUrl, t.name);
    const original = await snapshot(t.db);
    const opts = { ...options(t), reportDir: ws.path(`${name}-report`) };
    expect((await migrate({ ...opts, until: 'write' })).status).toBe('stopped');
    // Only the time (as an application's UPDATE that sets last_update alone, or a fill that did not keep it); and a
    // real change by someone else (whose last_update the server sets too).
    await t.db.execute("UPDATE customer SET last_update = '2030-01-01 00:00:00' WHERE customer_id IN (3, 7)");
    await t.db.execute("UPDATE customer SET email = 'moved@example.org' WHERE customer_id = 11");
    return { t, original, opts };
  }

  it('verify names their keys and columns; rollback leaves them as they are, and names them', async () => {
    const { original, opts, t } = await changedBehind('sakila_forced');
    const before = (id: number, column: string) =>
      JSON.parse(original.customer!.rows.find((r) => JSON.parse(r).customer_id === id)!)[column];

    const result = await migrate(opts);
    expect(result.status).toBe('failed');
    const check = result.verification!.checks.find((c) => c.id === 'customer.unchanged')!;
    expect(check.ok).toBe(false);
    expect(check.failureCount).toBe(3);
    expect(check.failures.map((f) => f.key)).toEqual(['customer_id=3', 'customer_id=7', 'customer_id=11']);
    expect(check.failures[0]!.reason).toBe(
      `last_update differs from the backup (last_update ${before(3, 'last_update')} -> 2030-01-01 00:00:00)`,
    );
    expect(check.failures[2]!.reason).toMatch(
      new RegExp(`^email, last_update differ from the backup \\(email ${before(11, 'email')} -> moved@example.org; last_update `),
    );
    expect(result.verification!.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['customer.unchanged']);
    expect(await readFile(join(result.reportDir!, 'report.md'), 'utf8')).toContain(
      'customer_id=11: email, last_update differ from the backup (email ',
    );

    // film_text, which upd_film (fired by the fill of film) writes, changed too.
    await t.db.execute("UPDATE film_text SET title = 'CHANGED' WHERE film_id = 5");
    // The run's fill kept last_update: a row whose time alone changed is someone else's write, not the run's.
    const undone = await rollback(opts);
    expect(undone.actions.find((a) => a.startsWith('left 1 row(s) of film_text'))).toContain(
      'as written since by others or by trigger(s) upd_film, which the run fired (film_id=5: title differs from the backup',
    );
    expect(undone.actions.filter((a) => a.startsWith('put back last_update'))).toEqual([]);
    const left = undone.actions.find((a) => a.startsWith('left 3 row(s) of customer that differ from the backup as they are'));
    expect(left).toContain('customer_id=3: last_update differs');
    expect(left).toContain('customer_id=11: email, last_update differ');
    const differences = snapshotDifferences(original, await snapshot(t.db));
    expect(differences).toHaveLength(2);
    expect(differences[1]).toMatch(/^film_text: 1 row/);
    expect(differences[0]).toMatch(/^customer: 3 row\(s\) only before \(.*\), 3 only after \(.*"customer_id":3,/);
  }, 180_000);

  it('a run planned before fills kept ON UPDATE columns: rollback puts back the times its UPDATE rewrote, and keeps the rest', async () => {
    const { original, opts, t } = await changedBehind('sakila_forced_old');
    expect((await migrate(opts)).status).toBe('failed');
    // Such a plan has no firedTriggers (listed since fills keep ON UPDATE columns).
    await t.db.execute("UPDATE eventshift_runs SET plan = JSON_REMOVE(plan, '$.firedTriggers') WHERE mapping = ?", [mapping.name]);
    const undone = await rollback(opts);
    expect(undone.actions).toContain(
      'put back last_update of 2 row(s) of customer as the backup has them ' +
        "(rewritten by the run's UPDATE, which changed nothing else of those rows)",
    );
    expect(undone.actions.find((a) => a.startsWith('left 1 row(s) of customer'))).toContain('customer_id=11: email, last_update differ');
    const differences = snapshotDifferences(original, await snapshot(t.db));
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatch(
      /^customer: 1 row\(s\) only before \(\{"customer_id":11,.*\), 1 only after \(\{"customer_id":11,.*moved@example\.org/,
    );
  }, 180_000);
});

describe('a lookup on Sakila: address.district into district', () => {
  it('fills address.district_id and leaves every other column, last_update included; rollback gives the original', async () => {
    const t = await ws.database('sakila_districts');
    await loadSakila(serverUrl, t.name);
    const original = await snapshot(t.db);
    const opts = { databaseUrl: t.url, mapping: sakilaDistrictsMapping, backupDir: ws.path('backups'), reportDir: ws.path('districts') };
    const result = await migrate(opts);
    expect(result.verification!.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.status).toBe('completed');
    const [filled] = await t.db.query<{ n: string }>(
      `SELECT COUNT(*) AS n FROM address AS a JOIN district AS d ON d.district_id = a.district_id
        WHERE BINARY d.district_name = BINARY a.district`,
    );
    expect(Number(filled!.n)).toBe(original.address!.rows.length);
    const strip = (rows: string[]) => rows.map((r) => JSON.stringify({ ...JSON.parse(r), district_id: undefined })).sort();
    expect(strip((await snapshot(t.db)).address!.rows)).toEqual(original.address!.rows);

    await rollback(opts);
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
  }, 180_000);
});
