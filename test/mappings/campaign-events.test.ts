import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { referenceRun, runCli, runCliKilledAfter } from '../support/cli.ts';
import { generateCampaignEvents, type CampaignEventsFixture } from '../../mappings/campaign-events-tracking-tools/fixture.ts';
import { ceTrackingToolsDdl } from '../../mappings/campaign-events-tracking-tools/legacy-schema.ts';
import mapping from '../../mappings/campaign-events-tracking-tools/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { restoreMapping } from '../../src/run/restore.ts';
import { rollback } from '../../src/run/rollback.ts';
import { finalize } from '../../src/run/finalize.ts';
import { readManifest } from '../../src/backup/index.ts';

/**
 * The CampaignEvents mapping on databases shaped exactly as the extension defines `campaign_events` before the move
 * (commit 7ffd7d2e), generated with a seed derived from the clock (printed; CE_SEED=... replays one). What each event
 * must become is the extension's own rule, checked here in SQL independent of the mapping: an event whose tool id is
 * neither NULL nor 0 gets one ce_tracking_tools row (its tool id, its tool event id byte for byte, sync status 1 =
 * "unknown", last sync NULL = never synced); every other event gets none.
 */
const seed = Number(process.env.CE_SEED ?? Date.now() % 2 ** 31);
const name = 'campaign-events-tracking-tools';
const ws = testWorkspace('campaign');

type FixtureOptions = Parameters<typeof generateCampaignEvents>[1];
async function seeded(label: string, options: FixtureOptions = {}): Promise<{ t: TestDatabase; fixture: CampaignEventsFixture }> {
  const t = await ws.database(label);
  return { t, fixture: await generateCampaignEvents(t.db, { seed, events: 1500, ...options }) };
}

function cli(t: TestDatabase, args: string[], env: Record<string, string> = {}) {
  return runCli([...args, '--backup-dir', ws.path('backups')], { cwd: ws.dir, env: { DATABASE_URL: t.url, ...env } });
}

const options = (t: TestDatabase) => ({ databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: ws.path('reports') });
const count = async (t: TestDatabase, sql: string) => Number(Object.values((await t.db.query(sql))[0]!)[0]);

/** Events that break the extension's rule, counted in SQL over the two tables (0 when the run did what it must). */
async function brokenRule(t: TestDatabase): Promise<Record<string, number>> {
  const legacy = 'campaign_events e LEFT JOIN ce_tracking_tools t ON t.cett_event = e.event_id';
  return {
    toolButNoRow: await count(t, `SELECT COUNT(*) FROM ${legacy} WHERE COALESCE(e.event_tracking_tool_id, 0) <> 0 AND t.cett_id IS NULL`),
    rowButNoTool: await count(
      t,
      `SELECT COUNT(*) FROM ${legacy}
      WHERE NOT (COALESCE(e.event_tracking_tool_id, 0) <> 0) AND t.cett_id IS NOT NULL`,
    ),
    rowsPerEvent: await count(
      t,
      `SELECT COUNT(*) FROM (SELECT cett_event FROM ce_tracking_tools
      GROUP BY cett_event HAVING COUNT(*) > 1) x`,
    ),
    wrongValues: await count(
      t,
      `SELECT COUNT(*) FROM ${legacy} WHERE t.cett_id IS NOT NULL
      AND NOT (t.cett_tool_id = e.event_tracking_tool_id
      AND HEX(t.cett_tool_event_id) = HEX(e.event_tracking_tool_event_id) AND t.cett_sync_status = 1 AND t.cett_last_sync IS NULL)`,
    ),
    orphans: await count(
      t,
      `SELECT COUNT(*) FROM ce_tracking_tools t LEFT JOIN campaign_events e ON e.event_id = t.cett_event
      WHERE e.event_id IS NULL`,
    ),
  };
}
const none = { toolButNoRow: 0, rowButNoTool: 0, rowsPerEvent: 0, wrongValues: 0, orphans: 0 };

