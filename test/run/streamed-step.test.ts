import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot } from '../support/snapshot.ts';
import { referenceRun, runCli, runCliKilledAfter } from '../support/cli.ts';
import { loadMapping } from '../../src/mapping/load.ts';
import type { Mapping } from '../../src/mapping/define.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { restoreMapping } from '../../src/run/restore.ts';
import { mulberry32 } from '../../mappings/seeded-random.ts';

/**
 * A step with a code() column, end to end on the real server: a legacy DATETIME in a wiki's local time
 * (Europe/Berlin) becomes a MediaWiki timestamp in UTC, computed by luxon in Node. The step is streamed: read in
 * key-range chunks, computed, written with multi-row INSERTs, each chunk committed with its journal entry; verify
 * recomputes every row; `eventshift sql` says it cannot export it; a run killed mid-write resumes to the database an
 * uninterrupted run gives. The data is drawn from a seed (printed; STREAMED_SEED=... replays one).
 */
const seed = Number(process.env.STREAMED_SEED ?? Date.now() % 2 ** 31);
const root = join(import.meta.dirname, '../..');
const ws = testWorkspace('streamed');
let dir: string;
let mapping: Mapping;

const mappingSource = `import { DateTime } from 'luxon';
import { bigint, binary, mysqlTable } from 'drizzle-orm/mysql-core';
import { code, col, defineMapping, id } from ${JSON.stringify(join(root, 'src/mapping/define.ts'))};
const synced = mysqlTable('sync_event', {
  ID: bigint('ID', { mode: 'bigint', unsigned: true }).primaryKey(),
  ID_Job: bigint('ID_Job', { mode: 'bigint', unsigned: true }).notNull(),
  WhenSynced: binary('WhenSynced', { length: 14 }),
});
export default defineMapping({
  name: 'streamed-sync', sources: { job: 'sync_job' }, targets: { synced },
  steps: {
    syncs: {
      from: 'job', ids: { table: 'synced', strategy: 'offset', offset: 0 },
      rows: { synced: { ID: id, ID_Job: col('job.id'), WhenSynced: code({
        description: 'Berlin wall time -> MediaWiki timestamp in UTC, by luxon',
        inputs: { local: col('job.synced_at') },
        fn: ({ local }) => {
          if (typeof local !== 'string') return null;
          const t = DateTime.fromSQL(local, { zone: 'Europe/Berlin' });
          return t.isValid ? t.toUTC().toFormat('yyyyMMddHHmmss') : null;
        },
      }) } },
    },
  },
});
`;

/** Wall times Europe/Berlin skips (spring forward) and repeats (fall back). */
const dstWallTimes = ['2023-03-26 02:30:00', '2023-10-29 02:30:00'];

async function seeded(label: string, rows = 1500): Promise<TestDatabase> {
  const t = await ws.database(label);
  await t.db.execute('CREATE TABLE sync_job (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, synced_at DATETIME NULL)');
  const random = mulberry32(seed);
  const values = Array.from({ length: rows }, (_, i) => {
    const r = random();
    if (r < 0.15) return [i + 1, null];
    if (r < 0.18) return [i + 1, '0000-00-00 00:00:00'];
    if (r < 0.2) return [i + 1, dstWallTimes[i % 2]];
    const d = new Date(Date.UTC(2022, 0, 1) + Math.floor(random() * 3 * 365 * 86400) * 1000);
    return [i + 1, d.toISOString().slice(0, 19).replace('T', ' ')];
  });
  await t.db.execute("SET SESSION sql_mode = ''");
  await t.db.execute('INSERT INTO sync_job (id, synced_at) VALUES ?', [values]);
  return t;
}

