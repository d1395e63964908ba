/**
 * One eventshift operation of the backup benchmark, in a process of its own so that its peak RSS is its own (the
 * fixture generator's memory would blur it in the benchmark's process). Run by bench/backup.ts:
 *
 *   node bin/run-script.mjs bench/backup-worker.ts backup  URL DIR TABLES(comma-separated)
 *   node bin/run-script.mjs bench/backup-worker.ts restore URL DIR ID
 *
 * Prints one JSON line: the wall time from connecting to closing the connection (the library call and its connection),
 * the process's RSS before it and its peak RSS (KiB).
 */
import { createBackup, restoreBackup } from '../src/backup/index.ts';
import { connect } from '../src/db/connection.ts';

const [operation, url, dir, arg] = process.argv.slice(2);
if ((operation !== 'backup' && operation !== 'restore') || !url || !dir || !arg) {
  console.error('usage: backup-worker.ts backup|restore DATABASE_URL DIR TABLES|ID');
  process.exit(2);
}

// Timed from before connecting to after closing, as mysqldump's run is (its start-up aside: a few milliseconds).
const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
const started = performance.now();
const db = await connect(url);
let id: string;
try {
  if (operation === 'backup') {
    id = (await createBackup(db, { dir, tables: arg.split(','), label: 'bench' })).id;
  } else {
    await restoreBackup(db, { dir, id: arg, connect: () => connect(url) });
    id = arg;
  }
} finally {
  await db.close();
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ operation, id, seconds, rssBeforeKiB, peakRssKiB: process.resourceUsage().maxRSS })}\n`);
