import { connect, type ConnectionTarget, type Db } from '../db/connection.ts';
import { refusal } from '../errors.ts';

/**
 * A MySQL named lock (GET_LOCK) held on a connection of its own. The server releases it when that connection
 * closes, so a killed process leaves no stale lock behind; and because it lives on its own connection, nothing the
 * run does on its working connection (errors, reconnects, transactions) can release it early.
 */
export interface RunLock {
  readonly name: string;
  /** CONNECTION_ID() of the holding connection, recorded in the run so others can name the holder. */
  readonly connectionId: number;
  release(): Promise<void>;
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
export async function tryLock(target: ConnectionTarget | string, name: string, waitSeconds = 3): Promise<RunLock | null> {
  const holder: Db = await connect(target);
  const [row] = await holder.query<{ got: number | string | null }>('SELECT GET_LOCK(?, ?) AS got', [name, waitSeconds]);
  if (Number(row?.got) !== 1) {
    await holder.close();
    return null;
  }
  return {
    name,
    connectionId: holder.connectionId,
    async release() {
      await holder.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
      await holder.close();
    },
  };
}

/** The connection id holding a lock, or null when it is free. */
export async function lockHolder(db: Db, name: string): Promise<number | null> {
  const [row] = await db.query<{ holder: number | string | null }>('SELECT IS_USED_LOCK(?) AS holder', [name]);
  return row?.holder === null || row?.holder === undefined ? null : Number(row.holder);
}

/** Takes the lock or throws a refusal naming whoever holds it (from `describeHolder`). */
export async function acquireLock(
  target: ConnectionTarget | string,
  name: string,
  describeHolder: (connectionId: number | null) => Promise<string>,
): Promise<RunLock> {
  const lock = await tryLock(target, name);
  if (lock) return lock;
  const probe = await connect(target);
  try {
    const holder = await lockHolder(probe, name);
    throw refusal(`${await describeHolder(holder)} holds the lock ${name}; wait for it to finish, or stop it, and try again.`, {
      subject: name,
      details: { lockConnectionId: holder },
    });
  } finally {
    await probe.close();
  }
}
