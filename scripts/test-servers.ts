/**
 * Extra MariaDB servers for the tests and drills that need more than the one on 127.0.0.1:3306: a primary with binary
 * logging and its replica, a 3-node Galera cluster, or one server with settings of its own. Each server is a
 * `mariadbd` process of its own, with its own datadir and option file under one base folder, listening on loopback
 * only. The tests start them on demand and stop
 * them afterwards; from a shell:
 *
 *   node bin/run-script.mjs scripts/test-servers.ts start single|replication|galera [--port N] [--dir DIR]
 *     [--set NAME=VALUE]...  (a [mysqld] setting of the single server)
 *   node bin/run-script.mjs scripts/test-servers.ts stop single|replication|galera [--port N] [--dir DIR]
 *
 * `start` prints each server's URL and leaves the servers running; `stop` shuts them down and removes their folder.
 * Servers run as the `mysql` user, as Debian's own does: rsync's daemon, which Galera's state transfer runs, drops
 * root's rights and could not write a root-owned datadir.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Db } from '../src/db/connection.ts';

export const galeraProvider = '/usr/lib/galera/libgalera_smm.so';
const serverUser = 'mysql';

/** One mariadbd of a topology. */
export interface ServerNode {
  name: string;
  port: number;
  /** `mysql://root@127.0.0.1:PORT` (no database). */
  url: string;
  /** Starts the server (again) with its option file; resolves once it answers (and, on Galera, is Synced). */
  start(): Promise<void>;
  /** Shuts the server down cleanly. */
  stop(): Promise<void>;
  /** SIGKILLs the server, as a crash would. */
  kill(): Promise<void>;
  /** Whether its process is alive. */
  running(): boolean;
  /** A connection to `database` on this server (the caller closes it). */
  connect(database?: string): Promise<Db>;
}

export interface Topology {
  kind: 'single' | 'replication' | 'galera';
  dir: string;
  nodes: ServerNode[];
  /** Stops every server still running and removes the folder. */
  stop(): Promise<void>;
}

export interface TopologyOptions {
  /** First port; the servers take the next ones (Galera also takes 4 ports per node from port + 1250 on). */
  port?: number;
  /** Folder of the datadirs and option files (default: a folder per topology and port under the temp folder). */
  dir?: string;
  /** One line per step taken; undefined is silent. */
  log?: (line: string) => void;
}

const common = (dir: string, name: string, port: number) => [
  '[mysqld]',
  `user=${serverUser}`,
  `datadir=${join(dir, name)}`,
  // A folder of its own for temporary files: a server starting (and mariadb-install-db's bootstrap) deletes the
  // `#sql*` files it finds in its tmpdir, and in the shared /tmp those are the other servers' temporary tables, which
  // crashed the server on 3306 mid-query (measured: "Error on delete of '/tmp/#sql-temptable-...MAD'", then signal 11).
  `tmpdir=${join(dir, `${name}-tmp`)}`,
  `socket=${join(dir, `${name}.sock`)}`,
  `pid-file=${join(dir, `${name}.pid`)}`,
  `port=${port}`,
  'bind-address=127.0.0.1',
  'skip-name-resolve',
  'character-set-server=utf8mb4',
  'collation-server=utf8mb4_general_ci',
  `log-error=${join(dir, `${name}.err`)}`,
  'innodb-buffer-pool-size=64M',
  'innodb-log-file-size=16M',
  'local-infile=1',
  'binlog-format=ROW',
  'skip-log-bin',
];

/**
 * One server (`port`) started with `settings` added to its [mysqld] section, for a behaviour the server on 3306 does
 * not have: `lower_case_table_names=1`, say, which a datadir takes when it is created and keeps.
 */
export async function startSingle(
  options: TopologyOptions & { settings?: readonly string[] } = {},
): Promise<Topology & { server: ServerNode }> {
  const port = options.port ?? 3330;
  const dir = options.dir ?? join(tmpdir(), `eventshift-single-${port}`);
  const log = options.log ?? (() => undefined);
  await fresh(dir);
  const server = await makeNode(dir, 'server', port, [...common(dir, 'server', port), ...(options.settings ?? [])], log);
  await server.start();
  log(`single: ${server.url}`);
  return { kind: 'single', dir, nodes: [server], server, stop: () => stopAll(dir, [server]) };
}

/**
 * A primary (`port`, binary log on, server_id 1) and one replica (`port + 1`, server_id 2, replicating by GTID from
 * the primary as user `repl`). Resolves once the replica's SQL and IO threads run.
 */
