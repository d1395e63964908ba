import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { EventshiftError, refusal } from '../errors.ts';
import {
  catalogForeignKeys,
  foreignKeyHolders,
  foreignKeysFromElsewhere,
  foreignKeysOf,
  foreignKeysOfStatement,
  foreignKeysReferencing,
  orphanRows,
  parseForeignKey,
  withReferencedTable,
  type CatalogForeignKey,
  type ForeignKey,
} from './foreign-keys.ts';
import type { BackupManifest, BackupTableEntry } from './manifest.ts';
import { RESTORE_JOURNAL_TABLE, type RetiredTable, type SwapPlan } from './restore-journal.ts';
import { temporaryNames, type StagedTable } from './stage-tables.ts';
import { formatCount } from '../format.ts';

/** What a restore swaps: the backup's tables it puts back (present and absent), those staged, and those it retires. */
export interface SwapRequest {
  manifest: BackupManifest;
  entries: readonly BackupTableEntry[];
  staged: readonly StagedTable[];
  retire: readonly RetiredTable[];
}

/**
 * What the checks of a planned swap read: the foreign keys of the whole server (read once: nothing changes the schema
 * while the swap is planned), and which tables move where.
 */
interface SwapScope {
  db: Db;
  /** The backup's id. */
  id: string;
  catalog: readonly CatalogForeignKey[];
  staged: readonly StagedTable[];
  /** The restored tables by their real names. */
  restored: Map<string, StagedTable>;
  /** Live table moving out -> the restored table its references belong to (null: none, it is dropped). */
  movingOut: Map<string, string | null>;
  /** The staging tables' names. */
  staging: Set<string>;
}

/**
 * Phase 2 of a restore, decided before anything is replaced: the one RENAME TABLE that moves every live table of the
 * backup (and every table absent at backup time, and every retired table) out of the way and every staged table in,
 * and the foreign keys of other tables to point back afterwards. Refuses, with nothing changed, what the swap would
 * leave broken: a foreign key name another table holds, a foreign key of another table that references a table the
 * restore drops, and rows that the foreign keys, added without checking (foreign_key_checks=0), would leave orphaned.
 */
export async function planSwap(db: Db, request: SwapRequest): Promise<SwapPlan> {
  const { manifest, staged } = request;
  const { renames, oldCopies, dropped, movingOut } = await movesOut(db, request);
  await refuseLeftOldCopies(db, manifest.id, oldCopies);
  const scope: SwapScope = {
    db,
    id: manifest.id,
    // Nothing changes the schema while the swap is planned: one read of the foreign keys serves every question below.
    catalog: await catalogForeignKeys(db),
    staged,
    restored: new Map(staged.map((s) => [s.entry.name, s])),
    movingOut,
    staging: new Set(staged.map((s) => s.staging)),
  };
  const elsewhere = foreignKeysFromElsewhere(db, scope.catalog, [...movingOut.keys()]);
  if (elsewhere.length > 0) {
    throw refusal(
      `Foreign keys of tables in other databases reference tables that restoring backup ${manifest.id} replaces or drops: ` +
        `${elsewhere.join(', ')}. The swap would leave them on the old copies, and a restore points back only this database's own; ` +
        'nothing was changed. Drop those foreign keys, restore, then add them again.',
      { subject: manifest.id, details: { foreignKeys: elsewhere } },
    );
  }
  const repoint = await foreignKeysToRepoint(scope);
  await refuseHeldNames(scope);
  await refuseOrphans(scope, repoint);
  return { renames, oldCopies, dropped, repoint };
}

/** The renames of the swap, and the live tables it moves out of the way (see SwapScope.movingOut). */
async function movesOut(
  db: Db,
  { manifest, entries, staged, retire }: SwapRequest,
): Promise<Omit<SwapPlan, 'repoint'> & { movingOut: SwapScope['movingOut'] }> {
  const renames: SwapPlan['renames'] = [];
  const oldCopies: string[] = [];
  const dropped: string[] = [];
  const movingOut: SwapScope['movingOut'] = new Map();
  for (const s of staged) {
    if (await tableExists(db, s.entry.name)) {
      renames.push({ from: s.entry.name, to: s.trash });
      oldCopies.push(s.trash);
      movingOut.set(s.entry.name, s.entry.name);
    }
    renames.push({ from: s.staging, to: s.entry.name });
  }
  for (const entry of entries.filter((e) => !e.exists)) {
    if (!(await tableExists(db, entry.name))) continue;
    const { trash } = temporaryNames(manifest.id, manifest.tables.indexOf(entry), entry.name);
    renames.push({ from: entry.name, to: trash });
    oldCopies.push(trash);
    dropped.push(entry.name);
    movingOut.set(entry.name, null);
  }
  for (const [i, r] of retire.entries()) {
    if (movingOut.has(r.table) || !(await tableExists(db, r.table))) continue;
    const { trash } = temporaryNames(manifest.id, manifest.tables.length + i, r.table);
    renames.push({ from: r.table, to: trash });
    oldCopies.push(trash);
    movingOut.set(r.table, r.standsFor);
  }
  return { renames, oldCopies, dropped, movingOut };
}

