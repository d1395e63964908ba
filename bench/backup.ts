/**
 * `npm run bench:backup [-- --pulls N] [--seed S] [--repeat R] [--case large,peer]`: eventshift's backup and restore
 * beside mysqldump and replaying its output with `mariadb < dump.sql`, and beside mydumper and myloader, in two cases:
 * `large`, the large tables of a generated VbzCart database (below), and `peer`, many small tables (the 98 of
 * ../shared/data/peer-corpus, end to end through the CLI: bench/backup-peer.ts). Both by default; R rounds (default
 * 3), the tools in turn each round, medians reported.
 *
 * 1. Builds a scratch database of N pulls (default 500,000) with the fixture generator, and checksums its tables.
 * 2. Backs the tables up with `mysqldump --single-transaction ...` to a file, with mydumper (2 threads) to a folder,
 *    and with eventshift's createBackup.
 * 3. Restores each into a fresh, empty database of its own: `mariadb db < dump.sql`, myloader (2 threads), and
 *    eventshift's restoreBackup.
 *    Both start from the same point, an empty database (mysqldump's output creates its tables; eventshift stages,
 *    verifies and renames them into place, with nothing to replace). eventshift's restore is given a second
 *    connection (`connect`), so it checksums each large table as two halves at once.
 * 4. Checks that every restore holds exactly the source's content (tableChecksum), so the times are of correct restores.
 * 5. Prints seconds, rows/s, file sizes, eventshift's peak RSS and the ratios eventshift / mysql tools (goal: <= 1.0),
 *    the load average as each round starts, and writes them to bench/results/backup-<timestamp>.json.
 *
 * eventshift runs in a child process (bench/backup-worker.ts) so its peak RSS is its own; its time runs from connecting
 * to closing the connection, without node's start-up (mysqldump's and mariadb's times include theirs, a few
 * milliseconds). Both write to the same disk (the scratch folder), and both backups are of the same four tables. Every
 * scratch database and file is removed at the end, also on error or Ctrl-C.
 * BENCH_DATABASE_SERVER (or TEST_DATABASE_SERVER) overrides the server, default mysql://root@127.0.0.1:3306.
 */
import { rm, stat } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readManifest, type BackupManifest } from '../src/backup/index.ts';
import { rowsEncodingOf } from '../src/backup/manifest.ts';
import { sameChecksum, tableChecksum, type ContentChecksum } from '../src/db/checksum.ts';
import { connect } from '../src/db/connection.ts';
import { describeTable, showCreateTable } from '../src/db/introspect.ts';
import { progressSink, trackSteps } from '../src/cli/progress.ts';
import { generateVbzcart } from '../mappings/vbzcart-ord-pull/fixture.ts';
import {
  clientArgs,
  count,
  mb,
  median,
  mydumper,
  myloader,
  mysqldumpFlags,
  pad,
  program,
  run,
  say,
  scratchSpace,
  runBench,
  saveFigures,
  server,
  wholeNumber,
  helpOnAsk,
} from './support.ts';
import { peerCase, peerCorpusPresent } from './backup-peer.ts';

const tables = ['ord_pull', 'orders', 'event', 'ord_hold_type'];

helpOnAsk(import.meta.url);
const { values: args } = parseArgs({
  options: {
    pulls: { type: 'string', default: '500000' },
    seed: { type: 'string', default: '20091103' },
    repeat: { type: 'string', default: '3' },
    case: { type: 'string', default: 'large,peer' },
  },
  strict: true,
});
const pulls = wholeNumber('--pulls', args.pulls);
const seed = wholeNumber('--seed', args.seed);
const repeat = wholeNumber('--repeat', args.repeat);
const cases = new Set(args.case.split(',').map((c) => c.trim()));
if ([...cases].some((c) => c !== 'large' && c !== 'peer')) {
  say(`--case takes large, peer or both (large,peer), not ${args.case}.`);
  process.exit(2);
}
const scratch = scratchSpace();

