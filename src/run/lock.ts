import { connect, type ConnectionTarget, type Db } from '../db/connection.ts';
import { refusal } from '../errors.ts';
import { leaseHolder, lockLost, takeLease, type HeldLock, type LeaseHolder, type LeaseOptions } from './lease-lock.ts';
import { formatDuration } from '../format.ts';

/**
 * The run lock, held on a connection of its own, so nothing the run does on its working connection (errors,
 * reconnects, transactions) can release it early. On a single server or a replicated primary it is a MySQL named lock
 * (GET_LOCK): the server releases it when that connection closes, so a killed process leaves no stale lock behind. On
 * a Galera node, where GET_LOCK is node-local, it is a lease in a replicated row (lease-lock.ts), which a dead run's
 * successor takes over once it has run out. As held, either is lease-lock.ts's HeldLock.
 */
export type RunLock = HeldLock;

export interface LockOptions extends LeaseOptions {
  /**
   * How often the idle lock connection is pinged so the server's `wait_timeout` (or a proxy's idle limit) does not
   * close it, and with it release the lock, during a long run or pause. Default: a quarter of the connection's
   * `wait_timeout`, at most 60 s. (A lease's renewals keep its connection busy.)
   */
  keepAliveMs?: number;
}

/**
 * Who holds a lock: the server connection holding it, and on Galera the process (host, pid) and the node it holds it
 * through, from the lease's row (null where GET_LOCK says only the connection).
 */
export interface LockHolding {
  connectionId: number;
  host: string | null;
  pid: number | null;
  node: string | null;
  /** On Galera: how fresh the holder's lease is. */
  lease: Pick<LeaseHolder, 'renewedSecondsAgo' | 'expiresInSeconds'> | null;
}

export function lockName(database: string, mapping: string): string {
  // GET_LOCK names are limited to 64 characters and are server-wide, hence the database in the name.
  const name = `eventshift:${database}:${mapping}`;
  return name.length <= 64 ? name : name.slice(0, 64);
}

/**
 * Takes the lock or returns null when another connection still holds it after `waitSeconds`. The short wait covers a
 * process killed a moment ago: the server releases its lock only once it has noticed the dead connection.
 */
export async function tryLock(target: ConnectionTarget | string, name: string, options: LockOptions = {}): Promise<RunLock | null> {
  const taken = await takeLock(target, name, options);
  return 'holder' in taken ? null : taken;
}

/** The lock taken, or who holds it (null when GET_LOCK's holder let go before it could be named). */
async function takeLock(
  target: ConnectionTarget | string,
  name: string,
  options: LockOptions,
): Promise<RunLock | { holder: LockHolding | null }> {
  const holder: Db = await connect(target);
  if (holder.capabilities.galera) {
    const lease = await takeLease(holder, name, options).catch(async (error: unknown) => {
      await holder.close();
      throw error;
    });
    if ('holder' in lease) await holder.close();
    return 'holder' in lease ? { holder: fromLease(lease.holder) } : lease;
  }
  const [row] = await holder.query<{ got: number | string | null }>('SELECT GET_LOCK(?, ?) AS got', [name, options.waitSeconds ?? 3]);
  if (Number(row?.got) !== 1) {
    const connectionId = await namedLockHolder(holder, name).finally(() => holder.close());
    return { holder: connectionId === null ? null : namedHolder(connectionId) };
  }
  const [timeout] = await holder.query<{ seconds: number | string }>('SELECT @@SESSION.wait_timeout AS seconds');
  const every = options.keepAliveMs ?? Math.max(1000, Math.min(60_000, (Number(timeout?.seconds) * 1000) / 4));
  let lost: string | null = null;
  let confirmedAt = performance.now();
  let asking: Promise<void> | null = null;
  const ask = () =>
    (asking ??= (async () => {
      try {
        // IS_USED_LOCK also proves the server still counts this connection as the holder.
        const [state] = await holder.query<{ holder: number | string | null }>('SELECT IS_USED_LOCK(?) AS holder', [name]);
        if (Number(state?.holder) === holder.connectionId) confirmedAt = performance.now();
        else lost = `the server no longer counts connection ${holder.connectionId} as its holder`;
      } catch (error) {
        lost = `its connection ${holder.connectionId} dropped (${error instanceof Error ? error.message : String(error)})`;
      }
      if (lost !== null) clearInterval(timer);
    })().finally(() => (asking = null)));
  const timer = setInterval(() => void ask(), every);
  // The keep-alive never holds the process open on its own.
  timer.unref();
  return {
    name,
    connectionId: holder.connectionId,
    async assertHeld() {
      if (lost === null && performance.now() - confirmedAt >= 1000) await ask();
      if (lost !== null) throw lockLost(name, lost);
    },
    async release() {
      clearInterval(timer);
      await asking;
      if (lost === null) await holder.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
      await holder.close();
    },
  };
}

async function namedLockHolder(db: Db, name: string): Promise<number | null> {
  const [row] = await db.query<{ holder: number | string | null }>('SELECT IS_USED_LOCK(?) AS holder', [name]);
  return row?.holder === null || row?.holder === undefined ? null : Number(row.holder);
}

const fromLease = (h: LeaseHolder): LockHolding => ({
  connectionId: h.connectionId,
  host: h.host,
  pid: h.pid,
  node: h.node,
  lease: { renewedSecondsAgo: h.renewedSecondsAgo, expiresInSeconds: h.expiresInSeconds },
});

/** Who holds a lock, or null when it is free: GET_LOCK's holder, or on Galera the lease's (one that has not run out). */
export async function lockHolder(db: Db, name: string): Promise<LockHolding | null> {
  if (db.capabilities.galera) {
    const holder = await leaseHolder(db, name);
    return holder && fromLease(holder);
  }
  const connectionId = await namedLockHolder(db, name);
  return connectionId === null ? null : namedHolder(connectionId);
}

const namedHolder = (connectionId: number): LockHolding => ({ connectionId, host: null, pid: null, node: null, lease: null });

/** Takes the lock or throws a refusal naming whoever holds it (from `describeHolder`). */
export async function acquireLock(
  target: ConnectionTarget | string,
  name: string,
  describeHolder: (holder: LockHolding | null) => Promise<string>,
  options: LockOptions = {},
): Promise<RunLock> {
  const taken = await takeLock(target, name, options);
  if (!('holder' in taken)) return taken;
  const { holder } = taken;
  const lease = holder?.lease;
  const through = lease
    ? ` through Galera node ${holder!.node} (connection ${holder!.connectionId}; its lease was renewed ` +
      `${formatDuration(lease.renewedSecondsAgo)} ago and runs out in ${formatDuration(lease.expiresInSeconds)} unless renewed)`
    : '';
  throw refusal(`${await describeHolder(holder)} holds the lock ${name}${through}; wait for it to finish, or stop it, and try again.`, {
    subject: name,
    details: { lockConnectionId: holder?.connectionId ?? null, lockHolder: holder },
  });
}
