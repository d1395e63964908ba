import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Db } from '../../src/db/connection.ts';
import { startReplication, type ServerNode, type Topology } from '../../scripts/test-servers.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { runCli, startCli, type StartedCli } from '../support/cli.ts';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * Replica-aware throttling on real servers started here: a primary (3317, binary log) and its replica (3318, by GTID).
 * The write stage is slowed to 20,000 rows a second so that it lasts several seconds. While the replica's SQL thread is
 * stopped, or the replica is down, the run writes nothing; it goes on when the replica has caught up, and primary and
 * replica end identical to a run that watched no replica.
 */
const ws = testWorkspace('replicas');
const fixture = { seed: 2121, pulls: 40_000 };
const replicaUrl = 'mysql://root@127.0.0.1:3318';
const slowly = ['--max-rows-per-second', '20000', '--chunk-keys', '1000'];
let topology: Topology & { primary: ServerNode; replica: ServerNode };
let reference: Snapshot;
const databases: TestDatabase[] = [];

async function seeded(label: string, pulls = fixture.pulls): Promise<TestDatabase> {
  const t = await freshDatabase(label, topology.primary.url);
  databases.push(t);
  await generateVbzcart(t.db, { ...fixture, pulls });
  return t;
}

/** The CLI runs started: one a failed test leaves running is killed after it (afterEach). */
const started: StartedCli[] = [];

function migrate(t: TestDatabase, ...args: string[]): StartedCli {
  return track(
    startCli(['migrate', 'vbzcart-ord-pull', '--yes', '--backup-dir', ws.path(t.name, 'backups'), ...args], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    }),
  );
}

function track(run: StartedCli): StartedCli {
  started.push(run);
  return run;
}

/** Rows in the run's target tables on the primary. */
async function targetRows(t: TestDatabase): Promise<number> {
  const [row] = await t.db.query<{ n: string }>(
    'SELECT (SELECT COUNT(*) FROM event) + (SELECT COUNT(*) FROM event_vc_ord_hold) + (SELECT COUNT(*) FROM event_vc_legacy) AS n',
  );
  return Number(row!.n);
}

/** Rows the write stage's journal counts so far (0 before the bookkeeping exists). */
async function journaledRows(t: TestDatabase): Promise<number> {
  const [row] = await t.db
    .query<{ n: string | null }>("SELECT SUM(rows_done) AS n FROM eventshift_steps WHERE stage = 'write'")
    .catch((error: { cause?: { errno?: number } }) => {
      if (error.cause?.errno === 1146) return [{ n: null }];
      throw error;
    });
  return Number(row?.n ?? 0);
}

