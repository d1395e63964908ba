import type { Db } from '../db/connection.ts';
import { connectAgain } from '../db/row-stream.ts';
import { refusal } from '../errors.ts';

/**
 * Connections that read a backup's tables at the same time, each in a transaction that sees the same snapshot:
 * `readers[0]` is the caller's connection.
 */
export interface SnapshotReaders {
  readers: Db[];
  /**
   * How the readers came to share one snapshot: `backup-stage`, each started its snapshot while BACKUP STAGE
   * BLOCK_COMMIT held every commit of the server back; `single`, there is one reader.
   */
  shared: 'backup-stage' | 'single';
  /** Ends every reader's transaction (COMMIT, or ROLLBACK when `ok` is false) and closes the extra connections. */
  end(ok: boolean): Promise<void>;
}

/**
 * How long BACKUP STAGE may wait for running DDL or commits before the backup falls back to one connection. While it
 * waits, other sessions' new commits queue behind it, so it is kept short: parallel reading is only an optimisation.
 */
const LOCK_WAIT_SECONDS = 1;

/**
 * Opens up to `wanted` readers in one consistent snapshot. MariaDB cannot hand one snapshot to another connection,
 * but InnoDB snapshots taken while nothing commits are equal: so, on a connection of its own (BACKUP STAGE END
 * commits the transaction of the connection that runs it), `BACKUP STAGE START` and `BACKUP STAGE BLOCK_COMMIT` hold
 * every commit back, each reader runs `START TRANSACTION WITH CONSISTENT SNAPSHOT`, and `BACKUP STAGE END` lets the
 * commits go, a few milliseconds later. mariadb-backup holds the same lock for the whole copy; mydumper uses FLUSH
 * TABLES WITH READ LOCK, which also waits for every running query. This needs the RELOAD privilege and MariaDB 10.4+;
 * without them (MySQL has no BACKUP STAGE), if the lock is not granted within LOCK_WAIT_SECONDS, or if the server
 * refuses more connections, the backup is read by the caller's connection alone, in its own snapshot, as
 * `mysqldump --single-transaction` does.
 *
 * Tables of engines without transactions (MyISAM, Aria) are in no snapshot, whichever way (backups/README.md).
 */
export async function openSnapshotReaders(db: Db, wanted: number): Promise<SnapshotReaders> {
  // REPEATABLE READ for this one transaction: the snapshot is what makes the tables consistent with each other.
  try {
    await db.execute('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  } catch (cause) {
    throw refusal(
      'A backup reads its tables in a transaction of its own, and this connection is inside one; commit or roll it back first.',
      { cause },
    );
  }
  if (wanted <= 1) {
    await startSnapshot(db);
    return readersOf([db], 'single');
  }

  const extras: Db[] = [];
  let locker: Db | null = null;
  let fallback: string | null = null;
  try {
    // Connected first, so the lock is held only while the snapshots start.
    // A server out of connections is no reason to fail: the backup is read on the caller's connection instead.
    const opened = await Promise.allSettled(Array.from({ length: wanted }, () => connectAgain(db)));
    for (const o of opened) if (o.status === 'fulfilled') extras.push(o.value);
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed) fallback = ((failed as PromiseRejectedResult).reason as Error).message;
    else {
      locker = extras.pop()!;
      await locker.execute(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_SECONDS}`);
      try {
        await locker.execute('BACKUP STAGE START');
        await locker.execute('BACKUP STAGE BLOCK_COMMIT');
      } catch (cause) {
        fallback = (cause as Error).message;
      }
    }
    if (locker && fallback === null) {
      for (const extra of extras) await extra.execute('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      for (const reader of [db, ...extras]) await startSnapshot(reader);
      await locker.execute('BACKUP STAGE END');
    }
  } catch (error) {
    await db.raw.query('ROLLBACK').catch(() => undefined);
    for (const extra of extras) await extra.close();
    throw error;
  } finally {
    await locker?.close();
  }
  if (fallback !== null) {
    for (const extra of extras) await extra.close();
    await startSnapshot(db);
    return readersOf([db], 'single');
  }
  return readersOf([db, ...extras], 'backup-stage');
}

async function startSnapshot(db: Db): Promise<void> {
  await db.execute('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
}

function readersOf(readers: Db[], shared: SnapshotReaders['shared']): SnapshotReaders {
  return {
    readers,
    shared,
    async end(ok) {
      try {
        for (const reader of readers) {
          if (ok) await reader.execute('COMMIT');
          else await reader.raw.query('ROLLBACK').catch(() => undefined);
        }
      } finally {
        for (const reader of readers.slice(1)) await reader.close();
      }
    },
  };
}
