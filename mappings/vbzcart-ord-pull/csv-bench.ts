/**
 * How fast a CSV source loads: builds a scratch VbzCart database of `--pulls` pulls (default 100,000), exports ord_pull
 * as a US, cp1252, CRLF CSV, and times loading it into a staging table (what a run's `load pull` step does: detect,
 * decode, parse, type every field, multi-row INSERTs) and a whole `plan` with `--source`. Prints rows/s, MB/s and the
 * process's peak RSS; the scratch database and folder are removed at the end.
 *
 *   node bin/run-script.mjs mappings/vbzcart-ord-pull/csv-bench.ts --pulls 100000
 *
 * BENCH_DATABASE_SERVER (or TEST_DATABASE_SERVER) points it at another server than mysql://root@127.0.0.1:3306.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';
import { bindCsvSources } from '../../src/mapping/bind-sources.ts';
import { loadCsvSource } from '../../src/csv/load.ts';
import { plan } from '../../src/run/plan-command.ts';
import { exportOrdPullCsv, usExcelDialect } from './csv-export.ts';
import { ordPullCsv } from './csv-source.ts';
import { generateVbzcart } from './fixture.ts';
import mapping from './index.ts';

const server = (process.env.BENCH_DATABASE_SERVER ?? process.env.TEST_DATABASE_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const at = process.argv.indexOf('--pulls');
const pulls = at > 0 ? Number(process.argv[at + 1]!.replace(/_/g, '')) : 100_000;
const database = `es_bench_csv_${randomBytes(3).toString('hex')}`;
const folder = await mkdtemp(join(tmpdir(), 'es-bench-csv-'));
const admin = await connect(`${server}/mysql`);
await admin.execute(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
const url = `${server}/${database}`;
const db = await connect(url);
const say = (line: string) => process.stderr.write(`${line}\n`);
try {
  say(`Building ${pulls} pulls...`);
  await generateVbzcart(db, { pulls, seed: 4711 });
  const file = join(folder, 'ord_pull.csv');
  const exported = await exportOrdPullCsv(db, file, usExcelDialect);
  const mb = exported.bytes / (1 << 20);
  say(`Exported ${exported.records} rows, ${mb.toFixed(1)} MB.`);
  await db.execute('DROP TABLE ord_pull');

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssDuring = rssBefore;
  let t0 = performance.now();
  const loaded = await loadCsvSource(db, {
    alias: 'pull',
    definition: ordPullCsv,
    files: [file],
    staging: 'eventshift_src_pull',
    temporary: false,
    comment: 'bench',
    onBatch: () => void (rssDuring = Math.max(rssDuring, process.memoryUsage().rss)),
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  // The fixture's times are uniform over the clock, so a large one has a few in New York's spring-forward hour: they are bad rows.
  for (const bad of loaded.badRows) say(`bad row: line ${bad.line}: ${bad.reason}`);
  if (loaded.accepted + loaded.bad !== exported.records)
    throw new Error(`loaded ${loaded.accepted} + ${loaded.bad} bad of ${exported.records}`);
  await db.execute('DROP TABLE eventshift_src_pull');

  t0 = performance.now();
  const planned = await plan({ databaseUrl: url, mapping: bindCsvSources(mapping, { pull: file }), quarantine: true });
  const planSeconds = (performance.now() - t0) / 1000;
  if (!planned.ok) throw new Error(planned.reasons.join(' '));

  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify(
      {
        rows: loaded.records,
        bad: loaded.bad,
        megabytes: Number(mb.toFixed(1)),
        load: {
          seconds: Number(loadSeconds.toFixed(2)),
          rowsPerSecond: Math.round(loaded.records / loadSeconds),
          megabytesPerSecond: Number((mb / loadSeconds).toFixed(1)),
        },
        plan: { seconds: Number(planSeconds.toFixed(2)) },
        rssDuringLoadMegabytes: { before: Math.round(rssBefore / (1 << 20)), highest: Math.round(rssDuring / (1 << 20)) },
        peakRssMegabytes: Math.round(rss),
      },
      null,
      2,
    ),
  );
} finally {
  await db.close();
  await admin.execute(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
  await admin.close();
  await rm(folder, { recursive: true, force: true });
}
