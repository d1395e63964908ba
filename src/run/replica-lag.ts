import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { connect, type ConnectionTarget, type Db } from '../db/connection.ts';
import { connectAgain } from '../db/row-stream.ts';
import { ensureBookkeeping } from './bookkeeping.ts';
import type { ThrottleSignal } from './throttle-signals.ts';
import { formatDuration } from '../format.ts';

/**
 * Replica lag measured with a heartbeat the run writes itself, as gh-ost and pt-heartbeat do, not with
 * Seconds_Behind_Master (which reads 0 while a replica's SQL thread is stopped, and is only as fine as a second).
 *
 * The run raises `seq` in a row of its own of `eventshift_heartbeat` on the primary every 100 ms, on a connection of its
 * own, and remembers when it sent each one, by its own clock. On each replica, a connection of its own reads that row
 * every 100 ms. A replica's lag is how long ago the run sent the newest `seq` the replica has applied: it grows while the
 * replica applies nothing (a stopped SQL thread, a long transaction), and also while the replica cannot be read, since
 * the time keeps going. Only this process's clock is read, so the hosts' clocks may disagree. Every reading is kept
 * up to date in the background: asking a signal costs no query.
 */

/** A replica to watch: its name for messages (`replica host:port`, never the password) and how to connect to it. */
export interface ReplicaAt {
  name: string;
  target: ConnectionTarget;
}

/** How often the heartbeat is written, and each replica read. */
const beatMs = 100;
/** How long a replica's read may take before it counts as failed. */
const readTimeoutMs = 2000;

/** The first line of what went wrong: a connection's failure as connect() words it, a statement's as the server does. */
function messageOf(error: unknown): string {
  let e = error;
  // A statement's error wraps the server's; a connection's says where it was going, which is worth keeping.
  while (e instanceof Error && e.cause instanceof Error && !/^Connecting to/.test(e.message)) e = e.cause;
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  // mysql2's words for a connection the server (or the network) closed since the last statement.
  return /closed state/.test(message) ? 'the connection was lost' : message;
}

/** Ends a connection without asking its server: one that failed, or a server that may not answer. */
const drop = (db: Db | null) => db?.raw.destroy();

/** Waits for a loop to end, at most half a second: a loop still connecting to a server that hangs is left to end alone. */
const settle = (loop: Promise<void>) => Promise.race([loop, delay(500)]);

/** The run's heartbeat on the primary: its row's writer, and when each seq the replicas may still show was sent. */
interface Heartbeat {
  readonly writer: string;
  /** The newest seq written. */
  latest(): number;
  /** When (performance.now()) `seq` was sent; seq 0, or one forgotten, is the heartbeat's start. */
  sentAt(seq: number): number;
  /** Why the last write failed, or null. */
  error(): string | null;
  /** The seqs before `seq` are no longer asked about (every replica has applied a later one). */
  forgetBefore(seq: number): void;
  /** Stops writing, deletes its row and closes its connection. */
  stop(): Promise<void>;
}

/**
 * Starts the heartbeat on a new connection to `primary`'s server and database: makes sure the bookkeeping tables exist
 * (a run resumed from an older eventshift may lack eventshift_heartbeat), deletes rows a killed process left over an
 * hour ago, and writes the first beat before it returns (so a heartbeat that cannot be written at all fails here).
 */
