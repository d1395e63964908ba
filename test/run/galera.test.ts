import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';
import { integerKeys, runChunks, writeSetBudget } from '../../src/engine/chunks.ts';
import { fcLimitOf, galeraFlowControl } from '../../src/run/galera-flow-control.ts';
import { lockHolder, lockName, tryLock } from '../../src/run/lock.ts';
import { startGalera, type ServerNode, type Topology } from '../../scripts/test-servers.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { runCli, startCli } from '../support/cli.ts';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * eventshift on a real 3-node MariaDB Galera cluster (scripts/test-servers.ts, ports 3321-3323), started once for the
 * file: the run lock across nodes, a run's result on every node against the same run on a single server (the tests'
 * own), a node killed mid-run, a certification conflict, what plan refuses, and flow control.
 */
const ws = testWorkspace('galera');
const fixture = { seed: 5150, pulls: 600 };
const migrateArgs = ['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--chunk-keys', '250'];
let cluster: Topology;
let reference: Snapshot;
/** The cluster's databases: dropped with the cluster (its datadirs), their connections closed first. */
const onCluster: TestDatabase[] = [];

const node = (i: number): ServerNode => cluster.nodes[i]!;
const urlOn = (t: TestDatabase, i: number) => `${node(i).url}/${t.name}`;

/** A database made through node 1 with the VbzCart fixture, its legacy tables InnoDB as Galera needs them. */
async function seeded(label: string): Promise<TestDatabase> {
  const t = await freshDatabase(label, node(0).url);
  onCluster.push(t);
  await generateVbzcart(t.db, fixture);
  return t;
}

function cli(args: string[], url: string, backups: string) {
  return runCli([...args, '--backup-dir', ws.path(backups)], { cwd: ws.dir, env: { DATABASE_URL: url } });
}

/**
 * The database on every node, each read causally (a Galera session of eventshift's waits for its node to apply what
 * the cluster committed before), and what differs from the single-server run's.
 */
async function differencesOnEveryNode(t: TestDatabase): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const n of cluster.nodes) {
    const db = await n.connect(t.name);
    try {
      out[n.name] = snapshotDifferences(reference, await snapshot(db));
    } finally {
      await db.close();
    }
  }
  return out;
}

const noDifferences = () => Object.fromEntries(cluster.nodes.map((n) => [n.name, []]));

async function until(what: string, ms: number, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms / 1000} s waiting for ${what}.`);
    await delay(100);
  }
}

const stepRows = async (db: Db, step: string) =>
  Number(
    (
      await db
        .query<{ n: string }>("SELECT rows_done AS n FROM eventshift_steps WHERE stage = 'write' AND step = ?", [step])
        .catch(() => [])
    )[0]?.n ?? 0,
  );

beforeAll(async () => {
  const started = performance.now();
  // The single-server run to compare with, on the tests' own server, while the cluster starts.
  const single = (async () => {
    const t = await ws.database('galera_ref');
    await generateVbzcart(t.db, fixture);
    const run = cli(migrateArgs, t.url, 'ref-backups');
    expect(run.code, run.stderr).toBe(0);
    return snapshot(t.db);
  })();
  // Both settled before either failure is thrown, so that afterAll stops a cluster that did start.
  const [up, ref] = await Promise.allSettled([startGalera({ port: 3321 }), single]);
  if (up.status === 'fulfilled') cluster = up.value;
  if (up.status === 'rejected') throw up.reason;
  if (ref.status === 'rejected') throw ref.reason;
  reference = ref.value;
  console.log(`galera: cluster up and reference run done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}, 240_000);

afterAll(async () => {
  for (const t of onCluster) await t.db.close().catch(() => undefined);
  await cluster?.stop();
});

