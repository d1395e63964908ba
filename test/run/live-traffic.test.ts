import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { generateVbzcart, type VbzcartFixture } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { connect } from '../../src/db/connection.ts';
import { plan } from '../../src/run/plan-command.ts';
import { migrate } from '../../src/run/migrate.ts';
import { rollback } from '../../src/run/rollback.ts';
import { restoreMapping } from '../../src/run/restore.ts';
import { EventshiftError } from '../../src/errors.ts';

/**
 * The application keeps writing while the run writes: new events with AUTO_INCREMENT IDs and new orders. The
 * database's events all lie below the reserved ranges, so only raising AUTO_INCREMENT keeps the application out.
 */
let t: TestDatabase;
let backupDir: string;
let fixture: VbzcartFixture;
let original: Snapshot;
const appEvents: number[] = [];
const appOrders: number[] = [];
/** Legacy-extension rows the application writes for its own events, once the run has created event_vc_legacy. */
const appHolds: number[] = [];

beforeAll(async () => {
  t = await freshDatabase('live');
  backupDir = await mkdtemp(join(tmpdir(), 'es-live-'));
  fixture = await generateVbzcart(t.db, { seed: 6060, pulls: 3000 });
  await t.db.execute('DELETE FROM event WHERE ID >= ?', [fixture.eventIds.existingHigh.first]);
  await t.db.execute('ALTER TABLE event AUTO_INCREMENT = 1');
  original = await snapshot(t.db);
});
afterAll(async () => {
  await t.drop();
  await rm(backupDir, { recursive: true, force: true });
});

/** Inserts like an application, one row at a time, until stopped. */
function applicationWriter() {
  let stopped = false;
  const done = (async () => {
    const app = await connect(t.url);
    try {
      for (let i = 0; !stopped && i < 5000; i++) {
        const e = await app.execute(
          "INSERT INTO event (WhenStart, TypeCode, Descrip) VALUES (UTC_TIMESTAMP(), 'vc.app.live', 'written by the shop meanwhile')",
        );
        appEvents.push(e.insertId);
        const hold = await app
          .execute("INSERT INTO event_vc_legacy (ID_Event, WhoAdmin, isError, isSevere, isDebug) VALUES (?, 'shop', 0, 0, 0)", [e.insertId])
          .catch((error: Error) => {
            if (/doesn't exist/.test(error.message)) return null;
            throw error;
          });
        if (hold) appHolds.push(e.insertId);
        if (i % 5 === 0) {
          const o = await app.execute('INSERT INTO orders (Number, WhenCreated) VALUES (?, UTC_TIMESTAMP())', [`LIVE-${i}`]);
          appOrders.push(o.insertId);
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    } finally {
      await app.close();
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

describe('a run with the application writing at the same time', () => {
  it('raises AUTO_INCREMENT past ranges above the current maximum, and no application row lands inside them', async () => {
    const planned = await plan({ databaseUrl: t.url, mapping });
    const space = planned.plan.idSpace.find((s) => s.table === 'event')!;
    const top = Math.max(...space.ranges.map((r) => r.last));
    expect(space.raiseAutoIncrementTo).toBe(top + 1);

    await migrate({ databaseUrl: t.url, mapping, backupDir, until: 'backup' });
    const writer = applicationWriter();
    const during = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: join(backupDir, 'report'), chunkKeys: 40 });
    const whileRunning = appEvents.length;
    await new Promise((r) => setTimeout(r, 50));
    await writer.stop();

    expect(during.status, JSON.stringify(during.verification?.checks.filter((c) => !c.ok))).toBe('completed');
    expect(during.verification?.ok, JSON.stringify(during.verification?.checks.filter((c) => !c.ok))).toBe(true);
    expect(whileRunning).toBeGreaterThan(20);
    expect(appHolds.length).toBeGreaterThan(5);
    for (const id of appEvents) {
      for (const r of space.ranges) expect(id >= r.first && id <= r.last, `app event ${id} inside ${r.step}`).toBe(false);
    }
    const [kept] = await t.db.query<{ n: string }>("SELECT COUNT(*) AS n FROM event WHERE TypeCode = 'vc.app.live'");
    expect(Number(kept!.n)).toBe(appEvents.length);
  });

  it('refuses to restore over the rows the application wrote, naming them, and changes nothing', async () => {
    const before = await snapshot(t.db);
    const error = (await restoreMapping({ databaseUrl: t.url, mapping, backupDir }).catch((e: unknown) => e)) as EventshiftError;
    expect(error).toBeInstanceOf(EventshiftError);
    expect(error.kind).toBe('refused');
    expect(error.message).toContain(`${appEvents.length} row(s) added to event`);
    expect(error.message).toContain(`${appOrders.length} row(s) added to orders`);
    expect(error.message).toContain(`${appHolds.length} row(s) added to event_vc_legacy`);
    expect(error.message).toContain("`eventshift rollback vbzcart-ord-pull` removes only the run's own writes and keeps them");
    expect(await snapshot(t.db)).toEqual(before);
  });

  it("rolls back exactly the run's writes and keeps the application's rows", async () => {
    const result = await rollback({ databaseUrl: t.url, mapping, backupDir });
    expect(result.rowsDeleted.event).toBe(fixture.counts.pulls + fixture.counts.released);
    // The run created event_vc_legacy, but the application wrote to it too: kept, with only the application's rows.
    expect(result.keptTables).toEqual([{ table: 'event_vc_legacy', rows: appHolds.length }]);
    const now = await snapshot(t.db);
    expect(now.event_vc_legacy!.rows.length).toBe(appHolds.length);
    delete now.event_vc_legacy;
    // Legacy tables are back as they were; event and orders hold the original rows plus the application's.
    expect(now.ord_pull).toEqual(original.ord_pull);
    expect(now.ord_hold_type).toEqual(original.ord_hold_type);
    expect(Object.keys(now).sort()).toEqual(Object.keys(original).sort());
    const withoutApp = (rows: string[], marker: string) => rows.filter((r) => !r.includes(marker));
    expect(withoutApp(now.event!.rows, 'vc.app.live')).toEqual(original.event!.rows);
    expect(now.event!.rows.length).toBe(original.event!.rows.length + appEvents.length);
    expect(withoutApp(now.orders!.rows, 'LIVE-')).toEqual(original.orders!.rows);
    expect(now.orders!.rows.length).toBe(original.orders!.rows.length + appOrders.length);
    expect(now.orders!.create.replace(/ AUTO_INCREMENT=\d+/, '')).toBe(original.orders!.create.replace(/ AUTO_INCREMENT=\d+/, ''));
  });

  it('restores with --force, and says what it threw away', async () => {
    await t.db.execute('DROP TABLE event_vc_legacy');
    await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: join(backupDir, 'report-2') });
    const [before] = await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM event');
    await t.db.execute("INSERT INTO event (WhenStart, TypeCode) VALUES (UTC_TIMESTAMP(), 'vc.app.late')");
    await expect(restoreMapping({ databaseUrl: t.url, mapping, backupDir })).rejects.toThrow(/1 row\(s\) added to event/);
    const forced = await restoreMapping({ databaseUrl: t.url, mapping, backupDir, force: true });
    expect(forced.lost).toEqual([{ table: 'event', addedRows: 1, changed: false }]);
    // Back to the second run's backup, which already held the first batch of application rows; the late one is gone.
    const [after] = await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM event');
    expect(Number(after!.n)).toBe(Number(before!.n) - fixture.counts.pulls - fixture.counts.released);
    expect(await t.db.query("SELECT ID FROM event WHERE TypeCode = 'vc.app.late'")).toEqual([]);
  });
});
