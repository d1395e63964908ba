import type { MigrateProgress } from '../run/migrate.ts';
import { progressSink, trackSteps } from './progress.ts';

type Tracker = ReturnType<typeof trackSteps>;

/**
 * A run's progress on stderr: rows backed up and written, then checks done, one task per label (see trackSteps).
 * Log lines end the task being drawn first, so a terminal's bar never runs into a message; a task reported again
 * after a message (a pause, say) starts afresh, and its rate counts from there. `stream` and `now` are for tests.
 *
 * @example
 * const progress = runProgress(flags);
 * try { return await migrate({ ..., onProgress: progress.report, log: progress.logger(logger(flags)) }); }
 * finally { progress.close(); }
 */
export function runProgress(
  flags: { quiet?: boolean },
  stream: Parameters<typeof progressSink>[1] = process.stderr,
  now?: () => number,
): {
  report(progress: MigrateProgress): void;
  logger(log: ((line: string) => void) | undefined): ((line: string) => void) | undefined;
  close(): void;
} {
  const trackers = new Map<MigrateProgress['unit'], Tracker>();
  let current: Tracker | null = null;
  const close = () => {
    current?.close();
    current = null;
  };
  return {
    report(p) {
      if (!trackers.has(p.unit)) trackers.set(p.unit, trackSteps(progressSink(flags, stream, now, p.unit)));
      const tracker = trackers.get(p.unit)!;
      if (current !== tracker) close();
      current = tracker;
      tracker.report(p.label, p.done, p.total, p.ended);
    },
    logger(log) {
      return (
        log &&
        ((line) => {
          close();
          log(line);
        })
      );
    },
    close,
  };
}
