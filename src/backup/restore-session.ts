import type { Db } from '../db/connection.ts';

/**
 * The session a restore runs in, restored to the caller's settings afterwards:
 * - sql_mode without STRICT and NO_ZERO_DATE, with ALLOW_INVALID_DATES: legacy tables hold zero and invalid dates
 *   (and CREATE statements with zero-date defaults) that strict modes reject. Nothing is silently accepted: every
 *   table's rows are checksummed against the backup before it replaces anything.
 * - NO_AUTO_VALUE_ON_ZERO: a row whose AUTO_INCREMENT key is 0 keeps 0.
 * - NO_ENGINE_SUBSTITUTION: a table comes back in its own engine or not at all.
 * - time_zone '+00:00', as when the backup was read, so TIMESTAMP values come back to the same instant.
 * - foreign_key_checks=0: tables are recreated in any order; unique_checks=0: rows come from a table with the same keys.
 * - check_constraint_checks=0 (MariaDB): rows that violate a CHECK constraint added after them come back as they were.
 * - system_versioning_insert_history=1 (MariaDB 10.11+): a system-versioned table's history rows are loaded with
 *   their own row start and end.
 */
export const RESTORE_SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,ALLOW_INVALID_DATES';

/** The MariaDB session switches a restore turns (see above), where the server has them. */
function engineSwitches(db: Db): Array<{ name: string; value: number }> {
  return [
    ...(db.capabilities.checkConstraintChecks ? [{ name: 'check_constraint_checks', value: 0 }] : []),
    ...(db.capabilities.insertHistory ? [{ name: 'system_versioning_insert_history', value: 1 }] : []),
  ];
}

export async function withRestoreSession<T>(db: Db, work: () => Promise<T>): Promise<T> {
  const switches = engineSwitches(db);
  const [saved] = await db.query<Record<string, number | string>>(
    'SELECT @@SESSION.sql_mode AS mode, @@SESSION.time_zone AS tz, @@SESSION.foreign_key_checks AS fk, @@SESSION.unique_checks AS uc' +
      switches.map((s) => `, @@SESSION.${s.name} AS ${s.name}`).join(''),
  );
  await db.execute(
    `SET SESSION sql_mode = '${RESTORE_SQL_MODE}', time_zone = '+00:00', foreign_key_checks = 0, unique_checks = 0` +
      switches.map((s) => `, ${s.name} = ${s.value}`).join(''),
  );
  const putBack = () =>
    db.execute(
      'SET SESSION sql_mode = ?, time_zone = ?, foreign_key_checks = ?, ' +
        `unique_checks = ?${switches.map((s) => `, ${s.name} = ?`).join('')}`,
      [
        saved?.mode ?? '',
        saved?.tz ?? '+00:00',
        Number(saved?.fk ?? 1),
        Number(saved?.uc ?? 1),
        ...switches.map((s) => Number(saved?.[s.name] ?? 1 - s.value)),
      ],
    );
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await putBack().catch(() => undefined);
    throw error;
  }
  await putBack();
  return result;
}
