/**
 * `npm run bench [-- --pulls N] [--seed S] [--only a,b,c,d,e] [--repeat R]`: what eventshift costs beside the SQL it
 * replaces.
 *
 * Builds, for each measurement, a fresh VbzCart database of N pulls (default 500,000) with the fixture generator and
 * the same seed, so every copy is identical, waits for the server to flush what generating it dirtied, and times on it:
 *   (a) the migration written by hand as a DBA would (bench/vbzcart-by-hand.sql: INSERT ... SELECT of the hold-on
 *       events, their extension and legacy rows, the hold-off events, ALTER TABLE orders ADD WhenHeld + UPDATE, the
 *       ID_Pull rename, RENAME TABLE ord_pull), run with the mariadb client;
 *   (b) mysqldump of the tables it touches (event, orders, ord_pull), then (a): the least a careful DBA does;
 *   (c) `eventshift migrate` (backup, write, verify, cutover) through the CLI, in a child process;
 *   (d) `eventshift verify` alone, on (c)'s result (content checks row by row, the default: --verify exact);
 *   (e) `eventshift verify --verify hash` on the same result: the content checks' hash tier; (d) and (e) take turns
 *       going first, round by round.
 * (a) and (b) must give the same rows as (c) (content checksums of every table), or the run fails. It prints seconds,
 * rows/s (rows the migration writes), eventshift's peak RSS, the ratios c/b, d/c and e/d and beside them each measurement's
 * throughput in GB of legacy data per hour (as Spirit and TiDB Lightning give theirs: the data_length + index_length of
 * the mapping's source tables, from information_schema after ANALYZE TABLE, measured on each copy before its run), and
 * writes everything, with (c)'s and (d)'s per-stage and per-check seconds, to bench/results/migrate-<timestamp>.json.
 *
 * It does all of that R times (default 3), a to e in turn each round, and reports each measurement's median round
 * (its stage and check seconds with it) and the highest peak RSS: on a shared VM one round's c/b moved from 1.33 to
 * 1.82 between two runs of the same code. The ratios are of the medians; each round's c/b is printed too.
 *
 * eventshift runs through bench/eventshift-rss.mjs, the CLI as bin/eventshift.mjs runs it, which reports the
 * process's peak RSS; its time is the CLI process's wall time, start-up included. Each copy is dropped once measured,
 * and every scratch database and file is removed at the end, also on error or Ctrl-C.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { progressSink, trackSteps } from '../src/cli/progress.ts';
import { sameChecksum, tableChecksum, type ContentChecksum } from '../src/db/checksum.ts';
import { connect } from '../src/db/connection.ts';
import { describeTable } from '../src/db/introspect.ts';
import { generateVbzcart, type VbzcartFixture } from '../mappings/vbzcart-ord-pull/fixture.ts';
import vbzcart from '../mappings/vbzcart-ord-pull/index.ts';
import { quoteId } from '../src/db/quote.ts';
import {
  clientArgs,
  count,
  eventshift,
  mb,
  medianBy,
  mysqldumpFlags,
  pad,
  program,
  run,
  say,
  scratchSpace,
  server,
  runBench,
  saveFigures,
  settle,
  wholeNumber,
  helpOnAsk,
} from './support.ts';

const variants = ['a', 'b', 'c', 'd', 'e'] as const;
type Variant = (typeof variants)[number];

helpOnAsk(import.meta.url);
const { values: args } = parseArgs({
  options: {
    pulls: { type: 'string', default: '500000' },
    seed: { type: 'string', default: '20091103' },
    only: { type: 'string', default: variants.join(',') },
    repeat: { type: 'string', default: '3' },
  },
  strict: true,
});
const pulls = wholeNumber('--pulls', args.pulls);
const seed = wholeNumber('--seed', args.seed);
const rounds = wholeNumber('--repeat', args.repeat);
const only = new Set(args.only.split(',').map((v) => v.trim()));
if (![...only].every((v) => (variants as readonly string[]).includes(v)) || ((only.has('d') || only.has('e')) && !only.has('c'))) {
  say(`--only takes some of a,b,c,d,e (d and e need c), not ${args.only}.`);
  process.exit(2);
}

/** The tables the hand-written SQL dumps first: those it writes, alters or renames. */
const touched = ['event', 'orders', 'ord_pull'];
/** The tables compared after a migration, under their names after cutover. */
const compared = ['event', 'event_vc_ord_hold', 'event_vc_legacy', 'orders', 'OLD ord_pull', 'ord_hold_type'];
const byHandSql = resolve('bench/vbzcart-by-hand.sql');
/** The legacy tables the run reads (the mapping's sources), whose size gives the throughput in GB per hour. */
const legacyTables = [...new Set(Object.values(vbzcart.sources))];

