/**
 * What went wrong, in the terms the CLI maps to exit codes:
 * - `usage`: the command line or a mapping is wrong (exit 2)
 * - `refused`: the run must not go ahead, or a check failed; nothing unsafe was done (exit 1)
 * - `database`: the server could not be reached or answered with an error (exit 3)
 * - `internal`: anything else unexpected (exit 3)
 */
export const ErrorKind = {
  usage: 'usage',
  refused: 'refused',
  database: 'database',
  internal: 'internal',
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

export const exitCodeFor: Record<ErrorKind, number> = {
  usage: 2,
  refused: 1,
  database: 3,
  internal: 3,
};

/** The one error class eventshift throws: a sentence a DBA can act on, what it is about, and the cause. */
export class EventshiftError extends Error {
  readonly kind: ErrorKind;
  /** The mapping, table, step, backup or file the error is about. */
  readonly subject: string | undefined;
  /** Extra facts for `--json` output (offending keys, the run holding a lock, ...). */
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, options: { subject?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventshiftError';
    this.kind = kind;
    this.subject = options.subject;
    this.details = options.details;
  }
}

export const usageError = (message: string, options?: ConstructorParameters<typeof EventshiftError>[2]) =>
  new EventshiftError('usage', message, options);
export const refusal = (message: string, options?: ConstructorParameters<typeof EventshiftError>[2]) =>
  new EventshiftError('refused', message, options);

/** Wraps a driver error so the message says which statement or object failed. */
export function databaseError(what: string, cause: unknown): EventshiftError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new EventshiftError('database', `${what} failed: ${reason}`, { cause });
}
