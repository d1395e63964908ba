import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { referenceRun, runCli, runCliKilledAfter } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { listBackups } from '../../src/backup/index.ts';

/**
 * Kills the real CLI with SIGKILL at every journaled boundary of a run (and at a few random instants), runs migrate
 * again, and compares the whole database with a run that was never interrupted.
 */
const fixtureOptions = { seed: 5150, pulls: 600 };
const migrateArgs = ['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--chunk-keys', '250'];
const ws = testWorkspace('crash');
let reference: Snapshot;
let original: Snapshot;
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
  ({ original, reference, points } = await referenceRun(
    await seeded('crash_ref'),
    [...migrateArgs, '--backup-dir', ws.path('ref-backups')],
    ws.dir,
  ));
});

describe('a run killed at any boundary resumes to the same database', () => {
  it('passes every kind of boundary', () => {
    for (const kind of [
      'bookkeeping migration half-applied',
      'stage backup before',
      'backup tables half-written',
      'backup tables written',
      'backup tables recorded',
      'write create event_vc_ord_hold started',
      'write step holdOn started',
      'chunk holdOn',
      'write step holdOff worked',
      'write projection whenHeld worked',
      'verify checks started',
      'cutover rename ord_pull started',
      'stage cutover after',
    ]) {
      expect(
        points.some((p) => p.startsWith(kind)),
        kind,
      ).toBe(true);
    }
    expect(points.length).toBeGreaterThan(25);
  });

  // About 30 boundaries, two CLI runs each: minutes on a loaded 2-core machine.
  it('after a SIGKILL at each boundary, migrate again ends byte-identical to the uninterrupted run', { timeout: 600_000 }, async () => {
    let i = 0;
    for (const point of points) {
      const t = await seeded(`crash_${i++}`);
      const backupDir = ws.path(`b${i}`);
      const killed = cli(t, backupDir, migrateArgs, { EVENTSHIFT_FAULT: point });
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');
      const resumed = cli(t, backupDir, migrateArgs);
      expect(resumed.code, `${point}: ${resumed.stderr}`).toBe(0);
      expect(await snapshot(t.db), point).toEqual(reference);
      // A backup interrupted half-way is discarded, never kept beside the one used.
      const backups = await listBackups(backupDir);
      expect(
        backups.map((b) => b.complete),
        point,
      ).toEqual([true]);
      await ws.drop(t);
    }
  });

  it(
    'after kills at random instants, migrate again ends the same; restore after a kill returns the original',
    { timeout: 300_000 },
    async () => {
      // A larger database than the boundary test's, so that most of a run's life is work rather than start-up.
      const large = { seed: 5151, pulls: 4000 };
      const ref = await ws.database('crash_rand_ref');
      await generateVbzcart(ref.db, large);
      const largeOriginal = await snapshot(ref.db);
      const started = performance.now();
      expect(cli(ref, ws.path('rand-ref'), migrateArgs).code).toBe(0);
      const runMs = performance.now() - started;
      const largeReference = await snapshot(ref.db);
      // Instants spread over the life of an uninterrupted run, fixed so that a failure repeats.
      const instants = [0.4, 0.55, 0.7, 0.85, 0.6].map((f) => Math.round(f * runMs));
      for (const [n, planned] of instants.entries()) {
        // On a loaded machine a run can finish before its instant: then the trial is redone earlier, so that every
        // trial really cuts a run short.
        let ms = planned;
        let t: TestDatabase;
        let backupDir: string;
        for (let attempt = 0; ; attempt++) {
          t = await ws.database(`crash_rand_${n}_${attempt}`);
          await generateVbzcart(t.db, large);
          backupDir = ws.path(`r${n}_${attempt}`);
          const run = await runCliKilledAfter([...migrateArgs, '--backup-dir', backupDir], ms, {
            cwd: ws.dir,
            env: { DATABASE_URL: t.url },
          });
          if (run.signal === 'SIGKILL') break;
          expect(attempt, `a run finished before ${ms} ms four times`).toBeLessThan(3);
          ms = Math.round(ms * 0.6);
        }
        if (n === instants.length - 1) {
          const restored = cli(t, backupDir, ['restore', 'vbzcart-ord-pull', '--yes', '--quiet']);
          // A kill before the backup finished leaves nothing to restore: restore says so, and the database is untouched.
          expect(restored.code, restored.stderr).toBe(0);
          expect(await snapshot(t.db)).toEqual(largeOriginal);
          continue;
        }
        const resumed = cli(t, backupDir, migrateArgs);
        expect(resumed.code, `${ms} ms: ${resumed.stderr}`).toBe(0);
        expect(await snapshot(t.db), `${ms} ms`).toEqual(largeReference);
      }
    },
  );

  it('rollback after a SIGKILL at any stage returns the original database', { timeout: 300_000 }, async () => {
    const sampled = points.filter(
      (p, i) => i % 4 === 1 || p.startsWith('cutover') || ['backup tables half-written', 'stage cutover after'].includes(p),
    );
    expect(sampled.length).toBeGreaterThan(6);
    let i = 0;
    for (const point of sampled) {
      const t = await seeded(`rb_${i++}`);
      const backupDir = ws.path(`rb${i}`);
      expect(cli(t, backupDir, migrateArgs, { EVENTSHIFT_FAULT: point }).signal, point).toBe('SIGKILL');
      const undone = cli(t, backupDir, ['rollback', 'vbzcart-ord-pull', '--yes', '--quiet']);
      // Killed before the run was recorded, there is nothing to undo, and rollback says so.
      if (point.startsWith('bookkeeping')) expect(undone.stderr, point).toMatch(/There is no run of vbzcart-ord-pull to roll back/);
      else expect(undone.code, `${point}: ${undone.stderr}`).toBe(0);
      expect(await snapshot(t.db), point).toEqual(original);
      // A backup the kill cut short is removed with the rest of the run; a complete one is kept.
      expect(
        (await listBackups(backupDir)).filter((b) => !b.complete),
        point,
      ).toEqual([]);
      await ws.drop(t);
    }
  });
});
