import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot } from '../support/snapshot.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { plan } from '../../src/run/plan-command.ts';
import { migrate } from '../../src/run/migrate.ts';
import { lockName, tryLock } from '../../src/run/lock.ts';
import { ensureBookkeeping } from '../../src/run/bookkeeping.ts';
import { EventshiftError } from '../../src/errors.ts';

const ws = testWorkspace('refuse');

async function database(label: string, plant: Parameters<typeof generateVbzcart>[1]) {
  const t = await ws.database(label);
  const fixture = await generateVbzcart(t.db, plant);
  return { t, fixture };
}

async function expectRefusedUnchanged(t: TestDatabase, pattern: RegExp) {
  const before = await snapshot(t.db);
  const error = await migrate({ databaseUrl: t.url, mapping, backupDir: ws.dir }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(EventshiftError);
  expect((error as EventshiftError).kind).toBe('refused');
  expect((error as EventshiftError).message).toMatch(pattern);
  expect(await snapshot(t.db)).toEqual(before);
  expect(await t.db.query("SHOW TABLES LIKE 'eventshift%'")).toEqual([]);
  expect(await readdir(ws.dir)).toEqual([]);
}

describe('refusals leave the database unchanged', () => {
  it('refuses an event inside the reserved range, naming the colliding IDs', async () => {
    const { t, fixture } = await database('vbz_collide', { seed: 4242, plant: { eventInRange: true } });
    const r = await plan({ databaseUrl: t.url, mapping });
    expect(r.ok).toBe(false);
    const colliding = fixture.eventIds.inReservedRange;
    expect(colliding.length).toBeGreaterThan(0);
    expect(r.reasons.join(' ')).toContain(`first: ${colliding.slice(0, 5).join(', ')}`);
    await expectRefusedUnchanged(t, new RegExp(`holdOn: ${colliding.length} row\\(s\\) of event already have IDs`));
  });

  it('refuses a zero WhenPulled before writing anything, naming the pulls', async () => {
    const { t, fixture } = await database('vbz_zero', { seed: 4343, plant: { zeroWhenPulled: 2 } });
    const keys = fixture.problems.invalidWhenPulled;
    expect(keys.length).toBe(2);
    await expectRefusedUnchanged(t, new RegExp(`2 pull whose WhenPulled .*${keys.sort((a, b) => a - b).join(', ')}`));
  });

  it('refuses a second run while one holds the lock, naming that run', async () => {
    const { t } = await database('vbz_lock', { seed: 4444 });
    await ensureBookkeeping(t.db);
    const lock = (await tryLock(t.url, lockName(t.name, mapping.name)))!;
    try {
      await t.db.execute(
        `INSERT INTO eventshift_runs (mapping, status, stage, plan, host, pid, lock_connection_id, started_at, updated_at)
         VALUES (?, 'running', 'write', '{}', 'db-admin-laptop', 4711, ?, '2026-11-21 09:00:00', '2026-11-21 09:00:00')`,
        [mapping.name, lock.connectionId],
      );
      const error = (await migrate({ databaseUrl: t.url, mapping, backupDir: ws.dir }).catch((e: unknown) => e)) as EventshiftError;
      expect(error.kind).toBe('refused');
      expect(error.message).toMatch(
        /^Run \d+ of vbzcart-ord-pull \(host db-admin-laptop, pid 4711, started 2026-11-21 09:00:00.000 UTC\) holds the lock/,
      );
    } finally {
      await lock.release();
    }
  });
});
