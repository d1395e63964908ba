#!/usr/bin/env node
// The eventshift CLI exactly as bin/eventshift.mjs runs it, which also writes, as it exits, one JSON line on file
// descriptor 3: the process's RSS before the CLI loaded and its peak RSS (KiB). The benchmarks run eventshift through
// it, so the memory they report is the CLI process's own. Usage: node bench/eventshift-rss.mjs COMMAND ARGS... 3>FILE
import { writeSync } from 'node:fs';
import { importCli } from '../bin/compiled.mjs';

const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
process.on('exit', () => {
  writeSync(3, `${JSON.stringify({ rssBeforeKiB, peakRssKiB: process.resourceUsage().maxRSS })}\n`);
});
await importCli();
