import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { generateVbzcart, type VbzcartFixture } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { plan } from '../../src/run/plan-command.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { restoreMapping } from '../../src/run/restore.ts';

// A seed the mapping was not written against: the same shape, other data.
const seed = 777_001;
let t: TestDatabase;
let backupDir: string;
let fixture: VbzcartFixture;
let before: Snapshot;

beforeAll(async () => {
  t = await freshDatabase('vbz_migrate');
  backupDir = await mkdtemp(join(tmpdir(), 'es-backups-'));
  fixture = await generateVbzcart(t.db, { seed });
  before = await snapshot(t.db);
});
afterAll(async () => {
  await t.drop();
  await rm(backupDir, { recursive: true, force: true });
});

describe('vbzcart-ord-pull on a seed-shaped database', () => {
  it('plans: counts, ranges, tables and every planted problem with its keys', async () => {
    const r = await plan({ databaseUrl: t.url, mapping });
    expect(r.ok).toBe(true);
    const steps = Object.fromEntries(r.plan.steps.map((s) => [s.name, s]));
    expect(steps.holdOn!.sourceRows).toBe(fixture.counts.pulls);
    expect(steps.holdOff!.sourceRows).toBe(fixture.counts.released);
    expect(steps.holdOn!.range).toEqual({ table: 'event', first: fixture.eventIds.holdOn.first, last: fixture.eventIds.holdOn.last });
    expect(steps.holdOff!.range).toEqual({ table: 'event', first: fixture.eventIds.holdOff.first, last: fixture.eventIds.holdOff.last });
    expect(steps.holdOff!.ids).toEqual({ strategy: 'offset', offset: 1500 + fixture.span });
    expect(r.plan.tables.backup.sort()).toEqual(['event', 'event_vc_legacy', 'event_vc_ord_hold', 'ord_pull', 'orders']);
    expect(r.plan.tables.create.sort()).toEqual(['event_vc_legacy', 'event_vc_ord_hold']);
    for (const [name, keys] of Object.entries(fixture.problems)) {
      const found = r.plan.problems.find((p) => p.name === name)!;
      expect(found.keys.map(Number), name).toEqual([...keys].sort((a, b) => a - b));
    }
    // Planning wrote nothing, not even bookkeeping.
    expect(await snapshot(t.db)).toEqual(before);
    expect(await t.db.query("SHOW TABLES LIKE 'eventshift%'")).toEqual([]);
  });

  it('migrates to exactly the rows the seed plan defines', async () => {
    const result = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: join(backupDir, 'report') });
    expect(result.status).toBe('completed');
    expect(result.verification?.ok).toBe(true);

    // The expectation is written here by hand, independently of the tool's compiler.
    const span = fixture.span;
    const expectedEvents = await t.db.query(`
      SELECT ID + 1500 AS ID, WhenPulled AS WhenStart, NULL AS WhenFinish, NULL AS ID_Session, NULL AS ID_Acct,
             'vc.order.hold.on' AS TypeCode, CONVERT(NotesPull USING utf8mb4) AS Notes FROM \`OLD ord_pull\`
      UNION ALL
      SELECT ID + 1500 + ${span}, WhenFreed, NULL, NULL, NULL, 'vc.order.hold.off', CONVERT(NotesFree USING utf8mb4)
        FROM \`OLD ord_pull\` WHERE WhenFreed IS NOT NULL AND WhenFreed NOT LIKE '0000%' AND DAYNAME(WhenFreed) IS NOT NULL
      ORDER BY ID`);
    const events = await t.db.query(`
      SELECT e.ID, e.WhenStart, e.WhenFinish, e.ID_Session, e.ID_Acct, e.TypeCode, h.Notes
        FROM event e JOIN event_vc_ord_hold h ON h.ID_Event = e.ID
       WHERE e.ID BETWEEN 1230 AND 6354 ORDER BY e.ID`);
    expect(events.map(normalizeInts)).toEqual(expectedEvents.map(normalizeInts));
    expect(events.length).toBe(fixture.counts.pulls + fixture.counts.released);

    const holds = await t.db.query(`SELECT * FROM event_vc_ord_hold ORDER BY ID_Event`);
    const expectedHolds = await t.db.query(`
      SELECT p.ID + 1500 AS ID_Event, p.ID_Ord AS ID_Order, p.ID_Type, 0 AS isRelease, t.doHoldRstk, t.doHoldChrg, t.doContact, t.doExamine,
             CONVERT(p.NotesPull USING utf8mb4) AS Notes
        FROM \`OLD ord_pull\` p LEFT JOIN ord_hold_type t ON t.ID = p.ID_Type
      UNION ALL
      SELECT ID + 1500 + ${span}, ID_Ord, ID_Type, 1, 0, 0, 0, 0, CONVERT(NotesFree USING utf8mb4)
        FROM \`OLD ord_pull\` WHERE DAYNAME(WhenFreed) IS NOT NULL
      ORDER BY ID_Event`);
    expect(holds.map(normalizeInts)).toEqual(expectedHolds.map(normalizeInts));

    const legacy = await t.db.query(
      `SELECT ID_Event, WhoAdmin, WhoSystem, WhoNetwork, isError, isSevere, isDebug FROM event_vc_legacy ORDER BY ID_Event`,
    );
    const expectedLegacy = await t.db.query(`
      SELECT ID + 1500 AS ID_Event, CONVERT(VbzUser USING utf8mb4) AS WhoAdmin, CONVERT(SysUser USING utf8mb4) AS WhoSystem,
             CONVERT(Machine USING utf8mb4) AS WhoNetwork, 0 AS isError, 0 AS isSevere, 0 AS isDebug
        FROM \`OLD ord_pull\` WHERE VbzUser IS NOT NULL OR SysUser IS NOT NULL OR (Machine IS NOT NULL AND Machine <> '')
       ORDER BY ID_Event`);
    expect(legacy.map(normalizeInts)).toEqual(expectedLegacy.map(normalizeInts));
    expect(legacy.length).toBeGreaterThan(0);

    // Existing events untouched, nothing outside the ranges added.
    const [counts] = await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM event');
    expect(Number(counts!.n)).toBe(fixture.counts.existingEvents + fixture.counts.pulls + fixture.counts.released);

    // orders: WhenHeld after WhenNeeded = latest WhenPulled of the unreleased pulls; ID_Pull kept as `ID_Pull OLD`.
    const columns = (
      await t.db.query<{ COLUMN_NAME: string }>(
        'SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
        ['orders'],
      )
    ).map((c) => c.COLUMN_NAME);
    expect(columns.slice(columns.indexOf('WhenNeeded'), columns.indexOf('WhenNeeded') + 2)).toEqual(['WhenNeeded', 'WhenHeld']);
    expect(columns).toContain('ID_Pull OLD');
    expect(columns).not.toContain('ID_Pull');
    const wrongHeld = await t.db.query(
      `
      SELECT o.ID FROM orders o LEFT JOIN (SELECT ID_Ord, MAX(WhenPulled) AS w FROM \`OLD ord_pull\` ` +
        `WHERE DAYNAME(WhenFreed) IS NULL GROUP BY ID_Ord) p
        ON p.ID_Ord = o.ID WHERE NOT (o.WhenHeld <=> p.w)`,
    );
    expect(wrongHeld).toEqual([]);
    const [held] = await t.db.query<{ n: string }>('SELECT COUNT(WhenHeld) AS n FROM orders');
    expect(Number(held!.n)).toBe(fixture.counts.ordersHeld);
    const oldPointers = await t.db.query('SELECT COUNT(*) AS n FROM orders WHERE `ID_Pull OLD` IS NOT NULL');
    expect(Number(oldPointers[0]!.n)).toBeGreaterThan(0);

    // latin1 (cp1252) text arrives intact in utf8mb4.
    const [sample] = await t.db.query<{ Notes: string }>('SELECT Notes FROM event_vc_ord_hold WHERE ID_Event = ?', [
      fixture.latin1Sample.pullId + 1500,
    ]);
    expect(sample!.Notes).toBe(fixture.latin1Sample.text);

    // The old table is renamed only now, after verification.
    expect(await t.db.query("SHOW TABLES LIKE 'ord_pull'")).toEqual([]);
  });

  it('verifies again on demand, after cutover', async () => {
    const r = await verify({ databaseUrl: t.url, mapping, backupDir });
    expect(r.verification.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.verification.checks.length).toBeGreaterThanOrEqual(10);
  });

  it('finds a completed run complete when migrate runs again, and changes nothing', async () => {
    const done = await snapshot(t.db);
    const again = await migrate({ databaseUrl: t.url, mapping, backupDir });
    expect(again).toMatchObject({ status: 'completed', resumed: true, stage: 'cutover', stageSeconds: {} });
    expect(await snapshot(t.db)).toEqual(done);
  });

  it('restores every table to its state before the run, and removes what the run created', async () => {
    const r = await restoreMapping({ databaseUrl: t.url, mapping, backupDir });
    expect(r.droppedRenamed).toEqual(['OLD ord_pull']);
    expect(await snapshot(t.db)).toEqual(before);
  });
});

/** TINYINT and INT come back as numbers, literals in a UNION sometimes as strings: compare them as numbers. */
function normalizeInts(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) && !/Notes|Who/.test(k) ? Number(v) : v]),
  );
}
