import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { eventshiftBin, runCli } from '../support/cli.ts';
import { generateVbzcart, type VbzcartFixture } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { migrate, type MigrateProgress } from '../../src/run/migrate.ts';
import { lockHolder, lockName, tryLock } from '../../src/run/lock.ts';
import { throttle } from '../../src/run/throttle.ts';

/**
 * --max-rows-per-second and --pause-file on the real server, with small databases. Only lower bounds on time are
 * asserted (a sleep cannot end early), so a loaded machine makes these tests slower, never red.
 */
const ws = testWorkspace('throttle');

async function seeded(label: string, pulls = 600): Promise<{ t: TestDatabase; fixture: VbzcartFixture }> {
  const t = await ws.database(label);
  return { t, fixture: await generateVbzcart(t.db, { seed: 4242, pulls }) };
}

/** The write stage's journal: rows done so far per step, and the run's stage. */
async function journal(t: TestDatabase): Promise<{ stage: string | null; rowsDone: number }> {
  const [run] = await t.db.query<{ stage: string }>('SELECT stage FROM eventshift_runs ORDER BY id DESC LIMIT 1').catch(() => []);
  const [steps] = await t.db
    .query<{ n: string | null }>(`SELECT SUM(rows_done) AS n FROM eventshift_steps WHERE stage = 'write'`)
    .catch(() => [{ n: null }]);
  return { stage: run?.stage ?? null, rowsDone: Number(steps?.n ?? 0) };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

describe('--max-rows-per-second', () => {
  it('keeps the write stage at or under the rate, in chunks of at most about a second of it', async () => {
    const { t, fixture } = await seeded('throttle_rate');
    const rate = 1500;
    const chunks: number[] = [];
    const last = new Map<string, number>();
    const r = await migrate({
      databaseUrl: t.url,
      mapping,
      backupDir: ws.path('rate-backups'),
      reportDir: ws.path('rate-report'),
      maxRowsPerSecond: rate,
      onProgress: (p: MigrateProgress) => {
        if (p.stage !== 'write') return;
        if (p.done > (last.get(p.label) ?? 0)) chunks.push(p.done - (last.get(p.label) ?? 0));
        last.set(p.label, p.done);
      },
    });
    expect(r.status).toBe('completed');
    expect(r.verification?.ok).toBe(true);
    const rows = Object.values(r.rowsWritten).reduce((a, b) => a + b, 0);
    const { event, event_vc_ord_hold: hold, event_vc_legacy: legacy } = fixture.counts.eventsByTable;
    expect(rows).toBe(event + hold + legacy);
    expect(r.stageSeconds.write!).toBeGreaterThanOrEqual((rows / rate) * 0.8);
    // Without the limit the first chunk alone (5000 keys) would write every row.
    expect(chunks.length).toBeGreaterThan(2);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(rate * 1.5);
  });
});

describe('--pause-file', () => {
  it('waits between write chunks while the file exists, says so once each way, and completes once it is removed', async () => {
    const { t } = await seeded('throttle_pause');
    const pauseFile = ws.path('pause-mid-write');
    const lines: string[] = [];
    let paused = false;
    const run = migrate({
      databaseUrl: t.url,
      mapping,
      backupDir: ws.path('pause-backups'),
      reportDir: ws.path('pause-report'),
      chunkKeys: 100,
      pauseFile,
      log: (line) => void lines.push(line),
      onProgress: (p) => {
        // After the first chunk: the run must stop before the second.
        if (p.stage === 'write' && p.done > 0 && !paused) {
          paused = true;
          writeFileSync(pauseFile, '');
        }
      },
    });
    await until(() => lines.some((l) => l.startsWith('Paused:')), 'the run to say it is paused');
    const atPause = await journal(t);
    expect(atPause.stage).toBe('backup');
    expect(atPause.rowsDone).toBeGreaterThan(0);
    await delay(1500);
    expect(await journal(t)).toEqual(atPause);
    await rm(pauseFile);
    const r = await run;
    expect(r.status).toBe('completed');
    expect(r.verification?.ok).toBe(true);
    expect(lines.filter((l) => l.startsWith('Paused:'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('Resumed:'))).toHaveLength(1);
  });

  it('does not start while the file exists; a kill while paused is an ordinary kill, and migrate again finishes', async () => {
    const { t } = await seeded('throttle_kill');
    const pauseFile = ws.path('pause-from-start');
    const backupDir = ws.path('kill-backups');
    await writeFile(pauseFile, '');
    const child = spawn(
      process.execPath,
      [eventshiftBin, 'migrate', 'vbzcart-ord-pull', '--yes', '--backup-dir', backupDir, '--pause-file', pauseFile],
      { cwd: ws.dir, env: { ...process.env, DATABASE_URL: t.url } },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      await until(() => stderr.includes('Paused:'), 'the CLI to say it is paused');
      await delay(1500);
      // Nothing past the start: no stage done, no table created, nothing written.
      expect(await journal(t)).toEqual({ stage: 'none', rowsDone: 0 });
      expect(await t.db.query("SHOW TABLES LIKE 'event_vc_ord_hold'")).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    await rm(pauseFile);
    const again = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--backup-dir', backupDir, '--pause-file', pauseFile], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/\(resumed\): completed/);
    expect(again.stdout).toContain('checks passed');
  });
});

describe('the run lock while a run is paused or long', () => {
  it('a run whose lock connection dropped stops at the next safe point, naming the lock; migrate again finishes', async () => {
    const { t } = await seeded('throttle_lock_lost');
    const pauseFile = ws.path('pause-lock-lost');
    const backupDir = ws.path('lock-lost-backups');
    const lines: string[] = [];
    let paused = false;
    const run = migrate({
      databaseUrl: t.url,
      mapping,
      backupDir,
      reportDir: ws.path('lock-lost-report'),
      chunkKeys: 100,
      pauseFile,
      log: (line) => void lines.push(line),
      onProgress: (p) => {
        if (p.stage === 'write' && p.done > 0 && !paused) {
          paused = true;
          writeFileSync(pauseFile, '');
        }
      },
    });
    const outcome = run.then(
      () => null,
      (error: Error) => error,
    );
    await until(() => lines.some((l) => l.startsWith('Paused:')), 'the run to say it is paused');
    const [holder] = await t.db.query<{ id: string }>(`SELECT lock_connection_id AS id FROM eventshift_runs ORDER BY id DESC LIMIT 1`);
    // What a server restart, a network cut or wait_timeout does to the lock's connection.
    await t.db.execute(`KILL ${Number(holder!.id)}`);
    const error = await outcome;
    expect(error?.message).toMatch(
      new RegExp(`The run lock eventshift:${t.name}:vbzcart-ord-pull was lost: its connection ${holder!.id} dropped`),
    );
    expect(error?.message).toContain('run the command again to resume');
    const stoppedAt = await journal(t);
    expect(stoppedAt.stage).toBe('backup');
    await rm(pauseFile);
    const again = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: ws.path('lock-lost-report-2') });
    expect(again.resumed).toBe(true);
    expect(again.status).toBe('completed');
    expect(again.verification?.ok).toBe(true);
  });

  it('the idle lock connection is pinged, so no session timeout closes it during a long run or pause', async () => {
    const t = await ws.database('throttle_keepalive');
    const name = lockName(t.name, 'keepalive');
    const lock = (await tryLock(t.url, name, { keepAliveMs: 400 }))!;
    try {
      await delay(3000);
      // The server's own count of how long the connection has been idle: never more than about one ping interval.
      const [idle] = await t.db.query<{ ms: string }>('SELECT TIME_MS AS ms FROM information_schema.PROCESSLIST WHERE ID = ?', [
        lock.connectionId,
      ]);
      expect(Number(idle!.ms)).toBeLessThan(1500);
      await lock.assertHeld();
      expect((await lockHolder(t.db, name))?.connectionId).toBe(lock.connectionId);
    } finally {
      await lock.release();
    }
    expect(await lockHolder(t.db, name)).toBeNull();
  });
});

describe('throttle() itself', () => {
  it("keeps each waiter's own connection alive while paused, and calls nothing once the file is gone", async () => {
    const file = ws.path('pause-unit');
    await writeFile(file, '');
    const pings = { first: 0, second: 0 };
    const gentle = throttle({ pauseFile: file, pollMs: 20 });
    const first = gentle.waitWhilePaused(async () => void pings.first++);
    const second = gentle.waitWhilePaused(async () => void pings.second++);
    await delay(150);
    expect(pings.first).toBeGreaterThan(2);
    expect(pings.second).toBeGreaterThan(2);
    await rm(file);
    await Promise.all([first, second]);
    const after = { ...pings };
    await gentle.waitWhilePaused(async () => void pings.first++);
    await delay(60);
    expect(pings).toEqual(after);
  });
});