interface Measurement {
  seconds: number;
  /** Load average (1 min) before and after: other work on the machine slows any measurement down. */
  load: { before: number; after: number };
  parts?: Record<string, number>;
  peakRssKiB?: number;
  rssBeforeKiB?: number;
  stageSeconds?: Record<string, number>;
  checkSeconds?: Record<string, number>;
  /** Same rows as (c): content checksums of every compared table equal. */
  sameAsEventshift?: boolean;
  /** data_length + index_length of the legacy tables on the measured copy, before the run. */
  legacyBytes?: number;
}

const scratch = scratchSpace();

/**
 * The size of the legacy tables the run reads: data_length + index_length from information_schema, after ANALYZE
 * TABLE has brought InnoDB's page counts up to date (a table just filled may show far fewer pages until it is).
 */
async function legacyBytes(db: Awaited<ReturnType<typeof connect>>): Promise<number> {
  await db.query(`ANALYZE TABLE ${legacyTables.map(quoteId).join(', ')}`);
  const [row] = await db.query<{ bytes: string | null }>(
    `SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS bytes FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${legacyTables.map(() => '?').join(', ')})`,
    legacyTables,
  );
  return Number(row?.bytes ?? 0);
}

/** A fresh copy: a new database generated with the run's pulls and seed, and the size of its legacy tables. */
async function freshCopy(suffix: string): Promise<{ name: string; fixture: VbzcartFixture; bytes: number }> {
  const name = await scratch.database(suffix);
  const db = await connect(`${server}/${name}`);
  const steps = trackSteps(progressSink({}));
  try {
    const started = performance.now();
    const fixture = await generateVbzcart(db, {
      pulls,
      seed,
      // The fixture's totals are exact: a stage is done when it reaches its total.
      onProgress: (p) => steps.report(`copy ${suffix}: ${p.stage}`, p.done, p.total, p.done === p.total),
    });
    steps.close();
    say(`Copy ${name} built in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    const bytes = await legacyBytes(db);
    await settle(db);
    return { name, fixture, bytes };
  } finally {
    steps.close();
    await db.close();
  }
}

async function tableStates(database: string): Promise<Record<string, ContentChecksum>> {
  const db = await connect(`${server}/${database}`);
  try {
    const states: Record<string, ContentChecksum> = {};
    for (const table of compared) {
      const info = await describeTable(db, table);
      if (!info) throw new Error(`Table ${table} is missing from ${database} after the migration.`);
      states[table] = await tableChecksum(
        db,
        table,
        info.columns.filter((c) => !c.generated),
      );
    }
    return states;
  } finally {
    await db.close();
  }
}

function differences(a: Record<string, ContentChecksum>, b: Record<string, ContentChecksum>): string[] {
  return compared.filter((t) => !sameChecksum(a[t]!, b[t]!)).map((t) => `${t} (${a[t]!.rows} vs ${b[t]!.rows} rows)`);
}

/** Times `work`, with the load average around it. */
async function measured(work: () => Promise<Omit<Measurement, 'seconds' | 'load'> & { seconds: number }>): Promise<Measurement> {
  const before = loadavg()[0]!;
  const m = await work();
  return { ...m, load: { before, after: loadavg()[0]! } };
}

function checkSeconds(verification: unknown): Record<string, number> {
  const checks = (verification as { checks?: Array<{ id: string; seconds: number }> } | null)?.checks ?? [];
  return Object.fromEntries(checks.map((c) => [c.id, c.seconds]));
}

async function main(): Promise<void> {
  const admin = await scratch.admin();
  const [version] = await admin.query<{ v: string; pool: string }>('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool');
  const mysqldump = await program(['mysqldump', 'mariadb-dump']);
  const client = await program(['mariadb', 'mysql']);
  const folder = await scratch.folder();
  const states: Partial<Record<'a' | 'b' | 'c', Record<string, ContentChecksum>>> = {};
  let fixture: VbzcartFixture | null = null;
  const byHand = (database: string) => run(client, [...clientArgs(), database], { input: byHandSql });

  const runs: Record<Variant, Measurement[]> = { a: [], b: [], c: [], d: [], e: [] };
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) say(`Round ${round} of ${rounds}.`);
    if (only.has('a')) {
      const copy = await freshCopy('a');
      fixture = copy.fixture;
      say('(a) the hand-written SQL ...');
      runs.a.push(await measured(async () => ({ seconds: (await byHand(copy.name)).seconds, legacyBytes: copy.bytes })));
      if (round === 1) states.a = await tableStates(copy.name);
      await scratch.drop(copy.name);
    }
    if (only.has('b')) {
      const copy = await freshCopy('b');
      fixture = copy.fixture;
      say(`(b) ${mysqldump} ${touched.join(' ')}, then the hand-written SQL ...`);
      runs.b.push(
        await measured(async () => {
          const dump = await run(mysqldump, [
            ...clientArgs(),
            ...mysqldumpFlags,
            `--result-file=${join(folder, 'dump.sql')}`,
            copy.name,
            ...touched,
          ]);
          const sql = await byHand(copy.name);
          return { seconds: dump.seconds + sql.seconds, parts: { mysqldump: dump.seconds, sql: sql.seconds }, legacyBytes: copy.bytes };
        }),
      );
      if (round === 1) states.b = await tableStates(copy.name);
      await scratch.drop(copy.name);
    }
    if (only.has('c')) {
      const copy = await freshCopy('c');
      fixture = copy.fixture;
      say('(c) eventshift migrate ...');
      runs.c.push(
        await measured(async () => {
          const r = await eventshift(
            ['migrate', 'vbzcart-ord-pull', '--yes', '--backup-dir', join(folder, 'backups'), '--report', join(folder, 'report-c')],
            copy.name,
          );
          if (r.result.status !== 'completed') throw new Error(`eventshift migrate ended ${String(r.result.status)}, not completed.`);
          return {
            seconds: r.seconds,
            legacyBytes: copy.bytes,
            peakRssKiB: r.peakRssKiB,
            rssBeforeKiB: r.rssBeforeKiB,
            stageSeconds: {
              ...(typeof r.result.planSeconds === 'number' ? { plan: r.result.planSeconds } : {}),
              ...(r.result.stageSeconds as Record<string, number>),
            },
            checkSeconds: checkSeconds(r.result.verification),
          };
        }),
      );
      if (round === 1) states.c = await tableStates(copy.name);
      // (d) and (e) read the same copy: each goes first in every other round, so neither always finds the other's pages cached.
      for (const v of round % 2 === 1 ? (['d', 'e'] as const) : (['e', 'd'] as const)) {
        if (!only.has(v)) continue;
        const how = v === 'd' ? 'exact' : 'hash';
        say(`(${v}) eventshift verify --verify ${how} ...`);
        runs[v].push(
          await measured(async () => {
            const r = await eventshift(
              [
                'verify',
                'vbzcart-ord-pull',
                '--verify',
                how,
                '--backup-dir',
                join(folder, 'backups'),
                '--report',
                join(folder, `report-${v}`),
              ],
              copy.name,
            );
            const verification = r.result.verification as { ok: boolean };
            if (!verification.ok) throw new Error(`eventshift verify --verify ${how} found a failing check on the migrated copy.`);
            return {
              seconds: r.seconds,
              legacyBytes: copy.bytes,
              peakRssKiB: r.peakRssKiB,
              rssBeforeKiB: r.rssBeforeKiB,
              checkSeconds: checkSeconds(verification),
            };
          }),
        );
      }
      await scratch.drop(copy.name);
    }
  }
  // Each measurement's median round (by seconds), with the highest peak RSS of its rounds.
  const results: Partial<Record<Variant, Measurement>> = {};
  for (const v of variants) {
    if (runs[v].length === 0) continue;
    const peaks = runs[v].flatMap((m) => (m.peakRssKiB === undefined ? [] : [m.peakRssKiB]));
    results[v] = { ...medianBy(runs[v], (m) => m.seconds), ...(peaks.length > 0 ? { peakRssKiB: Math.max(...peaks) } : {}) };
  }
  for (const v of ['a', 'b'] as const) {
    if (!states[v] || !states.c) continue;
    const differ = differences(states[v], states.c);
    if (differ.length > 0)
      throw new Error(`(${v}) does not give the rows eventshift gives: ${differ.join(', ')} differ; its time would not count.`);
    results[v]!.sameAsEventshift = true;
  }

  const counts = fixture!.counts;
  const rows = counts.eventsByTable.event + counts.eventsByTable.event_vc_ord_hold + counts.eventsByTable.event_vc_legacy;
  const ratio = (x: Variant, y: Variant) => (results[x] && results[y] ? results[x].seconds / results[y].seconds : null);
  const ratios = { cOverB: ratio('c', 'b'), dOverC: ratio('d', 'c'), cOverA: ratio('c', 'a'), eOverD: ratio('e', 'd') };
  // Each round's own ratios: how far one round alone may stray from the medians.
  const byRound = (x: Variant, y: Variant) => runs[x].flatMap((m, i) => (runs[y][i] ? [m.seconds / runs[y][i]!.seconds] : []));
  const roundRatios = { cOverB: byRound('c', 'b'), dOverC: byRound('d', 'c'), eOverD: byRound('e', 'd') };
  // GB (10^9 bytes) of legacy data per hour, from each measurement's median round and the size of its copy.
  const gbPerHour = Object.fromEntries(
    variants.flatMap((v) => {
      const m = results[v];
      return m?.legacyBytes ? [[v, m.legacyBytes / 1e9 / (m.seconds / 3600)]] : [];
    }),
  ) as Partial<Record<Variant, number>>;
  const legacy = results.c?.legacyBytes ?? results.a?.legacyBytes ?? results.b?.legacyBytes ?? 0;
  const at = new Date().toISOString();
  const figures = {
    benchmark: 'migrate',
    at,
    pulls,
    seed,
    server: version?.v ?? '',
    innodbBufferPoolBytes: Number(version?.pool ?? 0),
    node: process.version,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem() },
    rowsWritten: rows,
    rowsByTable: counts.eventsByTable,
    sourceRows: { pulls: counts.pulls, orders: counts.orders, events: counts.existingEvents },
    mysqldump: { program: mysqldump, flags: mysqldumpFlags, tables: touched },
    rounds,
    results,
    ratios,
    roundRatios,
    legacyData: { tables: legacyTables, bytes: legacy },
    gbPerHour,
    runs: Object.fromEntries(variants.filter((v) => runs[v].length > 0).map((v) => [v, runs[v]])),
    goals: { cOverB: 1.0, dOverC: 0.2, peakRssMiB: 256 },
  };

  const label: Record<Variant, string> = {
    a: '(a) hand-written SQL',
    b: `(b) ${mysqldump} + (a)`,
    c: '(c) eventshift migrate',
    d: '(d) eventshift verify',
    e: '(e) verify --verify hash',
  };
  const note = (v: Variant, m: Measurement) => {
    const parts = Object.entries(m.parts ?? m.stageSeconds ?? {})
      .map(([k, s]) => `${k} ${s.toFixed(2)}`)
      .join(', ');
    return [parts, m.sameAsEventshift ? 'same rows as (c)' : '', `load ${m.load.before.toFixed(1)}/${m.load.after.toFixed(1)}`]
      .filter(Boolean)
      .join('; ');
  };
  const slowest = Object.entries(results.c?.checkSeconds ?? {})
    .sort((x, y) => y[1] - x[1])
    .slice(0, 6);
  const out = [
    '',
    `${count(pulls)} pulls (seed ${seed}): the migration writes ${count(rows)} rows (event ${count(counts.eventsByTable.event)}, ` +
      `event_vc_ord_hold ${count(counts.eventsByTable.event_vc_ord_hold)}, ` +
      `event_vc_legacy ${count(counts.eventsByTable.event_vc_legacy)}).`,
    `${version?.v}, InnoDB buffer pool ${mb(Number(version?.pool ?? 0))}, node ${process.version}, ${cpus().length} CPUs. ` +
      'Each measurement on a fresh identical copy.',
    ...(rounds > 1 ? [`${rounds} rounds: each measurement's median round, with the highest peak RSS of its rounds.`] : []),
    '',
    `${'measurement'.padEnd(28)}${pad('seconds', 9)}${pad('rows/s', 11)}${pad('peak RSS', 12)}  notes (seconds; load average before/after)`,
    ...variants
      .filter((v) => results[v])
      .map((v) => {
        const m = results[v]!;
        const rss = m.peakRssKiB ? mb(m.peakRssKiB * 1024) : '';
        return `${label[v].padEnd(28)}${pad(m.seconds.toFixed(2), 9)}${pad(count(rows / m.seconds), 11)}${pad(rss, 12)}  ${note(v, m)}`;
      }),
    '',
    ...(ratios.cOverB === null ? [] : [`c/b: ${ratios.cOverB.toFixed(2)}  (goal <= 1.0${ratios.cOverB <= 1.0 ? ', met' : ', NOT met'})`]),
    ...(ratios.dOverC === null ? [] : [`d/c: ${ratios.dOverC.toFixed(2)}  (goal <= 0.2${ratios.dOverC <= 0.2 ? ', met' : ', NOT met'})`]),
    ...(ratios.eOverD === null ? [] : [`e/d: ${ratios.eOverD.toFixed(2)}  (the hash tier against row by row)`]),
    ...(Object.keys(gbPerHour).length > 0
      ? [
          `Throughput, GB of legacy data per hour (${legacyTables.join(', ')}: ${mb(legacy)} of data and indexes): ` +
            variants
              .filter((v) => gbPerHour[v] !== undefined)
              .map((v) => `(${v}) ${gbPerHour[v]!.toFixed(2)}`)
              .join(', '),
        ]
      : []),
    ...(rounds > 1 && roundRatios.cOverB.length > 0 ? [`c/b by round: ${roundRatios.cOverB.map((r) => r.toFixed(2)).join(', ')}`] : []),
    ...(rounds > 1 && roundRatios.dOverC.length > 0 ? [`d/c by round: ${roundRatios.dOverC.map((r) => r.toFixed(2)).join(', ')}`] : []),
    ...(rounds > 1 && roundRatios.eOverD.length > 0 ? [`e/d by round: ${roundRatios.eOverD.map((r) => r.toFixed(2)).join(', ')}`] : []),
    ...(slowest.length ? ['', `Slowest checks in (c): ${slowest.map(([id, s]) => `${id} ${s.toFixed(2)}`).join(', ')}`] : []),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  await saveFigures('migrate', at, figures);
}

await runBench('bench', scratch, main);
