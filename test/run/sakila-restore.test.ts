import { describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { serverUrl } from '../support/database.ts';
import { runCli, tracedRun } from '../support/cli.ts';
import { loadSakila } from '../support/public-data.ts';
import { sakilaMapping as mapping } from '../support/sakila-mapping.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';
import { leftoverTables } from '../backup/table-state.ts';
import { unfinishedRestores } from '../../src/backup/index.ts';
import { tableExists } from '../../src/db/introspect.ts';
import { finalize } from '../../src/run/finalize.ts';
import { migrate } from '../../src/run/migrate.ts';
import { restoreMapping } from '../../src/run/restore.ts';

/**
 * `restore` on the public Sakila database after the Sakila mapping's cutover (which renames `rental`, referenced by
 * `payment` and referencing `customer`, `inventory` and `staff`) and after its finalize (which drops a column of the
 * renamed table): the database comes back identical, foreign keys, triggers, views and routines included; and a
 * restore killed at each kind of boundary finishes when run again, never leaving a table of the backup missing.
 */
const ws = testWorkspace('sakila_restore');
const mappingModule = new URL('../support/sakila-mapping.ts', import.meta.url).pathname;

async function migrated(label: string, backupDir: string): Promise<{ t: TestDatabase; original: Snapshot }> {
  const t = await ws.database(label);
  await loadSakila(serverUrl, t.name);
  const original = await snapshot(t.db);
  const result = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: ws.path('reports', label) });
  expect(result.status).toBe('completed');
  return { t, original };
}