async function until(what: string, test: () => boolean | Promise<boolean>, run?: StartedCli, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await test())) {
    if (run && run.child.exitCode !== null) throw new Error(`the run ended before ${what}: ${run.output().stderr}`);
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}: ${run?.output().stderr ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const stderrHas = (run: StartedCli, text: string | RegExp) => () =>
  typeof text === 'string' ? run.output().stderr.includes(text) : text.test(run.output().stderr);

/** Runs `sql` on the replica. */
async function onReplica(sql: string): Promise<void> {
  const r = await topology.replica.connect();
  try {
    await r.execute(sql);
  } finally {
    await r.close();
  }
}

/** The database `name` as the replica has it, once it has applied everything the primary has logged. */
async function replicaSnapshot(name: string): Promise<Snapshot> {
  const p = await topology.primary.connect();
  const [{ pos }] = (await p.query<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos')) as [{ pos: string }];
  await p.close();
  const r: Db = await connect(`${replicaUrl}/${name}`);
  try {
    const [{ done }] = (await r.query<{ done: string | number }>('SELECT MASTER_GTID_WAIT(?, 60) AS done', [pos])) as [{ done: number }];
    expect(Number(done)).toBe(0);
    return await snapshot(r);
  } finally {
    await r.close();
  }
}

/**
 * The replica's lag behind the primary every 200 ms while a run of database `name` runs, read from the run's heartbeat
 * rows (the primary's NOW(6) against the newest written_at the replica has; both servers run on this host's clock).
 */
function sampleLag(name: string): { samples: Array<{ at: number; lag: number }>; stop(): Promise<void> } {
  const samples: Array<{ at: number; lag: number }> = [];
  let stopped = false;
  const time = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);
  const sampling = (async () => {
    const p = await connect(`${topology.primary.url}/${name}`);
    const r = await connect(`${replicaUrl}/${name}`);
    try {
      while (!stopped) {
        const [[now], [newest]] = await Promise.all([
          p.query<{ t: string }>('SELECT NOW(6) AS t'),
          r.query<{ t: string | null }>('SELECT MAX(written_at) AS t FROM eventshift_heartbeat').catch(() => [{ t: null }]),
        ]);
        if (newest?.t) samples.push({ at: performance.now(), lag: (time(now!.t) - time(newest.t)) / 1000 });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await p.close();
      await r.close();
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await sampling;
    },
  };
}

const largest = (samples: Array<{ lag: number }>) => Math.max(0, ...samples.map((s) => s.lag));

beforeAll(async () => {
  topology = await startReplication({ port: 3317 });
  const t = await seeded('rep_ref');
  const run = await migrate(t, '--no-replica-discovery', '--quiet').exited;
  expect(run.code, run.stderr).toBe(0);
  reference = await snapshot(t.db);
}, 120_000);

// A failed test leaves the replica replicating and no run of its own running, for the next one.
afterEach(async () => {
  for (const run of started.splice(0)) if (run.child.exitCode === null) run.child.kill('SIGKILL');
  if (!topology.replica.running()) await topology.replica.start();
  await onReplica('START SLAVE');
});

afterAll(async () => {
  for (const t of databases) await t.db.close().catch(() => undefined);
  await topology?.stop();
});

describe('replica lag', () => {
  it(
    "holds the writes while the replica's SQL thread is stopped, goes on once it caught up, and verifies on the replica",
    { timeout: 120_000 },
    async () => {
      const t = await seeded('rep_lag');
      const run = migrate(
        t,
        '--replica',
        replicaUrl,
        '--max-lag',
        '1.5',
        '--verify-on',
        replicaUrl,
        '--report',
        ws.path('lag-report'),
        ...slowly,
      );
      const lag = sampleLag(t.name);
      await until('the first chunk', async () => (await journaledRows(t)) > 0, run);
      expect(run.output().stderr).toContain(
        'Replicas (given): 127.0.0.1:3318; the run holds before each chunk while one is more than 1.5 s behind or cannot be read.',
      );
      await onReplica('STOP SLAVE SQL_THREAD');
      const stopped = performance.now();
      await until('the hold', stderrHas(run, 'Held by replica 127.0.0.1:3318: '), run, 10_000);
      const heldAfter = (performance.now() - stopped) / 1000;
      const atHold = await targetRows(t);
      // The primary's target tables stop growing while the replica lags: the chunk under way when the hold began has
      // committed by the time it was said, and nothing more is written until the SQL thread runs again, 10 s after it
      // stopped.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (performance.now() - stopped))));
      expect(await targetRows(t)).toBe(atHold);
      const total = ['event', 'event_vc_ord_hold', 'event_vc_legacy'].reduce((n, table) => n + reference[table]!.rows.length, 0);
      expect(atHold).toBeLessThan(total);
      await onReplica('START SLAVE SQL_THREAD');
      const restarted = performance.now();
      await until('the run to go on', stderrHas(run, /Going on after \d+\.\d s held by replica 127\.0\.0\.1:3318\./), run, 30_000);
      const wentOn = performance.now();
      const caughtUp = (wentOn - restarted) / 1000;
      const result = await run.exited;
      await lag.stop();
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^Run 1 of vbzcart-ord-pull: completed, last stage cutover\.$/m);
      expect(result.stdout).toMatch(/^Held \d+ time\(s\), (\d\.\d s|\d+:\d\d) in all, by replica 127\.0\.0\.1:3318\.$/m);
      const held = Number(/Going on after (\d+\.\d) s held/.exec(result.stderr)![1]);
      expect(held).toBeGreaterThan(7);
      // The checks read on the replica, once it had applied the whole write stage.
      expect(result.stderr).toMatch(/Verifying on replica 127\.0\.0\.1:3318: it has applied everything the primary committed before/);
      const report = JSON.parse(await readFile(join(ws.path('lag-report'), 'report.json'), 'utf8'));
      expect(report.verdict).toBe('pass');
      expect(report.header.checksReadOn).toBe('replica 127.0.0.1:3318');
      const whileStopped = lag.samples.filter((s) => s.at >= stopped && s.at <= wentOn);
      const otherwise = lag.samples.filter((s) => s.at < stopped || s.at > wentOn);
      console.log(
        `SQL thread stopped: held ${heldAfter.toFixed(1)} s after the stop, for ${held} s; went on ${caughtUp.toFixed(1)} s ` +
          `after the SQL thread started again. Largest lag sampled: ${largest(whileStopped).toFixed(2)} s while stopped, ` +
          `${largest(otherwise).toFixed(2)} s otherwise (${lag.samples.length} samples).`,
      );
      // While it was stopped the replica fell behind by the whole stop; the run had stopped writing at 1.5 s of it.
      expect(largest(whileStopped)).toBeGreaterThan(8);
      expect(snapshotDifferences(reference, await snapshot(t.db))).toEqual([]);
      expect(snapshotDifferences(reference, await replicaSnapshot(t.name))).toEqual([]);
    },
  );

  it('holds the writes while the replica is down (fail closed), and goes on once it is back', { timeout: 120_000 }, async () => {
    const t = await seeded('rep_down');
    // No --replica: the primary reports its replica (report_host), and that one is watched.
    const run = migrate(t, ...slowly);
    await until('the first chunk', async () => (await journaledRows(t)) > 0, run);
    expect(run.output().stderr).toContain('Replicas (found on the primary): 127.0.0.1:3318;');
    await topology.replica.kill();
    const killed = performance.now();
    await until('the hold', stderrHas(run, /Held by replica 127\.0\.0\.1:3318: cannot be polled \(/), run, 10_000);
    const atHold = await targetRows(t);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await targetRows(t)).toBe(atHold);
    await topology.replica.start();
    const back = performance.now();
    await until('the run to go on', stderrHas(run, /Going on after \d+\.\d s held by replica 127\.0\.0\.1:3318\./), run, 60_000);
    console.log(
      `Replica killed: held ${Number(/Going on after (\d+\.\d) s held/.exec(run.output().stderr)![1])} s; the replica took ` +
        `${((back - killed) / 1000).toFixed(1)} s to be killed and start again, the run went on ` +
        `${((performance.now() - back) / 1000).toFixed(1)} s after it was back.`,
    );
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(snapshotDifferences(reference, await snapshot(t.db))).toEqual([]);
    expect(snapshotDifferences(reference, await replicaSnapshot(t.name))).toEqual([]);
  });
});

describe('--max-load', () => {
  it('holds the run while a status variable is at its limit; Ctrl-C stops it there', { timeout: 60_000 }, async () => {
    const t = await seeded('rep_load', 600);
    // Threads_running counts the query that reads it: 1 or more always holds.
    const run = migrate(t, '--no-replica-discovery', '--max-load', 'Threads_running=1');
    await until('the hold', stderrHas(run, /Held by Threads_running: \d+, holding at 1 or more\./), run, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await journaledRows(t)).toBe(0);
    const sent = performance.now();
    run.child.kill('SIGINT');
    const result = await run.exited;
    expect((performance.now() - sent) / 1000).toBeLessThan(5);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stdout).toContain('Interrupted by SIGINT during stage backup');

    const unknown = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--max-load', 'No_such_status=3'], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('--max-load: the server has no numeric global status variable No_such_status');
  });
});

describe('discovery', () => {
  it('refuses a run whose primary writes a binary log and will not say which replicas it has (fail closed)', async () => {
    const t = await seeded('rep_blind', 200);
    const primary = await topology.primary.connect();
    try {
      await primary.execute("CREATE USER IF NOT EXISTS 'blind'@'127.0.0.1' IDENTIFIED BY 'blind'");
      await primary.execute(`GRANT ALL PRIVILEGES ON \`${t.name}\`.* TO 'blind'@'127.0.0.1'`);
    } finally {
      await primary.close();
    }
    const url = t.url.replace('mysql://root@', 'mysql://blind:blind@');
    const run = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--backup-dir', ws.path(t.name, 'backups')], {
      cwd: ws.dir,
      env: { DATABASE_URL: url },
    });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toContain('The primary would not say which replicas it has (SHOW SLAVE HOSTS: ');
    expect(run.stderr).toContain('--no-replica-discovery to watch none');
    expect(await journaledRows(t)).toBe(0);
  });
});

