import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import type { Db } from '../../src/db/connection.ts';
import { sideBySide } from '../../src/db/side-by-side.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('side_by_side');
});
afterAll(async () => {
  await t.drop();
});

const connectionId = async (db: Db) => Number((await db.query<{ id: string }>('SELECT CONNECTION_ID() AS id'))[0]!.id);
const alive = async (id: number) => (await t.db.query('SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?', [id])).length > 0;
async function closed(id: number): Promise<boolean> {
  for (let i = 0; i < 50 && (await alive(id)); i++) await new Promise((r) => setTimeout(r, 20));
  return !(await alive(id));
}

/** Resolves once `n` callers have arrived: pieces that wait on it can only all finish if they run at the same time. */
function barrier(n: number) {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the pieces did not run at the same time')), 5000));
  return async () => {
    if (++arrived === n) open();
    await Promise.race([opened, timeout]);
  };
}

describe('sideBySide', () => {
  it('runs the pieces at once, on the given connection and a new one, returns results in order, and closes the new one', async () => {
    const meet = barrier(2);
    const ids = await sideBySide(t.db, [
      async (on) => (await meet(), connectionId(on)),
      async (on) => (await meet(), connectionId(on)),
      async (on) => connectionId(on),
    ]);
    expect(ids).toHaveLength(3);
    expect(ids).toContain(t.db.connectionId);
    expect(new Set(ids.slice(0, 2)).size).toBe(2);
    const other = ids.find((id) => id !== t.db.connectionId)!;
    expect(await closed(other)).toBe(true);
  });

  it('throws the first error once every running piece has ended, and still closes the new connection', async () => {
    let failedOn = 0;
    let slowEnded = false;
    const failure = sideBySide(t.db, [
      async (on) => {
        await on.query('SELECT SLEEP(0.2)');
        slowEnded = true;
        return 1;
      },
      async (on) => {
        failedOn = await connectionId(on);
        await on.query('SELECT no_such_column FROM information_schema.TABLES LIMIT 1');
        return 2;
      },
    ]);
    await expect(failure).rejects.toThrow(/no_such_column/);
    expect(slowEnded).toBe(true);
    expect(failedOn).not.toBe(t.db.connectionId);
    expect(await closed(failedOn)).toBe(true);
    expect(await connectionId(t.db)).toBe(t.db.connectionId);
  });

  it('with shared: false, runs every piece on the given connection, one after the other', async () => {
    const ids = await sideBySide(t.db, [connectionId, connectionId, connectionId], { shared: false });
    expect(ids).toEqual([t.db.connectionId, t.db.connectionId, t.db.connectionId]);
  });
});
