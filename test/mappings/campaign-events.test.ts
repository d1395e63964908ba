import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { referenceRun, runCli, runCliKilledAfter } from '../support/cli.ts';
import { generateCampaignEvents, type CampaignEventsFixture } from '../../mappings/campaign-events-tracking-tools/fixture.ts';
import mapping from '../../mappings/campaign-events-tracking-tools/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { restoreMapping } from '../../src/run/restore.ts';
import { rollback } from '../../src/run/rollback.ts';
import { finalize } from '../../src/run/finalize.ts';
import { readManifest } from '../../src/backup/index.ts';

/**
 * The CampaignEvents mapping end to end on databases generated with a seed derived from the clock (printed, so a
 * failure can be replayed with CE_SEED=...): its one step is streamed (cett_last_sync is luxon code).
 */
const seed = Number(process.env.CE_SEED ?? Date.now() % 2 ** 31);
const name = 'campaign-events-tracking-tools';
const ws = testWorkspace('campaign');

async function seeded(label: string, events = 1500): Promise<{ t: TestDatabase; fixture: CampaignEventsFixture }> {
  const t = await ws.database(label);
  return { t, fixture: await generateCampaignEvents(t.db, { seed, events }) };
}

function cli(t: TestDatabase, args: string[], env: Record<string, string> = {}) {
  return runCli([...args, '--backup-dir', ws.path('backups')], { cwd: ws.dir, env: { DATABASE_URL: t.url, ...env } });
}

const options = (t: TestDatabase) => ({ databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: ws.path('reports') });

