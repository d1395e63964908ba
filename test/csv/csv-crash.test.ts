import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { runCli, tracedRun } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { exportOrdPullCsv, usExcelDialect } from '../../mappings/vbzcart-ord-pull/csv-export.ts';

/**
 * A run that reads ord_pull from CSV, killed (SIGKILL) around and inside its load step, resumes (without --source:
 * the plan says which file) to the same database as a run never interrupted; a rollback after such a kill returns the
 * database as it was, staging table and all.
 */
const fixtureOptions = { seed: 5152, pulls: 2600 };
let work: string;
let file: string;
let reference: Snapshot;
let original: Snapshot;
let points: string[];
const databases: TestDatabase[] = [];

async function seeded(label: string): Promise<TestDatabase> {
  const t = await freshDatabase(label);
  databases.push(t);
  await generateVbzcart(t.db, fixtureOptions);
  await t.db.execute('DROP TABLE ord_pull');
  return t;
}

function cli(t: TestDatabase, args: string[], env: Record<string, string> = {}) {
  return runCli([...args, '--backup-dir', join(work, `b-${t.name}`)], { cwd: work, env: { DATABASE_URL: t.url, ...env } });
}

const migrateArgs = () => ['migrate', 'vbzcart-ord-pull', '--source', `pull=${file}`, '--yes', '--quiet'];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'es-csv-crash-'));
  const source = await freshDatabase('csv_crash_src');
  databases.push(source);
  await generateVbzcart(source.db, fixtureOptions);
  file = join(work, 'ord_pull.csv');
  await exportOrdPullCsv(source.db, file, usExcelDialect);
  const t = await seeded('csv_crash_ref');
  original = await snapshot(t.db);
  const traced = await tracedRun([...migrateArgs(), '--backup-dir', join(work, `b-${t.name}`)], { cwd: work, env: { DATABASE_URL: t.url } });
  expect(traced.run.code, traced.run.stderr).toBe(0);
  reference = await snapshot(t.db);
  points = traced.points;
});
afterAll(async () => {
  for (const t of databases) await t.drop();
  await rm(work, { recursive: true, force: true });
});

describe('a CSV load killed at any point', () => {
  it('passes the load step\'s boundaries, the first batch committed among them', () => {
    const load = points.filter((p) => p.includes('load pull'));
    expect(load).toEqual(['write load pull started', 'load pull half-loaded', 'write load pull worked']);
    expect(points.indexOf('write load pull started')).toBeGreaterThan(points.indexOf('stage write before'));
  });

  it('resumes to the same database, loading again from scratch', async () => {
    for (const point of ['load pull half-loaded', 'write load pull worked', 'write step holdOn started']) {
      const t = await seeded(`csv_crash_${point.replace(/\W+/g, '_')}`);
      const killed = cli(t, migrateArgs(), { EVENTSHIFT_FAULT: point });
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');
      const resumed = cli(t, ['migrate', 'vbzcart-ord-pull', '--yes', '--quiet']);
      expect(resumed.code, `${point}: ${resumed.stderr}`).toBe(0);
      expect(await snapshot(t.db), point).toEqual(reference);
      const [rows] = await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM eventshift_src_pull');
      expect(Number(rows!.n), point).toBe(2600);
    }
  });

  it('rolls back to the database as it was, staging table dropped', async () => {
    const t = await seeded('csv_crash_rollback');
    expect(cli(t, migrateArgs(), { EVENTSHIFT_FAULT: 'load pull half-loaded' }).signal).toBe('SIGKILL');
    const undone = cli(t, ['rollback', 'vbzcart-ord-pull', '--yes']);
    expect(undone.code, undone.stderr).toBe(0);
    expect(undone.stdout).toContain('dropped eventshift_src_pull, the staging table of a CSV source');
    expect(await snapshot(t.db)).toEqual(original);
    expect(await t.db.query("SHOW TABLES LIKE 'eventshift\\_src%'")).toEqual([]);
  });
});