async function startHeartbeat(primary: Db): Promise<Heartbeat> {
  const writer = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`.slice(-128);
  const started = performance.now();
  const sent = new Map<number, number>();
  let db: Db | null = await connectAgain(primary);
  let seq = 0;
  let error: string | null = null;
  let stopped = false;
  const write = async () => {
    const next = seq + 1;
    const at = performance.now();
    db ??= await connectAgain(primary);
    await db.execute(
      'INSERT INTO eventshift_heartbeat (writer, seq, written_at) VALUES (?, ?, NOW(6)) ' +
        'ON DUPLICATE KEY UPDATE seq = VALUES(seq), written_at = VALUES(written_at)',
      [writer, next],
    );
    sent.set(next, at);
    seq = next;
  };
  try {
    await ensureBookkeeping(db);
    await db.execute('DELETE FROM eventshift_heartbeat WHERE written_at < NOW(6) - INTERVAL 1 HOUR');
    await write();
  } catch (cause) {
    await db.close();
    throw cause;
  }
  const beating = (async () => {
    while (!stopped) {
      await delay(beatMs);
      if (stopped) break;
      try {
        await write();
        error = null;
      } catch (cause) {
        error = messageOf(cause);
        drop(db);
        db = null;
        if (!stopped) await delay(1000);
      }
    }
  })();
  return {
    writer,
    latest: () => seq,
    sentAt: (n) => sent.get(n) ?? started,
    error: () => error,
    forgetBefore(n) {
      for (const key of sent.keys()) if (key < n) sent.delete(key);
    },
    async stop() {
      stopped = true;
      await settle(beating);
      const last = db;
      db = null;
      if (!last) return;
      await last.execute('DELETE FROM eventshift_heartbeat WHERE writer = ?', [writer]).catch(() => undefined);
      await last.close();
    },
  };
}

/** What a replica's reader knows: the newest seq of the heartbeat it has seen applied, and why its last read failed. */
interface ReplicaReader {
  seen(): number;
  error(): string | null;
  stop(): Promise<void>;
}

/**
 * Reads the heartbeat's row on `replica` every beatMs on a connection of its own, connecting again after a failure
 * (a second later). A replica that lacks the database, the table or the row has applied no beat yet: that is lag, not
 * an error (one that never replicates the database lags for ever, and says it has applied none of the beats).
 */
function readReplica(heartbeat: Heartbeat, replica: ReplicaAt, onSeen: () => void): ReplicaReader {
  let db: Db | null = null;
  let seen = 0;
  let error: string | null = null;
  let stopped = false;
  const read = async () => {
    if (!db) {
      const opened = await connect(replica.target).catch((cause: { cause?: { errno?: number } }) => {
        // A replica that has not created the database yet has applied none of the beats: lag, not a failure.
        if (cause.cause?.errno === 1049) return null;
        throw cause;
      });
      if (!opened) return;
      // Stopped while connecting: nobody will close it but this.
      if (stopped) return void opened.raw.destroy();
      db = opened;
    }
    try {
      const [rows] = await db.raw.query<RowDataPacket[]>(
        { sql: 'SELECT seq FROM eventshift_heartbeat WHERE writer = ?', timeout: readTimeoutMs },
        [heartbeat.writer],
      );
      seen = Math.max(seen, Number(rows[0]?.seq ?? 0));
    } catch (cause) {
      if ((cause as { errno?: number }).errno !== 1146) throw cause;
    }
  };
  const reading = (async () => {
    while (!stopped) {
      try {
        await read();
        error = null;
        onSeen();
        await delay(beatMs);
      } catch (cause) {
        error = messageOf(cause);
        drop(db);
        db = null;
        if (!stopped) await delay(1000);
      }
    }
  })();
  return {
    seen: () => seen,
    error: () => error,
    async stop() {
      stopped = true;
      await settle(reading);
      drop(db);
      db = null;
    },
  };
}

/** A replica's lag now, in seconds: how long ago the newest beat it has applied was sent. */
const lagOf = (heartbeat: Heartbeat, reader: ReplicaReader) => (performance.now() - heartbeat.sentAt(reader.seen())) / 1000;

/** Why `reader`'s replica holds the run at `maxLagSeconds`, or null. */
function lagHold(heartbeat: Heartbeat, reader: ReplicaReader, maxLagSeconds: number): string | null {
  const failed = heartbeat.error();
  if (failed !== null) return `the heartbeat cannot be written on the primary (${failed}); the run holds until it can`;
  const unread = reader.error();
  if (unread !== null) return `cannot be polled (${unread}); the run holds until it answers`;
  const lag = lagOf(heartbeat, reader);
  if (lag <= maxLagSeconds) return null;
  const none = reader.seen() === 0 ? " (it has applied none of this run's heartbeats yet)" : '';
  return `${formatDuration(lag)} behind, limit ${formatDuration(maxLagSeconds)}${none}`;
}

/** A signal per replica, holding while it lags more than `maxLagSeconds` or cannot be read; they share one heartbeat. */
export async function replicaLagSignals(primary: Db, replicas: readonly ReplicaAt[], maxLagSeconds: number): Promise<ThrottleSignal[]> {
  if (replicas.length === 0) return [];
  const heartbeat = await startHeartbeat(primary);
  const readers: ReplicaReader[] = [];
  const forget = () => heartbeat.forgetBefore(Math.min(...readers.map((r) => r.seen())));
  readers.push(...replicas.map((replica) => readReplica(heartbeat, replica, forget)));
  let open = replicas.length;
  return replicas.map((replica, i) => ({
    name: replica.name,
    poll: async () => lagHold(heartbeat, readers[i]!, maxLagSeconds),
    async close() {
      await readers[i]!.stop();
      if (--open === 0) await heartbeat.stop();
    },
  }));
}

export interface CatchUpOptions {
  log?: (line: string) => void;
  /** Called every poll while waiting; throws to stop waiting (an interrupted run). */
  check?: () => Promise<void>;
}

/**
 * Waits until `replica` has applied everything the primary had committed when it was called: a beat is written on
 * the primary after it, and the replica must show that beat. Replication applies transactions in their commit order
 * (MariaDB's parallel replication keeps it; MySQL with replica_preserve_commit_order, its default since 8.0.27), so
 * the replica then holds every row the run wrote before. Says so when it has to wait, and every 10 s while it does.
 * Returns the lag it measured when the beat arrived, in seconds.
 */
export async function waitForReplica(primary: Db, replica: ReplicaAt, options: CatchUpOptions = {}): Promise<number> {
  const heartbeat = await startHeartbeat(primary);
  const barrier = heartbeat.latest();
  const reader = readReplica(heartbeat, replica, () => undefined);
  try {
    const since = performance.now();
    let said = since;
    while (reader.seen() < barrier) {
      await delay(beatMs);
      await options.check?.();
      if (performance.now() - said >= (said === since ? 1000 : 10_000)) {
        said = performance.now();
        const why = reader.error() === null ? 'it has not applied them yet' : `it cannot be polled (${reader.error()})`;
        options.log?.(
          `Waiting for ${replica.name} to apply what the primary committed before verifying there ` +
            `(${formatDuration((said - since) / 1000)} so far: ${why}).`,
        );
      }
    }
    return Math.round((performance.now() - heartbeat.sentAt(barrier)) * 1000) / 1e6;
  } finally {
    await reader.stop();
    await heartbeat.stop();
  }
}
