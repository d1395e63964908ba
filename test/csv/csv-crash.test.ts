import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { referenceRun, runCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { exportOrdPullCsv, usExcelDialect } from '../../mappings/vbzcart-ord-pull/csv-export.ts';

/**
 * A run that reads ord_pull from CSV, killed (SIGKILL) around and inside its load step, resumes (without --source:
 * the plan says which file) to the same database as a run never interrupted; a rollback after such a kill returns the
 * database as it was, staging table and all.
 */
const fixtureOptions = { seed: 5152, pulls: 2600 };
const ws = testWorkspace('csv-crash');
let file: string;
let reference: Snapshot;
let original: Snapshot;
let points: string[];

async function seeded(label: string): Promise<TestDatabase> {
  const t = await ws.database(label);
  await generateVbzcart(t.db, fixtureOptions);
  await t.db.execute('DROP TABLE ord_pull');
  return t;
}

function cli(t: TestDatabase, args: string[], env: Record<string, string> = {}) {
  return runCli([...args, '--backup-dir', ws.path(`b-${t.name}`)], { cwd: ws.dir, env: { DATABASE_URL: t.url, ...env } });
}

const migrateArgs = () => ['migrate', 'vbzcart-ord-pull', '--source', `pull=${file}`, '--yes', '--quiet'];

beforeAll(async () => {
  const source = await ws.database('csv_crash_src');
  await generateVbzcart(source.db, fixtureOptions);
  file = ws.path('ord_pull.csv');
  await exportOrdPullCsv(source.db, file, usExcelDialect);
  const t = await seeded('csv_crash_ref');
  ({ original, reference, points } = await referenceRun(t, [...migrateArgs(), '--backup-dir', ws.path(`b-${t.name}`)], ws.dir));
});

describe('a CSV load killed at any point', () => {
  it("passes the load step's boundaries, the first batch committed among them", () => {
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
