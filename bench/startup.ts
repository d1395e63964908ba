/**
 * `npm run bench:startup [-- --repeat R]`: how long the CLI takes to answer `--help` and `--version`, beside a bare
 * `node -e 0` (the floor no CLI goes under), R rounds (default 15) of the three in turn; prints each one's median and
 * the load average before and after. The CLI runs as installed (bin/eventshift.mjs on the compiled build/), so the
 * first round, which may compile build/, is not counted.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, pad, say, wholeNumber, helpOnAsk } from './support.ts';

helpOnAsk(import.meta.url);
const { values: args } = parseArgs({ options: { repeat: { type: 'string', default: '15' } } });
const rounds = wholeNumber('--repeat', args.repeat);
const bin = join(import.meta.dirname, '..', 'bin', 'eventshift.mjs');
const runs = { 'node -e 0': ['-e', '0'], 'eventshift --help': [bin, '--help'], 'eventshift --version': [bin, '--version'] };

/** Seconds one run takes, wall clock, its output discarded; a run that fails stops the benchmark. */
function timed(argv: string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, argv, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return (performance.now() - started) / 1000;
}

timed([bin, '--version']);
const load = loadavg()[0]!.toFixed(2);
const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
for (let i = 0; i < rounds; i++) for (const [name, argv] of Object.entries(runs)) seconds[name]!.push(timed(argv));
say(`${rounds} rounds, medians; load average ${load} before, ${loadavg()[0]!.toFixed(2)} after.`);
for (const [name, xs] of Object.entries(seconds)) say(`${name.padEnd(22)}${pad(median(xs).toFixed(3), 8)} s`);
const help = median(seconds['eventshift --help']!);
say(`goal: eventshift --help under 0.300 s: ${help < 0.3 ? 'met' : 'NOT met'}`);
