/**
 * Progress of long steps (rows backed up, loaded, written) on stderr: a bar redrawn in place on a terminal, a log
 * line every few seconds without one, nothing with --quiet. Library code never prints: it takes an `onProgress`
 * callback, and the CLI turns those calls into a ProgressSink's tasks (see trackSteps).
 */
import { formatCount, formatDuration } from '../format.ts';

/**
 * Where progress goes. `start` begins one long step of `total` units (rows).
 *
 * @example
 * const task = sink.start('ord_pull', 500_000);
 * task.update(120_000);   // may be called as often as you like: the sink throttles what it draws
 * task.complete(487_211); // the step is done: what it did is the whole (the total was an estimate)
 */
export interface ProgressSink {
  start(label: string, total: number): ProgressTask;
}

/** One step's line. Until `complete`, it is never drawn as done, however far `done` comes: the step says when it is. */
export interface ProgressTask {
  /** Units done so far (not an increment); a new `total` replaces the one given at the start (it was an estimate). */
  update(done: number, total?: number): void;
  /** The step is done, having done `done` units: draws them as the whole (full bar, 100%) and ends the line. */
  complete(done: number): void;
  /** The step stopped before it was done (an error, an interruption) or gives way to a message: draws it as it is and ends the line. */
  stop(): void;
}

export interface ProgressOptions {
  /** Where the text goes (default: process.stderr). */
  write?: (text: string) => void;
  /** Milliseconds, monotonic (default: performance.now). */
  now?: () => number;
  /** The unit counted (default "rows"). */
  unit?: string;
}

export interface TerminalProgressOptions extends ProgressOptions {
  /** Minimum milliseconds between two redraws (default 100: at most ~10 a second). */
  redrawEveryMs?: number;
  /** Characters of the bar itself (default 24). */
  barWidth?: number;
  /** The terminal's width, to cut long lines (default: no cut). */
  columns?: number;
}

export interface LogProgressOptions extends ProgressOptions {
  /** Milliseconds between two log lines of a task (default 5000). */
  everyMs?: number;
}

/** No ETA before this fraction is done: early rates say little about the rest. */
export const ETA_AFTER = 0.01;

/** What a rendering is made from. */
export interface ProgressState {
  label: string;
  done: number;
  total: number;
  elapsedMs: number;
  /** The step said it is done (ProgressTask.complete): only then is the bar full and the line at 100%. */
  complete?: boolean;
  /**
   * Units a second, as the sink measured them: over the last few seconds while the task runs, over the whole task at
   * its end, counted from the first report (a resumed step starts with what an earlier run did). Absent: the
   * average since the start (done / elapsed).
   */
  rate?: number | null;
}

/** The window a running task's rate is measured over. */
const RATE_WINDOW_MS = 10_000;

const silentTask: ProgressTask = { update: () => undefined, complete: () => undefined, stop: () => undefined };

/** Shows nothing (--quiet, tests). */
export const silentProgress: ProgressSink = { start: () => silentTask };

/** A bar per task on a terminal, redrawn in place (`\r`, clear to end of line), throttled; complete or stop ends the line. */
export function terminalProgress(options: TerminalProgressOptions = {}): ProgressSink {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const unit = options.unit ?? 'rows';
  const width = options.barWidth ?? 24;
  const cut = (line: string) => (options.columns && line.length >= options.columns ? line.slice(0, options.columns - 1) : line);
  return throttledSink(options.now, options.redrawEveryMs ?? 100, true, (state, final) => {
    write(`\r${cut(renderBar(state, { unit, width, final }))}\x1b[K${final ? '\n' : ''}`);
  });
}

/** Without a terminal: one line per task every `everyMs` while it runs, and one when it finishes. */
export function logProgress(options: LogProgressOptions = {}): ProgressSink {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const unit = options.unit ?? 'rows';
  return throttledSink(options.now, options.everyMs ?? 5000, false, (state, final) => {
    write(`${renderLine(state, { unit, final })}\n`);
  });
}

/** Tasks that draw their state at most every `everyMs` (and at the start, if asked), and once more when finished. */
function throttledSink(
  now: (() => number) | undefined,
  everyMs: number,
  drawAtStart: boolean,
  draw: (state: ProgressState, final: boolean) => void,
): ProgressSink {
  const clock = now ?? (() => performance.now());
  return {
    start(label, initialTotal) {
      let total = initialTotal;
      const startedAt = clock();
      let drawnAt = startedAt;
      let done = 0;
      let finished = false;
      let complete = false;
      const rates = rateMeter();
      const show = (final: boolean) => {
        drawnAt = clock();
        draw({ label, done, total, elapsedMs: drawnAt - startedAt, rate: rates.rate(final), complete }, final);
      };
      if (drawAtStart) show(false);
      return {
        update(value, newTotal) {
          if (finished) return;
          done = value;
          rates.sample(clock(), value);
          if (newTotal !== undefined) total = newTotal;
          if (clock() - drawnAt >= everyMs) show(false);
        },
        complete(value) {
          if (finished) return;
          finished = complete = true;
          done = total = value;
          rates.sample(clock(), value);
          show(true);
        },
        stop() {
          if (finished) return;
          finished = true;
          show(true);
        },
      };
    },
  };
}

/**
 * A task's rate from its reports: over the last RATE_WINDOW_MS while it runs, over all of them at the end; null
 * until two reports are apart in time and units. The first report is the baseline, so units an earlier run did (a
 * resumed step) and a report that comes just as the step ends do not make a rate of millions a second.
 */
