import { recipeOf, sameChecksum, tableChecksum, type ContentChecksum } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { showCreateTable, tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { EventshiftError, refusal, usageError } from '../errors.ts';
import { checkBackup } from './check-backup.ts';
import { autoIncrementOf } from './create-statement.ts';
import type { BackupManifest, BackupTableEntry } from './manifest.ts';
import type { BackupProgress } from './progress.ts';
import { withRestoreSession } from './restore-session.ts';
import { writtenColumns } from './row-statements.ts';
import { stageAll, type RestoreMethod, type StagedTable } from './stage-tables.ts';
import { recreateTriggers } from './triggers.ts';

export interface RestoreBackupOptions {
  dir: string;
  id: string;
  /** Restore only these tables of the backup (default: all of them). */
  tables?: readonly string[];
  /** Rows loaded out of each table's total. */
  onProgress?: (progress: BackupProgress) => void;
  /** One line per step taken; undefined is silent. */
  log?: (line: string) => void;
  /**
   * Opens another connection to the same database (e.g. `() => connect(url)`); it is closed when the restore ends.
   * With it, the checksum of a large table with an integer key is computed in two halves at once, one on each
   * connection, which roughly halves the time verifying takes on a server with two cores or more.
   */
  connect?: () => Promise<Db>;
}

export interface RestoredTable {
  name: string;
  /** `restored`; `dropped`: absent at backup time and dropped now; `absent`: absent then and now. */
  action: 'restored' | 'dropped' | 'absent';
  method: RestoreMethod | null;
  rows: number;
  /** The restored rows have the checksum the backup recorded (always true for a restored table: otherwise restore refuses). */
  checksumVerified: boolean;
  /** AUTO_INCREMENT of the restored table, as the backup recorded it. */
  autoIncrement: string | null;
  /** SHOW CREATE TABLE of the restored table is exactly the saved one (null when not restored). */
  definitionMatches: boolean | null;
  /** Warnings the server gave while loading rows; the checksum, not the warnings, decides. */
  loadWarnings: number;
}

export interface RestoreResult {
  id: string;
  /** The database restored into (the backup's own is in its manifest). */
  database: string;
  tables: RestoredTable[];
}

/**
 * Puts the tables of a backup back exactly as they were: rows, definition and AUTO_INCREMENT. Refuses, before
 * touching the database, a backup that is incomplete or whose files fail their SHA-256 check. Every table is loaded
 * and checksummed under a temporary name first; if any differs from the backup, all temporary tables are dropped and
 * the database is unchanged. Writes made to the tables meanwhile are lost: stop writers first.
 *
 * @example
 * const result = await restoreBackup(db, { dir: 'backups', id: '20261121T104500Z-ab12cd' });
 * for (const t of result.tables) console.log(t.name, t.action, t.rows);
 */
export async function restoreBackup(db: Db, options: RestoreBackupOptions): Promise<RestoreResult> {
  const { id } = options;
  const log = options.log ?? (() => undefined);
  const check = await checkBackup(options.dir, id);
  if (check.status === 'incomplete') {
    throw refusal(`Backup ${id} is incomplete (it has no manifest.json) and can never be restored; nothing was changed. Restore another backup.`, { subject: id });
  }
  if (!check.ok || !check.manifest) {
    throw refusal(`Backup ${id} failed its integrity check, so nothing was restored: ${check.problems.join(' ')}`, {
      subject: id,
      details: { files: check.files.filter((f) => !f.ok) },
    });
  }
  const manifest = check.manifest;
  const entries = selectedTables(manifest, options.tables);
  await refuseNonTables(db, id, entries.map((e) => e.name));
  await refuseWithoutLocalInfile(db, id);
  refuseUncheckableRecipes(db, id, entries);
  log(`Backup ${id}: every file matches its manifest; restoring ${entries.length} table(s) into ${db.database}.`);

  const verifier = options.connect ? await openVerifier(db, options.connect) : undefined;
  const restoreTables = async (): Promise<RestoreResult> => {
    const staged = await stageAll(db, check.folder, manifest, entries, options.onProgress, log, verifier);
    const results = new Map<string, RestoredTable>();
    const toCopy = staged.filter((t) => t.method === 'copy');
    try {
      await swapIn(db, staged.filter((s) => s.method === 'swap'), log);
      for (const s of staged.filter((t) => t.method === 'swap')) results.set(s.entry.name, restored(s));
      for (const entry of entries.filter((e) => !e.exists)) {
        const existed = await tableExists(db, entry.name);
        if (existed) await db.execute(`DROP TABLE ${quoteId(entry.name)}`);
        log(existed ? `Dropped ${entry.name}: it did not exist when the backup was taken.` : `${entry.name} did not exist then and does not now.`);
        results.set(entry.name, { ...notRestored(entry.name), action: existed ? 'dropped' : 'absent' });
      }
      while (toCopy.length > 0) {
        const s = toCopy[0]!;
        await copyIn(db, s, log);
        toCopy.shift();
        results.set(s.entry.name, restored(s));
      }
      for (const s of staged) {
        results.get(s.entry.name)!.definitionMatches = await finishTable(db, s, log);
      }
    } catch (error) {
      // Tables not reached are untouched: their staging copies go. The one being copied keeps its verified copy.
      for (const s of toCopy.slice(1)) await db.execute(`DROP TABLE IF EXISTS ${quoteId(s.staging)}`).catch(() => undefined);
      const done = [...results.values()].map((r) => `${r.name} (${r.action})`);
      const message = error instanceof Error ? error.message : String(error);
      throw new EventshiftError(error instanceof EventshiftError ? error.kind : 'internal',
        `Restore of backup ${id} stopped part-way, after ${done.join(', ') || 'no table'}: ${message}`,
        { subject: error instanceof EventshiftError ? error.subject : id, cause: error, details: { done } });
    }
    return { id, database: db.database, tables: entries.map((e) => results.get(e.name)!) };
  };
  try {
    return await withRestoreSession(db, () => (verifier ? withRestoreSession(verifier, restoreTables) : restoreTables()));
  } finally {
    await verifier?.close();
  }
}

/** A restore checks every table by its checksum's recipe; one the server cannot compute is refused before anything changes. */
function refuseUncheckableRecipes(db: Db, id: string, entries: readonly BackupTableEntry[]): void {
  for (const entry of entries) {
    const recipe = entry.checksum ? recipeOf(entry.checksum) : null;
    if (recipe && !db.capabilities.checksumRecipes.includes(recipe)) {
      throw refusal(
        `Backup ${id} checksummed table ${entry.name} with the ${recipe} recipe, which this server (${db.capabilities.version}) cannot compute ` +
          `(it needs CRC32C(), MariaDB 10.8 or later), so a restore here could not be verified; nothing was changed. ` +
          'Restore it on MariaDB 10.8+, or load its files by hand (backups/README.md).',
        { subject: entry.name },
      );
    }
  }
}

async function openVerifier(db: Db, open: () => Promise<Db>): Promise<Db> {
  const verifier = await open();
  if (verifier.database !== db.database) {
    await verifier.close();
    throw usageError(`The second connection of a restore must be to database ${db.database}, not ${verifier.database}.`, { subject: verifier.database });
  }
  return verifier;
}

function selectedTables(manifest: BackupManifest, names: readonly string[] | undefined): BackupTableEntry[] {
  if (names === undefined) return manifest.tables;
  const held = manifest.tables.map((t) => t.name);
  const unknown = names.filter((n) => !held.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    const what = names.length === 0 ? 'No table was named to restore' : `Backup ${manifest.id} holds no table named ${unknown.join(', ')}`;
    throw usageError(`${what}; it holds: ${held.join(', ')}.`, { subject: manifest.id, details: { tables: held } });
  }
  return manifest.tables.filter((t) => names.includes(t.name));
}

async function refuseNonTables(db: Db, id: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const rows = await db.query<{ TABLE_NAME: string; TABLE_TYPE: string }>(
    `SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'BASE TABLE'
        AND TABLE_NAME IN (${names.map(() => '?').join(', ')})`,
    [db.database, ...names],
  );
  const found = rows[0];
  if (found) {
    throw refusal(`Backup ${id} would replace ${found.TABLE_NAME}, which is now a ${found.TABLE_TYPE.toLowerCase()}, not a table; nothing was changed. Drop or rename it first.`, { subject: found.TABLE_NAME });
  }
}

async function refuseWithoutLocalInfile(db: Db, id: string): Promise<void> {
  const [row] = await db.query<{ on: number | string }>('SELECT @@GLOBAL.local_infile AS `on`');
  if (Number(row?.on) !== 1) {
    throw refusal(`Restoring backup ${id} loads rows with LOAD DATA LOCAL INFILE, which this server disables (local_infile=OFF); nothing was changed. Run SET GLOBAL local_infile = 1 and restore again.`, { subject: id });
  }
}

/** Phase 2: one atomic RENAME TABLE puts every staged `swap` table in place; the replaced tables are then dropped. */
async function swapIn(db: Db, tables: StagedTable[], log: (line: string) => void): Promise<void> {
  if (tables.length === 0) return;
  const renames: string[] = [];
  const trash: string[] = [];
  for (const s of tables) {
    if (await tableExists(db, s.entry.name)) {
      renames.push(`${quoteId(s.entry.name)} TO ${quoteId(s.trash)}`);
      trash.push(s.trash);
    }
    renames.push(`${quoteId(s.staging)} TO ${quoteId(s.entry.name)}`);
  }
  await db.execute(`RENAME TABLE ${renames.join(', ')}`);
  log(`Swapped in ${tables.map((s) => s.entry.name).join(', ')}.`);
  if (trash.length > 0) await db.execute(`DROP TABLE ${trash.map(quoteId).join(', ')}`);
}

/** Phase 3, for tables in foreign key relations: recreate under the real name and fill from the verified copy. */
async function copyIn(db: Db, s: StagedTable, log: (line: string) => void): Promise<void> {
  const name = quoteId(s.entry.name);
  const columns = writtenColumns(s.entry.columns).map((c) => quoteId(c.name)).join(', ');
  let actual: ContentChecksum;
  try {
    await db.execute(`DROP TABLE IF EXISTS ${name}`);
    await db.execute(s.createStatement);
    await db.execute(`INSERT INTO ${name} (${columns}) SELECT ${columns} FROM ${quoteId(s.staging)}`);
    actual = await tableChecksum(db, s.entry.name, writtenColumns(s.entry.columns), '1=1', [], recipeOf(s.entry.checksum));
  } catch (cause) {
    throw new EventshiftError('database', `Restoring table ${s.entry.name} in place failed (${(cause as Error).message}); its verified rows are kept in ${s.staging}.`, {
      subject: s.entry.name, cause, details: { verifiedCopy: s.staging },
    });
  }
  if (!sameChecksum(actual, s.entry.checksum)) {
    throw refusal(
      `Table ${s.entry.name} was recreated but its rows do not match the backup's checksum after the copy; ` +
        `the verified rows are kept in ${s.staging}: copy them in by hand or restore again.`,
      { subject: s.entry.name, details: { expected: s.entry.checksum, actual, verifiedCopy: s.staging } },
    );
  }
  await db.execute(`DROP TABLE ${quoteId(s.staging)}`);
  log(`Recreated ${s.entry.name} in place (foreign keys) and copied its ${actual.rows} verified row(s).`);
}

/** Phase 4: AUTO_INCREMENT as it was, the saved triggers, and a last comparison of the definition. */
async function finishTable(db: Db, s: StagedTable, log: (line: string) => void): Promise<boolean> {
  const name = s.entry.name;
  const expected = s.entry.autoIncrement;
  if (expected !== null && autoIncrementOf(await showCreateTable(db, name)) !== expected) {
    await db.execute(`ALTER TABLE ${quoteId(name)} AUTO_INCREMENT = ${expected}`);
  }
  await recreateTriggers(db, name, s.entry.triggers, log);
  const matches = (await showCreateTable(db, name)) === s.createStatement;
  if (!matches) log(`Warning: SHOW CREATE TABLE ${name} differs from the saved definition after restore.`);
  return matches;
}

function restored(s: StagedTable): RestoredTable {
  return {
    name: s.entry.name, action: 'restored', method: s.method, rows: s.entry.rows, checksumVerified: true,
    autoIncrement: s.entry.autoIncrement, definitionMatches: null, loadWarnings: s.loadWarnings,
  };
}

function notRestored(name: string): RestoredTable {
  return { name, action: 'absent', method: null, rows: 0, checksumVerified: false, autoIncrement: null, definitionMatches: null, loadWarnings: 0 };
}
