import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { ensureBookkeeping } from '../../src/run/bookkeeping.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('bookkeeping');
});
afterAll(async () => {
  await t.drop();
});

const tables = async () =>
  (
    await t.db.query<{ n: string }>(
      'SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ' +
        "AND TABLE_NAME LIKE 'eventshift\\_%' ORDER BY n",
    )
  ).map((r) => r.n);

describe('bookkeeping migrations', () => {
  it('create every table once, and a second call changes nothing', async () => {
    await ensureBookkeeping(t.db);
    const first = await tables();
    expect(first).toEqual(
      expect.arrayContaining(['eventshift_backups', 'eventshift_lineage', 'eventshift_migrations', 'eventshift_runs', 'eventshift_steps']),
    );
    const [{ n }] = (await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM eventshift_migrations')) as [{ n: string }];
    await ensureBookkeeping(t.db);
    expect(await tables()).toEqual(first);
    expect((await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM eventshift_migrations'))[0]!.n).toBe(n);
  });

  it('finish a migration a killed process left half-applied (some tables made, none recorded)', async () => {
    await t.db.execute('DELETE FROM eventshift_migrations');
    await t.db.execute('DROP TABLE eventshift_steps, eventshift_lineage');
    await ensureBookkeeping(t.db);
    expect(await tables()).toEqual(expect.arrayContaining(['eventshift_steps', 'eventshift_lineage', 'eventshift_runs']));
  });
});