function rateMeter(windowMs = RATE_WINDOW_MS) {
  const samples: Array<{ at: number; done: number }> = [];
  let first: { at: number; done: number } | null = null;
  const between = (a: { at: number; done: number } | null | undefined, b: { at: number; done: number } | undefined) =>
    a && b && b.at > a.at && b.done > a.done ? ((b.done - a.done) * 1000) / (b.at - a.at) : null;
  return {
    sample(at: number, done: number) {
      first ??= { at, done };
      samples.push({ at, done });
      while (samples.length > 2 && at - samples[1]!.at >= windowMs) samples.shift();
    },
    rate: (final: boolean) => between(final ? first : samples[0], samples.at(-1)),
  };
}

/**
 * The sink the CLI uses: nothing with --quiet, a bar when stderr is a terminal, log lines otherwise.
 * `stream` and `now` are for tests; `unit` is what is counted (default "rows").
 */
export function progressSink(
  flags: { quiet?: boolean },
  stream: { isTTY?: boolean; columns?: number; write(text: string): unknown } = process.stderr,
  now?: () => number,
  unit?: string,
): ProgressSink {
  if (flags.quiet) return silentProgress;
  const write = (text: string) => void stream.write(text);
  return stream.isTTY ? terminalProgress({ write, now, unit, columns: stream.columns }) : logProgress({ write, now, unit });
}

/**
 * Turns reports of `(label, done, total, ended)` (a backup's or a restore's onProgress, migrate's steps) into tasks,
 * one per label. Whether a step is done is the producer's to say, not this: a report with `ended` completes its task
 * (drawn with what was done as the whole, however far that is from the total, which may have been an estimate). A
 * task that never gets one, because a new label comes, or `close` is called (the operation ended on an error or was
 * interrupted; a message is about to be printed), stops as it is and is never drawn as done. A label reported again
 * after its task ended starts a new task. Call `close` when the operation ends, even on error, so a terminal's line
 * is ended before the next message.
 *
 * @example
 * const steps = trackSteps(progressSink(flags));
 * try { await createBackup(db, { ..., onProgress: (p) => steps.report(p.table, p.rows, p.totalRows, p.ended) }); }
 * finally { steps.close(); }
 */
export function trackSteps(sink: ProgressSink): {
  report(label: string, done: number, total: number, ended: boolean): void;
  close(): void;
} {
  let current: { label: string; task: ProgressTask } | null = null;
  const close = () => {
    current?.task.stop();
    current = null;
  };
  return {
    report(label, done, total, ended) {
      if (current?.label !== label) {
        close();
        current = { label, task: sink.start(label, ended ? done : total) };
      }
      if (!ended) return current.task.update(done, total);
      current.task.complete(done);
      current = null;
    },
    close,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering, pure: what a terminal or a log shows for a state.

/** `ord_pull  [#########---------------]  187,500/500,000 rows  37.5%  41,210 rows/s  ETA 7.6 s` */
export function renderBar(state: ProgressState, options: { unit?: string; width?: number; final?: boolean } = {}): string {
  const width = options.width ?? 24;
  const filled = Math.min(width, Math.floor(fractionDone(state) * width));
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const f = facts(state, options.unit ?? 'rows', options.final ?? false);
  return [state.label, bar, f.count, f.percent, ...f.more].join('  ');
}

/** `ord_pull: 187,500/500,000 rows (37.5%), 41,210 rows/s, ETA 7.6 s` */
export function renderLine(state: ProgressState, options: { unit?: string; final?: boolean } = {}): string {
  const f = facts(state, options.unit ?? 'rows', options.final ?? false);
  return `${state.label}: ${[`${f.count} (${f.percent})`, ...f.more].join(', ')}`;
}

function facts(state: ProgressState, unit: string, final: boolean): { count: string; percent: string; more: string[] } {
  const more: string[] = [];
  const rate = state.rate === undefined ? ratePerSecond(state) : state.rate;
  if (rate !== null) more.push(`${formatCount(Math.round(rate))} ${unit}/s`);
  if (final) more.push(`in ${formatDuration(state.elapsedMs / 1000)}`);
  else {
    const eta = etaMs(state);
    if (eta !== null) more.push(`ETA ${formatDuration(eta / 1000)}`);
  }
  return {
    count: `${formatCount(state.done)}/${formatCount(state.total)} ${unit}`,
    // Rounded down: 99.96% of a step that is not done reads 99.9%, never 100.0%.
    percent: `${(Math.floor(fractionDone(state) * 1000) / 10).toFixed(1)}%`,
    more,
  };
}

/** The most a step that has not said it is done is drawn as: its bar one short of full, and 99.9%. */
const UNFINISHED_AT_MOST = 0.999;

/**
 * The fraction drawn: 1 for a complete step; otherwise done out of total (an estimate, which the rows may pass), but
 * never as done.
 */
export function fractionDone(state: Pick<ProgressState, 'done' | 'total' | 'complete'>): number {
  if (state.complete) return 1;
  if (state.total <= 0) return 0;
  return Math.min(UNFINISHED_AT_MOST, Math.max(0, state.done / state.total));
}

/** Average rate since the start; null until some time has passed and something is done. */
export function ratePerSecond(state: Pick<ProgressState, 'done' | 'elapsedMs'>): number | null {
  return state.elapsedMs > 0 && state.done > 0 ? (state.done * 1000) / state.elapsedMs : null;
}

/** Milliseconds left at the average rate; null before ETA_AFTER is done, and once the total is passed (it was an estimate). */
export function etaMs(state: ProgressState): number | null {
  const rate = state.rate === undefined ? ratePerSecond(state) : state.rate;
  if (rate === null || fractionDone(state) < ETA_AFTER || state.done >= state.total) return null;
  return ((state.total - state.done) * 1000) / rate;
}