interface WorkerResult {
  id: string;
  seconds: number;
  rssBeforeKiB: number;
  peakRssKiB: number;
}

async function worker(operation: 'backup' | 'restore', database: string, dir: string, arg: string): Promise<WorkerResult> {
  const finished = await run(process.execPath, [
    resolve('bin/run-script.mjs'),
    resolve('bench/backup-worker.ts'),
    operation,
    `${server}/${database}`,
    dir,
    arg,
  ]);
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
async function compare(
  what: string,
  database: string,
  source: Map<string, TableState>,
): Promise<{ contentMatches: true; definitionsMatch: boolean }> {
  const restored = await tableStates(database);
  let definitionsMatch = true;
  for (const table of tables) {
    const want = source.get(table)!;
    const got = restored.get(table)!;
    if (!sameChecksum(want.checksum, got.checksum)) {
      throw new Error(
        `${what}: table ${table} differs from the source (rows ${got.checksum.rows} vs ${want.checksum.rows}, ` +
          `hash ${got.checksum.hash} vs ${want.checksum.hash}); its time would not count.`,
      );
    }
    if (want.definition !== got.definition) definitionsMatch = false;
  }
  return { contentMatches: true, definitionsMatch };
}

/** How a time ratio stands against its goal of at most 1.0. */
function goal(ratio: number): string {
  return ratio <= 1 ? '(goal <= 1.0 met)' : '(goal <= 1.0 NOT met)';
}

async function main(): Promise<void> {
  const at = new Date().toISOString();
  const large = cases.has('large') ? await largeCase() : null;
  if (cases.has('peer') && !(await peerCorpusPresent())) throw new Error('../shared/data/peer-corpus/peer-corpus.sql is missing.');
  const peer = cases.has('peer') ? await peerCase(scratch, repeat) : null;
  process.stdout.write(`${[...(large?.lines ?? []), ...(peer?.lines ?? [])].join('\n')}\n`);
  await saveFigures('backup', at, { benchmark: 'backup', at, large: large?.figures ?? null, peer: peer?.figures ?? null });
}

async function largeCase(): Promise<{ lines: string[]; figures: Record<string, unknown> }> {
  const admin = await scratch.admin();
  const [version] = await admin.query<{ v: string }>('SELECT VERSION() AS v');
  const mysqldump = await program(['mysqldump', 'mariadb-dump']);
  const replay = await program(['mariadb', 'mysql']);
  const folder = await scratch.folder();
  const dumpFile = join(folder, 'dump.sql');
  const mydumperDir = join(folder, 'mydumper');
  const backupDir = join(folder, 'backups');

  const source = await scratch.database('source');
  say(`Building ${source}: ${count(pulls)} pulls (seed ${seed}) ...`);
  const built = performance.now();
  const sourceDb = await connect(`${server}/${source}`);
  const steps = trackSteps(progressSink({}));
  try {
    // The fixture's totals are exact: a stage is done when it reaches its total.
    await generateVbzcart(sourceDb, {
      pulls,
      seed,
      onProgress: (p) => steps.report(`generate ${p.stage}`, p.done, p.total, p.done === p.total),
    });
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

  const times = {
    mysqldump: [] as number[],
    mydumper: [] as number[],
    backup: [] as number[],
    replay: [] as number[],
    myloader: [] as number[],
    restore: [] as number[],
  };
  /** The 1-minute load average as each round starts: rounds run under other work are slower, on either side. */
  const roundLoads: number[] = [];
  const rss = { backup: [] as number[], restore: [] as number[], baseline: [] as number[] };
  const checks: Record<string, { contentMatches: boolean; definitionsMatch: boolean }> = {};
  let dumpBytes = 0;
  let manifest: BackupManifest | null = null;
  for (let round = 1; round <= repeat; round++) {
    const of = repeat > 1 ? ` (round ${round} of ${repeat})` : '';
    roundLoads.push(loadavg()[0]!);
    say(`mysqldump ${mysqldumpFlags.join(' ')}${of} ...`);
    await rm(dumpFile, { force: true });
    const dumped = await run(mysqldump, [...clientArgs(), ...mysqldumpFlags, `--result-file=${dumpFile}`, source, ...tables]);
    times.mysqldump.push(dumped.seconds);
    dumpBytes = (await stat(dumpFile)).size;

    say(`mydumper, 2 threads${of} ...`);
    times.mydumper.push((await mydumper(source, tables, mydumperDir, folder)).seconds);

    say(`eventshift createBackup${of} ...`);
    const backup = await worker('backup', source, backupDir, tables.join(','));
    times.backup.push(backup.seconds);
    rss.backup.push(backup.peakRssKiB);
    rss.baseline.push(backup.rssBeforeKiB);
    manifest = await readManifest(backupDir, backup.id);

    say(`${replay} < dump.sql into an empty database${of} ...`);
    const replayed = await scratch.database('replay');
    times.replay.push((await run(replay, [...clientArgs(), replayed], { input: dumpFile })).seconds);
    checks.replay = await compare('mariadb < dump.sql', replayed, sourceState);
    await scratch.drop(replayed);

    say(`myloader into an empty database, 2 threads${of} ...`);
    const loaded = await scratch.database('myloader');
    times.myloader.push((await myloader(mydumperDir, loaded, folder)).seconds);
    checks.myloader = await compare('myloader', loaded, sourceState);
    await scratch.drop(loaded);

    say(`eventshift restoreBackup into an empty database${of} ...`);
    const restoredInto = await scratch.database('restore');
    const restored = await worker('restore', restoredInto, backupDir, backup.id);
    times.restore.push(restored.seconds);
    rss.restore.push(restored.peakRssKiB);
    checks.restore = await compare('eventshift restore', restoredInto, sourceState);
    await scratch.drop(restoredInto);
  }

  const backupBytes = manifest!.tables.flatMap((t) => t.files).reduce((sum, f) => sum + f.bytes, 0);
  const seconds = {
    mysqldump: median(times.mysqldump),
    mydumper: median(times.mydumper),
    backup: median(times.backup),
    replay: median(times.replay),
    myloader: median(times.myloader),
    restore: median(times.restore),
  };
  const ratios = {
    backupVsMysqldump: seconds.backup / seconds.mysqldump,
    restoreVsReplay: seconds.restore / seconds.replay,
    backupVsMydumper: seconds.backup / seconds.mydumper,
    restoreVsMyloader: seconds.restore / seconds.myloader,
  };
  const figures = {
    benchmark: 'backup',
    at: new Date().toISOString(),
    pulls,
    seed,
    repeat,
    server: version?.v ?? '',
    node: process.version,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem() },
    // Other work on the machine slows any of the four down: compare runs made under similar load.
    loadAverage: { before: loadBefore, after: loadavg()[0]!, rounds: roundLoads },
    tables,
    rowsByTable,
    totalRows,
    startingPoint: 'both restores start from an empty database',
    mysqldump: {
      program: mysqldump,
      flags: mysqldumpFlags,
      seconds: seconds.mysqldump,
      rowsPerSecond: totalRows / seconds.mysqldump,
      fileBytes: dumpBytes,
      runs: times.mysqldump,
    },
    eventshiftBackup: {
      seconds: seconds.backup,
      rowsPerSecond: totalRows / seconds.backup,
      bytes: backupBytes,
      gzip: false,
      snapshot: manifest!.snapshot ?? null,
      rowsEncodings: [...new Set(manifest!.tables.flatMap((t) => t.files.filter((f) => f.kind === 'rows').map((f) => rowsEncodingOf(f))))],
      peakRssKiB: median(rss.backup),
      rssBeforeKiB: median(rss.baseline),
      runs: times.backup,
    },
    mydumper: { threads: 2, seconds: seconds.mydumper, runs: times.mydumper },
    myloader: { threads: 2, seconds: seconds.myloader, ...checks.myloader, runs: times.myloader },
    replay: { program: replay, seconds: seconds.replay, rowsPerSecond: totalRows / seconds.replay, ...checks.replay, runs: times.replay },
    eventshiftRestore: {
      connections: 2,
      seconds: seconds.restore,
      rowsPerSecond: totalRows / seconds.restore,
      peakRssKiB: median(rss.restore),
      ...checks.restore,
      runs: times.restore,
    },
    ratios,
    goalMet: ratios.backupVsMysqldump <= 1 && ratios.restoreVsReplay <= 1,
  };

  const rows: Array<[string, number, string, string]> = [
    [`${mysqldump} (${mysqldumpFlags.length} flags)`, seconds.mysqldump, mb(dumpBytes), ''],
    [
      'eventshift backup',
      seconds.backup,
      mb(backupBytes),
      `${manifest!.snapshot?.connections ?? 1} connection(s) (${manifest!.snapshot?.shared ?? 'single'}), ` +
        `peak RSS ${mb(median(rss.backup) * 1024)}`,
    ],
    [
      `${replay} < dump.sql`,
      seconds.replay,
      '',
      checks.replay!.definitionsMatch ? 'content = source' : 'content = source, definition differs',
    ],
    ['mydumper (2 threads)', seconds.mydumper, '', ''],
    [
      'myloader (2 threads)',
      seconds.myloader,
      '',
      checks.myloader!.definitionsMatch ? 'content = source' : 'content = source, definition differs',
    ],
    ['eventshift restore (2 connections)', seconds.restore, '', `content = source, peak RSS ${mb(median(rss.restore) * 1024)}`],
  ];
  const out = [
    '',
    `${count(pulls)} pulls: ${tables.map((t) => `${t} ${count(rowsByTable[t]!)}`).join(', ')} = ${count(totalRows)} rows. ` +
      `${version?.v}, node ${process.version}, ${cpus().length} CPUs.${repeat > 1 ? ` Median of ${repeat} rounds.` : ''}`,
    `Both restores start from an empty database. ` +
      `Load average ${loadBefore.toFixed(2)} before the timed steps, ${loadavg()[0]!.toFixed(2)} after` +
      `${repeat > 1 ? ` (as rounds started: ${roundLoads.map((l) => l.toFixed(2)).join(', ')})` : ''}.`,
    `Runs (s): mysqldump ${times.mysqldump.map((x) => x.toFixed(2)).join(' ')}; ` +
      `mydumper ${times.mydumper.map((x) => x.toFixed(2)).join(' ')}; backup ${times.backup.map((x) => x.toFixed(2)).join(' ')}; ` +
      `myloader ${times.myloader.map((x) => x.toFixed(2)).join(' ')}; ` +
      `replay ${times.replay.map((x) => x.toFixed(2)).join(' ')}; restore ${times.restore.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    `${'operation'.padEnd(36)}${pad('seconds', 9)}${pad('rows/s', 12)}${pad('size', 13)}  notes`,
    ...rows.map(
      ([name, s, size, note]) => `${name.padEnd(36)}${pad(s.toFixed(2), 9)}${pad(count(totalRows / s), 12)}${pad(size, 13)}  ${note}`,
    ),
    '',
    `backup  / mysqldump:      ${ratios.backupVsMysqldump.toFixed(2)}  ${goal(ratios.backupVsMysqldump)}`,
    `restore / mariadb replay: ${ratios.restoreVsReplay.toFixed(2)}  ${goal(ratios.restoreVsReplay)}`,
    `backup  / mydumper:       ${ratios.backupVsMydumper.toFixed(2)};  restore / myloader: ${ratios.restoreVsMyloader.toFixed(2)}`,
  ];
  return { lines: out, figures };
}

await runBench('bench:backup', scratch, main);