describe('eventshift on a 3-node Galera cluster', () => {
  it('knows each node is a Galera node, with its write-set limits', async () => {
    const db = await node(1).connect();
    try {
      expect(db.capabilities.galera).toEqual({ node: 'node2', maxWriteSetRows: 0, maxWriteSetBytes: 2147483647 });
    } finally {
      await db.close();
    }
  });

  it(
    'the run lock is a lease across nodes: refused while its holder renews it, lost when another takes it or its ' +
      "connection drops, taken over once a dead holder's lease has run out",
    async () => {
      const t = await freshDatabase('galera_lease', node(0).url);
      onCluster.push(t);
      const name = lockName(t.name, 'lease');
      const short = { leaseMs: 4000, renewMs: 500 };
      const a = (await tryLock(urlOn(t, 0), name, short))!;
      expect(a).not.toBeNull();
      // GET_LOCK would have given node 2 the same lock.
      expect(await tryLock(urlOn(t, 1), name, { ...short, waitSeconds: 0 })).toBeNull();
      const onNode3 = await node(2).connect(t.name);
      try {
        expect(await lockHolder(onNode3, name)).toMatchObject({ connectionId: a.connectionId, pid: process.pid, node: 'node1' });
        // Another process writes itself into the row (as a takeover would): the holder's next renewal finds it.
        await onNode3.execute('UPDATE eventshift_locks SET token = ? WHERE name = ?', ['f'.repeat(32), name]);
        await until('the holder to notice', 5000, () =>
          a.assertHeld().then(
            () => false,
            () => true,
          ),
        );
        await expect(a.assertHeld()).rejects.toThrow(/was lost: another process took it over .* This run stopped at a safe point/);
        await a.release();
        await onNode3.execute('DELETE FROM eventshift_locks WHERE name = ?', [name]);
        // A holder whose connection is killed stops renewing: it knows at once; another takes the lock over after its lease.
        const b = (await tryLock(urlOn(t, 0), name, short))!;
        const onNode1 = await node(0).connect();
        await onNode1.execute(`KILL ${b.connectionId}`);
        await onNode1.close();
        const killed = performance.now();
        const lines: string[] = [];
        const c = (await tryLock(urlOn(t, 1), name, { ...short, log: (l) => lines.push(l) }))!;
        const tookOver = (performance.now() - killed) / 1000;
        console.log(`galera: a 4 s lease taken over ${tookOver.toFixed(1)} s after its holder's connection was killed`);
        expect(c).not.toBeNull();
        expect(tookOver).toBeLessThan(short.leaseMs / 1000 + 1);
        expect(lines.join('\n')).toMatch(/has not renewed its lease for .* waiting .* then taking the lock over[^]*Took over the run lock/);
        await expect(b.assertHeld()).rejects.toThrow(/was lost: its lock connection \d+ failed/);
        await b.release();
        expect(await lockHolder(onNode3, name)).toMatchObject({ node: 'node2' });
        await c.release();
        expect(await lockHolder(onNode3, name)).toBeNull();
      } finally {
        await onNode3.close();
      }
    },
  );

  it('of three runs taking the lock at once through the three nodes, exactly one gets it: a new lease, and an expired one', async () => {
    const t = await freshDatabase('galera_race', node(0).url);
    onCluster.push(t);
    const short = { leaseMs: 4000, renewMs: 500, waitSeconds: 1 };
    for (const round of ['new', 'expired']) {
      const name = lockName(t.name, `race-${round}`);
      if (round === 'expired') {
        // A lease a dead run left an hour ago: every taker may take it over, and certification lets one.
        const db = await node(0).connect(t.name);
        try {
          await db.execute(
            'INSERT INTO eventshift_locks (name, token, holder_host, holder_pid, holder_connection, holder_node, taken_at, ' +
              "renewed_at, expires_at) VALUES (?, REPEAT('0', 32), 'gone', 1, 1, 'node9', UTC_TIMESTAMP(6) - INTERVAL 1 HOUR, " +
              'UTC_TIMESTAMP(6) - INTERVAL 1 HOUR, UTC_TIMESTAMP(6) - INTERVAL 1 HOUR)',
            [name],
          );
        } finally {
          await db.close();
        }
      }
      const takers = await Promise.all([0, 1, 2].map((i) => tryLock(urlOn(t, i), name, short)));
      const winners = takers.filter((x) => x !== null);
      expect(winners, round).toHaveLength(1);
      const onNode3 = await node(2).connect(t.name);
      try {
        expect(await lockHolder(onNode3, name)).toMatchObject({ connectionId: winners[0]!.connectionId });
        await winners[0]!.assertHeld();
      } finally {
        await onNode3.close();
        await winners[0]!.release();
      }
    }
  });

  it('plan refuses a legacy MyISAM table (exit 1), naming it and its engine, says how to convert it, and states the DDL', async () => {
    const t = await seeded('galera_myisam');
    await t.db.execute('ALTER TABLE ord_pull ENGINE=MyISAM');
    // And a row limit on node 2, under which it refuses a projection's fill.
    const admin = await node(1).connect();
    await admin.execute('SET GLOBAL wsrep_max_ws_rows = 1000000');
    const r = cli(['plan', 'vbzcart-ord-pull'], urlOn(t, 1), 'myisam-backups');
    await admin.execute('SET GLOBAL wsrep_max_ws_rows = 0');
    await admin.close();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(
      /Projection whenHeld fills `orders` .* error 4165\) whenever wsrep_max_ws_rows is set \(here 1000000/,
    );
    const said = r.stdout + r.stderr;
    expect(said).toMatch(/`ord_pull` is a MyISAM table: Galera replicates only InnoDB/);
    expect(said).toMatch(/this node, node2, has 600 of them/);
    expect(said).toContain('INSERT INTO `ord_pull_innodb` SELECT * FROM `ord_pull`');
    // The plan states what the run's DDL does to the cluster.
    expect(said).toMatch(/total order isolation/);
    expect(said).toContain('RENAME TABLE `ord_pull` TO `OLD ord_pull` (cutover)');
  });

  it(
    'a second run against another node is refused (exit 1) naming the first, which holds the lock; every node ends ' +
      'identical to the single-server run',
    { timeout: 120_000 },
    async () => {
      const t = await seeded('galera_two');
      const pause = ws.path('two.pause');
      await writeFile(pause, '');
      const first = startCli([...migrateArgs, '--pause-file', pause, '--backup-dir', ws.path('two-backups')], {
        cwd: ws.dir,
        env: { DATABASE_URL: urlOn(t, 0) },
      });
      try {
        // Paused before its backup: it holds the lock and its run is recorded. Its ID is not always 1: Galera gives
        // each node its own AUTO_INCREMENT offset (wsrep_auto_increment_control), and which node gets which varies.
        let firstRun = 0;
        await until('the first run to be recorded', 60_000, async () => {
          const runs = await t.db.query<{ id: number }>("SELECT id FROM eventshift_runs WHERE status = 'running'").catch(() => []);
          firstRun = Number(runs[0]?.id ?? 0);
          return runs.length === 1;
        });
        const started = performance.now();
        const second = cli(migrateArgs, urlOn(t, 1), 'two-backups-2');
        const refusedAfter = (performance.now() - started) / 1000;
        console.log(`galera: the second run was refused after ${refusedAfter.toFixed(1)} s`);
        expect(second.code, second.stderr).toBe(1);
        expect(second.stderr).toMatch(
          new RegExp(
            `Run ${firstRun} of vbzcart-ord-pull \\(host [^,]+, pid ${first.child.pid}, .*holds the lock .* through Galera node node1`,
          ),
        );
      } finally {
        await rm(pause, { force: true });
      }
      const done = await first.exited;
      expect(done.code, done.stderr).toBe(0);
      expect(await differencesOnEveryNode(t)).toEqual(noDifferences());
    },
  );

  it(
    'a node killed mid-run: migrate through another node takes the lock over once its lease runs out, and every node ' +
      'ends identical to the single-server run once the dead node rejoins',
    { timeout: 180_000 },
    async () => {
      const t = await seeded('galera_kill');
      // Slowed, so that the write stage lasts long enough to be cut short.
      const run = startCli([...migrateArgs, '--max-rows-per-second', '300', '--backup-dir', ws.path('kill-backups')], {
        cwd: ws.dir,
        env: { DATABASE_URL: urlOn(t, 0) },
      });
      const watch = await node(1).connect(t.name);
      try {
        await until('chunks of holdOn to commit', 60_000, async () => (await stepRows(watch, 'step holdOn')) > 0);
        await node(0).kill();
        const killedAt = performance.now();
        const died = await run.exited;
        expect(died.code, died.stderr).not.toBe(0);
        const written = await stepRows(watch, 'step holdOn');
        expect(written).toBeLessThan(1300);
        const resumed = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--backup-dir', ws.path('kill-backups')], {
          cwd: ws.dir,
          env: { DATABASE_URL: urlOn(t, 1) },
        });
        const seconds = (performance.now() - killedAt) / 1000;
        expect(resumed.code, resumed.stderr).toBe(0);
        const said = resumed.stdout + resumed.stderr;
        expect(said).toMatch(
          /Took over the run lock eventshift:[^ ]+:vbzcart-ord-pull: its lease, held by pid \d+ on .* through node node1/,
        );
        // The run's ID, whatever AUTO_INCREMENT offset its node had (see above).
        const [killedRun] = await watch.query<{ id: number }>('SELECT MIN(id) AS id FROM eventshift_runs');
        expect(said).toMatch(new RegExp(`Resuming run ${Number(killedRun!.id)} of vbzcart-ord-pull`));
        console.log(
          `galera: ${said
            .split('\n')
            .filter((l) => /run lock/.test(l))
            .join(' / ')}`,
        );
        console.log(
          `galera: killed after ${written} rows of holdOn; migrate through node2 took the lock over and finished ` +
            `${seconds.toFixed(1)} s after the kill`,
        );
      } finally {
        await watch.close();
      }
      const rejoined = performance.now();
      await node(0).start();
      console.log(`galera: node1 rejoined in ${((performance.now() - rejoined) / 1000).toFixed(1)} s`);
      expect(await differencesOnEveryNode(t)).toEqual(noDifferences());
    },
  );

  it(
    'a certification conflict with a writer on another node: the chunk is rolled back and retried, counted in the ' +
      'report, and the result is the same',
    { timeout: 120_000 },
    async () => {
      const t = await seeded('galera_conflict');
      const [{ first }] = (await t.db.query<{ first: number }>('SELECT MIN(ID) AS first FROM ord_pull')) as [{ first: number }];
      // A session on node 1 holds the gap of event IDs where holdOn writes, so holdOn's first chunk waits there,
      // holding a shared lock on the pull it read first (INSERT ... SELECT locks what it reads).
      const gap = await node(0).connect(t.name);
      await gap.raw.query('START TRANSACTION');
      await gap.query('SELECT ID FROM event WHERE ID BETWEEN ? AND ? FOR UPDATE', [Number(first) + 1500, Number(first) + 1509]);
      const reportDir = ws.path('conflict-report');
      const run = startCli(
        [...migrateArgs.filter((a) => a !== '--quiet'), '--report', reportDir, '--backup-dir', ws.path('conflict-backups')],
        { cwd: ws.dir, env: { DATABASE_URL: urlOn(t, 0) } },
      );
      const said = () => run.output().stdout + run.output().stderr;
      const onNode2 = await node(1).connect(t.name);
      try {
        await until('a write chunk to wait on the gap', 60_000, async () => {
          const waiting = await gap.query(
            `SELECT 1 FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
              WHERE p.DB = ? AND t.trx_state = 'LOCK WAIT'`,
            [t.name],
          );
          return waiting.length > 0;
        });
        // The projection beside the steps reads every pull too: it is done before the writer comes.
        await until('the projection to be written', 60_000, async () => {
          const [p] = await onNode2.query<{ status: string }>(
            "SELECT status FROM eventshift_steps WHERE stage = 'write' AND step = 'projection whenHeld'",
          );
          return p?.status === 'done';
        });
        // The writer on node 2 changes that pull and changes it back, in one transaction: the rows stay as they were, and
        // its write-set, applied on node 1, aborts the chunk that holds the pull (1213).
        await onNode2.transaction(async (tx) => {
          await tx.execute('UPDATE ord_pull SET ID_Type = ID_Type + 1 WHERE ID = ?', [first]);
          await tx.execute('UPDATE ord_pull SET ID_Type = ID_Type - 1 WHERE ID = ?', [first]);
        });
        await until('the chunk to be retried', 30_000, async () => /lost a certification conflict on Galera/.test(said()));
      } finally {
        await gap.raw.query('ROLLBACK');
        await gap.close();
        await onNode2.close();
      }
      const done = await run.exited;
      expect(done.code, done.stderr).toBe(0);
      expect(said()).toMatch(/A chunk of step hold(On|Off) lost a certification conflict on Galera \(error 1213, attempt 1\)/);
      const report = JSON.parse(await readFile(join(reportDir, 'report.json'), 'utf8'));
      console.log(`galera: ${report.galera.retries.count} chunk transaction(s) retried: ${JSON.stringify(report.galera.retries)}`);
      expect(report.galera).toMatchObject({ node: 'node1', maxWriteSetRows: 0 });
      expect(report.galera.retries.count).toBeGreaterThan(0);
      expect(report.galera.retries.byError).toEqual({ 1213: report.galera.retries.count });
      expect(await readFile(join(reportDir, 'report.md'), 'utf8')).toMatch(/chunk transaction\(s\) retried after a certification/);
      expect(done.stdout).toMatch(/chunk transaction\(s\) retried after a certification conflict/);
      expect(await differencesOnEveryNode(t)).toEqual(noDifferences());
    },
  );

  it(
    'chunks stay under the write-set limits: a quarter of wsrep_max_ws_rows for a connection that read it, and a ' +
      'chunk the node refuses over a limit lowered after the connection read it is done again as a quarter of its keys',
    async () => {
      const mib = 1024 * 1024;
      expect(writeSetBudget({ node: 'n', maxWriteSetRows: 500, maxWriteSetBytes: 2 ** 31 - 1 })).toEqual({ rows: 125, bytes: 16 * mib });
      expect(writeSetBudget({ node: 'n', maxWriteSetRows: 0, maxWriteSetBytes: mib })).toEqual({ rows: 10_000, bytes: mib / 4 });
      const t = await freshDatabase('galera_ws', node(0).url);
      onCluster.push(t);
      await t.db.execute('CREATE TABLE copied (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB');
      const admin = await node(0).connect();
      // `t.db` read no row limit; `limited`, connected after it was set, reads 400.
      await admin.execute('SET GLOBAL wsrep_max_ws_rows = 400');
      const limited = await node(0).connect(t.name);
      try {
        expect(limited.capabilities.galera?.maxWriteSetRows).toBe(400);
        const copy = async (db: Db, first: number) => {
          const widths: number[] = [];
          const done = await runChunks({
            db,
            keys: integerKeys(first, first + 1999),
            size: { fixed: 1000 },
            work: (chunk) =>
              chunk.commit(
                async (tx) =>
                  (
                    await tx.execute("INSERT INTO copied SELECT seq, CONCAT('row ', seq) FROM seq_1_to_1000000 WHERE seq BETWEEN ? AND ?", [
                      chunk.lo,
                      chunk.hi,
                    ])
                  ).affectedRows,
              ),
            onChunk: (chunk) => widths.push(chunk.hi - chunk.lo + 1),
          });
          return { rows: done.rows, widths };
        };
        expect(await copy(limited, 1)).toEqual({ rows: 2000, widths: Array(20).fill(100) });
        // 1000 rows over the limit: refused (1180), rolled back, done again as chunks of 250.
        expect(await copy(t.db, 10_001)).toEqual({ rows: 2000, widths: Array(8).fill(250) });
      } finally {
        await admin.execute('SET GLOBAL wsrep_max_ws_rows = 0');
        await admin.close();
        await limited.close();
      }
      const [count] = await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM copied');
      expect(Number(count!.n)).toBe(4000);
    },
  );

  it('flow control holds the run while a node is behind, and lets it go on once the node caught up', async () => {
    expect(fcLimitOf('gcs.fc_factor = 1.0; gcs.fc_limit = 40; gcs.fc_master_slave = no')).toBe(40);
    expect(fcLimitOf('evs.debug_log_mask = 0x1')).toBe(16);
    const t = await freshDatabase('galera_fc', node(0).url);
    onCluster.push(t);
    const signal = galeraFlowControl(urlOn(t, 0));
    try {
      expect(await signal.poll()).toBeNull();
      // A table without any key: node 1 updates its rows in one scan, nodes 2 and 3 apply each row by a scan of their
      // own, and the writes queued behind that make them ask the cluster to pause (flow control).
      await t.db.execute('CREATE TABLE nokey (a INT, b INT) ENGINE=InnoDB');
      await t.db.execute('INSERT INTO nokey SELECT seq, 0 FROM seq_1_to_4000');
      await t.db.execute('CREATE TABLE queued (id INT PRIMARY KEY) ENGINE=InnoDB');
      await until('the cluster to apply the setup', 30_000, async () => (await signal.poll()) === null);
      await t.db.execute('UPDATE nokey SET b = b + 1');
      const writes = (async () => {
        for (let i = 0; i < 40; i++) await t.db.execute(`INSERT INTO ${quoteId('queued')} VALUES (?)`, [i]);
      })();
      const reasons: Array<string | null> = [];
      let finished = false;
      void writes.then(() => (finished = true));
      while (!finished) {
        await delay(300);
        reasons.push(await signal.poll());
      }
      await writes;
      expect(reasons.some((r) => /the cluster was paused by flow control \d+% of the last/.test(r ?? ''))).toBe(true);
      await until('flow control to end', 30_000, async () => (await signal.poll()) === null);
    } finally {
      await signal.close();
    }
  });
});