export async function startReplication(options: TopologyOptions = {}): Promise<Topology & { primary: ServerNode; replica: ServerNode }> {
  const port = options.port ?? 3317;
  const dir = options.dir ?? join(tmpdir(), `eventshift-replication-${port}`);
  const log = options.log ?? (() => undefined);
  await fresh(dir);
  const binlog = (name: string, id: number) => [
    `server-id=${id}`,
    `log-bin=${join(dir, `${name}-bin`)}`,
    `relay-log=${join(dir, `${name}-relay`)}`,
    'log-slave-updates=ON',
    `report-host=127.0.0.1`,
    `report-port=${id === 1 ? port : port + 1}`,
  ];
  const primary = await makeNode(
    dir,
    'primary',
    port,
    [...common(dir, 'primary', port).filter((l) => l !== 'skip-log-bin'), ...binlog('primary', 1)],
    log,
  );
  const replica = await makeNode(
    dir,
    'replica',
    port + 1,
    [...common(dir, 'replica', port + 1).filter((l) => l !== 'skip-log-bin'), ...binlog('replica', 2), 'read-only=OFF'],
    log,
  );
  await Promise.all([primary.start(), replica.start()]);
  const p = await primary.connect();
  try {
    await p.execute("CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl'");
    await p.execute("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'");
  } finally {
    await p.close();
  }
  const r = await replica.connect();
  try {
    await r.execute(
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${port}, ` +
        "MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos",
    );
    await r.execute('START SLAVE');
    await until(
      async () => {
        const [status] = await r.query<{ Slave_IO_Running: string; Slave_SQL_Running: string }>('SHOW SLAVE STATUS');
        return status?.Slave_IO_Running === 'Yes' && status.Slave_SQL_Running === 'Yes';
      },
      30_000,
      'the replica to connect to its primary',
    );
  } finally {
    await r.close();
  }
  log(`replication: primary ${primary.url}, replica ${replica.url}`);
  return { kind: 'replication', dir, nodes: [primary, replica], primary, replica, stop: () => stopAll(dir, [primary, replica]) };
}

/**
 * A 3-node Galera cluster (`port`, `port + 1`, `port + 2`), group communication on loopback ports `port + 1250 + i`,
 * IST on `port + 1260 + i`, SST (rsync) on `port + 1270 + i`. Node 1 bootstraps the cluster; the others join by SST.
 */
export async function startGalera(options: TopologyOptions & { nodes?: number } = {}): Promise<Topology> {
  const port = options.port ?? 3321;
  const count = options.nodes ?? 3;
  const dir = options.dir ?? join(tmpdir(), `eventshift-galera-${port}`);
  const log = options.log ?? (() => undefined);
  if (!existsSync(galeraProvider))
    throw new Error(`Galera is not installed here (${galeraProvider} is missing): apt-get install galera-4.`);
  await fresh(dir);
  const group = (i: number) => port + 1250 + i;
  const address = Array.from({ length: count }, (_, i) => `127.0.0.1:${group(i)}`).join(',');
  const nodes: ServerNode[] = [];
  for (let i = 0; i < count; i++) {
    const name = `node${i + 1}`;
    nodes.push(
      await makeNode(
        dir,
        name,
        port + i,
        [
          ...common(dir, name, port + i),
          'default-storage-engine=InnoDB',
          'innodb-autoinc-lock-mode=2',
          'wsrep-on=ON',
          `wsrep-provider=${galeraProvider}`,
          'wsrep-cluster-name=eventshift-test',
          `wsrep-cluster-address=gcomm://${address}`,
          `wsrep-node-address=127.0.0.1:${group(i)}`,
          `wsrep-node-name=${name}`,
          `wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${group(i)};` +
            `ist.recv_addr=127.0.0.1:${port + 1260 + i};gcache.size=64M`,
          `wsrep-sst-receive-address=127.0.0.1:${port + 1270 + i}`,
          'wsrep-sst-method=rsync',
        ],
        log,
        i === 0 ? ['--wsrep-new-cluster'] : [],
      ),
    );
  }
  // Node 1 bootstraps only the first time: restarted later, it joins the others like any node.
  await nodes[0]!.start();
  for (const node of nodes.slice(1)) await node.start();
  log(`galera: ${nodes.map((n) => n.url).join(', ')}`);
  return { kind: 'galera', dir, nodes, stop: () => stopAll(dir, nodes) };
}

async function fresh(dir: string): Promise<void> {
  // A topology left by a killed test process: its servers are stopped first, by their pid files.
  if (existsSync(dir)) await killByPidFiles(dir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await chownToServer(dir);
}

async function chownToServer(path: string): Promise<void> {
  const { uid, gid } = userIds(serverUser);
  await chown(path, uid, gid);
}

function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
  const ids = { uid: id('-u'), gid: id('-g') };
  if (!Number.isInteger(ids.uid) || !Number.isInteger(ids.gid)) throw new Error(`There is no user ${user} to run the test servers as.`);
  return ids;
}

