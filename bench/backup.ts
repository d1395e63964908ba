/**
 * `npm run bench:backup [-- --pulls N] [--seed S] [--repeat R]`: eventshift's backup and restore beside mysqldump and
 * replaying its output with `mariadb < dump.sql`, on the same tables of a generated VbzCart database, in one run.
 *
 * 1. Builds a scratch database of N pulls (default 500,000) with the fixture generator, and checksums its tables.
 * 2. Backs the tables up with `mysqldump --single-transaction ...` to a file, and with eventshift's createBackup.
 * 3. Restores each into a fresh, empty database of its own: `mariadb db < dump.sql`, and eventshift's restoreBackup.
 *    Both start from the same point, an empty database (mysqldump's output creates its tables; eventshift stages,
 *    verifies and renames them into place, with nothing to replace). eventshift's restore is given a second
 *    connection (`connect`), so it checksums each large table as two halves at once.
 * 4. Checks that both restores hold exactly the source's content (tableChecksum), so the times are of correct restores.
 * 5. Prints seconds, rows/s, file sizes, eventshift's peak RSS and the ratios eventshift / mysql tools (goal: <= 1.0),
 *    and writes them to bench/results/backup-<timestamp>.json.
 *
 * eventshift runs in a child process (bench/backup-worker.ts) so its peak RSS is its own; its time is the library
 * call's, without node's start-up. Every scratch database and file is removed at the end, also on error or Ctrl-C.
 * BENCH_DATABASE_SERVER (or TEST_DATABASE_SERVER) overrides the server, default mysql://root@127.0.0.1:3306.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readManifest, type BackupManifest } from '../src/backup/index.ts';
import { sameChecksum, tableChecksum, type ContentChecksum } from '../src/db/checksum.ts';
import { connect, parseDatabaseUrl, type Db } from '../src/db/connection.ts';
import { describeTable, showCreateTable } from '../src/db/introspect.ts';
import { quoteId } from '../src/db/quote.ts';
import { progressSink, trackSteps } from '../src/cli/progress.ts';
import { generateVbzcart } from '../mappings/vbzcart-ord-pull/fixture.ts';

const tables = ['ord_pull', 'orders', 'event', 'ord_hold_type'];
const mysqldumpFlags = ['--single-transaction', '--quick', '--hex-blob', '--skip-lock-tables', '--default-character-set=utf8mb4'];

const { values: args } = parseArgs({
  options: {
    pulls: { type: 'string', default: '500000' },
    seed: { type: 'string', default: '20091103' },
    repeat: { type: 'string', default: '1' },
  },
  strict: true,
});
const pulls = wholeNumber('--pulls', args.pulls);
const seed = wholeNumber('--seed', args.seed);
const repeat = wholeNumber('--repeat', args.repeat);
const server = (process.env.BENCH_DATABASE_SERVER ?? process.env.TEST_DATABASE_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const target = parseDatabaseUrl(`${server}/mysql`);
const say = (line: string) => process.stderr.write(`${line}\n`);

function wholeNumber(flag: string, value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) {
    say(`${flag} must be a positive whole number, not ${value}.`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Scratch databases and files, removed whatever happens.

const prefix = `es_bench_${randomBytes(3).toString('hex')}`;
const databases = new Set<string>();
let scratch: string | null = null;
let admin: Db | null = null;

async function freshDatabase(suffix: string): Promise<string> {
  const name = `${prefix}_${suffix}`;
  databases.add(name);
  await admin!.execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
  await admin!.execute(`CREATE DATABASE ${quoteId(name)} CHARACTER SET utf8mb4`);
  return name;
}

let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    const db = admin ?? (await connect(`${server}/mysql`).catch(() => null));
    for (const name of databases) await db?.execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`).catch((e: Error) => say(`Could not drop ${name}: ${e.message}`));
    await db?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\n${signal}: dropping the scratch databases ${prefix}_* ...`);
    void cleanUp().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Running the clients and the worker.

/** mysql client arguments for the server; the password, if any, goes in MYSQL_PWD, never on the command line. */
function clientArgs(): string[] {
  const where = target.socketPath ? [`--socket=${target.socketPath}`] : [`--host=${target.host}`, `--port=${target.port}`];
  return [...where, `--user=${target.user}`];
}
const clientEnv = { ...process.env, ...(target.password ? { MYSQL_PWD: target.password } : {}) };

interface Finished {
  seconds: number;
  stdout: string;
}

