import { connect, type Db } from './connection.ts';
import { EventshiftError, databaseError } from '../errors.ts';

/** The part of mysql2's callback connection that streams a query's rows (the promise wrapper's `.connection`). */
export interface RowStreamingConnection {
  query(options: {
    sql: string;
    values?: unknown[];
    rowsAsArray: true;
    typeCast: (field: { buffer(): Buffer | null }) => Buffer | null;
  }): RowEvents;
  pause(): void;
  resume(): void;
}

interface RowEvents {
  on(event: 'result', listener: (row: Array<Buffer | null>) => void): RowEvents;
  on(event: 'end', listener: () => void): RowEvents;
  on(event: 'error', listener: (error: Error) => void): RowEvents;
}

export function rowStreamingConnection(db: Db): RowStreamingConnection {
  const inner = (db.raw as unknown as { connection?: RowStreamingConnection }).connection;
  if (!inner || typeof inner.query !== 'function' || typeof inner.pause !== 'function') {
    throw new EventshiftError(
      'internal',
      "The database connection does not expose mysql2's streaming query interface; check the mysql2 version.",
    );
  }
  return inner;
}

/** Every value as the raw bytes the server sent (text in the connection's utf8mb4), null for NULL. */
export type RawRow = Array<Buffer | null>;

/**
 * A query's rows read one at a time as they arrive, with at most about `bufferRows` held in memory: the connection
 * is paused while the reader is behind. `head` is the current row (null once the rows are exhausted); `advance`
 * moves to the next one. It returns a promise only when it has to wait for a row to arrive, so a reader of millions
 * of rows awaits only then: `const wait = cursor.advance(); if (wait) await wait;`.
 */
export interface RowCursor {
  readonly head: RawRow | null;
  advance(): Promise<void> | undefined;
}

/**
 * How long (seconds) the server waits to send a paused cursor its next rows before it gives up on the connection
 * (net_write_timeout, raised for the cursor's session only): a cursor merged with slower ones is paused until they
 * catch up, which at 5,000,000 pulls took minutes, past the server's default of 60 s. The server then dropped the
 * connection, and a paused socket never reads the end of it: the merge waited forever.
 */
export const pausedCursorSeconds = 86_400;

/**
 * Starts `sql` on `db` and returns a cursor at its first row. The connection must not be used for anything else
 * until the cursor is exhausted (or the connection is destroyed).
 */
// Long on purpose: one cursor's state (buffer, pause, wake-up, failure), shared by the closures the stream calls.
export async function openRowCursor(db: Db, sql: string, bufferRows = 2000): Promise<RowCursor> {
  await db.execute(`SET SESSION net_write_timeout = GREATEST(@@SESSION.net_write_timeout, ${pausedCursorSeconds})`);
  const connection = rowStreamingConnection(db);
  let rows: RawRow[] = [];
  let at = 0;
  let ended = false;
  let failure: Error | null = null;
  let paused = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  /** The query is done: it ended, or failed with `error` (kept, whatever comes after). */
  const finish = (error?: Error) => {
    if (error) failure = error;
    ended = true;
    notify();
  };
  connection
    .query({ sql, rowsAsArray: true, typeCast: (field) => field.buffer() })
    .on('result', (row) => {
      rows.push(row);
      if (!paused && rows.length - at >= bufferRows) {
        paused = true;
        connection.pause();
      }
      notify();
    })
    .on('end', () => finish())
    .on('error', finish);

  const arrived = async () => {
    while (at >= rows.length && !ended) await new Promise<void>((resolve) => (wake = resolve));
    settle();
  };
  const settle = () => {
    if (failure) throw databaseError(`The statement "${sql.replace(/\s+/g, ' ').slice(0, 157)}..."`, failure);
    cursor.head = rows[at] ?? null;
  };
  const cursor = {
    head: null as RawRow | null,
    advance(): Promise<void> | undefined {
      at++;
      if (at >= bufferRows) {
        rows = rows.slice(at);
        at = 0;
      }
      if (paused && rows.length - at < bufferRows / 2) {
        paused = false;
        connection.resume();
      }
      if (at >= rows.length && !ended) return arrived();
      settle();
      return undefined;
    },
  };
  at = -1;
  await cursor.advance();
  return cursor;
}

/** A new connection to the same server and database, as the same user, with the same lossless settings as `db`. */
export function connectAgain(db: Db): Promise<Db> {
  const config = (db.raw as unknown as { connection?: { config?: Record<string, unknown> } }).connection?.config;
  if (!config) throw new EventshiftError('internal', 'The database connection does not expose its settings; check the mysql2 version.');
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return connect({
    host: text(config.host),
    port: typeof config.port === 'number' ? config.port : undefined,
    socketPath: text(config.socketPath),
    user: String(config.user ?? ''),
    password: text(config.password),
    database: db.database,
    tempTableMiB: db.tempTableMiB,
  });
}
