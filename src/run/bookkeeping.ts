import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/mysql2';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { databaseError } from '../errors.ts';

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Creates or upgrades eventshift's bookkeeping tables (eventshift_runs, eventshift_steps, eventshift_backups) from
 * the generated migrations. Callers hold the mapping's run lock; the server-wide bookkeeping lock below keeps two
 * mappings' runs from migrating the same database at once.
 */
export async function ensureBookkeeping(db: Db): Promise<void> {
  const lock = `eventshift:${db.database}:bookkeeping`.slice(0, 64);
  const [got] = await db.query<{ ok: number | string }>('SELECT GET_LOCK(?, 30) AS ok', [lock]);
  if (Number(got?.ok) !== 1) throw databaseError('Taking the bookkeeping lock', new Error(`${lock} busy for 30 s`));
  try {
    await migrate(drizzle(db.raw as never), { migrationsFolder, migrationsTable: 'eventshift_migrations' });
  } catch (cause) {
    throw databaseError("Creating eventshift's bookkeeping tables", cause);
  } finally {
    await db.query('SELECT RELEASE_LOCK(?)', [lock]);
  }
}

/** Whether the bookkeeping tables exist (read-only commands never create them). */
export async function hasBookkeeping(db: Db): Promise<boolean> {
  return tableExists(db, 'eventshift_runs');
}
