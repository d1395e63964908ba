import type { Db } from '../db/connection.ts';
import { columnExists, tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import type { BackupManifest } from '../backup/manifest.ts';
import { autoIncrementSql, dropColumnSql } from '../mapping/schema-statements.ts';
import { deleteKeyRange } from '../engine/delete-range.ts';
import type { Plan } from '../plan/plan-data.ts';
import { faultPoint } from '../engine/fault-points.ts';
import { hasStepsJournal, stepRecord } from '../engine/step-journal.ts';
import type { ReservedRange } from '../engine/pre-run-rows.ts';
import { lookupKeysTable, lookupSteps, type LookupCreateDetail } from './write-lookup.ts';
import { formatCount } from '../format.ts';

/**
 * Undoes the lookups of a run, and nothing else: drops the reference columns the run added (the plan refuses to run
 * when one exists already, so each is the run's), deletes the lookup rows in the ID blocks the journal says the run
 * inserted (and the run's work table of natural keys, if a killed run left it), and sets the lookup table's
 * AUTO_INCREMENT back to what the backup recorded (the server keeps it above the highest row, so others' rows are
 * safe). A lookup table the run created is dropped afterwards by rollback when it is empty. Every action checks the
 * live schema first, so it can run again after an interruption. Returns the actions as sentences and the rows deleted
 * per table.
 */
export async function rollbackLookups(
  db: Db,
  { plan, runId, manifest, chunkKeys }: { plan: Plan; runId: number; manifest: BackupManifest | null; chunkKeys: number },
): Promise<{ actions: string[]; rowsDeleted: Record<string, number> }> {
  const actions: string[] = [];
  const rowsDeleted: Record<string, number> = {};
  for (const lookup of [...(plan.lookups ?? [])].reverse()) {
    for (const s of lookup.sources) {
      if (!(await columnExists(db, s.table, s.reference.name))) continue;
      await db.execute(dropColumnSql(s.table, s.reference.name));
      actions.push(`dropped ${s.table}.${s.reference.name} (lookup ${lookup.name})`);
      faultPoint(`rollback lookup ${lookup.name} drop ${s.table}.${s.reference.name}`);
    }
    for (const table of await dropLookupWorkTables(db, { lookups: [lookup] }, runId))
      actions.push(`removed ${table}, the run's work table of lookup ${lookup.name}`);
    if (!(await tableExists(db, lookup.table))) continue;
    const record = await stepRecord(db, runId, 'write', lookupSteps.create(lookup.name));
    const detail = record?.detail as LookupCreateDetail | null;
    let deleted = 0;
    for (const [first, last] of detail?.ranges ?? []) {
      const range = { table: lookup.table, keyColumn: lookup.idColumn, first: BigInt(first), last: BigInt(last), chunkKeys };
      deleted += await deleteKeyRange(db, range);
    }
    rowsDeleted[lookup.table] = deleted;
    if (deleted > 0) actions.push(`deleted the ${formatCount(deleted)} ${lookup.table} row(s) the run created (lookup ${lookup.name})`);
    faultPoint(`rollback lookup ${lookup.name} delete`);
    const before = manifest?.tables.find((t) => t.name === lookup.table);
    if (before?.exists && before.autoIncrement !== null && before.autoIncrement !== undefined && (detail?.ranges.length ?? 0) > 0) {
      await db.execute(autoIncrementSql(lookup.table, before.autoIncrement));
      actions.push(`set ${lookup.table}'s AUTO_INCREMENT back towards ${before.autoIncrement}`);
    }
  }
  return { actions, rowsDeleted };
}

/**
 * The ID blocks of lookup rows the run created, per lookup table, as ranges that are the run's own: a restore does
 * not count them as rows others added since the backup.
 */
export async function lookupOwnRanges(db: Db, plan: Plan, runId: number): Promise<Map<string, ReservedRange[]>> {
  const ranges = new Map<string, ReservedRange[]>();
  if (!plan.lookups?.length || !(await hasStepsJournal(db))) return ranges;
  for (const lookup of plan.lookups) {
    const record = await stepRecord(db, runId, 'write', lookupSteps.create(lookup.name));
    const detail = record?.detail as LookupCreateDetail | null;
    for (const [first, last] of detail?.ranges ?? []) {
      ranges.set(lookup.table, [
        ...(ranges.get(lookup.table) ?? []),
        { step: `lookup ${lookup.name}`, first: Number(first), last: Number(last), keyColumn: lookup.idColumn },
      ]);
    }
  }
  return ranges;
}

/** Drops the work tables of natural keys a killed run left (a finished create step drops its own). Returns their names. */
export async function dropLookupWorkTables(db: Db, plan: Pick<Plan, 'lookups'> | null | undefined, runId: number): Promise<string[]> {
  const dropped: string[] = [];
  for (const lookup of plan?.lookups ?? []) {
    const table = lookupKeysTable(runId, lookup.name);
    if (!(await tableExists(db, table))) continue;
    await db.execute(`DROP TABLE IF EXISTS ${quoteId(table)}`);
    dropped.push(table);
  }
  return dropped;
}
