import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestDatabase } from './database.ts';
import { snapshot, type Snapshot } from './snapshot.ts';

export const eventshiftBin = join(import.meta.dirname, '../../bin/eventshift.mjs');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process and waits for it. */
export function runCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): CliRun {
  const r = spawnSync(process.execPath, [eventshiftBin, ...args], {
    encoding: 'utf8',
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    timeout: 120_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI and SIGKILLs it after `killAfterMs` (if it is still running); resolves when it has exited. */
export function runCliKilledAfter(
  args: string[],
  killAfterMs: number,
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [eventshiftBin, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A CLI process started by startCli: the child, and its run once it has exited. */
export interface StartedCli {
  child: ChildProcess;
  /** What it printed so far (stdout and stderr), e.g. to wait for a stage to begin. */
  output(): { stdout: string; stderr: string };
  exited: Promise<CliRun>;
}

/** Starts the CLI in a child process without waiting for it (to signal it, or to run another command meanwhile). */
export function startCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): StartedCli {
  const child = spawn(process.execPath, [eventshiftBin, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    // 'close', not 'exit': by then its output has been read to the end.
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Runs the CLI to the end with EVENTSHIFT_FAULT_TRACE: the run, and the fault points it passed, in order. */
export async function tracedRun(
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<{ run: CliRun; points: string[] }> {
  const trace = join(options.cwd, `trace-${process.pid}-${Date.now()}.txt`);
  const run = runCli(args, { cwd: options.cwd, env: { ...options.env, EVENTSHIFT_FAULT_TRACE: trace } });
  const points = await readFile(trace, 'utf8').then(
    (text) => text.trim().split('\n'),
    () => [],
  );
  await rm(trace, { force: true });
  return { run, points };
}

/**
 * The run a crash test compares with: the database before (`original`), the CLI run to the end uninterrupted with its
 * fault points traced, and the database after (`reference`). Fails the test when that run itself fails.
 */
export async function referenceRun(
  t: TestDatabase,
  args: string[],
  cwd: string,
): Promise<{ original: Snapshot; reference: Snapshot; points: string[] }> {
  const original = await snapshot(t.db);
  const traced = await tracedRun(args, { cwd, env: { DATABASE_URL: t.url } });
  expect(traced.run.code, traced.run.stderr).toBe(0);
  return { original, reference: await snapshot(t.db), points: traced.points };
}
