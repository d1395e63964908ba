import { rm, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { referenceRun, runCli, startCli, type StartedCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';

/**
 * Ctrl-C during `eventshift migrate`, for real: the CLI is spawned on a VbzCart database of 100,000 pulls and sent
 * SIGINT once the write stage has committed its first chunk. It stops at the next chunk boundary, says where and how
 * to go on, records the run as interrupted, and migrate again ends with the database an uninterrupted run gives.
 */
const ws = testWorkspace('interrupt');
const fixture = { seed: 2020, pulls: 100_000 };
const migrateArgs = ['migrate', 'vbzcart-ord-pull', '--yes', '--chunk-keys', '2000'];
let reference: Snapshot;
let original: Snapshot;

async function seeded(label: string): Promise<TestDatabase> {
  const t = await ws.database(label);
  await generateVbzcart(t.db, fixture);
  return t;
}

/** Resolves once a write step of the run has committed a chunk (its journal counts rows); fails after 60 s. */
async function firstChunkWritten(t: TestDatabase, run: StartedCli): Promise<void> {
  const until = performance.now() + 60_000;
  for (;;) {
    const rows = await t.db
      .query<{ n: string | number | null }>("SELECT SUM(rows_done) AS n FROM eventshift_steps WHERE stage = 'write' AND step LIKE 'step %'")
      // Before the run has made its bookkeeping tables there is nothing to count; any other error is the test's.
      .catch((error: { errno?: number }) => {
        if (error.errno === 1146 || (error as { cause?: { errno?: number } }).cause?.errno === 1146) return [{ n: null }];
        throw error;
      });
    if (Number(rows[0]?.n ?? 0) > 0) return;
    if (run.child.exitCode !== null || performance.now() > until) throw new Error(`no chunk was written: ${run.output().stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends `signals` (in order, `gapMs` apart) once the first chunk is written; the run and the seconds from the first signal to exit. */
async function interrupted(t: TestDatabase, backupDir: string, signals: NodeJS.Signals[], gapMs = 0) {
  const run = startCli([...migrateArgs, '--backup-dir', backupDir], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
  await firstChunkWritten(t, run);
  const sent = performance.now();
  for (const [i, signal] of signals.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    run.child.kill(signal);
  }
  const result = await run.exited;
  return { result, seconds: (performance.now() - sent) / 1000 };
}

function cli(t: TestDatabase, backupDir: string, ...args: string[]) {
  return runCli([...args, '--backup-dir', backupDir], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
}

beforeAll(async () => {
  ({ original, reference } = await referenceRun(
    await seeded('int_ref'),
    [...migrateArgs, '--quiet', '--backup-dir', ws.path('ref')],
    ws.dir,
  ));
}, 300_000);

describe('SIGINT during migrate', () => {
  it(
    'stops at a chunk boundary, records the run as interrupted, and migrate again ends as an uninterrupted run',
    { timeout: 300_000 },
    async () => {
      const t = await seeded('int_once');
      const backupDir = ws.path('once');
      const { result, seconds } = await interrupted(t, backupDir, ['SIGINT']);
      console.log(`SIGINT to exit: ${seconds.toFixed(2)} s`);
      expect(result.code, result.stderr).toBe(130);
      expect(seconds).toBeLessThan(10);
      expect(result.stderr).toContain('SIGINT: stopping at the next chunk boundary');
      // Each table of the backup ended, drawn as done with its rows; the write SIGINT stopped is drawn as it stood.
      expect(result.stderr).toMatch(/^backup ord_pull: ([\d,]+)\/\1 rows \(100\.0%\)/m);
      const writeLines = result.stderr.split('\n').filter((line) => line.startsWith('write '));
      expect(writeLines.at(-1), result.stderr).toMatch(/^write [^:]+: [\d,]+\/[\d,]+ rows \((\d|[1-9]\d)\.\d%\)(, .*)?, in /);
      expect(result.stdout).toMatch(/^Run 1 of vbzcart-ord-pull: interrupted, last stage backup\.$/m);
      expect(result.stdout).toContain('Interrupted by SIGINT during stage write; it stopped at a chunk boundary');
      expect(result.stdout).toMatch(/^Written so far: step holdOn \d{1,3}(,\d{3})* rows/m);
      expect(result.stdout).toContain(
        '`eventshift migrate vbzcart-ord-pull` resumes it from there; `eventshift rollback vbzcart-ord-pull` undoes what it wrote.',
      );

      const [run] = await t.db.query<{ status: string; stage: string; error: string }>('SELECT status, stage, error FROM eventshift_runs');
      expect(run).toEqual({ status: 'interrupted', stage: 'backup', error: 'SIGINT during stage write' });

      // verify and lineage say that the run was interrupted, and what it wrote; not "no run has written yet".
      for (const [args, asked] of [
        [['verify'], 'nothing to verify'],
        [['lineage', '--legacy', '5'], 'no lineage to show'],
      ] as const) {
        const r = cli(t, backupDir, args[0], 'vbzcart-ord-pull', ...args.slice(1));
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(
          new RegExp(
            '^eventshift: Run 1 of vbzcart-ord-pull was interrupted \\(SIGINT during stage write\\) at [\\d: .-]+ UTC ' +
              `before its write stage finished, so there is ${asked} yet\\. So far it wrote: step holdOn \\d{1,3}(,\\d{3})* rows`,
          ),
        );
        expect(r.stderr).toContain(
          '`eventshift migrate vbzcart-ord-pull` resumes it; `eventshift rollback vbzcart-ord-pull` undoes what it wrote.',
        );
      }

      // status says so too, read-only, with the rows the journal holds.
      const shown = cli(t, backupDir, 'status', 'vbzcart-ord-pull');
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(/^Run 1: interrupted \(SIGINT during stage write\), last stage backup;/m);
      const json = JSON.parse(cli(t, backupDir, 'status', 'vbzcart-ord-pull', '--json').stdout);
      expect(json.runs[0]).toMatchObject({
        id: 1,
        status: 'interrupted',
        stage: 'backup',
        lockHolder: null,
        cutover: false,
        verification: null,
      });
      expect(json.runs[0].rowsWritten.holdOn).toBeGreaterThan(0);
      expect(json.lock).toBeNull();

      const resumed = cli(t, backupDir, ...migrateArgs, '--quiet');
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toContain('Run 1 of vbzcart-ord-pull (resumed): completed, last stage cutover.');
      const after = await snapshot(t.db);
      expect(snapshotDifferences(reference, after)).toEqual([]);
      await ws.drop(t);
    },
  );

  it('a second SIGINT exits at once, and migrate again still ends as an uninterrupted run', { timeout: 300_000 }, async () => {
    const t = await seeded('int_twice');
    const backupDir = ws.path('twice');
    const { result, seconds } = await interrupted(t, backupDir, ['SIGINT', 'SIGINT'], 20);
    console.log(`two SIGINTs to exit: ${seconds.toFixed(2)} s`);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('SIGINT again: exiting now.');
    // It did not wait to record anything: the run is left as a kill leaves it, still recorded running, and verify
    // and lineage say that it stopped, with what it wrote; migrate resumes that too.
    const [run] = await t.db.query<{ status: string; stage: string }>('SELECT status, stage FROM eventshift_runs');
    expect(run).toEqual({ status: 'running', stage: 'backup' });
    for (const [args, asked] of [
      [['verify', 'vbzcart-ord-pull'], 'nothing to verify'],
      [['lineage', 'vbzcart-ord-pull', '--event', '1'], 'no lineage to show'],
    ] as const) {
      const r = cli(t, backupDir, ...args);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          '^eventshift: Run 1 of vbzcart-ord-pull stopped without recording why \\(its process is gone: killed, or its ' +
            `connection lost\\) after .* UTC before its write stage finished, so there is ${asked} yet\\. ` +
            'So far it wrote: step holdOn (\\d{1,3}(,\\d{3})* rows|not started)',
        ),
      );
    }
    const resumed = cli(t, backupDir, ...migrateArgs, '--quiet');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(snapshotDifferences(reference, await snapshot(t.db))).toEqual([]);
    await ws.drop(t);
  });

  it(
    'SIGTERM stops it the same way, with exit code 143; rollback then gives the original database back',
    { timeout: 300_000 },
    async () => {
      const t = await seeded('int_term');
      const backupDir = ws.path('term');
      const { result } = await interrupted(t, backupDir, ['SIGTERM']);
      expect(result.code, result.stderr).toBe(143);
      expect(result.stdout).toContain('Interrupted by SIGTERM during stage write');
      const [run] = await t.db.query<{ status: string; error: string }>('SELECT status, error FROM eventshift_runs');
      expect(run).toEqual({ status: 'interrupted', error: 'SIGTERM during stage write' });
      const rolledBack = cli(t, backupDir, 'rollback', 'vbzcart-ord-pull', '--yes', '--quiet');
      expect(rolledBack.code, rolledBack.stderr).toBe(0);
      expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
      await ws.drop(t);
    },
  );

  it('SIGINT while the cutover is postponed ends the wait; migrate again verifies and cuts over', { timeout: 120_000 }, async () => {
    const t = await ws.database('int_postponed');
    await generateVbzcart(t.db, { seed: 2021, pulls: 300 });
    const file = ws.path('postpone');
    await writeFile(file, '');
    const backupDir = ws.path('postponed');
    const run = startCli(['migrate', 'vbzcart-ord-pull', '--yes', '--postpone-cutover-file', file, '--backup-dir', backupDir], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    for (let i = 0; !run.output().stderr.includes('Cutover postponed'); i++) {
      expect(i, run.output().stderr).toBeLessThan(600);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const sent = performance.now();
    run.child.kill('SIGINT');
    const result = await run.exited;
    expect(performance.now() - sent).toBeLessThan(10_000);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stdout).toContain('Interrupted by SIGINT during stage cutover');
    const [recorded] = await t.db.query<{ status: string; stage: string }>('SELECT status, stage FROM eventshift_runs');
    expect(recorded).toEqual({ status: 'interrupted', stage: 'verify' });
    await rm(file);
    const resumed = cli(t, backupDir, 'migrate', 'vbzcart-ord-pull', '--yes', '--quiet');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('completed, last stage cutover');
  });
});
