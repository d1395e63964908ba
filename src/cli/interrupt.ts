import { constants } from 'node:os';

/** What a command that can be interrupted at a safe point gets from its SIGINT and SIGTERM handlers. */
export interface Interrupts {
  /** Aborted by the first SIGINT or SIGTERM, with the signal's name as its reason. */
  signal: AbortSignal;
  /** Removes the handlers (the signals' default behaviour comes back). */
  close(): void;
}

/** The shell's exit code for a process ended by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: string): number {
  return 128 + (constants.signals[signal as NodeJS.Signals] ?? 2);
}

/**
 * Handles SIGINT (Ctrl-C) and SIGTERM while a command runs that stops at its next safe point when asked (migrate: the
 * next chunk boundary, stage or check): the first signal aborts `signal` and says so on stderr; a second one exits at
 * once, with 128 + the signal's number. `onExit` is what is printed then. `say` prints a line on stderr (a progress
 * display's logger, so that a bar being drawn ends before it).
 */
export function interruptOnSignals(
  onExit: string,
  say: (line: string) => void = (line) => void process.stderr.write(`${line}\n`),
): Interrupts {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      say(
        `${signal}: stopping at the next chunk boundary. ` +
          'Press Ctrl-C again to exit at once; that is safe too (migrate again resumes).',
      );
      controller.abort(signal);
      return;
    }
    // Exiting now is as safe as a kill, which the crash tests prove at every boundary: each chunk commits in one
    // transaction with its journal entry, so what is not committed is rolled back by the server, the run lock goes with
    // the connection, and migrate again resumes right after the last chunk that committed. The run record still says
    // `running` (migrate resumes such a run as well).
    say(`${signal} again: exiting now. ${onExit}`);
    process.exit(signalExitCode(signal));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    close() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
