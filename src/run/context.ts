import { connect, parseDatabaseUrl, type Db } from '../db/connection.ts';
import type { Mapping } from '../mapping/define.ts';
import { acquireLock, lockName, type RunLock } from './lock.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import { runHoldingLock } from './journal.ts';

/** What every command needs: where the database is, and the injected clock and logger. */
export interface CommandOptions {
  databaseUrl: string;
  /** Defaults to the real clock. */
  now?: () => Date;
  /** Progress and stage lines for a person; undefined means silent. */
  log?: (line: string) => void;
}

/** Runs `work` on a working connection while holding the mapping's run lock. */
export async function withRunLock<T>(options: CommandOptions, mapping: Mapping, work: (db: Db, lock: RunLock) => Promise<T>): Promise<T> {
  const target = parseDatabaseUrl(options.databaseUrl);
  const db = await connect(target);
  try {
    const lock = await acquireLock(target, lockName(db.database, mapping.name), async (holder) => {
      if (holder !== null && (await hasBookkeeping(db))) {
        const run = await runHoldingLock(db, holder);
        if (run) return `Run ${run.id} of ${mapping.name} (host ${run.host}, pid ${run.pid}, started ${run.startedAt} UTC)`;
      }
      return `Another eventshift process (server connection ${holder ?? 'unknown'})`;
    });
    try {
      return await work(db, lock);
    } finally {
      await lock.release();
    }
  } finally {
    await db.close();
  }
}
