import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Throttle } from '../engine/chunks.ts';
import type { ThrottleSignal } from './throttle-signals.ts';
import { formatDuration } from '../format.ts';

// The chunk engine paces every key-range loop through a Throttle; this is the run's, from its options.
export type { Throttle } from '../engine/chunks.ts';

/**
 * What keeps a run gentle on a production server that has other work: a rate limit on the rows written, a pause file,
 * and signals that hold the run (replica lag, server load). All act only between chunks (and between stages and
 * checks), never inside a statement, so a run that is paused, held or sleeping holds no transaction, and a kill then
 * is an ordinary kill: migrate again resumes.
 */
export interface ThrottleOptions {
  /** Written rows per second, on average over each chunk and its sleep; undefined means no limit. */
  maxRowsPerSecond?: number;
  /** While this file exists, the run waits before its next chunk, stage or check. */
  pauseFile?: string;
  log?: (line: string) => void;
  /** How often a paused run looks for the pause file (default 1000 ms). */
  pollMs?: number;
  /** Called every poll while paused, e.g. to keep the connection alive. */
  whilePaused?: () => Promise<void>;
  /** Called at every such point, paused or not; throws to stop the run there (e.g. the run lock's `assertHeld`). */
  check?: () => Promise<void>;
  /**
   * Asked before every chunk, stage and check: while any holds (or throws), the run waits, asking them again every
   * `holdPollMs` (default 250 ms), calling `check` each time and `whilePaused` about every `pollMs`. It says when a
   * hold starts (which signal, why), every `holdLogMs` (default 10 s) while it lasts, and when it ends. A hold is not
   * a pause: pausedTimes does not count it (the data is not meant to have changed meanwhile).
   */
  signals?: readonly ThrottleSignal[];
  holdPollMs?: number;
  holdLogMs?: number;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** How postponeWhile waits: where it says so, how often it looks, and what it does meanwhile. */
export interface PostponeOptions {
  log?: (line: string) => void;
  /** How often it looks for the file (default 1000 ms). */
  pollMs?: number;
  /** Called every poll: keeps the run's connection alive, and throws to stop the run (the run lock's `assertHeld`). */
  whileWaiting?: () => Promise<void>;
}

/**
 * Waits while `file` exists (--postpone-cutover-file), saying so when it starts and ends; returns whether it waited.
 * Nothing is held meanwhile but the run lock and an idle connection, so stopping the run then is safe.
 */
export async function postponeWhile(file: string, options: PostponeOptions): Promise<boolean> {
  if (!(await exists(file))) return false;
  const since = performance.now();
  options.log?.(
    `Cutover postponed: ${file} exists. The run is verified and waits; remove ${file} to cut over ` +
      '(stopping it now is safe: migrate again resumes).',
  );
  do {
    await delay(options.pollMs ?? 1000);
    await options.whileWaiting?.();
  } while (await exists(file));
  options.log?.(`Cutover goes ahead: ${file} was removed after ${elapsed(since)}.`);
  return true;
}

/** A hold of the run by its signals: which held (all that did while it lasted), the first reason, and how long. */
export interface Hold {
  signals: string[];
  reason: string;
  seconds: number;
}

/** The run's throttle: the chunk engine's Throttle, and the holds its signals made so far. */
export interface RunThrottle extends Throttle {
  holds(): readonly Hold[];
}

/** The signals that hold now, each as `name: why`; one that throws holds too (fail closed), with its error. */
async function holding(signals: readonly ThrottleSignal[]): Promise<Array<{ name: string; why: string }>> {
  const answers = await Promise.all(
    signals.map(async (signal) => {
      try {
        const why = await signal.poll();
        return why === null ? null : { name: signal.name, why };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { name: signal.name, why: `cannot be polled (${message}); the run holds until it answers` };
      }
    }),
  );
  return answers.filter((a) => a !== null);
}

const described = (held: Array<{ name: string; why: string }>) => held.map((h) => `${h.name}: ${h.why}`).join('; ');
const elapsed = (since: number) => formatDuration((performance.now() - since) / 1000);

export function throttle(options: ThrottleOptions): RunThrottle {
  const { maxRowsPerSecond: rate, pauseFile, log } = options;
  const signals = options.signals ?? [];
  if (rate !== undefined && !(rate > 0)) throw new Error(`maxRowsPerSecond must be positive, not ${rate}`);
  const keepAliveMs = options.pollMs ?? 1000;
  // Checks run two at a time, and projections are written beside the steps: all wait on the same pause or hold, which
  // is announced once.
  let waiting: Promise<void> | null = null;
  let pauses = 0;
  const holds: Hold[] = [];
  const paused = async () => {
    pauses++;
    const since = performance.now();
    log?.(`Paused: ${pauseFile} exists. The run waits until it is removed (stopping it now is safe: migrate again resumes).`);
    do {
      await delay(keepAliveMs);
      await options.check?.();
      await options.whilePaused?.();
    } while (await exists(pauseFile!));
    log?.(`Resumed: ${pauseFile} was removed after ${elapsed(since)}.`);
  };
  const held = async (first: Array<{ name: string; why: string }>) => {
    const since = performance.now();
    const names = new Set(first.map((h) => h.name));
    log?.(
      `Held by ${described(first)}. The run waits before its next chunk, stage or check ` +
        '(stopping it now is safe: migrate again resumes).',
    );
    let said = since;
    let kept = since;
    for (;;) {
      await delay(options.holdPollMs ?? 250);
      await options.check?.();
      if (performance.now() - kept >= keepAliveMs) {
        kept = performance.now();
        await options.whilePaused?.();
      }
      const now = await holding(signals);
      if (now.length === 0) break;
      for (const h of now) names.add(h.name);
      if (performance.now() - said >= (options.holdLogMs ?? 10_000)) {
        said = performance.now();
        log?.(`Still held after ${elapsed(since)} by ${described(now)}.`);
      }
    }
    const seconds = Math.round(performance.now() - since) / 1000;
    holds.push({ signals: [...names], reason: described(first), seconds });
    log?.(`Going on after ${formatDuration(seconds)} held by ${[...names].join(', ')}.`);
  };
  /** Waits out `wait`, another connection of the run kept alive meanwhile (a pause may outlast wait_timeout). */
  const share = async (wait: Promise<void>, keepAlive?: () => Promise<unknown>) => {
    if (!keepAlive) return wait;
    const timer = setInterval(() => void keepAlive().catch(() => undefined), keepAliveMs);
    try {
      await wait;
    } finally {
      clearInterval(timer);
    }
  };
  return {
    pausedTimes: () => pauses,
    holds: () => holds,
    async waitWhilePaused(keepAlive) {
      await options.check?.();
      for (;;) {
        if (waiting) {
          await share(waiting, keepAlive);
          continue;
        }
        if (pauseFile !== undefined && (await exists(pauseFile))) {
          waiting ??= paused().finally(() => (waiting = null));
          continue;
        }
        if (signals.length === 0) return;
        const now = await holding(signals);
        if (now.length === 0) return;
        waiting ??= held(now).finally(() => (waiting = null));
      }
    },
    maxChunkKeys(rowsPerKey) {
      if (rate === undefined) return Number.POSITIVE_INFINITY;
      return Math.max(1, Math.floor(rate / Math.max(rowsPerKey, 1e-9)));
    },
    async afterChunk(rows, seconds) {
      if (rate === undefined) return;
      const wait = rows / rate - seconds;
      if (wait > 0) await delay(Math.ceil(wait * 1000));
    },
  };
}