/**
 * An old-copy name already taken means an earlier restore of this backup swapped its tables in and lost its journal:
 * the table may be the only copy of what it replaced, and other tables' foreign keys may point at it. It is never
 * dropped or overwritten here.
 */
async function refuseLeftOldCopies(db: Db, id: string, oldCopies: readonly string[]): Promise<void> {
  const left: string[] = [];
  for (const name of oldCopies) if (await tableExists(db, name)) left.push(name);
  if (left.length === 0) return;
  throw refusal(
    `Table(s) ${left.join(', ')} already exist: an earlier restore of backup ${id} moved tables out of the way under those names ` +
      `and its journal (${RESTORE_JOURNAL_TABLE}) is gone, so what it did is not known; nothing was changed. Check what they hold ` +
      '(and which foreign keys reference them), rename or drop them, then restore again.',
    { subject: id, details: { tables: left } },
  );
}

/** Foreign keys of tables that stay, referencing a table that moves out: where each must point after the swap. */
async function foreignKeysToRepoint({ db, catalog, movingOut, staging }: SwapScope): Promise<SwapPlan['repoint']> {
  const repoint: SwapPlan['repoint'] = [];
  for (const ref of foreignKeysReferencing(db, catalog, [...movingOut.keys()])) {
    if (movingOut.has(ref.table) || staging.has(ref.table)) continue;
    const target = movingOut.get(ref.referencedTable);
    if (!target) {
      throw refusal(
        `Table ${ref.table} has a foreign key ${ref.constraint} that references ${ref.referencedTable}, which did not exist ` +
          'when the backup was taken, so restoring it drops that table; nothing was changed. ' +
          `Drop the foreign key (or table ${ref.table}) first, then restore again.`,
        { subject: ref.table, details: { foreignKey: ref } },
      );
    }
    const fk = (await foreignKeysOf(db, ref.table)).find((f) => f.name === ref.constraint);
    if (!fk) {
      const what = `Foreign key ${ref.constraint} of table ${ref.table} is not in its SHOW CREATE TABLE.`;
      throw new EventshiftError('internal', what, { subject: ref.table });
    }
    repoint.push({ table: ref.table, constraint: ref.constraint, clause: withReferencedTable(fk.clause, target) });
  }
  return repoint;
}

/** A restored table's foreign key name must be free once the old copies are gone: held elsewhere, the restore is refused. */
async function refuseHeldNames({ db, id, staged, movingOut }: SwapScope): Promise<void> {
  const wanted = new Map<string, string>();
  for (const s of staged) for (const fk of foreignKeysOfStatement(s.createStatement)) wanted.set(fk.name, s.entry.name);
  for (const [name, holder] of await foreignKeyHolders(db, [...wanted.keys()])) {
    if (movingOut.has(holder)) continue;
    throw refusal(
      `Table ${wanted.get(name)} of backup ${id} has a foreign key named ${name}, and table ${holder} now holds that name ` +
        '(foreign key names are unique in a database); nothing was changed. ' +
        `Drop or rename table ${holder}, or its foreign key ${name}, then restore again.`,
      { subject: holder, details: { foreignKey: name, table: wanted.get(name) } },
    );
  }
}

/** What refuseOrphans found: each problem as a sentence, and as details. */
interface OrphanReport {
  problems: string[];
  details: unknown[];
}

/** Checks one foreign key from `child` to `parent` for rows that reference nothing, adding them to `report`. */
type OrphanCheck = (fk: ForeignKey, child: Side, parent: Side) => Promise<void>;

/**
 * Foreign keys are added with foreign_key_checks=0, which checks no row: every relation that crosses between a restored
 * table and one that is not restored (its rows are not from the same snapshot) is checked here instead.
 */
async function refuseOrphans(scope: SwapScope, repoint: SwapPlan['repoint']): Promise<void> {
  const report: OrphanReport = { problems: [], details: [] };
  const check: OrphanCheck = async (fk, child, parent) => {
    const parentColumns = { table: parent.table, columns: fk.referencedColumns };
    const orphans = await orphanRows(scope.db, { table: child.table, columns: fk.columns }, parentColumns);
    if (orphans.count === 0) return;
    report.problems.push(
      `${formatCount(orphans.count)} row(s) of ${child.name} would reference no row of ${parent.name} ` +
        `(foreign key ${fk.name}; e.g. ${orphans.keys.join('; ')})`,
    );
    report.details.push({ foreignKey: fk.name, child: child.name, parent: parent.name, rows: orphans.count, keys: orphans.keys });
  };
  await checkOwnForeignKeys(scope, report, check);
  for (const { table, fk } of await incomingForeignKeys(scope, repoint)) {
    const parent = scope.restored.get(fk.referencedTable);
    if (parent) await check(fk, { name: table, table }, { name: parent.entry.name, table: parent.staging });
  }
  if (report.problems.length > 0) {
    throw refusal(
      `Restoring backup ${scope.id} would break foreign keys: ${report.problems.join('; ')}. Nothing was changed. ` +
        'Restore those tables too (from a backup taken with them), or delete or fix those rows, then restore again.',
      { subject: scope.id, details: { orphans: report.details } },
    );
  }
}

