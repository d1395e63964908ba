import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackup, unfinishedRestores } from '../../src/backup/index.ts';
import type { Db } from '../../src/db/connection.ts';
import { runCli, startCli, type CliRun } from '../support/cli.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { loadPeerCorpus } from '../support/public-data.ts';
import { testWorkspace } from '../support/workspace.ts';
import { allTables, exactState, type ExactState } from './exact-state.ts';
import { leftoverTables } from './table-state.ts';

/**
 * `eventshift restore` SIGKILLed as a real process at several instants while it stages, swaps in and finishes the 98
 * tables of the peer corpus, then run again: every table must come back as the source has it (exact-state.ts: SHOW
 * CREATE TABLE, AUTO_INCREMENT, CHECKSUM TABLE, every stored value, the triggers), with no table left behind and no
 * journal left open. The restore journals some steps at most a second late (restore-backup.ts, LAZY_SAVE_MS), so most
 * of these kills fall between a step done and its journal entry: the run again must do those steps once more,
 * harmlessly.
 */
const ws = testWorkspace('restore_kill_peer');
let source: TestDatabase;
let tables: string[];
let original: Map<string, ExactState | null>;
let backupId: string;

beforeAll(async () => {
  source = await ws.database('kill_source');
  await loadPeerCorpus(serverUrl, source.name);
  tables = await allTables(source.db);
  original = await states(source.db);
  backupId = (await createBackup(source.db, { dir: ws.path('backups'), tables })).id;
}, 300_000);

async function states(db: Db): Promise<Map<string, ExactState | null>> {
  const out = new Map<string, ExactState | null>();
  for (const table of tables) out.set(table, await exactState(db, table));
  return out;
}

const restoreArgs = () => ['restore', '--yes', '--force', '--backup', backupId, '--backup-dir', ws.path('backups')];

/** How a trial kills the restore: at a fault point (the process SIGKILLs itself there), or after its n-th line matching `line`. */
type Kill = { fault: string } | { line: RegExp; nth: number; delayMs: number };

/** Starts the restore into `t` and SIGKILLs it as `kill` says; resolves with its run once it has exited. */
async function killedRestore(t: TestDatabase, kill: Kill): Promise<CliRun> {
  const env = { DATABASE_URL: t.url, ...('fault' in kill ? { EVENTSHIFT_FAULT: kill.fault } : {}) };
  const started = startCli(restoreArgs(), { cwd: ws.dir, env });
  if (!('fault' in kill)) {
    const { line, nth, delayMs } = kill;
    const watch = setInterval(() => {
      const seen = started
        .output()
        .stderr.split('\n')
        .filter((l) => line.test(l)).length;
      if (seen >= nth) {
        clearInterval(watch);
        setTimeout(() => started.child.kill('SIGKILL'), delayMs);
      }
    }, 5);
    void started.exited.then(() => clearInterval(watch));
  }
  return started.exited;
}