describe('verify --verify-on', () => {
  it('waits until the replica has applied what the primary committed, then reads there', { timeout: 60_000 }, async () => {
    // The database of the first test: its run completed, and its replica was identical.
    const t = databases.find((d) => d.name.startsWith('es_rep_lag'))!;
    await onReplica('STOP SLAVE SQL_THREAD');
    // A change on the primary the replica has not applied: an event row of the run gone.
    await t.db.execute('DELETE FROM event_vc_ord_hold ORDER BY ID_Event LIMIT 1');
    const run = track(
      startCli(['verify', 'vbzcart-ord-pull', '--backup-dir', ws.path(t.name, 'backups'), '--verify-on', replicaUrl], {
        cwd: ws.dir,
        env: { DATABASE_URL: t.url },
      }),
    );
    await until('verify to wait', stderrHas(run, 'Waiting for replica 127.0.0.1:3318 to apply what the primary committed'), run, 10_000);
    await onReplica('START SLAVE SQL_THREAD');
    const result = await run.exited;
    // Read on the replica as it is now, with the row gone: a stale replica would have passed.
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^Verification of run 1 \(read on replica 127\.0\.0\.1:3318\):/m);
    expect(result.stdout).toMatch(/FAIL +hold(On|Off) -> event_vc_ord_hold: /);
  });
});