/** Runs a program to its end; its wall time, from spawn to exit. stdin from a file when `input` is given. */
function run(program: string, argv: string[], input?: string): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const fd = input === undefined ? null : openSync(input, 'r');
    const started = performance.now();
    const child = spawn(program, argv, { env: clientEnv, stdio: [fd ?? 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      if (fd !== null) closeSync(fd);
      reject(new Error(`${program} could not be started: ${error.message}`));
    });
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (fd !== null) closeSync(fd);
      if (code === 0) resolvePromise({ seconds, stdout });
      else reject(new Error(`${program} ${argv.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** The first of these programs that exists (MariaDB ships mariadb-dump/mariadb, MySQL mysqldump/mysql). */
async function program(names: string[]): Promise<string> {
  for (const name of names) {
    try {
      await run(name, ['--version']);
      return name;
    } catch {
      // try the next
    }
  }
  throw new Error(`None of ${names.join(', ')} is installed; install the MariaDB or MySQL client.`);
}

interface WorkerResult {
  id: string;
  seconds: number;
  rssBeforeKiB: number;
  peakRssKiB: number;
}

async function worker(operation: 'backup' | 'restore', database: string, dir: string, arg: string): Promise<WorkerResult> {
  const finished = await run(process.execPath, [resolve('bin/run-script.mjs'), resolve('bench/backup-worker.ts'), operation, `${server}/${database}`, dir, arg]);
  return JSON.parse(finished.stdout.trim().split('\n').at(-1)!) as WorkerResult;
}

// ---------------------------------------------------------------------------------------------------------------
// Content checks.

interface TableState {
  checksum: ContentChecksum;
  definition: string;
}

async function tableStates(database: string): Promise<Map<string, TableState>> {
  const db = await connect(`${server}/${database}`);
  try {
    const states = new Map<string, TableState>();
    for (const table of tables) {
      const info = await describeTable(db, table);
      if (!info) throw new Error(`Table ${table} is missing from ${database}.`);
      const columns = info.columns.filter((c) => !c.generated);
      states.set(table, { checksum: await tableChecksum(db, table, columns), definition: await showCreateTable(db, table) });
    }
    return states;
  } finally {
    await db.close();
  }
}

/** Compares a restored database with the source: the content must match; a differing definition is reported. */
async function compare(what: string, database: string, source: Map<string, TableState>): Promise<{ contentMatches: true; definitionsMatch: boolean }> {
  const restored = await tableStates(database);
  let definitionsMatch = true;
  for (const table of tables) {
    const want = source.get(table)!;
    const got = restored.get(table)!;
    if (!sameChecksum(want.checksum, got.checksum)) {
      throw new Error(`${what}: table ${table} differs from the source (rows ${got.checksum.rows} vs ${want.checksum.rows}, hash ${got.checksum.hash} vs ${want.checksum.hash}); its time would not count.`);
    }
    if (want.definition !== got.definition) definitionsMatch = false;
  }
  return { contentMatches: true, definitionsMatch };
}

// ---------------------------------------------------------------------------------------------------------------
// Figures.

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const pad = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);
const count = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

async function main(): Promise<void> {
  admin = await connect(`${server}/mysql`);
  const [version] = await admin.query<{ v: string }>('SELECT VERSION() AS v');
  const mysqldump = await program(['mysqldump', 'mariadb-dump']);
  const replay = await program(['mariadb', 'mysql']);
  scratch = await mkdtemp(join(tmpdir(), 'es-bench-'));
  const dumpFile = join(scratch, 'dump.sql');
  const backupDir = join(scratch, 'backups');

  const source = await freshDatabase('source');
  say(`Building ${source}: ${count(pulls)} pulls (seed ${seed}) ...`);
  const built = performance.now();
  const sourceDb = await connect(`${server}/${source}`);
  const steps = trackSteps(progressSink({}));
  try {
    await generateVbzcart(sourceDb, { pulls, seed, onProgress: (p) => steps.report(`generate ${p.stage}`, p.done, p.total) });
  } finally {
    steps.close();
    await sourceDb.close();
  }
  say(`Built in ${((performance.now() - built) / 1000).toFixed(1)} s. Checksumming the source (this also warms the server's cache) ...`);
  const sourceState = await tableStates(source);
  const loadBefore = loadavg()[0]!;
  const rowsByTable = Object.fromEntries(tables.map((t) => [t, sourceState.get(t)!.checksum.rows]));
  const totalRows = Object.values(rowsByTable).reduce((a, b) => a + b, 0);
  say(`Tables ${tables.join(', ')}: ${count(totalRows)} rows.`);

  const times = { mysqldump: [] as number[], backup: [] as number[], replay: [] as number[], restore: [] as number[] };
  const rss = { backup: [] as number[], restore: [] as number[], baseline: [] as number[] };
  const checks: Record<string, { contentMatches: boolean; definitionsMatch: boolean }> = {};
  let dumpBytes = 0;
  let manifest: BackupManifest | null = null;
  for (let round = 1; round <= repeat; round++) {
    const of = repeat > 1 ? ` (round ${round} of ${repeat})` : '';
    say(`mysqldump ${mysqldumpFlags.join(' ')}${of} ...`);
    await rm(dumpFile, { force: true });
    const dumped = await run(mysqldump, [...clientArgs(), ...mysqldumpFlags, `--result-file=${dumpFile}`, source, ...tables]);
    times.mysqldump.push(dumped.seconds);
    dumpBytes = (await stat(dumpFile)).size;

    say(`eventshift createBackup${of} ...`);
    const backup = await worker('backup', source, backupDir, tables.join(','));
    times.backup.push(backup.seconds);
    rss.backup.push(backup.peakRssKiB);
    rss.baseline.push(backup.rssBeforeKiB);
    manifest = await readManifest(backupDir, backup.id);

    say(`${replay} < dump.sql into an empty database${of} ...`);
    const replayed = await freshDatabase('replay');
    times.replay.push((await run(replay, [...clientArgs(), replayed], dumpFile)).seconds);
    checks.replay = await compare('mariadb < dump.sql', replayed, sourceState);
    await admin.execute(`DROP DATABASE ${quoteId(replayed)}`);

    say(`eventshift restoreBackup into an empty database${of} ...`);
    const restoredInto = await freshDatabase('restore');
    const restored = await worker('restore', restoredInto, backupDir, backup.id);
    times.restore.push(restored.seconds);
    rss.restore.push(restored.peakRssKiB);
    checks.restore = await compare('eventshift restore', restoredInto, sourceState);
    await admin.execute(`DROP DATABASE ${quoteId(restoredInto)}`);
  }

  const backupBytes = manifest!.tables.flatMap((t) => t.files).reduce((sum, f) => sum + f.bytes, 0);
  const seconds = {
    mysqldump: median(times.mysqldump), backup: median(times.backup), replay: median(times.replay), restore: median(times.restore),
  };
  const ratios = { backupVsMysqldump: seconds.backup / seconds.mysqldump, restoreVsReplay: seconds.restore / seconds.replay };
  const figures = {
    benchmark: 'backup',
    at: new Date().toISOString(),
    pulls, seed, repeat,
    server: version?.v ?? '',
    node: process.version,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem() },
    // Other work on the machine slows any of the four down: compare runs made under similar load.
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
    tables, rowsByTable, totalRows,
    startingPoint: 'both restores start from an empty database',
    mysqldump: { program: mysqldump, flags: mysqldumpFlags, seconds: seconds.mysqldump, rowsPerSecond: totalRows / seconds.mysqldump, fileBytes: dumpBytes, runs: times.mysqldump },
    eventshiftBackup: {
      seconds: seconds.backup, rowsPerSecond: totalRows / seconds.backup, bytes: backupBytes, gzip: false,
      peakRssKiB: median(rss.backup), rssBeforeKiB: median(rss.baseline), runs: times.backup,
    },
    replay: { program: replay, seconds: seconds.replay, rowsPerSecond: totalRows / seconds.replay, ...checks.replay, runs: times.replay },
    eventshiftRestore: { connections: 2, seconds: seconds.restore, rowsPerSecond: totalRows / seconds.restore, peakRssKiB: median(rss.restore), ...checks.restore, runs: times.restore },
    ratios,
    goalMet: ratios.backupVsMysqldump <= 1 && ratios.restoreVsReplay <= 1,
  };

  const rows: Array<[string, number, string, string]> = [
    [`${mysqldump} (${mysqldumpFlags.length} flags)`, seconds.mysqldump, mb(dumpBytes), ''],
    ['eventshift backup', seconds.backup, mb(backupBytes), `peak RSS ${mb(median(rss.backup) * 1024)}`],
    [`${replay} < dump.sql`, seconds.replay, '', checks.replay!.definitionsMatch ? 'content = source' : 'content = source, definition differs'],
    ['eventshift restore (2 connections)', seconds.restore, '', `content = source, peak RSS ${mb(median(rss.restore) * 1024)}`],
  ];
  const out = [
    '',
    `${count(pulls)} pulls: ${tables.map((t) => `${t} ${count(rowsByTable[t]!)}`).join(', ')} = ${count(totalRows)} rows. ` +
      `${version?.v}, node ${process.version}, ${cpus().length} CPUs.${repeat > 1 ? ` Median of ${repeat} rounds.` : ''}`,
    `Both restores start from an empty database. Load average ${loadBefore.toFixed(2)} before the timed steps, ${loadavg()[0]!.toFixed(2)} after.`,
    '',
    `${'operation'.padEnd(36)}${pad('seconds', 9)}${pad('rows/s', 12)}${pad('size', 13)}  notes`,
    ...rows.map(([name, s, size, note]) => `${name.padEnd(36)}${pad(s.toFixed(2), 9)}${pad(count(totalRows / s), 12)}${pad(size, 13)}  ${note}`),
    '',
    `backup  / mysqldump:      ${ratios.backupVsMysqldump.toFixed(2)}  ${ratios.backupVsMysqldump <= 1 ? '(goal <= 1.0 met)' : '(goal <= 1.0 NOT met)'}`,
    `restore / mariadb replay: ${ratios.restoreVsReplay.toFixed(2)}  ${ratios.restoreVsReplay <= 1 ? '(goal <= 1.0 met)' : '(goal <= 1.0 NOT met)'}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  const resultsDir = resolve('bench/results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `backup-${figures.at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.json`);
  await writeFile(file, `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(`\nFigures: ${file}\n`);
}

try {
  await main();
} catch (error) {
  say(`bench:backup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
