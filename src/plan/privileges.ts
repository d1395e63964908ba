import type { Db } from '../db/connection.ts';
import { tableName } from '../db/ddl.ts';
import { holds, readPrivileges, type HeldPrivileges } from '../db/privileges.ts';
import { quoteId } from '../db/quote.ts';
import { RESTORE_JOURNAL_TABLE } from '../backup/restore-journal.ts';
import { backups, heartbeat, leaseTableName, lineage, quarantine, rollout, runs, steps } from '../engine/bookkeeping-schema.ts';
import type { Mapping } from '../mapping/types.ts';
import { privilegeNeeds, type PrivilegeNeed } from '../parts/part.ts';
import { partsOf } from '../parts/registry.ts';
import type { Plan } from './plan-data.ts';

/** What the connected user lacks for a run of a plan: refusals for what the run needs, warnings for what later commands do. */
export interface PrivilegeCheck {
  /** One sentence per privilege and purpose the run needs and the user lacks, naming the tables. */
  refusals: string[];
  /** Likewise for rollback, restore and finalize, and what only makes the run slower (RELOAD). */
  warnings: string[];
}

/** eventshift's bookkeeping tables, which migrate creates (drizzle/) and writes in the migrated database. */
const bookkeepingTables = [
  'eventshift_migrations',
  ...[runs, steps, backups, lineage, quarantine, rollout, heartbeat].map((t) => tableName(t)),
];

/**
 * Checks the privileges a run of `plan` needs against those the connected user holds now (db/privileges.ts: global,
 * database and table grants, the enabled roles' included). What the run needs: what its parts declare
 * (Part.privileges, in write order), eventshift's bookkeeping tables, and what the backup reads. Read-only.
 */
export async function checkPrivileges(db: Db, mapping: Mapping, plan: Plan): Promise<PrivilegeCheck> {
  const held = await readPrivileges(db);
  const needs = [...(await runWideNeeds(db, plan)), ...partsOf().flatMap((part) => part.privileges?.({ mapping, plan }) ?? [])];
  const missing = needs.filter((n) => !holds(held, n.privilege, db.database, n.table));
  const warnings = missingSentences(
    db,
    held,
    missing.filter((n) => n.when !== 'run'),
  );
  // BACKUP STAGE (MariaDB) lets the backup read its tables on several connections in one snapshot; without it, on one.
  if (db.capabilities.engine === 'mariadb' && !holds(held, 'RELOAD', db.database, null)) {
    warnings.push(
      `${held.grantee} lacks RELOAD (global): the backup reads its tables on one connection instead of several ` +
        '(BACKUP STAGE BLOCK_COMMIT needs it); the run is slower, not less safe.',
    );
  }
  return {
    refusals: missingSentences(
      db,
      held,
      missing.filter((n) => n.when === 'run'),
    ),
    warnings,
  };
}

/**
 * The needs no part owns: the bookkeeping tables (CREATE and INDEX while they are missing: drizzle's migrations
 * create their indexes with CREATE INDEX), the backup (SELECT, and TRIGGER, without which information_schema and
 * SHOW CREATE TRIGGER hide a table's triggers and the backup would leave them out), and restore's statements, which
 * create and swap tables under names of their own (on the database).
 */
async function runWideNeeds(db: Db, plan: Plan): Promise<PrivilegeNeed[]> {
  const lease = db.capabilities.galera ? [leaseTableName] : [];
  const existing = await existingTables(db, [...bookkeepingTables, ...plan.tables.backup, ...lease]);
  const missingBookkeeping = bookkeepingTables.filter((t) => !existing.has(t));
  const backedUp = plan.tables.backup.filter((t) => existing.has(t));
  // On Galera the run lock is a lease in a row of its own table (run/lease-lock.ts), which the lock creates.
  const leaseMissing = lease.length > 0 && !existing.has(leaseTableName);
  return [
    ...privilegeNeeds(['CREATE'], leaseMissing ? lease : [], { for: "creating the run lock's table on Galera", when: 'run' }),
    ...privilegeNeeds(['SELECT', 'INSERT', 'UPDATE', 'DELETE'], lease, { for: "the run lock's lease on Galera", when: 'run' }),
    ...privilegeNeeds(['CREATE', 'INDEX'], missingBookkeeping, { for: "creating eventshift's bookkeeping tables", when: 'run' }),
    ...privilegeNeeds(['SELECT', 'INSERT', 'UPDATE', 'DELETE'], bookkeepingTables, {
      for: "the run's journal in eventshift's bookkeeping tables",
      when: 'run',
    }),
    ...privilegeNeeds(['SELECT', 'TRIGGER'], backedUp, { for: 'backup stage: reading the tables and their triggers', when: 'run' }),
    ...privilegeNeeds(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER', 'INDEX', 'TRIGGER'], [null], {
      for: `restore: tables created, loaded and swapped in by RENAME TABLE, triggers recreated, ${RESTORE_JOURNAL_TABLE}`,
      when: 'restore',
    }),
  ];
}

/**
 * Which of `tables` (names as the mapping writes them) exist in the database, in one query. Where the server stores
 * names in lower case (lower_case_table_names=1), it reports `Event_Text` as `event_text`; with 2 it compares them so.
 */
async function existingTables(db: Db, tables: readonly string[]): Promise<Set<string>> {
  if (tables.length === 0) return new Set();
  const rows = await db.query<{ t: string; l: string | number }>(
    'SELECT TABLE_NAME AS t, @@lower_case_table_names AS l FROM information_schema.TABLES ' +
      'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)',
    [tables],
  );
  const found = new Set(rows.map((r) => String(r.t)));
  // 1 stores names in lower case, 2 compares them so: either way `Event_Text` is the table found as `event_text`.
  const lowered = rows.length > 0 && Number(rows[0]!.l) !== 0;
  const foundLower = new Set([...found].map((t) => t.toLowerCase()));
  return new Set(tables.filter((t) => found.has(t) || (lowered && foundLower.has(t.toLowerCase()))));
}

/**
 * One sentence per command and purpose, naming each privilege missing on its tables, tables lacking the same ones
 * together: ``'u'@'%' lacks ALTER, DROP on `db`.`ord_pull`; CREATE, INSERT on `db`.`OLD ord_pull`, needed for ...``.
 */
function missingSentences(db: Db, held: HeldPrivileges, missing: readonly PrivilegeNeed[]): string[] {
  const byPurpose = new Map<string, { need: PrivilegeNeed; privileges: Map<string | null, string[]> }>();
  for (const need of missing) {
    const key = `${need.when}\u0000${need.for}`;
    const purpose = byPurpose.get(key) ?? { need, privileges: new Map<string | null, string[]>() };
    const ofTable = purpose.privileges.get(need.table) ?? [];
    if (!ofTable.includes(need.privilege)) ofTable.push(need.privilege);
    purpose.privileges.set(need.table, ofTable);
    byPurpose.set(key, purpose);
  }
  const on = (table: string | null) => `${quoteId(db.database)}.${table === null ? '*' : quoteId(table)}`;
  return [...byPurpose.values()].map(({ need, privileges }) => {
    const tablesOf = new Map<string, Array<string | null>>();
    for (const [table, names] of privileges) tablesOf.set(names.join(', '), [...(tablesOf.get(names.join(', ')) ?? []), table]);
    const what = [...tablesOf].map(([names, tables]) => `${names} on ${tables.map(on).join(', ')}`).join('; ');
    return need.when === 'run'
      ? `${held.grantee} lacks ${what}, needed for ${need.for}.`
      : `${need.when} would need ${what} (for ${need.for}), which ${held.grantee} lacks.`;
  });
}
