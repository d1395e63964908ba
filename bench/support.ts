/**
 * What the benchmarks share: the server they run on, scratch databases and folders removed whatever happens
 * (also on Ctrl-C), running the MySQL client programs and eventshift in child processes, and formatting figures.
 * BENCH_DATABASE_SERVER (or TEST_DATABASE_SERVER) overrides the server, default mysql://root@127.0.0.1:3306.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, parseDatabaseUrl, type Db } from '../src/db/connection.ts';
import { quoteId } from '../src/db/quote.ts';

export const server = (process.env.BENCH_DATABASE_SERVER ?? process.env.TEST_DATABASE_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(
  /\/$/,
  '',
);
const target = parseDatabaseUrl(`${server}/mysql`);

export const say = (line: string) => process.stderr.write(`${line}\n`);

/** A positive whole number from a flag (underscores allowed: 2_000_000), or exit 2 saying what is wrong. */
export function wholeNumber(flag: string, value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) {
    say(`${flag} must be a positive whole number, not ${value}.`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Scratch databases and folders, removed whatever happens.

/**
 * The scratch databases (`es_bench_<random>_<suffix>`) and folder of one benchmark run. `cleanUp` drops and removes
 * them all; it runs on SIGINT/SIGTERM by itself, and the benchmark calls it in a `finally`.
 */
export function scratchSpace() {
  const prefix = `es_bench_${randomBytes(3).toString('hex')}`;
  const databases = new Set<string>();
  let folder: string | null = null;
  let admin: Db | null = null;
  let cleaning: Promise<void> | null = null;

  const adminDb = async () => (admin ??= await connect(`${server}/mysql`));
  const cleanUp = () => {
    cleaning ??= (async () => {
      const db = admin ?? (await connect(`${server}/mysql`).catch(() => null));
      for (const name of databases)
        await db?.execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`).catch((e: Error) => say(`Could not drop ${name}: ${e.message}`));
      await db?.close();
      if (folder) await rm(folder, { recursive: true, force: true });
    })();
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`\n${signal}: dropping the scratch databases ${prefix}_* ...`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  return {
    prefix,
    admin: adminDb,
    /** A new, empty database `<prefix>_<suffix>` (dropped first if it exists). */
    async database(suffix: string): Promise<string> {
      const name = `${prefix}_${suffix}`;
      databases.add(name);
      const db = await adminDb();
      await db.execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
      await db.execute(`CREATE DATABASE ${quoteId(name)} CHARACTER SET utf8mb4`);
      return name;
    },
    /** Drops a scratch database now (to free the server's memory and disk for the next measurement). */
    async drop(name: string): Promise<void> {
      await (await adminDb()).execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
      databases.delete(name);
    },
    /** The run's scratch folder, created on first use. */
    async folder(): Promise<string> {
      return (folder ??= await mkdtemp(join(tmpdir(), 'es-bench-')));
    },
    cleanUp,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Running programs.

/** How both benchmarks run mysqldump: one consistent snapshot, rows streamed, binary as hex, utf8mb4. */
export const mysqldumpFlags = ['--single-transaction', '--quick', '--hex-blob', '--skip-lock-tables', '--default-character-set=utf8mb4'];

/** mysql client arguments for the server; the password, if any, goes in MYSQL_PWD, never on the command line. */
export function clientArgs(): string[] {
  const where = target.socketPath ? [`--socket=${target.socketPath}`] : [`--host=${target.host}`, `--port=${target.port}`];
  return [...where, `--user=${target.user}`];
}
const clientEnv = { ...process.env, ...(target.password ? { MYSQL_PWD: target.password } : {}) };

export interface Finished {
  /** Wall time from spawn to exit. */
  seconds: number;
  stdout: string;
  /** What the program wrote on file descriptor 3, when `fd3` was asked for. */
  fd3: string;
}

/** Runs a program to its end. stdin from a file when `input` is given; fails with its stderr on a non-zero exit. */
export function run(
  program: string,
  argv: string[],
  options: { input?: string; fd3?: boolean; env?: Record<string, string> } = {},
): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const fd = options.input === undefined ? null : openSync(options.input, 'r');
    const started = performance.now();
    const stdio: Array<'ignore' | 'pipe' | number> = [fd ?? 'ignore', 'pipe', 'pipe', ...(options.fd3 ? ['pipe' as const] : [])];
    const child = spawn(program, argv, { env: { ...clientEnv, ...options.env }, stdio });
    let stdout = '';
    let stderr = '';
    let fd3 = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    (child.stdio[3] as NodeJS.ReadableStream | undefined)?.on('data', (chunk: Buffer) => (fd3 += chunk.toString()));
    child.on('error', (error) => {
      if (fd !== null) closeSync(fd);
      reject(new Error(`${program} could not be started: ${error.message}`));
    });
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (fd !== null) closeSync(fd);
      if (code === 0) resolvePromise({ seconds, stdout, fd3 });
      else reject(new Error(`${program} ${argv.join(' ')} exited with ${code}: ${(stderr.trim() || stdout.trim()).slice(-2000)}`));
    });
  });
}

/** The first of these programs that exists (MariaDB ships mariadb-dump/mariadb, MySQL mysqldump/mysql). */
export async function program(names: string[]): Promise<string> {
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

/** The eventshift CLI in a child process of its own (through bench/eventshift-rss.mjs), with --json; its result, wall time and peak RSS. */
export async function eventshift(argv: string[], database: string) {
  const finished = await run(
    process.execPath,
    [resolve('bench/eventshift-rss.mjs'), ...argv, '--json', '--quiet', '--database-url', `${server}/${database}`],
    { fd3: true },
  );
  const rss = JSON.parse(finished.fd3.trim().split('\n').at(-1)!) as { rssBeforeKiB: number; peakRssKiB: number };
  return { seconds: finished.seconds, result: JSON.parse(finished.stdout) as Record<string, unknown>, ...rss };
}

/**
 * Waits (up to 30 s) until the server has written out the pages the generator dirtied, so that every measurement
 * starts from the same state rather than paying for the previous copy's background flushing.
 */
export async function settle(db: Db): Promise<void> {
  const dirty = async () =>
    Number((await db.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'"))[0]?.Value ?? 0);
  const deadline = performance.now() + 30_000;
  while ((await dirty()) > 100 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 250));
}

// ---------------------------------------------------------------------------------------------------------------
// Figures.

/** The middle item by `by` (the lower of the two middle ones for an even count). */
export const medianBy = <T>(xs: readonly T[], by: (x: T) => number): T =>
  [...xs].sort((a, b) => by(a) - by(b))[Math.floor((xs.length - 1) / 2)]!;
export const median = (xs: number[]) => medianBy(xs, (x) => x);
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
/** Right-aligned in `width` characters. */
export const pad = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);
export const count = (n: number) =>
  Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
/** `20261121T114012Z`, for result file names. */
export const stamp = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

// ---------------------------------------------------------------------------------------------------------------
// A benchmark's run and its figures.

/** Writes a run's figures to `bench/results/<name>-<stamp>.json` (git ignores the folder) and prints where. */
export async function saveFigures(name: string, at: string, figures: unknown): Promise<void> {
  const resultsDir = resolve('bench/results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}-${stamp(at)}.json`);
  await writeFile(file, `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(`\nFigures: ${file}\n`);
}

/** Runs a benchmark: a failure is said in one line with exit code 1; its scratch space is removed whatever happens. */
export async function runBench(name: string, scratch: { cleanUp(): Promise<void> }, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    say(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    await scratch.cleanUp();
  }
}

/** With --help or -h: prints the script's own leading doc comment (its usage and what it measures) and exits 0. */
export function helpOnAsk(scriptUrl: string): void {
  if (!process.argv.includes('--help') && !process.argv.includes('-h')) return;
  const text = readFileSync(fileURLToPath(scriptUrl), 'utf8');
  const doc = /^\/\*\*\n([\s\S]*?)\n \*\//.exec(text)?.[1] ?? '';
  process.stdout.write(`${doc.replace(/^ \* ?/gm, '')}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------------
// mydumper and myloader (Debian's package), the third baseline of bench:backup.

/** A regular expression mydumper's -x takes for exactly these tables of `database`. */
function mydumperRegex(database: string, tables: readonly string[]): string {
  const escape = (s: string) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return `^${escape(database)}\\.(${tables.map(escape).join('|')})$`;
}

/**
 * mydumper's and myloader's connection arguments: host, port and user as flags; a password, if any, in an option file
 * of the scratch folder (0600), never on the command line.
 */
async function mydumperConnection(folder: string): Promise<string[]> {
  const where = target.socketPath ? [`--socket=${target.socketPath}`] : [`--host=${target.host}`, `--port=${target.port}`];
  if (!target.password) return [...where, `--user=${target.user}`];
  const file = join(folder, 'mydumper.cnf');
  const section = `user=${target.user}\npassword=${target.password}\n`;
  await writeFile(file, `[client]\n${section}[mydumper]\n${section}[myloader]\n${section}`, { mode: 0o600 });
  return [`--defaults-file=${file}`, ...where];
}

/**
 * `mydumper` of `tables` of `database` into `dir` on 2 threads, each table's schema, triggers and rows, in one
 * transactional snapshot per thread (--trx-consistency-only) and without its global read lock (--no-locks): the
 * benchmark's server is shared, and another's long query would hold FLUSH TABLES WITH READ LOCK for as long; nothing
 * writes the source meanwhile, so every thread reads the same rows.
 */
export async function mydumper(database: string, tables: readonly string[], dir: string, folder: string): Promise<Finished> {
  await rm(dir, { recursive: true, force: true });
  const args = [...(await mydumperConnection(folder)), '--database', database, '--regex', mydumperRegex(database, tables)];
  return run('mydumper', [
    ...args,
    '--outputdir',
    dir,
    '--threads',
    '2',
    '--trx-consistency-only',
    '--no-locks',
    '--long-query-guard',
    '1000000',
    '--triggers',
  ]);
}

/** `myloader` of mydumper's `dir` into the existing, empty `database` on 2 threads. */
export async function myloader(dir: string, database: string, folder: string): Promise<Finished> {
  return run('myloader', [...(await mydumperConnection(folder)), '--directory', dir, '--database', database, '--threads', '2']);
}
