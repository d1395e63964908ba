import { setTimeout as delay } from 'node:timers/promises';
import type { GaleraNode } from '../db/capabilities.ts';
import { serverErrno, type Db } from '../db/connection.ts';
import { recordProgress, type StepKey } from './step-journal.ts';

/**
 * The chunk engine: every loop over a range of keys runs here, whatever a chunk does (write, compare, delete). It owns
 * the cursor over the keys (integers, BigInts, or a keyset read from the server), the chunk size (fixed, or adapted to
 * about half a second a chunk), the journal entry a chunk commits with (so a killed run resumes right after the last
 * chunk that committed), and what happens between chunks: pause and throttle, stop, progress and fault points. The
 * throttle and the fault-point hook are passed in by the caller; what a chunk does is the caller's too. On a Galera node
 * it also keeps each chunk well under the cluster's write-set limits and retries a chunk's transaction that lost a
 * certification conflict (galeraWriteSets, commitRetries).
 */

/**
 * What paces a loop's chunks (run/throttle.ts makes one from a rate limit and a pause file). It acts between chunks
 * only, never inside one, so a paused or sleeping loop holds no transaction.
 */
export interface Throttle {
  /**
   * Returns at once when the pause file does not exist; otherwise waits until it is removed, logging both.
   * `keepAlive` (e.g. a ping of the caller's own connection) is called every poll while it waits.
   */
  waitWhilePaused(keepAlive?: () => Promise<unknown>): Promise<void>;
  /** The most keys a chunk may span so it writes at most about one second of the rate's budget. */
  maxChunkKeys(rowsPerKey: number): number;
  /** Sleeps as long as needed for `rows` written in `seconds` to stay within the rate. */
  afterChunk(rows: number, seconds: number): Promise<void>;
  /** How many times it has paused so far: what was checked before a pause may have changed during it. */
  pausedTimes?(): number;
}

/** One chunk: its keys from `lo` to `hi` (what `lo` is depends on the cursor), and how it commits. */
export interface Chunk<K, Lo> {
  lo: Lo;
  hi: K;
  /** 1 for the loop's first chunk (a resumed loop counts from 1 again). */
  index: number;
  /**
   * Runs `write` in a transaction on the loop's connection, and in a journaled loop records the chunk's progress in
   * that same transaction, with the rows `write` returns: both commit, or neither. On Galera a transaction that loses
   * a certification conflict is rolled back and `write` runs again (commitRetries), so `write` may run more than once:
   * what it changes outside the transaction it must set from the same starting point each time.
   */
  commit(write: (tx: Db) => Promise<number>): Promise<number>;
}

/** Where a loop is in its keys. */
export interface KeyCursor<K, Lo> {
  /** The next chunk's keys, at most `size` of them; null when the range is done. */
  next(size: number): Promise<{ lo: Lo; hi: K } | null>;
  /** Moves past a chunk that is done. */
  passed(hi: K): void;
  /** How many keys a chunk spans, where that is known without reading (integer keys). */
  width?(lo: Lo, hi: K): number;
}

/** The last key of a chunk of at most `size` integer keys from `lo`, within `last` (`size` may be Infinity). */
const integerHi = (lo: number, size: number, last: number) => Math.min(lo + size - 1, last);

/** Integer keys `first`..`last`; a chunk's `lo` is its first key. A resumed loop starts after its last chunk's key. */
export function integerKeys(first: number, last: number): KeyCursor<number, number> {
  let lo = first;
  return {
    next: async (size) => (lo > last ? null : { lo, hi: integerHi(lo, size, last) }),
    passed: (hi) => void (lo = hi + 1),
    width: (from, hi) => hi - from + 1,
  };
}

/** BigInt keys `first`..`last` (IDs beyond 2^53); a chunk's `lo` is its first key. */
export function bigintKeys(first: bigint, last: bigint): KeyCursor<bigint, bigint> {
  let lo = first;
  return {
    next: async (size) => {
      if (lo > last) return null;
      const hi = lo + BigInt(size) - 1n;
      return { lo, hi: hi < last ? hi : last };
    },
    passed: (hi) => void (lo = hi + 1n),
  };
}

/**
 * Keys read from the server in their order (any type it compares: text, bytes, numbers): `bound` gives the last of
 * the next `limit` keys after `after` (null: from the first key), or null when none is left. A chunk's `lo` is the key
 * before it, not in it (null for the first chunk); `after` is where a resumed loop goes on from.
 */
export function keysetKeys<K>(options: {
  after: K | null;
  bound: (after: K | null, limit: number) => Promise<K | null>;
}): KeyCursor<K, K | null> {
  let after = options.after;
  return {
    next: async (size) => {
      const hi = await options.bound(after, size);
      return hi === null ? null : { lo: after, hi };
    },
    passed: (hi) => void (after = hi),
  };
}

/**
 * Integer keys `first`..`last` in pieces of `size` keys, for work that takes the pieces its own way (e.g. two at a
 * time on two connections, with sideBySide) rather than one after the other.
 */
