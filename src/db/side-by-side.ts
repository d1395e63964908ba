import type { Db } from './connection.ts';
import { connectAgain } from './row-stream.ts';

/**
 * Runs independent pieces of work on `connections` connections at once: `db` and new ones of its own (same
 * server, user and lossless settings), each taking the next piece in order as it finishes one, so put the longest
 * first. A server with two cores or more works on them at the same time. Waits for every connection's work to end,
 * closes the new connections whatever happened, then returns the results in the pieces' order or throws the first
 * error (after which no new piece starts). With `shared: false` (e.g. the work reads TEMPORARY tables, which only
 * `db` sees) every piece runs on `db`, one after the other.
 */
export async function sideBySide<T>(
  db: Db,
  works: ReadonlyArray<(db: Db) => Promise<T>>,
  options: { connections?: number; shared?: boolean } = {},
): Promise<T[]> {
  const count = options.shared === false ? 1 : Math.max(1, Math.min(options.connections ?? 2, works.length));
  const results: T[] = [];
  let next = 0;
  let failed = false;
  const worker = async (on: Db) => {
    while (!failed && next < works.length) {
      const i = next++;
      try {
        results[i] = await works[i]!(on);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const others: Db[] = [];
  try {
    // A connection that cannot be opened (max_user_connections, say) only means fewer pieces at once.
    for (let i = 1; i < count; i++) {
      const other = await connectAgain(db).catch(() => null);
      if (!other) break;
      others.push(other);
    }
    const settled = await Promise.allSettled([db, ...others].map(worker));
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    return results;
  } finally {
    for (const other of others) await other.close();
  }
}
