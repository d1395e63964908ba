/**
 * What may hold a run between its chunks besides the pause file: replica lag (replica-lag.ts), server load
 * (server-load.ts), Galera flow control. The run's throttle (throttle.ts) asks every signal before each chunk, stage and
 * check, and while any holds, waits, saying which and why. run-signals.ts opens the run's signals from its options.
 */

/** Something that can hold the run before its next chunk, stage or check (replica lag, server load, Galera flow control). */
export interface ThrottleSignal {
  /** What it watches, for messages: "replica 127.0.0.1:3318", "Threads_running", "Galera flow control". */
  readonly name: string;
  /**
   * Asked before every chunk (and while holding, every poll): null to go on, or why to hold ("2.4 s behind, limit
   * 1.5 s"). Throwing holds too: fail closed.
   */
  poll(): Promise<string | null>;
  /** Stops what it runs in the background and closes its connections. */
  close(): Promise<void>;
}