describe('restore after the Sakila cutover and finalize', () => {
  it('after cutover: every table back, foreign keys of payment pointed back at rental, the renamed table dropped', async () => {
    const backupDir = ws.path('cutover');
    const { t, original } = await migrated('sakila_cutover', backupDir);
    expect(await tableExists(t.db, 'OLD rental')).toBe(true);
    const result = await restoreMapping({ databaseUrl: t.url, mapping, backupDir });
    expect(result.droppedRenamed).toEqual(['OLD rental']);
    expect(result.restore!.repointed).toEqual(
      expect.arrayContaining(['payment.fk_payment_rental', 'payment.fk_payment_customer', 'inventory.fk_inventory_film']),
    );
    expect(result.restore!.tables.map((r) => [r.name, r.action, r.definitionMatches])).toEqual([
      ['event', 'dropped', null],
      ['event_rental', 'dropped', null],
      ['customer', 'restored', true],
      ['film', 'restored', true],
      ['rental', 'restored', true],
      // What upd_film (fired by the projection of film) may write is backed up too.
      ['film_text', 'restored', true],
    ]);
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
    expect(await leftoverTables(t.db)).toEqual([]);
    expect(await unfinishedRestores(t.db)).toEqual([]);
    // The foreign keys hold again, in both directions.
    await expect(
      t.db.execute('INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (1, 1, 99999, 1, NOW())'),
    ).rejects.toThrow(/foreign key constraint fails/);
    await expect(t.db.execute('DELETE FROM customer WHERE customer_id = 1')).rejects.toThrow(/foreign key constraint fails/);
  }, 180_000);

  it('after finalize: the dropped column is back, and so is everything else', async () => {
    const backupDir = ws.path('finalize');
    const { t, original } = await migrated('sakila_finalize', backupDir);
    const finalized = await finalize({ databaseUrl: t.url, mapping, backupDir, acceptBreaking: true });
    expect(finalized.dropped).toEqual(['OLD rental.return_date']);
    await restoreMapping({ databaseUrl: t.url, mapping, backupDir });
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
    expect(await leftoverTables(t.db)).toEqual([]);
  }, 180_000);

  it('a failure after the swap says what the database holds and what remains; restore again finishes it', async () => {
    const backupDir = ws.path('failure');
    const { t, original } = await migrated('sakila_failure', backupDir);
    const failAt = 'restore repoint payment fk_payment_rental dropped';
    const error = await restoreMapping({
      databaseUrl: t.url,
      mapping,
      backupDir,
      faultPoint: (name) => {
        if (name === failAt) throw new Error('the connection was lost');
      },
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      new RegExp(
        [
          '^Restore of backup \\S+ stopped part-way \\(the connection was lost\\)\\. es_sakila_failure_\\w+ now holds every table of the ',
          'backup \\(customer, film, rental, film_text\\) with its verified rows, without the tables it did not have ',
          '\\(event, event_rental\\), but pointing foreign keys fk_payment_rental of payment back at the restored tables; ',
          'dropping the old copies .*; adding the foreign keys of customer, film, rental, film_text; ',
          'recreating the triggers and AUTO_INCREMENT of customer, film, rental, film_text remain to do\\. ',
          'Run the same restore again: it resumes from its journal \\(eventshift_restores\\)\\.$',
        ].join(''),
      ),
    );
    for (const table of ['customer', 'film', 'rental']) expect(await tableExists(t.db, table), table).toBe(true);
    const again = await restoreMapping({ databaseUrl: t.url, mapping, backupDir });
    expect(again.restore!.resumed).toBe(true);
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
    expect(await leftoverTables(t.db)).toEqual([]);
  }, 180_000);
});

describe('restore killed at its boundaries', () => {
  // One boundary of each kind (every step of the restore, before and after its journal entry), not all of them: each
  // is a Sakila load, a migrate and two CLI restores, and the ~26 boundaries take minutes on a loaded 2-core machine.
  // The first table's staging (nothing kept from earlier) and rental's (customer and film kept) are both covered.
  const sampled = [
    'restore stage customer loaded',
    'restore stage rental loaded',
    'restore stage rental verified',
    'restore swap before',
    'restore swap renamed',
    'restore swap after',
    'restore repoint payment fk_payment_rental dropped',
    'restore repoint payment fk_payment_rental',
    'restore old copies dropped',
    'restore foreign keys rental',
    'restore finish rental',
    'restore run work tables dropped',
  ];
  it('restore again finishes it, and the database is identical to the one before the run', { timeout: 600_000 }, async () => {
    const restoreArgs = (backupDir: string) => ['restore', mappingModule, '--yes', '--quiet', '--backup-dir', backupDir];
    const reference = await migrated('sakila_kill_ref', ws.path('kill-ref'));
    const traced = await tracedRun(restoreArgs(ws.path('kill-ref')), { cwd: ws.dir, env: { DATABASE_URL: reference.t.url } });
    expect(traced.run.code, traced.run.stderr).toBe(0);
    const points = traced.points.filter((p) => sampled.includes(p));
    expect(points).toEqual(sampled);
    await ws.drop(reference.t);
    let i = 0;
    for (const point of points) {
      const backupDir = ws.path(`kill${i}`);
      const { t, original } = await migrated(`sakila_kill_${i++}`, backupDir);
      const killed = runCli(restoreArgs(backupDir), { cwd: ws.dir, env: { DATABASE_URL: t.url, EVENTSHIFT_FAULT: point } });
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');
      // Every table of the backup is there, under its name or (before the swap) the cutover's.
      for (const table of ['customer', 'film']) expect(await tableExists(t.db, table), `${point}: ${table}`).toBe(true);
      expect((await tableExists(t.db, 'rental')) || (await tableExists(t.db, 'OLD rental')), `${point}: rental`).toBe(true);
      const again = runCli(restoreArgs(backupDir), { cwd: ws.dir, env: { DATABASE_URL: t.url } });
      expect(again.code, `${point}: ${again.stderr}`).toBe(0);
      expect(snapshotDifferences(original, await snapshot(t.db)), point).toEqual([]);
      expect(await leftoverTables(t.db), point).toEqual([]);
      expect(await unfinishedRestores(t.db), point).toEqual([]);
      await ws.drop(t);
    }
  });
});
