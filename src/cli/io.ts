import { createInterface } from 'node:readline/promises';
import { EventshiftError, exitCodeFor, usageError } from '../errors.ts';
import { userInfo } from 'node:os';
import { redactUrl } from '../db/connection.ts';
import { databaseUrlFromOptions, readClientOptions } from '../db/option-files.ts';

/** Options every command takes. */
export interface CommonFlags {
  databaseUrl?: string;
  /** An option file to read the connection from instead of /etc/my.cnf, /etc/mysql/my.cnf and ~/.my.cnf. */
  defaultsFile?: string;
  /** The database, when the connection comes from option files. */
  database?: string;
  /** --backup-dir, when given (commands default it, or read a run's backup where the run recorded it). */
  backupDir?: string;
  json?: boolean;
  yes?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

/**
 * The database to connect to: --database-url, else $DATABASE_URL, else the client option files as the mariadb client
 * reads them (--defaults-file, or /etc/my.cnf, /etc/mysql/my.cnf and ~/.my.cnf) with --database or their `database`.
 */
export function databaseUrlFrom(flags: CommonFlags): string {
  const url = flags.databaseUrl ?? process.env.DATABASE_URL;
  if (url && (flags.database !== undefined || flags.defaultsFile !== undefined)) {
    // Never a database other than the one asked for: a URL left in the environment does not quietly win.
    const from = flags.databaseUrl !== undefined ? '--database-url' : 'DATABASE_URL';
    throw usageError(
      `${flags.database !== undefined ? '--database' : '--defaults-file'} is for a connection read from option files, but ` +
        `${from} gives one too: pass one or the other${from === 'DATABASE_URL' ? ' (unset DATABASE_URL to use the option files)' : ''}.`,
    );
  }
  if (url) return url;
  const login = () => {
    try {
      return userInfo().username;
    } catch {
      return 'root';
    }
  };
  const fromFiles = databaseUrlFromOptions(readClientOptions({ defaultsFile: flags.defaultsFile }), flags.database, login);
  if (fromFiles) return fromFiles;
  throw usageError(
    'No database given: pass --database-url mysql://user@host:3306/database, set DATABASE_URL, or name the database with ' +
      '--database and let the [client] group of your option files (~/.my.cnf, or --defaults-file) give the connection.',
  );
}

/** Lines for a person go to stderr, so stdout carries only results (and JSON with --json). */
export function logger(flags: CommonFlags): ((line: string) => void) | undefined {
  return flags.quiet ? undefined : (line) => process.stderr.write(`${line}\n`);
}

/** Commands that change data ask on a terminal, and need --yes without one. */
export async function confirm(flags: CommonFlags, question: string): Promise<void> {
  if (flags.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw usageError(`${question} There is no terminal to ask on: pass --yes to confirm.`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} Type "yes" to go ahead: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new EventshiftError('refused', 'Not confirmed; nothing was changed.');
  } finally {
    rl.close();
  }
}

/**
 * Runs a command: prints its result (JSON or text) and sets the exit code. Errors become one sentence on stderr
 * (a JSON object on stdout with --json); the stack only with --debug.
 */
export async function runCommand<T>(
  flags: CommonFlags,
  work: () => Promise<T>,
  render: (result: T) => string,
  exitCode: (result: T) => number = () => 0,
): Promise<void> {
  try {
    const result = await work();
    if (flags.json) process.stdout.write(JSON.stringify(result, jsonReplacer, 2) + '\n');
    else {
      const text = render(result);
      if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
    process.exitCode = exitCode(result);
  } catch (error) {
    const e =
      error instanceof EventshiftError
        ? error
        : new EventshiftError('internal', `Unexpected error: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    const message = scrub(e.message);
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({ error: { kind: e.kind, message, subject: e.subject, details: e.details } }, jsonReplacer, 2) + '\n',
      );
    }
    process.stderr.write(`eventshift: ${message}\n`);
    if (flags.debug) process.stderr.write(`${scrub(String((e.cause as Error | undefined)?.stack ?? e.stack))}\n`);
    else if (e.kind === 'internal') process.stderr.write('(run again with --debug for the stack trace)\n');
    process.exitCode = exitCodeFor[e.kind];
  }
}

/** Removes passwords from anything that quotes a URL. */
function scrub(text: string): string {
  return text.replace(/[a-z]+:\/\/[^\s]+/gi, (url) => redactUrl(url));
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return value;
}
