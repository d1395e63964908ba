import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { referenceRun, runCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';

/**
 * Steps written at the same time, cut into parts (--part-rows) that two connections take in turn: the database ends
 * as a run that wrote each step whole leaves it, each part journaled on its own, and a run killed inside a part, or
 * between parts, resumes to the same database.
 */
const fixtureOptions = { seed: 6262, pulls: 600 };
const whole = ['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--chunk-keys', '100'];
const inParts = [...whole, '--part-rows', '400'];
const ws = testWorkspace('write-parts');
let reference: Snapshot;
let points: string[];

async function seeded(label: string) {
  const t = await ws.database(label);
  await generateVbzcart(t.db, fixtureOptions);
  return t;
}

function cli(t: TestDatabase, backupDir: string, args: string[], env: Record<string, string> = {}) {
  return runCli([...args, '--backup-dir', backupDir], { cwd: ws.dir, env: { DATABASE_URL: t.url, ...env } });
}

beforeAll(async () => {
  ({ reference } = await referenceRun(await seeded('parts_ref'), [...whole, '--backup-dir', ws.path('ref-backups')], ws.dir));
  ({ points } = await referenceRun(await seeded('parts_traced'), [...inParts, '--backup-dir', ws.path('traced-backups')], ws.dir));
});

describe('steps written in parts', () => {
  it('give the same database as steps written whole, each part journaled with its keys', async () => {
    const t = await seeded('parts_run');
    const run = cli(t, ws.path('run-backups'), inParts);
    expect(run.code, run.stderr).toBe(0);
    expect(await snapshot(t.db)).toEqual(reference);
    const journal = await t.db.query<{ step: string; status: string; rows_done: string }>(
      "SELECT step, status, rows_done FROM eventshift_steps WHERE stage = 'write' AND step LIKE 'step %' ORDER BY step");
    const parts = journal.filter((j) => j.step.startsWith('step holdOn keys '));
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(journal.every((j) => j.status === 'done')).toBe(true);
    // The parts cover the pulls' keys exactly, end to end.
    const [keys] = await t.db.query<{ lo: number; hi: number }>('SELECT MIN(ID) AS lo, MAX(ID) AS hi FROM `OLD ord_pull`');
    const ranges = parts.map((p) => p.step.slice('step holdOn keys '.length).split('-').map(Number) as [number, number]).sort((a, b) => a[0] - b[0]);
    expect(ranges[0]![0]).toBe(Number(keys!.lo));
    expect(ranges.at(-1)![1]).toBe(Number(keys!.hi));
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1);
    // Every row of holdOn's targets was written by one of them.
    const written = parts.reduce((n, p) => n + Number(p.rows_done), 0);
    const [events] = await t.db.query<{ n: string }>(
      "SELECT (SELECT COUNT(*) FROM event WHERE TypeCode = 'vc.order.hold.on') + (SELECT COUNT(*) FROM event_vc_ord_hold WHERE isRelease = 0) + (SELECT COUNT(*) FROM event_vc_legacy WHERE ID_Event < ?) AS n", [ranges.at(-1)![1] + 1500 + 1]);
    expect(written).toBe(Number(events!.n));
  });

  it('resume after a SIGKILL at a part\'s start, inside one, or after one, to the same database', { timeout: 300_000 }, async () => {
    const partPoints = points.filter((p) => p.startsWith('write step holdOn keys '));
    const chunkPoints = points.filter((p) => p.startsWith('chunk holdOn '));
    const chosen = [partPoints.find((p) => p.endsWith(' started') && !p.includes('keys 1-'))!, chunkPoints[Math.floor(chunkPoints.length / 2)]!,
      partPoints.find((p) => p.endsWith(' worked'))!];
    expect(chosen.every((p) => p !== undefined), JSON.stringify(points)).toBe(true);
    let i = 0;
    for (const point of chosen) {
      const t = await seeded(`parts_kill_${i++}`);
      const backupDir = ws.path(`k${i}`);
      const killed = cli(t, backupDir, inParts, { EVENTSHIFT_FAULT: point });
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');
      // Resumed with the parts it was killed in, and once written whole: a run cut otherwise redoes the parts it does not know.
      const resumed = cli(t, backupDir, i === 2 ? whole : inParts);
      expect(resumed.code, `${point}: ${resumed.stderr}`).toBe(0);
      expect(await snapshot(t.db), point).toEqual(reference);
      await ws.drop(t);
    }
  });
});