export function keyPieces(first: number, last: number, size: number): Array<{ lo: number; hi: number }> {
  const pieces: Array<{ lo: number; hi: number }> = [];
  for (let lo = first; lo <= last; lo = integerHi(lo, size, last) + 1) pieces.push({ lo, hi: integerHi(lo, size, last) });
  return pieces;
}

/**
 * How many keys a chunk spans: always `fixed`, or adapted: `start` first, then sized from the last chunk's time to
 * about half a second (adaptChunk), within [100, max]. A throttle may cut a chunk to its rate's budget, reckoned with
 * `rowsPerKey` (the planned rows per key, default 1; integer keys raise it to what the last chunk wrote).
 */
export type ChunkSize = { fixed: number } | { start: number; max: number; rowsPerKey?: number };

/** The next chunk's size from the last one's time: about half a second each, changed at most fourfold, within [100, max]. */
function adaptChunk(size: number, seconds: number, max: number): number {
  return Math.max(100, Math.min(max, Math.round(size * Math.min(4, 0.5 / Math.max(seconds, 0.01)))));
}

/** What a chunk records in the journal besides its rows: its last key, or a detail of the caller's (e.g. a keyset cursor). */
export type ChunkEntry = { progressKey: number } | { detail: unknown };

export interface ChunkLoop<K, Lo> {
  /** The connection chunks commit on. */
  db: Db;
  keys: KeyCursor<K, Lo>;
  size: ChunkSize;
  /** Does one chunk; returns the rows it wrote (or read), for progress and the throttle. */
  work: (chunk: Chunk<K, Lo>) => Promise<number>;
  /** A journaled loop: each chunk commits through chunk.commit, which records `entry(hi)` and its rows in `step`. */
  journal?: { step: StepKey; entry: (hi: K) => ChunkEntry };
  /** Paces the chunks: waits while paused before each one, sizes it to the rate and sleeps after it. */
  throttle?: Throttle;
  /** Keeps `db` alive while the throttle is paused (a pause may outlast wait_timeout). */
  keepAlive?: () => Promise<unknown>;
  /** Checked before each chunk: true stops the loop there (what is done stays done, and journaled). */
  stop?: () => boolean;
  /** Called after each chunk with the rows it returned, before its fault point. */
  onChunk?: (chunk: Chunk<K, Lo>, rows: number) => void;
  /** The fault point each chunk passes once it is done (engine/fault-points.ts): `hook` called with `name(chunk)`. */
  faultPoint?: { hook: (name: string) => void; name: (chunk: Chunk<K, Lo>) => string };
  /** Told of each chunk transaction retried on Galera (commitRetries), e.g. to count them for the report. */
  onRetry?: (retry: CommitRetry) => void;
}

export interface ChunksDone {
  /** Rows the chunks returned, added up. */
  rows: number;
  chunks: number;
  /** `stop` stopped the loop before its keys were done. */
  stopped: boolean;
}

/**
 * A chunk's transaction retried on Galera: the step it belongs to (null for a loop without a journal), the server's
 * error, which attempt failed (1 for the first), and how long the loop waited before the next.
 */
export interface CommitRetry {
  step: string | null;
  errno: number;
  attempt: number;
  waitMs: number;
}

/**
 * How a chunk's transaction is retried on Galera, where a transaction that conflicts with another node's is rolled back
 * at its COMMIT (or at its next statement, when a replicated write-set aborts it): errors 1213 (certification
 * conflict, deadlock), 1205 (lock wait timeout, e.g. behind a replicated write-set applying) and 1047 (the node is
 * between primary components for a moment, as when another node dies). Up to `attempts` in all, waiting
 * `firstWaitMs`, doubling up to `maxWaitMs` (each with up to half of it at random, so two runs do not collide again in
 * step): about 6 s of waiting at most. Elsewhere nothing is retried: a deadlock on a single server is a run's error.
 * A 1047 at COMMIT may come after the write-set was certified elsewhere; its retry then fails on the rows' primary keys
 * (1062, not retried: plan refuses a written table without one on Galera), so a chunk is never written twice.
 */
export const commitRetries = { errors: [1213, 1205, 1047], attempts: 8, firstWaitMs: 50, maxWaitMs: 2000 } as const;

/**
 * How far under a Galera cluster's write-set limits a chunk stays: a quarter of wsrep_max_ws_rows and of
 * wsrep_max_ws_size, and whatever the limits at most `maxRows` rows and `maxBytes` bytes, because every node
 * certifies and applies a write-set whole, and a large one holds the cluster behind it (flow control). A chunk's
 * bytes are reckoned from the bytes the node replicated for the chunks before (wsrep_replicated_bytes, which other
 * writers' write-sets only raise, making chunks smaller, never larger).
 */
export const galeraWriteSets = { fraction: 0.25, maxRows: 10_000, maxBytes: 16 * 1024 * 1024 } as const;

