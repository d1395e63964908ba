/**
 * `npm run drill:crash -- [--pulls 100000] [--kills 5] [--seed N]`: the crash drill of issue 3 at scale.
 * Builds a VbzCart database (a seed the tests never use), migrates one copy without interruption, then on fresh
 * copies SIGKILLs `eventshift migrate` at random instants, runs it again, and compares every table (definition,
 * AUTO_INCREMENT, content checksum) with the uninterrupted copy; the last copy is restored after its kill instead and
 * compared with the original. Prints one line per trial; exits 1 if any trial differs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type Db } from '../src/db/connection.ts';
import { tableChecksum } from '../src/db/checksum.ts';
import { describeTable, showCreateTable } from '../src/db/introspect.ts';
import { quoteId } from '../src/db/quote.ts';
import { generateVbzcart } from '../mappings/vbzcart-ord-pull/fixture.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'npm run drill:crash -- [--pulls 100000] [--kills 5] [--seed N]: SIGKILLs migrate at random instants on copies of a\n' +
      'VbzCart database, resumes each, and compares every table with an uninterrupted copy; exits 1 if one differs.\n' +
      '  DEMO_DATABASE_SERVER  the server (default mysql://root@127.0.0.1:3306)\n',
  );
  process.exit(0);
}
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const pulls = arg('pulls', 100_000);
const kills = arg('kills', 5);
const seed = arg('seed', 31_337);
const server = (process.env.DEMO_DATABASE_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const bin = resolve('bin/eventshift.mjs');
const work = await mkdtemp(join(tmpdir(), 'es-drill-'));
const made: string[] = [];

/** Every non-bookkeeping table's definition and content checksum. */
async function fingerprint(db: Db): Promise<Record<string, string>> {
  const tables = await db.query<{ n: string }>(
    "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME NOT LIKE 'eventshift\\_%' ORDER BY n",
    [db.database],
  );
  const out: Record<string, string> = {};
  for (const { n } of tables) {
    const info = (await describeTable(db, n))!;
    const sum = await tableChecksum(
      db,
      n,
      info.columns.filter((c) => !c.generated),
    );
    out[n] = `${await showCreateTable(db, n)} | ${sum.rows} rows | ${sum.hash}`;
  }
  return out;
}

async function seeded(label: string): Promise<string> {
  const name = `es_drill_${label}`;
  const admin = await connect(`${server}/mysql`);
  await admin.execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
  await admin.execute(`CREATE DATABASE ${quoteId(name)}`);
  await admin.close();
  made.push(name);
  const db = await connect(`${server}/${name}`);
  await generateVbzcart(db, { pulls, seed });
  await db.close();
  return `${server}/${name}`;
}

function eventshift(
  url: string,
  args: string[],
  killAfterMs?: number,
): Promise<{ code: number | null; signal: string | null; ms: number; stderr: string }> {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args, '--database-url', url, '--backup-dir', join(work, 'backups'), '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, ms: Math.round(performance.now() - started), stderr });
    });
  });
}

async function compare(url: string, expected: Record<string, string>): Promise<string[]> {
  const db = await connect(url);
  try {
    const actual = await fingerprint(db);
    const names = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    return [...names].filter((n) => expected[n] !== actual[n]);
  } finally {
    await db.close();
  }
}

let failed = 0;
try {
  console.log(`Crash drill: ${pulls} pulls, seed ${seed}, ${kills} kill(s).`);
  const originalUrl = await seeded('original');
  const original = await (async () => {
    const db = await connect(originalUrl);
    try {
      return await fingerprint(db);
    } finally {
      await db.close();
    }
  })();
  const refUrl = await seeded('reference');
  const ref = await eventshift(refUrl, ['migrate', 'vbzcart-ord-pull', '--yes']);
  if (ref.code !== 0) throw new Error(`the uninterrupted run failed: ${ref.stderr}`);
  const reference = await (async () => {
    const db = await connect(refUrl);
    try {
      return await fingerprint(db);
    } finally {
      await db.close();
    }
  })();
  console.log(`uninterrupted migrate: ${ref.ms} ms`);
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < kills; k++) {
    const url = await seeded(`trial_${k}`);
    const at = Math.round((0.1 + 0.85 * random()) * ref.ms);
    const killed = await eventshift(url, ['migrate', 'vbzcart-ord-pull', '--yes'], at);
    const restoreInstead = k === kills - 1;
    const again = restoreInstead
      ? await eventshift(url, ['restore', 'vbzcart-ord-pull', '--yes'])
      : await eventshift(url, ['migrate', 'vbzcart-ord-pull', '--yes']);
    const noBackupYet = restoreInstead && again.code === 1 && /No backup/.test(again.stderr);
    const differing = await compare(url, restoreInstead ? original : reference);
    const ok = (again.code === 0 || noBackupYet) && differing.length === 0;
    if (!ok) failed++;
    console.log(
      `kill at ${at} ms (${killed.signal === 'SIGKILL' ? 'killed' : 'had finished'}), then ${restoreInstead ? 'restore' : 'migrate'}: ` +
        (ok
          ? 'identical to the ' + (restoreInstead ? 'original' : 'uninterrupted run')
          : `DIFFERS in ${differing.join(', ') || again.stderr.trim()}`),
    );
  }
} finally {
  const admin = await connect(`${server}/mysql`);
  for (const name of made) await admin.execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
  await admin.close();
  await rm(work, { recursive: true, force: true });
}
console.log(failed === 0 ? 'All trials ended in the expected state.' : `${failed} trial(s) differ.`);
process.exit(failed === 0 ? 0 : 1);
