import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { databaseError, EventshiftError } from '../errors.ts';
import { faultPoint } from '../engine/fault-points.ts';

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Errors that mean a DDL statement already took effect (a run was killed after it, before recording its migration). */
const alreadyDone = new Set([
  1050, // table already exists
  1060, // duplicate column name
  1061, // duplicate key name
  1091, // can't drop: does not exist
]);

/**
 * Creates or upgrades eventshift's bookkeeping tables from the migrations drizzle-kit generated in drizzle/.
 * MySQL commits each DDL statement on its own, so a killed process can leave a migration half-applied: every
 * statement whose effect is already there counts as done, and a migration is recorded only once all of it is.
 * The table of applied migrations has drizzle's layout. A server-wide lock keeps two processes from migrating at once.
 */
export async function ensureBookkeeping(db: Db): Promise<void> {
  const lock = `eventshift:${db.database}:bookkeeping`.slice(0, 64);
  const [got] = await db.query<{ ok: number | string }>('SELECT GET_LOCK(?, 30) AS ok', [lock]);
  if (Number(got?.ok) !== 1) throw databaseError('Taking the bookkeeping lock', new Error(`${lock} busy for 30 s`));
  try {
    await db.execute('CREATE TABLE IF NOT EXISTS eventshift_migrations (id SERIAL PRIMARY KEY, hash TEXT NOT NULL, created_at BIGINT)');
    const applied = new Set(
      (await db.query<{ created_at: string }>('SELECT created_at FROM eventshift_migrations')).map((r) => String(r.created_at)),
    );
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
      entries: Array<{ tag: string; when: number }>;
    };
    for (const entry of journal.entries) {
      if (applied.has(String(entry.when))) continue;
      const sql = readFileSync(join(migrationsFolder, `${entry.tag}.sql`), 'utf8');
      for (const [i, statement] of sql
        .split('--> statement-breakpoint')
        .map((s) => s.trim())
        .filter(Boolean)
        .entries()) {
        try {
          await db.raw.query(statement);
        } catch (cause) {
          if (!alreadyDone.has((cause as { errno?: number }).errno ?? 0)) throw cause;
        }
        if (i === 0) faultPoint('bookkeeping migration half-applied');
      }
      await db.execute('INSERT INTO eventshift_migrations (hash, created_at) VALUES (?, ?)', [
        createHash('sha256').update(sql).digest('hex'),
        entry.when,
      ]);
    }
  } catch (cause) {
    if (cause instanceof EventshiftError) throw cause;
    throw databaseError("Creating eventshift's bookkeeping tables", cause);
  } finally {
    await db.query('SELECT RELEASE_LOCK(?)', [lock]);
  }
}

/** Whether the bookkeeping tables exist (read-only commands never create them). */
export async function hasBookkeeping(db: Db): Promise<boolean> {
  return tableExists(db, 'eventshift_runs');
}