/** The restored tables' own foreign keys, to tables the restore leaves as they are. */
async function checkOwnForeignKeys(scope: SwapScope, report: OrphanReport, check: OrphanCheck): Promise<void> {
  const { db, restored, movingOut } = scope;
  for (const s of scope.staged) {
    for (const fk of foreignKeysOfStatement(s.createStatement)) {
      const parent = fk.referencedTable;
      if ((fk.referencedSchema !== null && fk.referencedSchema !== db.database) || restored.has(parent) || movingOut.has(parent)) continue;
      if (!(await tableExists(db, parent))) {
        report.problems.push(
          `${s.entry.name} references ${parent} (foreign key ${fk.name}), which no longer exists and is not in the backup`,
        );
        report.details.push({ foreignKey: fk.name, child: s.entry.name, parent, missing: true });
        continue;
      }
      await check(fk, { name: s.entry.name, table: s.staging }, { name: parent, table: parent });
    }
  }
}

/**
 * Other tables' foreign keys to the restored tables: those pointed back after the swap, and those that already name a
 * restored table that does not exist now (they find it again by name).
 */
async function incomingForeignKeys(scope: SwapScope, repoint: SwapPlan['repoint']): Promise<Array<{ table: string; fk: ForeignKey }>> {
  const { db, restored, movingOut, staging } = scope;
  const incoming = repoint.map((r) => ({ table: r.table, fk: parseForeignKey(r.clause) as ForeignKey }));
  const waiting = foreignKeysReferencing(
    db,
    scope.catalog,
    [...restored.keys()].filter((n) => !movingOut.has(n)),
  ).filter((ref) => !restored.has(ref.table) && !movingOut.has(ref.table) && !staging.has(ref.table));
  for (const ref of waiting) {
    const fk = (await foreignKeysOf(db, ref.table)).find((f) => f.name === ref.constraint);
    if (fk) incoming.push({ table: ref.table, fk });
  }
  return incoming;
}

/** One side of a foreign key: the table as a message names it, and the table its rows are read from now. */
interface Side {
  name: string;
  table: string;
}

/**
 * Whether the plan's RENAME has happened (it is atomic: all of it or none), read from the live schema: every staging
 * table is gone and every name it renames to exists. A live table's name is both renamed from and to (the staged copy
 * takes it), so whether it exists says nothing; the staging names and the old-copy names do. Before the swap the
 * staging tables exist (they were verified) and no old copy does; after it, the opposite.
 */
export async function swapHappened(db: Db, plan: SwapPlan): Promise<boolean> {
  const targets = new Set(plan.renames.map((r) => r.to));
  for (const { from, to } of plan.renames) {
    if ((!targets.has(from) && (await tableExists(db, from))) || !(await tableExists(db, to))) return false;
  }
  return true;
}

/** The swap: one atomic RENAME TABLE. */
export async function swapIn(db: Db, plan: SwapPlan): Promise<void> {
  if (plan.renames.length === 0) return;
  await db.execute(`RENAME TABLE ${plan.renames.map((r) => `${quoteId(r.from)} TO ${quoteId(r.to)}`).join(', ')}`);
}

/**
 * Points one foreign key of another table back at the restored table (the swap moved it to the old copy). Its name
 * stays the table's, so it is dropped and added again: two statements, each skipped when it has already happened.
 */
export async function repointForeignKey(db: Db, r: SwapPlan['repoint'][number], faultPoint: (name: string) => void): Promise<void> {
  const current = (await foreignKeysOf(db, r.table)).find((f) => f.name === r.constraint);
  if (current?.clause === r.clause) return;
  if (current) await db.execute(`ALTER TABLE ${quoteId(r.table)} DROP FOREIGN KEY ${quoteId(r.constraint)}`);
  faultPoint(`restore repoint ${r.table} ${r.constraint} dropped`);
  await db.execute(`ALTER TABLE ${quoteId(r.table)} ADD ${r.clause}`);
}

/** Adds the restored table's foreign keys that it does not have yet, in one ALTER TABLE (no row is read). */
export async function addForeignKeys(db: Db, s: StagedTable): Promise<number> {
  if (s.foreignKeys.length === 0) return 0;
  const have = new Set((await foreignKeysOf(db, s.entry.name)).map((f) => f.name));
  const missing = s.foreignKeys.filter((clause) => !have.has(parseForeignKey(clause).name));
  if (missing.length === 0) return 0;
  await db.execute(`ALTER TABLE ${quoteId(s.entry.name)} ${missing.map((c) => `ADD ${c}`).join(', ')}`);
  return missing.length;
}