async function makeNode(
  dir: string,
  name: string,
  port: number,
  lines: string[],
  log: (line: string) => void,
  firstArgs: string[] = [],
): Promise<ServerNode> {
  const cnf = join(dir, `${name}.cnf`);
  await writeFile(cnf, `${lines.join('\n')}\n`);
  await chownToServer(cnf);
  await mkdir(join(dir, `${name}-tmp`), { recursive: true });
  await chownToServer(join(dir, `${name}-tmp`));
  const install = spawnSync(
    'mariadb-install-db',
    [`--defaults-file=${cnf}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db for ${name} failed: ${install.stderr || install.stdout}`);
  const galera = lines.includes('wsrep-on=ON');
  let child: ChildProcess | null = null;
  let started = 0;
  const url = `mysql://root@127.0.0.1:${port}`;
  const node: ServerNode = {
    name,
    port,
    url,
    async start() {
      const args = [`--defaults-file=${cnf}`, ...(started++ === 0 ? firstArgs : [])];
      child = spawn('mariadbd', args, { stdio: 'ignore' });
      const exited = new Promise<never>((_, reject) =>
        child!.once('exit', (code, signal) =>
          reject(new Error(`${name} exited (${signal ?? code}) while starting; see ${join(dir, `${name}.err`)}`)),
        ),
      );
      exited.catch(() => undefined);
      await Promise.race([
        exited,
        until(
          async () => {
            const db = await connect(url + '/mysql').catch(() => null);
            if (!db) return false;
            try {
              if (!galera) return true;
              const [state] = await db.query<{ Value: string }>("SHOW STATUS LIKE 'wsrep_local_state_comment'");
              return state?.Value === 'Synced';
            } finally {
              await db.close();
            }
          },
          120_000,
          `${name} to start`,
        ),
      ]);
      log(`${name} up on port ${port}`);
    },
    async stop() {
      if (!node.running()) return;
      const done = new Promise((resolve) => child!.once('exit', resolve));
      child!.kill('SIGTERM');
      await done;
      child = null;
    },
    async kill() {
      if (!node.running()) return;
      const done = new Promise((resolve) => child!.once('exit', resolve));
      child!.kill('SIGKILL');
      await done;
      child = null;
    },
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    connect: (database = 'mysql') => connect(`${url}/${database}`),
  };
  return node;
}

async function stopAll(dir: string, nodes: ServerNode[]): Promise<void> {
  for (const node of [...nodes].reverse()) await node.stop();
  await rm(dir, { recursive: true, force: true });
}

async function killByPidFiles(dir: string): Promise<void> {
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.pid'))) {
    const pid = Number((await readFile(join(dir, file), 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      continue; // already gone
    }
    await until(
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      10_000,
      `server ${pid} to exit`,
    );
  }
}

async function until(test: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms / 1000} s waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, kind] = process.argv.slice(2);
  const flag = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const usage =
    'usage: node bin/run-script.mjs scripts/test-servers.ts start|stop single|replication|galera [--port N] [--dir DIR] ' +
    '[--set NAME=VALUE]... (--set: a [mysqld] setting of the single server)';
  if (process.argv.includes('--help')) {
    console.log(usage);
    process.exit(0);
  }
  if (!['start', 'stop'].includes(command ?? '') || !['single', 'replication', 'galera'].includes(kind ?? '')) {
    console.error(usage);
    process.exit(2);
  }
  const port = flag('port') ? Number(flag('port')) : kind === 'galera' ? 3321 : kind === 'single' ? 3330 : 3317;
  const dir = flag('dir') ?? join(tmpdir(), `eventshift-${kind}-${port}`);
  if (command === 'stop') {
    if (existsSync(dir)) await killByPidFiles(dir);
    await rm(dir, { recursive: true, force: true });
    console.log(`stopped ${kind} in ${dir}`);
  } else {
    const settings = process.argv.flatMap((arg, i) => (arg === '--set' && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
    const topology =
      kind === 'galera'
        ? await startGalera({ port, dir, log: console.log })
        : kind === 'single'
          ? await startSingle({ port, dir, settings, log: console.log })
          : await startReplication({ port, dir, log: console.log });
    // The servers outlive this script: `stop` ends them by their pid files.
    for (const node of topology.nodes) console.log(`${node.name}: ${node.url}`);
    process.exit(0);
  }
}