const cli = (t: TestDatabase, args: string[], backups = 'backups') =>
  runCli([...args, '--backup-dir', ws.path(backups)], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
const count = async (t: TestDatabase, sql: string) => Number(Object.values((await t.db.query(sql))[0]!)[0]);

beforeAll(async () => {
  await mkdir(join(root, 'test-output'), { recursive: true });
  dir = await mkdtemp(join(root, 'test-output', 'streamed-'));
  await writeFile(join(dir, 'index.ts'), mappingSource);
  mapping = await loadMapping(dir);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(`a streamed step (code() column, seed ${seed})`, () => {
  it('plans as streamed, cannot be exported as SQL, migrates, and verify recomputes every row', async () => {
    const t = await seeded('streamed_life');
    const original = await snapshot(t.db);
    const plan = cli(t, ['plan', dir]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain('streamed: sync_event.WhenSynced computed in Node');
    const sql = cli(t, ['sql', dir, '--out', ws.path('sql'), '--check']);
    expect(sql.code, sql.stderr).toBe(1);
    expect(sql.stdout).toMatch(/error: code-column: Step syncs is NOT in this file: sync_event\.WhenSynced is computed in Node/);

    const options = { databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: ws.path('reports') };
    const result = await migrate({ ...options, batchRows: 37 });
    expect(result.status).toBe('completed');
    expect(result.verification!.checks.filter((c) => !c.ok)).toEqual([]);
    const joined = 'sync_event s JOIN sync_job j ON j.id = s.ID_Job';
    expect(await count(t, 'SELECT COUNT(*) FROM sync_event')).toBe(1500);
    // Independent of luxon: Berlin is UTC+1 in winter and UTC+2 in summer, away from the change-over days.
    const utc = (hours: number) => `DATE_FORMAT(j.synced_at - INTERVAL ${hours} HOUR, '%Y%m%d%H%i%s')`;
    const wrong = (where: string) => count(t, `SELECT COUNT(*) FROM ${joined} WHERE ${where}`);
    expect(await wrong(`MONTH(j.synced_at) IN (12, 1, 2) AND NOT (s.WhenSynced <=> ${utc(1)})`)).toBe(0);
    expect(await wrong(`MONTH(j.synced_at) IN (5, 6, 7, 8) AND NOT (s.WhenSynced <=> ${utc(2)})`)).toBe(0);
    expect(await wrong('(j.synced_at IS NULL OR DAYNAME(j.synced_at) IS NULL) AND s.WhenSynced IS NOT NULL')).toBe(0);
    // The DST rule luxon applies: a skipped wall time reads one hour later, a repeated one as standard time.
    const pinned = await t.db.query<{ l: string; s: string }>(
      `SELECT DISTINCT CAST(j.synced_at AS CHAR) AS l, CAST(s.WhenSynced AS CHAR) AS s
      FROM ${joined} WHERE j.synced_at IN ('2023-03-26 02:30:00', '2023-10-29 02:30:00')`,
    );
    expect(pinned.length).toBeGreaterThan(0);
    for (const p of pinned) expect(p.s).toBe({ '2023-03-26 02:30:00': '20230326013000', '2023-10-29 02:30:00': '20231029013000' }[p.l]);

    const [a, b] = await t.db.query<{ id: string }>('SELECT ID AS id FROM sync_event WHERE WhenSynced IS NOT NULL ORDER BY ID LIMIT 2');
    await t.db.execute(
      'UPDATE sync_event SET WhenSynced = CONCAT(LEFT(WhenSynced, 13), IF(RIGHT(WhenSynced, 1) = 0x30, 0x31, 0x30)) WHERE ID = ?',
      [a!.id],
    );
    await t.db.execute('UPDATE sync_event SET WhenSynced = NULL WHERE ID = ?', [b!.id]);
    const { verification } = await verify(options);
    const content = verification.checks.find((x) => x.id === 'syncs.synced.content')!;
    expect(content.ok).toBe(false);
    expect(content.failureCount).toBe(2);
    const reasons = Object.fromEntries(content.failures.map((f) => [f.key, f.reason]));
    expect(reasons[a!.id]).toMatch(/^differs from its legacy row: WhenSynced is 0x[0-9a-f]{28} \('\d{14}'\), expected 0x[0-9a-f]{28}/);
    expect(reasons[b!.id]).toMatch(/WhenSynced is NULL, expected 0x/);

    await restoreMapping(options);
    expect(await snapshot(t.db)).toEqual(original);
  });

  it('killed mid-write, resumes to the same database as an uninterrupted run, whatever the INSERT batch size', async () => {
    const args = ['migrate', dir, '--yes', '--quiet', '--chunk-keys', '300'];
    const ref = await seeded('streamed_ref', 2000);
    const { reference, points } = await referenceRun(ref, [...args, '--backup-dir', ws.path('ref-backups')], ws.dir);
    const chunks = points.filter((p) => p.startsWith('chunk syncs '));
    expect(chunks.length).toBeGreaterThan(1);

    const t = await seeded('streamed_kill', 2000);
    const killed = await runCliKilledAfter([...args, '--batch-rows', '7', '--backup-dir', ws.path('kill-backups')], 60_000, {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url, EVENTSHIFT_FAULT: chunks[0]! },
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const partial = await count(t, 'SELECT COUNT(*) FROM sync_event');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(2000);

    const rerun = cli(t, [...args, '--batch-rows', '7'], 'kill-backups');
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/\(resumed\): completed/);
    expect(await snapshot(t.db)).toEqual(reference);
  });
});