/** A table's columns and indexes as information_schema gives them, to compare a created table with upstream's. */
async function shape(t: TestDatabase, table: string) {
  return {
    columns: await t.db.query(
      `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table],
    ),
    indexes: await t.db.query(
      `SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [table],
    ),
  };
}

describe(`campaign-events-tracking-tools on the extension's schema (seed ${seed})`, () => {
  let t: TestDatabase;
  let fixture: CampaignEventsFixture;
  let original: Snapshot;

  beforeAll(async () => {
    ({ t, fixture } = await seeded('ce_life'));
    original = await snapshot(t.db);
    console.log(`campaign-events fixture: seed ${seed}`, { ...fixture, eventIdWithoutTool: fixture.eventIdWithoutTool.length });
  });

  it('plans a set-based step over the events with a tool, reading only the two columns the extension had', () => {
    const plan = cli(t, ['plan', name]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`trackingTools: ${fixture.withTool.toLocaleString('en-US')} source rows`);
    expect(plan.stdout).not.toContain('streamed');
    expect(plan.stdout).not.toMatch(/last_sync|FATAL/);
    const stray = fixture.eventIdWithoutTool;
    const warning = `${stray.length} tool event id with no tracking tool (tool id NULL or 0)`;
    expect(plan.stdout).toContain(`${warning}: ${stray.slice(0, 3).join(', ')}`);
    expect(plan.stdout).toContain('back up: ce_tracking_tools, campaign_events');
    expect(plan.stdout).toContain('create:  ce_tracking_tools');
    expect(plan.stdout).toContain('alter:   campaign_events: drop column event_tracking_tool_id (later, by eventshift finalize)');
    expect(plan.stdout).toContain('alter:   campaign_events: drop column event_tracking_tool_event_id (later, by eventshift finalize)');
    expect(plan.stdout.match(/drop column/g)).toHaveLength(2);
    const check = cli(t, ['check', name]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const sql = cli(t, ['sql', name, '--out', ws.path('sql'), '--check']);
    expect(sql.code, sql.stdout + sql.stderr).toBe(0);
  });

  it("migrates by the extension's rule: a row per event whose tool id is neither NULL nor 0, unknown and never synced", async () => {
    const result = await migrate({ ...options(t), chunkKeys: 200 });
    expect(result.status).toBe('completed');
    expect(result.rowsWritten).toEqual({ trackingTools: fixture.withTool });
    expect(result.verification!.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await brokenRule(t)).toEqual(none);
    expect(await count(t, 'SELECT COUNT(*) FROM ce_tracking_tools')).toBe(fixture.withTool);
    // The cases the rule decides, each present in the fixture: no row for tool id 0 or NULL; bytes and lengths kept.
    expect(fixture.toolIdZero).toBeGreaterThan(0);
    expect(fixture.toolIdNull).toBeGreaterThan(0);
    const tools = (where: string) => count(t, `SELECT COUNT(*) FROM ce_tracking_tools WHERE ${where}`);
    expect(await tools("HEX(cett_tool_event_id) LIKE '%00FF80'")).toBe(fixture.binaryToolEventIds);
    expect(await tools("cett_tool_event_id = ''")).toBe(fixture.emptyToolEventIds);
    expect(await tools('LENGTH(cett_tool_event_id) = 512')).toBe(fixture.fullLengthToolEventIds);
    expect(await tools(`cett_event IN (${fixture.eventIdWithoutTool.join(', ')})`)).toBe(0);
    // The table the run created has upstream's columns and indexes.
    const upstream = await ws.database('ce_upstream');
    await upstream.db.execute(ceTrackingToolsDdl);
    expect(await shape(t, 'ce_tracking_tools')).toEqual(await shape(upstream, 'ce_tracking_tools'));

    const again = cli(t, ['verify', name]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });

  it('a changed sync status, last sync or tool event id is caught and named by verify', async () => {
    const [a, b, c] = await t.db.query<{ id: string }>('SELECT cett_id AS id FROM ce_tracking_tools ORDER BY cett_id LIMIT 3');
    await t.db.execute('UPDATE ce_tracking_tools SET cett_sync_status = 2 WHERE cett_id = ?', [a!.id]);
    await t.db.execute("UPDATE ce_tracking_tools SET cett_last_sync = '20240101000000' WHERE cett_id = ?", [b!.id]);
    await t.db.execute("UPDATE ce_tracking_tools SET cett_tool_event_id = CONCAT(cett_tool_event_id, 'x') WHERE cett_id = ?", [c!.id]);
    try {
      const { verification } = await verify(options(t));
      const content = verification.checks.find((x) => x.id === 'trackingTools.tools.content')!;
      expect(content.ok).toBe(false);
      expect(content.failureCount).toBe(3);
      expect(content.failures.map((f) => f.key).sort()).toEqual([a!.id, b!.id, c!.id].sort());
    } finally {
      await t.db.execute('UPDATE ce_tracking_tools SET cett_sync_status = 1, cett_last_sync = NULL WHERE cett_id IN (?, ?)', [
        a!.id,
        b!.id,
      ]);
      await t.db.execute(
        'UPDATE ce_tracking_tools SET cett_tool_event_id = LEFT(cett_tool_event_id, LENGTH(cett_tool_event_id) - 1) WHERE cett_id = ?',
        [c!.id],
      );
    }
    expect((await verify(options(t))).verification.ok).toBe(true);
  });

  it('restore returns the original database; rollback of a new run too', async () => {
    await restoreMapping(options(t));
    expect(await snapshot(t.db)).toEqual(original);
    expect((await migrate(options(t))).status).toBe('completed');
    await rollback(options(t));
    expect(await snapshot(t.db)).toEqual(original);
  });

  it('finalize refuses before a verified run, drops the two columns after (killed half-way, it resumes); restore undoes it', async () => {
    expect((await migrate({ ...options(t), until: 'write' })).status).toBe('stopped');
    const early = cli(t, ['finalize', name, '--yes']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /Run \d+ of campaign-events-tracking-tools is stopped \(last stage write\); finalize needs the latest run completed/,
    );
    const run = await migrate(options(t));
    expect(run.status).toBe('completed');

    // A damaged backup: refused, nothing dropped.
    const manifest = await readManifest(ws.path('backups'), run.backup!.id);
    const file = join(run.backup!.dir, manifest.tables.find((x) => x.name === 'campaign_events')!.files[0]!.name);
    const bytes = await readFile(file);
    await writeFile(file, Buffer.concat([bytes, Buffer.from('x')]));
    const damaged = cli(t, ['finalize', name, '--yes']);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(new RegExp(`The backup ${run.backup!.id} of run \\d+ does not check out`));
    await writeFile(file, bytes);

    const killed = await runCliKilledAfter(['finalize', name, '--yes', '--quiet', '--backup-dir', ws.path('backups')], 60_000, {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url, EVENTSHIFT_FAULT: 'finalize drop campaign_events.event_tracking_tool_id worked' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const columns = async () =>
      (
        await t.db.query<{ c: string }>(
          `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'campaign_events'
        AND COLUMN_NAME LIKE 'event\\_tracking%' ORDER BY c`,
        )
      ).map((r) => r.c);
    expect(await columns()).toEqual(['event_tracking_tool_event_id']);

    const resumed = await finalize(options(t));
    expect(resumed).toMatchObject({ dropped: ['campaign_events.event_tracking_tool_event_id'], checksPassed: null });
    expect(resumed.alreadyDropped).toEqual(['campaign_events.event_tracking_tool_id']);
    expect(await columns()).toEqual([]);
    // What stays is the extension's table after commit 227424a1, with the tools in ce_tracking_tools.
    expect(await count(t, 'SELECT COUNT(*) FROM ce_tracking_tools')).toBe(fixture.withTool);
    expect((await finalize(options(t))).dropped).toEqual([]);

    await restoreMapping(options(t));
    expect(await snapshot(t.db)).toEqual(original);
  });
});

describe(`campaign-events-tracking-tools refuses what the new schema cannot hold (seed ${seed})`, () => {
  it('a tool event id over 512 bytes, or a tool without one: plan and migrate exit 1 naming the events; nothing is written', async () => {
    const { t, fixture } = await seeded('ce_bad', { plant: ['toolEventIdTooLong', 'toolWithoutEventId'] });
    const before = await snapshot(t.db);
    const plan = cli(t, ['plan', name]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(1);
    const sorted = (ids: number[]) => [...ids].sort((x, y) => x - y).join(', ');
    const tooLong = 'FATAL 2 tracking tool whose tool event id is longer than the 512 bytes cett_tool_event_id holds';
    expect(plan.stdout).toContain(`${tooLong}: ${sorted(fixture.toolEventIdTooLong)}`);
    expect(plan.stdout).toContain(`FATAL 2 tracking tool with no tool event id (NULL): ${sorted(fixture.toolWithoutEventId)}`);
    const run = cli(t, ['migrate', name, '--yes', '--quiet']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toMatch(/refuses to run: .*longer than the 512 bytes/);
    expect(await snapshot(t.db)).toEqual(before);
    expect(
      await count(
        t,
        `SELECT COUNT(*) FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ce_tracking_tools'`,
      ),
    ).toBe(0);

    // Fixed as the message says, the same database migrates.
    await t.db.execute(`UPDATE campaign_events SET event_tracking_tool_event_id = LEFT(event_tracking_tool_event_id, 512)
      WHERE event_id IN (${fixture.toolEventIdTooLong.join(', ')})`);
    await t.db.execute(`UPDATE campaign_events SET event_tracking_tool_id = NULL
      WHERE event_id IN (${fixture.toolWithoutEventId.join(', ')})`);
    const fixed = cli(t, ['migrate', name, '--yes', '--quiet']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(await brokenRule(t)).toEqual(none);
    expect(await count(t, 'SELECT COUNT(*) FROM ce_tracking_tools')).toBe(fixture.withTool - fixture.toolWithoutEventId.length);
  });

  it('a ce_tracking_tools the extension already created (empty, upstream DDL) is filled as it is', async () => {
    const { t, fixture } = await seeded('ce_existing');
    await t.db.execute(ceTrackingToolsDdl);
    const created = await shape(t, 'ce_tracking_tools');
    const run = cli(t, ['migrate', name, '--yes', '--quiet']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await shape(t, 'ce_tracking_tools')).toEqual(created);
    expect(await brokenRule(t)).toEqual(none);
    expect(await count(t, 'SELECT COUNT(*) FROM ce_tracking_tools')).toBe(fixture.withTool);
  });
});

describe(`campaign-events-tracking-tools killed mid-write (seed ${seed})`, () => {
  it('resumes to the same database as an uninterrupted run', async () => {
    const args = ['migrate', name, '--yes', '--quiet', '--chunk-keys', '300'];
    const ref = await seeded('ce_ref');
    const { reference, points } = await referenceRun(ref.t, [...args, '--backup-dir', ws.path('ref-backups')], ws.dir);
    const chunks = points.filter((p) => p.startsWith('chunk trackingTools '));
    expect(chunks.length).toBeGreaterThan(1);

    const { t, fixture } = await seeded('ce_kill');
    const killed = await runCliKilledAfter([...args, '--backup-dir', ws.path('kill-backups')], 60_000, {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url, EVENTSHIFT_FAULT: chunks[0]! },
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const partial = await count(t, 'SELECT COUNT(*) FROM ce_tracking_tools');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(fixture.withTool);

    const rerun = runCli([...args, '--backup-dir', ws.path('kill-backups')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/\(resumed\): completed/);
    expect(await snapshot(t.db)).toEqual(reference);
  });
});