/** The most rows and bytes one chunk of a loop on Galera node `node` may write. */
export function writeSetBudget(node: GaleraNode): { rows: number; bytes: number } {
  const { fraction, maxRows, maxBytes } = galeraWriteSets;
  const rows = node.maxWriteSetRows > 0 ? Math.min(maxRows, Math.floor(node.maxWriteSetRows * fraction)) : maxRows;
  return { rows: Math.max(1, rows), bytes: Math.max(1, Math.min(maxBytes, Math.floor(node.maxWriteSetBytes * fraction))) };
}

/** The server refused a write-set over a limit (wsrep_max_ws_rows at the statement, wsrep_max_ws_size at COMMIT). */
const overWriteSetLimit = (error: unknown) =>
  [1180, 1105].includes(serverErrno(error) ?? 0) &&
  /wsrep_max_ws_rows exceeded|Maximum writeset size exceeded/i.test(error instanceof Error ? error.message : '');

async function replicatedBytes(db: Db): Promise<number> {
  const [row] = await db.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'wsrep\\_replicated\\_bytes'");
  return Number(row?.Value ?? 0);
}

/** Runs `loop.work` over the loop's keys, one chunk after another. */
// Long on purpose: the one loop, with its sizing, pacing, retries and journal in one place.
export async function runChunks<K, Lo>(loop: ChunkLoop<K, Lo>): Promise<ChunksDone> {
  const { db, keys, size, journal, throttle } = loop;
  const adaptive = 'fixed' in size ? null : size;
  let keysPerChunk = 'fixed' in size ? size.fixed : size.start;
  const plannedRowsPerKey = adaptive?.rowsPerKey ?? 1;
  let rowsPerKey = plannedRowsPerKey;
  const done: ChunksDone = { rows: 0, chunks: 0, stopped: false };
  const galera = db.capabilities.galera;
  const budget = galera ? writeSetBudget(galera) : null;
  let bytesPerRow = 0;
  // Set when the server refused a chunk over a write-set limit: the next chunks span at most this many keys.
  let refusedKeys = Number.POSITIVE_INFINITY;
  const commit = (write: (tx: Db) => Promise<number>, hi: K, onCommitted: () => void) =>
    db.transaction(async (tx) => {
      const rows = await write(tx);
      if (journal) await recordProgress(tx, journal.step, { ...journal.entry(hi), rows });
      onCommitted();
      return rows;
    });
  for (;;) {
    if (loop.stop?.()) return { ...done, stopped: true };
    await throttle?.waitWhilePaused(loop.keepAlive);
    const t0 = performance.now();
    const writeSetKeys = budget
      ? Math.max(1, Math.floor(Math.min(budget.rows, bytesPerRow > 0 ? budget.bytes / bytesPerRow : Infinity) / rowsPerKey))
      : Number.POSITIVE_INFINITY;
    const asked = Math.min(keysPerChunk, throttle?.maxChunkKeys(rowsPerKey) ?? Number.POSITIVE_INFINITY, writeSetKeys, refusedKeys);
    const range = await keys.next(asked);
    if (!range) return done;
    let committed = false;
    const chunk: Chunk<K, Lo> = {
      ...range,
      index: done.chunks + 1,
      commit: async (write) => {
        if (!galera) return commit(write, range.hi, () => (committed = true));
        const before = await replicatedBytes(db);
        for (let attempt = 1; ; attempt++) {
          try {
            const rows = await commit(write, range.hi, () => (committed = true));
            if (rows > 0) bytesPerRow = Math.max(1, (await replicatedBytes(db)) - before) / rows;
            return rows;
          } catch (error) {
            committed = false;
            const errno = serverErrno(error);
            if (errno === null || !(commitRetries.errors as readonly number[]).includes(errno) || attempt >= commitRetries.attempts)
              throw error;
            const base = Math.min(commitRetries.maxWaitMs, commitRetries.firstWaitMs * 2 ** (attempt - 1));
            const waitMs = Math.round(base * (0.5 + Math.random() / 2));
            loop.onRetry?.({ step: journal?.step.step ?? null, errno, attempt, waitMs });
            await delay(waitMs);
          }
        }
      },
    };
    let rows: number;
    try {
      rows = await loop.work(chunk);
    } catch (error) {
      // Over a write-set limit (lowered since the run connected, or rows larger than reckoned): the chunk rolled back
      // whole, and is done again as a quarter of its keys.
      if (!galera || !overWriteSetLimit(error) || committed || asked <= 1) throw error;
      refusedKeys = Math.max(1, Math.floor((keys.width?.(range.lo, range.hi) ?? asked) / 4));
      continue;
    }
    if (journal && !committed) throw new Error(`A chunk of the journaled step ${journal.step.step} did not commit through chunk.commit.`);
    done.rows += rows;
    done.chunks++;
    loop.onChunk?.(chunk, rows);
    loop.faultPoint?.hook(loop.faultPoint.name(chunk));
    const seconds = (performance.now() - t0) / 1000;
    if (adaptive) {
      keysPerChunk = adaptChunk(keysPerChunk, seconds, adaptive.max);
      if (keys.width) rowsPerKey = Math.max(plannedRowsPerKey, rows / keys.width(range.lo, range.hi));
    }
    keys.passed(range.hi);
    await throttle?.afterChunk(rows, seconds);
  }
}