/** The restore run again to its end; while the killed one's server thread still holds the restore lock, it waits and retries. */
async function restoreAgain(t: TestDatabase): Promise<CliRun> {
  for (let attempt = 1; ; attempt++) {
    const r = runCli(restoreArgs(), { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    if (r.code === 0 || attempt === 30 || !/Another restore into \S+ is running/.test(r.stderr)) return r;
    await sleep(1000);
  }
}

/** The journal of the killed restore as it was saved: steps recorded, tables recorded as staged. */
async function savedJournal(db: Db): Promise<{ done: number; staged: number } | null> {
  const [journal] = await unfinishedRestores(db).catch(() => []);
  return journal ? { done: journal.done.length, staged: Object.keys(journal.staged).length } : null;
}

/** Tables the killed run's stderr says it staged (or found staged), logged beside its journal's counts for diagnosis. */
function doneBefore(stderr: string): { staged: number } {
  return { staged: stderr.split('\n').filter((l) => /^(Loaded|Created) \S.* as _es_restore_/.test(l)).length };
}

async function trial(t: TestDatabase, kill: Kill): Promise<void> {
  const killed = await killedRestore(t, kill);
  expect(killed.signal, `the restore was to be killed, but ended: ${killed.stderr}`).toBe('SIGKILL');
  const journal = await savedJournal(t.db);
  const said = doneBefore(killed.stderr);
  // What the run had done beyond its journal when it died: the steps the run again must do once more.
  const journaled = journal ? `${journal.staged} staged and ${journal.done} step(s) in its journal` : 'no journal';
  const where = 'fault' in kill ? kill.fault : `${kill.nth}th ${kill.line} + ${kill.delayMs} ms`;
  console.log(`killed at ${where}: ${said.staged} table(s) staged per its log, ${journaled}`);
  const again = await restoreAgain(t);
  expect(again.code, again.stderr).toBe(0);
  const after = await states(t.db);
  const differing = tables.filter((table) => JSON.stringify(after.get(table)) !== JSON.stringify(original.get(table)));
  for (const table of differing) expect.soft(after.get(table), table).toEqual(original.get(table));
  expect(differing).toEqual([]);
  expect(await leftoverTables(t.db)).toEqual([]);
  expect(await unfinishedRestores(t.db)).toEqual([]);
}

/** The corpus in the manifest's order, as the restore stages and finishes it: a table near its start, middle and end. */
const at = (fraction: number) => tables[Math.min(tables.length - 1, Math.floor(tables.length * fraction))]!;

const loaded = /^Loaded \S.* as _es_restore_/;
const swappedIn = /^Swapped in /;

describe('a restore of the peer corpus into an empty database, SIGKILLed and run again', () => {
  const kills: Array<[string, () => Kill]> = [
    ['while staging, right after the 10th table was loaded and verified', () => ({ line: loaded, nth: 10, delayMs: 0 })],
    ['while staging, 40 ms after the 50th table', () => ({ line: loaded, nth: 50, delayMs: 40 })],
    ['at a fault point: a table in the middle staged and verified', () => ({ fault: `restore stage ${at(0.6)} verified` })],
    ['right after the swap', () => ({ line: swappedIn, nth: 1, delayMs: 0 })],
    ['150 ms after the swap', () => ({ line: swappedIn, nth: 1, delayMs: 150 })],
    ['at a fault point: the foreign keys of fk_composite_child added', () => ({ fault: 'restore foreign keys fk_composite_child' })],
    ['at a fault point: the first table finished', () => ({ fault: `restore finish ${at(0)}` })],
    ['at a fault point: a table in the middle finished', () => ({ fault: `restore finish ${at(0.5)}` })],
    ['at a fault point: the last table finished', () => ({ fault: `restore finish ${at(1)}` })],
  ];
  it.each(kills)(
    'killed %s: every table as the source has it',
    async (_label, kill) => {
      const t = await ws.database('kill_into');
      try {
        await trial(t, kill());
      } finally {
        await ws.drop(t);
      }
    },
    300_000,
  );
});

describe('a restore of the peer corpus over its changed tables, SIGKILLed and run again', () => {
  it.each([
    ['right after the 30th table was staged', (): Kill => ({ line: loaded, nth: 30, delayMs: 0 })],
    ['300 ms after the swap', (): Kill => ({ line: swappedIn, nth: 1, delayMs: 300 })],
    ['at a fault point: a table in the middle finished', (): Kill => ({ fault: `restore finish ${at(0.4)}` })],
  ])(
    'killed %s: every table as it was backed up',
    async (_label, kill) => {
      // Changed since the backup: rows gone, a row added, AUTO_INCREMENT moved on (restored with --force).
      await source.db.execute('DELETE FROM fk_composite_child');
      await source.db.execute('DELETE FROM fk_tree WHERE parent IS NOT NULL');
      await source.db.execute('INSERT INTO ty_int (id, bi) VALUES (99, 1) ON DUPLICATE KEY UPDATE bi = bi + 1');
      await source.db.execute('ALTER TABLE ai_ahead AUTO_INCREMENT = 100000');
      await trial(source, kill());
    },
    300_000,
  );
});