describe(`campaign-events-tracking-tools (seed ${seed})`, () => {
  let t: TestDatabase;
  let fixture: CampaignEventsFixture;
  let original: Snapshot;

  beforeAll(async () => {
    ({ t, fixture } = await seeded('ce_life'));
    original = await snapshot(t.db);
    console.log(`campaign-events fixture: seed ${seed}`, fixture);
  });

  it('plans a streamed step; eventshift sql says it cannot export it', () => {
    const plan = cli(t, ['plan', name]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`trackingTools: ${fixture.withTool} source rows`);
    expect(plan.stdout).toContain('streamed: ce_tracking_tools.cett_last_sync computed in Node');
    expect(plan.stdout).toMatch(new RegExp(`warn +${fixture.toolIdOnly} event with a tracking tool but no tool event id`));
    expect(plan.stdout).toContain('back up: ce_tracking_tools, campaign_events');
    expect(plan.stdout).toContain('alter:   campaign_events: drop column event_tracking_tool_id (later, by eventshift finalize)');

    const sql = cli(t, ['sql', name, '--out', ws.path('sql'), '--check']);
    expect(sql.code, sql.stderr).toBe(1);
    expect(sql.stdout).toMatch(/data-trackingTools\.sql +step trackingTools \(NOT EXPORTED: code\(\) columns; eventshift migrate writes it\)/);
    expect(sql.stdout).toMatch(/error: code-column: Step trackingTools is NOT in this file: ce_tracking_tools\.cett_last_sync is computed in Node/);
  });

  it('migrates and verifies: one byte-exact row per event with both columns set, last sync in UTC', async () => {
    const result = await migrate({ ...options(t), batchRows: 37 });
    expect(result.status).toBe('completed');
    expect(result.rowsWritten).toEqual({ trackingTools: fixture.withTool });
    const content = result.verification!.checks.find((c) => c.id === 'trackingTools.tools.content')!;
    expect(content).toMatchObject({ ok: true, expected: fixture.withTool, actual: fixture.withTool });
    expect(result.verification!.checks.find((c) => c.id === 'campaign_events.unchanged')?.ok).toBe(true);

    const q = async (sql: string) => Number(Object.values((await t.db.query(sql))[0]!)[0]);
    const joined = 'ce_tracking_tools t JOIN campaign_events e ON e.event_id = t.cett_event';
    expect(await q('SELECT COUNT(*) FROM ce_tracking_tools')).toBe(fixture.withTool);
    expect(await q(`SELECT COUNT(*) FROM ${joined} WHERE t.cett_id = e.event_id AND t.cett_tool_id = e.event_tracking_tool_id AND t.cett_sync_status = 1
      AND t.cett_tool_event_id = e.event_tracking_tool_event_id AND LENGTH(t.cett_tool_event_id) = LENGTH(e.event_tracking_tool_event_id)`)).toBe(fixture.withTool);
    expect(await q(`SELECT COUNT(*) FROM ${joined} WHERE HEX(t.cett_tool_event_id) LIKE '%00FF80'`)).toBe(fixture.binaryToolEventIds);
    expect(await q(`SELECT COUNT(*) FROM ${joined} WHERE t.cett_last_sync IS NULL`)).toBe(fixture.nullLastSync + fixture.zeroLastSync);
    // Independent of luxon: Berlin is UTC+1 in winter and UTC+2 in summer, away from the change-over days.
    const utc = (hours: number) => `DATE_FORMAT(e.event_tracking_tool_last_sync - INTERVAL ${hours} HOUR, '%Y%m%d%H%i%s')`;
    expect(await q(`SELECT COUNT(*) FROM ${joined} WHERE MONTH(e.event_tracking_tool_last_sync) IN (12, 1, 2) AND NOT (t.cett_last_sync <=> ${utc(1)})`)).toBe(0);
    expect(await q(`SELECT COUNT(*) FROM ${joined} WHERE MONTH(e.event_tracking_tool_last_sync) IN (5, 6, 7, 8) AND NOT (t.cett_last_sync <=> ${utc(2)})`)).toBe(0);
    expect(await q(`SELECT COUNT(*) FROM ${joined} WHERE DAYNAME(e.event_tracking_tool_last_sync) IS NOT NULL AND NOT (t.cett_last_sync <=> ${utc(1)} OR t.cett_last_sync <=> ${utc(2)})`)).toBe(0);
    // The DST rule the mapping documents: a skipped wall time reads one hour later, a repeated one as standard time.
    const pinned = await t.db.query<{ l: string; s: string }>(`SELECT DISTINCT CAST(e.event_tracking_tool_last_sync AS CHAR) AS l, CAST(t.cett_last_sync AS CHAR) AS s FROM ${joined}
      WHERE e.event_tracking_tool_last_sync IN ('2023-03-26 02:30:00', '2023-10-29 02:30:00')`);
    expect(pinned.length).toBeGreaterThan(0);
    for (const p of pinned) expect(p.s).toBe({ '2023-03-26 02:30:00': '20230326013000', '2023-10-29 02:30:00': '20231029013000' }[p.l]);

    const again = cli(t, ['verify', name]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });

  it('a corrupted cett_last_sync or cett_tool_event_id is caught and named', async () => {
    const [a, b] = await t.db.query<{ id: string }>('SELECT cett_id AS id FROM ce_tracking_tools WHERE cett_last_sync IS NOT NULL ORDER BY cett_id LIMIT 2');
    const [c] = await t.db.query<{ id: string }>("SELECT cett_id AS id FROM ce_tracking_tools WHERE HEX(cett_tool_event_id) LIKE '%00FF80' AND cett_id NOT IN (?, ?) LIMIT 1", [a!.id, b!.id]);
    await t.db.execute('UPDATE ce_tracking_tools SET cett_last_sync = CONCAT(LEFT(cett_last_sync, 13), IF(RIGHT(cett_last_sync, 1) = 0x30, 0x31, 0x30)) WHERE cett_id = ?', [a!.id]);
    await t.db.execute('UPDATE ce_tracking_tools SET cett_last_sync = NULL WHERE cett_id = ?', [b!.id]);
    await t.db.execute('UPDATE ce_tracking_tools SET cett_tool_event_id = SUBSTRING(cett_tool_event_id, 2) WHERE cett_id = ?', [c!.id]);
    const { verification } = await verify(options(t));
    expect(verification.ok).toBe(false);
    const content = verification.checks.find((x) => x.id === 'trackingTools.tools.content')!;
    expect(content.ok).toBe(false);
    expect(content.failureCount).toBe(3);
    const reasons = Object.fromEntries(content.failures.map((f) => [f.key, `${f.legacyKey}: ${f.reason}`]));
    expect(reasons[a!.id]).toMatch(new RegExp(`^${a!.id}: differs from its legacy row: cett_last_sync is 0x[0-9a-f]{28} \\('\\d{14}'\\), expected 0x[0-9a-f]{28}`));
    expect(reasons[b!.id]).toMatch(/cett_last_sync is NULL, expected 0x/);
    expect(reasons[c!.id]).toMatch(/cett_tool_event_id is 0x[0-9a-f]*00ff80, expected 0x[0-9a-f]*00ff80$/);
  });

  it('restore returns the original database; rollback of a new run too', async () => {
    await restoreMapping(options(t));
    expect(await snapshot(t.db)).toEqual(original);
    expect((await migrate(options(t))).status).toBe('completed');
    await rollback(options(t));
    expect(await snapshot(t.db)).toEqual(original);
  });

  it('finalize refuses before a verified run, drops the columns after (killed half-way, it resumes); restore undoes it', async () => {
    expect((await migrate({ ...options(t), until: 'write' })).status).toBe('stopped');
    const early = cli(t, ['finalize', name, '--yes']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/Run \d+ of campaign-events-tracking-tools is stopped \(last stage write\); finalize needs the latest run completed, with a passed verification/);
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
    await expect(finalize({ ...options(t), backupDir: ws.path('nowhere') })).rejects.toThrow(
      new RegExp(`The backup ${run.backup!.id} of run \\d+ cannot be checked in .*nowhere`));

    const killed = await runCliKilledAfter(['finalize', name, '--yes', '--quiet', '--backup-dir', ws.path('backups')], 60_000, {
      cwd: ws.dir, env: { DATABASE_URL: t.url, EVENTSHIFT_FAULT: 'finalize drop campaign_events.event_tracking_tool_event_id worked' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const columns = async () => (await t.db.query<{ c: string }>(
      "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'campaign_events' AND COLUMN_NAME LIKE 'event\\_tracking%' ORDER BY c")).map((r) => r.c);
    expect(await columns()).toEqual(['event_tracking_tool_last_sync']);

    const resumed = await finalize(options(t));
    expect(resumed).toMatchObject({ dropped: ['campaign_events.event_tracking_tool_last_sync'], checksPassed: null });
    expect(resumed.alreadyDropped).toEqual(['campaign_events.event_tracking_tool_id', 'campaign_events.event_tracking_tool_event_id']);
    expect(await columns()).toEqual([]);
    expect((await finalize(options(t))).dropped).toEqual([]);

    await expect(rollback(options(t))).rejects.toThrow(/was finalized, so rollback refuses/);
    await expect(verify(options(t))).rejects.toThrow(/was finalized, so verify refuses/);
    await restoreMapping(options(t));
    expect(await snapshot(t.db)).toEqual(original);
  });
});

describe(`campaign-events-tracking-tools killed mid-write (seed ${seed})`, () => {
  it('resumes to the same database as an uninterrupted run, whatever the INSERT batch size', async () => {
    const args = ['migrate', name, '--yes', '--quiet', '--chunk-keys', '300'];
    const ref = await seeded('ce_ref', 2000);
    const { reference, points } = await referenceRun(ref.t, [...args, '--backup-dir', ws.path('ref-backups')], ws.dir);
    const chunks = points.filter((p) => p.startsWith('chunk trackingTools '));
    expect(chunks.length).toBeGreaterThan(1);

    const { t, fixture } = await seeded('ce_kill', 2000);
    const [first] = await t.db.query<{ k: string }>('SELECT MIN(event_id) AS k FROM campaign_events');
    const killed = await runCliKilledAfter([...args, '--batch-rows', '7', '--backup-dir', ws.path('kill-backups')], 60_000, {
      cwd: ws.dir, env: { DATABASE_URL: t.url, EVENTSHIFT_FAULT: `chunk trackingTools ${Number(first!.k) + 299}` },
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const [partial] = await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM ce_tracking_tools');
    expect(Number(partial!.n)).toBeGreaterThan(0);
    expect(Number(partial!.n)).toBeLessThan(fixture.withTool);

    const rerun = runCli([...args, '--batch-rows', '7', '--backup-dir', ws.path('kill-backups')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/\(resumed\): completed/);
    expect(await snapshot(t.db)).toEqual(reference);
  });
});
