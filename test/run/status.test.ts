import { hostname } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { runCli, startCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import type { StatusResult } from '../../src/run/status.ts';

/**
 * `eventshift status`: every run of a mapping, newest first, read-only. It answers while a migrate holds the run lock
 * (naming its host and pid), writes nothing, and says there are no runs where no run was recorded. (A status of an
 * interrupted run is in interrupt.test.ts.)
 */
const ws = testWorkspace('status');

function cli(t: TestDatabase, ...args: string[]) {
  return runCli([...args, '--backup-dir', ws.path('backups')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
}

function statusJson(t: TestDatabase): StatusResult {
  const r = cli(t, 'status', 'vbzcart-ord-pull', '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusResult;
}

/** The bookkeeping tables' content checksums, to prove a command wrote nothing to them. */
async function bookkeepingChecksums(t: TestDatabase): Promise<unknown[]> {
  return t.db.query('CHECKSUM TABLE eventshift_runs, eventshift_steps, eventshift_backups EXTENDED');
}

describe('eventshift status', () => {
  it('says there are no runs where no bookkeeping table exists, and creates none', async () => {
    const t = await ws.database('status_none');
    await generateVbzcart(t.db, { seed: 31, pulls: 50 });
    const r = cli(t, 'status', 'vbzcart-ord-pull');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`No runs of vbzcart-ord-pull in ${t.name}.\n`);
    expect(statusJson(t)).toEqual({ mapping: 'vbzcart-ord-pull', database: t.name, lock: null, runs: [] });
    const tables = await t.db.query(
      "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE 'eventshift%'",
      [t.name],
    );
    expect(tables).toEqual([]);
  });

  it('answers while a migrate holds the lock, naming its host and pid, and writes nothing', { timeout: 120_000 }, async () => {
    const t = await ws.database('status_live');
    await generateVbzcart(t.db, { seed: 32, pulls: 2000 });
    const pause = ws.path('pause');
    await writeFile(pause, '');
    const run = startCli(['migrate', 'vbzcart-ord-pull', '--yes', '--pause-file', pause, '--backup-dir', ws.path('backups')], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    try {
      for (let i = 0; !run.output().stderr.includes('Paused:'); i++) {
        expect(i, run.output().stderr).toBeLessThan(600);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const before = await bookkeepingChecksums(t);
      const started = performance.now();
      const live = statusJson(t);
      // It did not wait for the lock (another command would wait 3 s for it, then refuse).
      expect(performance.now() - started).toBeLessThan(2500);
      const holder = { runId: 1, host: hostname(), pid: run.child.pid };
      expect(live.lock).toMatchObject(holder);
      expect(live.runs).toHaveLength(1);
      expect(live.runs[0]).toMatchObject({ id: 1, status: 'running', stage: 'none', lockHolder: holder, backup: null, cutover: false });
      const text = cli(t, 'status', 'vbzcart-ord-pull');
      expect(text.stdout).toContain(`Run 1: running, last stage none;`);
      expect(text.stdout).toContain(`  holds the run lock: host ${hostname()}, pid ${run.child.pid}`);
      expect(await bookkeepingChecksums(t)).toEqual(before);
    } finally {
      await rm(pause, { force: true });
    }
    const done = await run.exited;
    expect(done.code, done.stderr).toBe(0);
  });

  it('shows every run newest first: rows per step, last chunk, backup, verification and cutover', { timeout: 120_000 }, async () => {
    const t = await ws.database('status_runs');
    await generateVbzcart(t.db, { seed: 33, pulls: 1500 });
    expect(cli(t, 'migrate', 'vbzcart-ord-pull', '--yes', '--quiet').code).toBe(0);
    const first = statusJson(t).runs[0]!;
    expect(first).toMatchObject({ id: 1, status: 'completed', stage: 'cutover', cutover: true, lockHolder: null });
    expect(first.verification).toEqual({ ok: true, failed: [] });
    expect(first.backup!.dir).toContain(first.backup!.id);
    expect(first.finishedAt).not.toBeNull();
    const [holdOn, holdOff] = await Promise.all(
      ['holdOn', 'holdOff'].map(async (step) => {
        const [row] = await t.db.query<{ rows_done: string }>("SELECT rows_done FROM eventshift_steps WHERE stage = 'write' AND step = ?", [
          `step ${step}`,
        ]);
        return Number(row!.rows_done);
      }),
    );
    expect(first.rowsWritten).toEqual({ holdOn, holdOff });
    expect(holdOn).toBeGreaterThan(1500);
    expect(first.lastChunk).toMatchObject({ step: expect.stringMatching(/^step hold(On|Off)$/) });
    expect(first.steps.map((s) => `${s.stage} ${s.step} ${s.status}`)).toContain('verify checks done');

    expect(cli(t, 'rollback', 'vbzcart-ord-pull', '--yes', '--quiet').code).toBe(0);
    expect(cli(t, 'migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--until', 'write').code).toBe(0);
    const both = statusJson(t);
    expect(both.runs.map((r) => [r.id, r.status, r.stage, r.cutover])).toEqual([
      [2, 'stopped', 'write', false],
      [1, 'rolled_back', 'cutover', true],
    ]);
    expect(both.runs[0]!.verification).toBeNull();
    const text = cli(t, 'status', 'vbzcart-ord-pull').stdout;
    expect(text).toMatch(/^Runs of vbzcart-ord-pull in \S+, newest first:\nRun 2: stopped, last stage write;/);
    expect(text).toContain('Run 1: rolled back, last stage cutover;');
    expect(text).toContain(`  rows written: holdOn ${holdOn!.toLocaleString('en-US')}, holdOff ${holdOff!.toLocaleString('en-US')}`);
    expect(text).toContain('  verification: passed\n  cutover: done');
    expect(text).toContain('  verification: none yet\n  cutover: not done');
  });
});
