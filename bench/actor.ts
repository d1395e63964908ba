/**
 * `npm run bench:actor [-- --revisions N] [--seed S]`: what the MediaWiki actor lookup costs at scale.
 *
 * Builds a MediaWiki-shaped database with the mapping's fixture generator (N revisions, default 200,000, and the other
 * seven tables in proportion: archive 10 %, ipblocks 3 %, image 5 %, oldimage 5 %, filearchive 2.5 %, recentchanges 25 %, logging
 * 20 %), waits for the server to flush what generating it dirtied, then runs through the CLI, each in a child process:
 *   (p) `eventshift plan mediawiki-actor`;
 *   (m) `eventshift migrate mediawiki-actor` (plan, backup, write: add the columns, create the actors, fill the eight
 *       references; verify).
 * It prints seconds per stage and per write step (from the run's journal), rows/s and each process's peak RSS, and
 * writes everything, with the per-check seconds, to bench/results/actor-<timestamp>.json. The scratch database and
 * folder are removed at the end, also on error or Ctrl-C.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../src/db/connection.ts';
import { defaultMediawikiSeed, generateMediawiki } from '../mappings/mediawiki-actor/fixture.ts';
import { count, eventshift, mb, pad, say, scratchSpace, server, runBench, saveFigures, settle, wholeNumber, helpOnAsk } from './support.ts';

helpOnAsk(import.meta.url);
const { values: args } = parseArgs({
  // `node bin/run-script.mjs bench/actor.ts -- --revisions N` passes the `--` on; npm does not.
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
  options: {
    revisions: { type: 'string', default: '200000' },
    seed: { type: 'string', default: String(defaultMediawikiSeed) },
  },
  strict: true,
});
const revisions = wholeNumber('--revisions', args.revisions);
const seed = wholeNumber('--seed', args.seed);

const scratch = scratchSpace();

async function main(): Promise<void> {
  const admin = await scratch.admin();
  const [version] = await admin.query<{ v: string; pool: string }>('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool');
  const folder = await scratch.folder();
  const name = await scratch.database('mw');
  const db = await connect(`${server}/${name}`);
  try {
    say(`Generating ${count(revisions)} revisions (seed ${seed}) in ${name} ...`);
    const t0 = performance.now();
    const fixture = await generateMediawiki(db, { revisions, seed });
    const generateSeconds = (performance.now() - t0) / 1000;
    say(`Generated in ${generateSeconds.toFixed(1)} s.`);
    await settle(db);

    say('(p) eventshift plan ...');
    const before = loadavg()[0]!;
    const p = await eventshift(['plan', 'mediawiki-actor'], name);
    say('(m) eventshift migrate ...');
    const m = await eventshift(
      ['migrate', 'mediawiki-actor', '--yes', '--backup-dir', join(folder, 'backups'), '--report', join(folder, 'report')],
      name,
    );
    const load = { before, after: loadavg()[0]! };
    if (m.result.status !== 'completed') throw new Error(`eventshift migrate ended ${String(m.result.status)}, not completed.`);
    const verification = m.result.verification as { ok: boolean; checks: Array<{ id: string; seconds: number }> };
    if (!verification.ok) throw new Error('eventshift migrate completed with a failing check.');

    const steps = await db.query<{ stage: string; step: string; ms: string; rows_done: string }>(
      `SELECT stage, step, TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1000 AS ms, rows_done FROM eventshift_steps
        WHERE run_id = (SELECT MAX(id) FROM eventshift_runs) AND stage = 'write' ORDER BY started_at`,
    );
    const stepSeconds = Object.fromEntries(steps.map((s) => [s.step, Number(s.ms) / 1000]));
    const sum = (match: (step: string) => boolean) => steps.filter((s) => match(s.step)).reduce((t, s) => t + Number(s.ms) / 1000, 0);
    const write = {
      addColumns: sum((s) => / add /.test(s)),
      create: sum((s) => s.endsWith(' create')),
      fill: sum((s) => / fill /.test(s)),
    };

    const sourceRows = Object.values(fixture.tables).reduce((t, x) => t + x.rows, 0);
    const filled = Object.values(fixture.tables).reduce((t, x) => t + x.fill, 0);
    const stageSeconds = {
      ...(typeof m.result.planSeconds === 'number' ? { plan: m.result.planSeconds } : {}),
      ...(m.result.stageSeconds as Record<string, number>),
    };
    const checkSeconds = Object.fromEntries(verification.checks.map((c) => [c.id, c.seconds]));
    const at = new Date().toISOString();
    const figures = {
      benchmark: 'actor',
      at,
      revisions,
      seed,
      generateSeconds,
      server: version?.v ?? '',
      innodbBufferPoolBytes: Number(version?.pool ?? 0),
      node: process.version,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem() },
      rows: {
        source: sourceRows,
        filled,
        byTable: fixture.tables,
        actorsCreated: fixture.create,
        actorsReused: fixture.reuse,
        existingActors: fixture.existingActors,
      },
      plan: { seconds: p.seconds, peakRssKiB: p.peakRssKiB, rssBeforeKiB: p.rssBeforeKiB },
      migrate: {
        seconds: m.seconds,
        peakRssKiB: m.peakRssKiB,
        rssBeforeKiB: m.rssBeforeKiB,
        stageSeconds,
        writeSeconds: write,
        stepSeconds,
        checkSeconds,
      },
      load,
    };

    const row = (label: string, seconds: number, rows: number | null, note = '') =>
      `${label.padEnd(30)}${pad(seconds.toFixed(2), 9)}${pad(rows === null ? '' : count(rows / Math.max(seconds, 0.001)), 12)}  ${note}`;
    const slowest = Object.entries(checkSeconds)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 5);
    const out = [
      '',
      `${count(revisions)} revisions (seed ${seed}): ${count(sourceRows)} rows in the eight tables, ${count(filled)} to fill; ` +
        `${count(fixture.create)} actors to create, ${count(fixture.reuse)} to reuse. Generated in ${generateSeconds.toFixed(1)} s.`,
      `${version?.v}, InnoDB buffer pool ${mb(Number(version?.pool ?? 0))}, node ${process.version}, ${cpus().length} CPUs; ` +
        `load ${load.before.toFixed(1)}/${load.after.toFixed(1)}.`,
      '',
      `${'measurement'.padEnd(30)}${pad('seconds', 9)}${pad('rows/s', 12)}  notes`,
      row('(p) eventshift plan', p.seconds, sourceRows, `peak RSS ${mb(p.peakRssKiB * 1024)}; rows/s of source rows read`),
      row('(m) eventshift migrate', m.seconds, sourceRows, `peak RSS ${mb(m.peakRssKiB * 1024)}; rows/s of source rows`),
      ...Object.entries(stageSeconds).map(([stage, s]) => row(`    ${stage}`, s, stage === 'write' ? filled : null)),
      row('      add columns', write.addColumns, null),
      row('      create actors', write.create, fixture.create, 'rows/s of actors created'),
      row('      fill references', write.fill, filled, 'rows/s of rows filled'),
      '',
      `Slowest checks: ${slowest.map(([id, s]) => `${id} ${s.toFixed(2)}`).join(', ')}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    await saveFigures('actor', at, figures);
  } finally {
    await db.close();
  }
}

await runBench('bench:actor', scratch, main);
