import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Throttle } from '../engine/chunks.ts';

// The chunk engine paces every key-range loop through a Throttle; this is the run's, from its options.
export type { Throttle } from '../engine/chunks.ts';

/**
 * What keeps a run gentle on a production server that has other work: a rate limit on the rows written, and a pause
 * file. Both act only between chunks (and between stages and checks), never inside a statement, so a run that is
 * paused or sleeping holds no transaction, and a kill then is an ordinary kill: migrate again resumes.
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
  options.log?.(`Cutover goes ahead: ${file} was removed after ${((performance.now() - since) / 1000).toFixed(1)} s.`);
  return true;
}

export function throttle(options: ThrottleOptions): Throttle {
  const { maxRowsPerSecond: rate, pauseFile, log } = options;
  if (rate !== undefined && !(rate > 0)) throw new Error(`maxRowsPerSecond must be positive, not ${rate}`);
  // Checks run two at a time: both wait on the same pause, which is announced once.
  let pause: Promise<void> | null = null;
  let pauses = 0;
  const paused = async () => {
    pauses++;
    const since = performance.now();
    log?.(`Paused: ${pauseFile} exists. The run waits until it is removed (stopping it now is safe: migrate again resumes).`);
    do {
      await delay(options.pollMs ?? 1000);
      await options.check?.();
      await options.whilePaused?.();
    } while (await exists(pauseFile!));
    log?.(`Resumed: ${pauseFile} was removed after ${((performance.now() - since) / 1000).toFixed(1)} s.`);
  };
  return {
    pausedTimes: () => pauses,
    async waitWhilePaused(keepAlive) {
      await options.check?.();
      if (!pause && (pauseFile === undefined || !(await exists(pauseFile)))) return;
      pause ??= paused().finally(() => (pause = null));
      if (!keepAlive) return pause;
      // Another connection of the run waiting on the same pause is kept alive too (a pause may outlast wait_timeout).
      const timer = setInterval(() => void keepAlive().catch(() => undefined), options.pollMs ?? 1000);
      try {
        await pause;
      } finally {
        clearInterval(timer);
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
