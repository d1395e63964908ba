import { recipeOf } from '../db/checksum.ts';
import type { Db } from '../db/connection.ts';
import { showCreateTable } from '../db/introspect.ts';
import { quoteCharsetName, quoteId } from '../db/quote.ts';
import { EventshiftError, refusal, usageError } from '../errors.ts';
import { checkBackup, type BackupCheck } from './check-backup.ts';
import { autoIncrementOf } from './create-statement.ts';
import type { BackupManifest, BackupTableEntry } from './manifest.ts';
import type { BackupProgress } from './progress.ts';
import {
  databaseDefaults,
  dropRestoreJournal,
  openRestoreJournal,
  remainingSteps,
  RESTORE_JOURNAL_TABLE,
  saveRestoreJournal,
  swapped,
  unfinishedRestores,
  type RestoreJournal,
  type RetiredTable,
} from './restore-journal.ts';
import { withRestoreSession } from './restore-session.ts';
import { backupTableSource, dropStaging, prepareTable, stageAll, type RestoreMethod, type StagedTable } from './stage-tables.ts';
import { addForeignKeys, planSwap, repointForeignKey, swapHappened, swapIn } from './swap-tables.ts';
import { setSequenceDefaults } from './sequence-defaults.ts';
import { restoredKind } from './table-kind.ts';
import { recreateTriggers, refuseUnrecreatableTriggers, triggersToCreate } from './triggers.ts';
import { formatCount } from '../format.ts';

export interface RestoreBackupOptions {
  dir: string;
  id: string;
  /** Restore only these tables of the backup (default: all of them). */
  tables?: readonly string[];
  /**
   * Tables that are not in the backup but stand in for one of its tables, e.g. renamed at a cutover (`OLD ord_pull`
   * for `ord_pull`): they are moved out with the tables the restore replaces and dropped, and other tables' foreign
   * keys that reference them are pointed back at the restored table.
   */
  retire?: readonly RetiredTable[];
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
  /** Called at each boundary of the restore with its name (tests kill the process there); undefined does nothing. */
  faultPoint?: (name: string) => void;
  now?: () => Date;
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
  /** The retired tables (see RestoreBackupOptions.retire) that existed and were dropped. */
  retired: string[];
  /** Other tables whose foreign keys were pointed back at a restored table, as `table.constraint`. */
  repointed: string[];
  /** This call finished a restore that an earlier one began and did not finish. */
  resumed: boolean;
}

/**
 * Puts the tables of a backup back exactly as they were: rows, definition, foreign keys, triggers and AUTO_INCREMENT.
 * Refuses, before touching the database, a backup that is incomplete or whose files fail their SHA-256 check.
 *
 * The order, journaled step by step in `eventshift_restores` (restore-journal.ts):
 * 1. every table is loaded and checksummed under a temporary name, without its foreign keys; if any differs from the
 *    backup, or the swap would break a foreign key (swap-tables.ts), the temporary tables are dropped and nothing has
 *    changed;
 * 2. one atomic RENAME TABLE moves the live tables (and those absent at backup time, and the retired ones) out to
 *    old-copy names and the loaded ones in: at no instant is a table of the backup missing;
 * 3. other tables' foreign keys, which the RENAME moved to the old copies, are pointed back; the old copies, which
 *    hold the foreign key and trigger names, are dropped; the restored tables get their foreign keys, triggers and
 *    AUTO_INCREMENT.
 * A restore that is killed or fails part-way resumes from its journal when run again; one that fails after the swap
 * says which steps remain. Writes made to the tables meanwhile are lost: stop writers first.
 *
 * @example
 * const result = await restoreBackup(db, { dir: 'backups', id: '20261121T104500Z-ab12cd' });
 * for (const t of result.tables) console.log(t.name, t.action, t.rows);
 */
export async function restoreBackup(db: Db, options: RestoreBackupOptions): Promise<RestoreResult> {
  const { id } = options;
  const log = options.log ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const check = await checkedBackup(db, options.dir, id);
  const manifest = check.manifest!;
  const entries = selectedTables(manifest, options.tables);
  const names = entries.map((e) => e.name);
  const retire = (options.retire ?? []).filter((r) => !names.includes(r.table) && names.includes(r.standsFor));
  return withRestoreLock(db, id, async () => {
    const opened = await openRestoreJournal(db, { id, tables: names, retire, now: now() }, async (old) => {
      const dropped = await dropStaging(db, old.backupId, old.tables);
      log(
        `A restore of backup ${old.backupId} had stopped before replacing any table; ` +
          `its ${formatCount(dropped.length)} staging table(s) were dropped.`,
      );
    });
    const { journal, resumed } = opened;
    let savedAt = performance.now();
    const save = async () => {
      await saveRestoreJournal(db, journal, now());
      savedAt = performance.now();
    };
    const run: RestoreRun = {
      db,
      id,
      folder: check.folder,
      manifest,
      entries,
      names,
      journal,
      connect: options.connect,
      onProgress: options.onProgress,
      log,
      faultPoint: options.faultPoint ?? (() => undefined),
      save,
      step: async (name: string, when: 'now' | 'soon' = 'now') => {
        journal.done.push(name);
        if (when === 'now' || performance.now() - savedAt >= LAZY_SAVE_MS) await save();
      },
    };
    if (resumed) log(`Resuming the restore of backup ${id}, interrupted after: ${journal.done.at(-1) ?? 'its start'}.`);
    if (resumed) await putBackDatabaseDefaults(db, journal, log);
    if (!swapped(journal) && journal.swap && (await swapHappened(db, journal.swap))) await run.step('swap');
    const staged = swapped(journal) ? await restagedTables(run) : await stageAndSwap(run);
    await withRestoreSession(db, () => finishAll(run, staged));
    return restoreResult(run, staged, resumed);
  });
}

/** One restore as it runs: the backup and the tables it restores, its journal, and whom it tells. */
interface RestoreRun {
  db: Db;
  id: string;
  /** The backup's folder. */
  folder: string;
  manifest: BackupManifest;
  /** The backup's tables this restore puts back, and their names. */
  entries: BackupTableEntry[];
  names: string[];
  journal: RestoreJournal;
  connect: RestoreBackupOptions['connect'];
  onProgress: RestoreBackupOptions['onProgress'];
  log: (line: string) => void;
  faultPoint: (name: string) => void;
  /** Records the journal as it stands. */
  save: () => Promise<void>;
  /**
   * Records that step `name` has happened: at once, or with `soon` at the next save (the next step recorded at least
   * LAZY_SAVE_MS after the last save, or any `now` step: the swap plan, the swap, a failure), for a step that is done
   * again harmlessly when a restore killed before that save resumes; a long table load between two steps delays it.
   */
  step: (name: string, when?: 'now' | 'soon') => Promise<void>;
}

/**
 * How long after the last save a step may go unjournaled when doing it again is harmless (it is saved with the next
 * step recorded after that, so a long table load in between delays it further): staging a table (a resumed restore
 * drops and loads again a staging table its journal does not name), adding a table's foreign keys (those it has are
 * not added again) and finishing it (AUTO_INCREMENT, sequence defaults and triggers are compared with the backup
 * first). Journaling each at once cost a commit apiece, 3 per table: 0.5 s on 98 small tables.
 */
const LAZY_SAVE_MS = 1000;

/** The backup, checked: refuses one that is incomplete or fails its integrity check, before anything is touched. */
async function checkedBackup(db: Db, dir: string, id: string): Promise<BackupCheck> {
  const check = await checkBackup(dir, id);
  if (check.status === 'incomplete') {
    throw refusal(
      `Backup ${id} is incomplete (it has no manifest.json) and can never be restored; nothing was changed. ` +
        `Restore another backup.${await unfinishedNote(db, id)}`,
      { subject: id },
    );
  }
  if (!check.ok || !check.manifest) {
    const note = await unfinishedNote(db, id);
    throw refusal(`Backup ${id} failed its integrity check, so nothing was restored: ${check.problems.join(' ')}${note}`, {
      subject: id,
      details: { files: check.files.filter((f) => !f.ok) },
    });
  }
  return check;
}

/**
 * Phases 1 and 2: every table staged and verified, then swapped in by one RENAME, on the restore's connection and,
 * when the caller gives a way to open one, a second one that verifies large tables' halves (closed after).
 */
async function stageAndSwap(run: RestoreRun): Promise<StagedTable[]> {
  const { db } = run;
  const verifier = run.connect ? await openVerifier(db, run.connect) : undefined;
  try {
    return await withRestoreSession(db, () =>
      verifier ? withRestoreSession(verifier, () => putInPlace(run, verifier)) : putInPlace(run, undefined),
    );
  } finally {
    await verifier?.close();
  }
}

/** Stages and swaps in the tables; on failure, what was made before the swap is dropped, and the error says so. */
async function putInPlace(run: RestoreRun, verifier: Db | undefined): Promise<StagedTable[]> {
  const { db, id, journal } = run;
  try {
    return await swapInStaged(run, verifier);
  } catch (error) {
    // A swap that happened but failed to be journaled: the restore goes on from there when run again.
    if (journal.swap && !swapped(journal) && (await swapHappened(db, journal.swap).catch(() => false))) {
      journal.done.push('swap');
      await run.save().catch(() => undefined);
      throw unfinished(db, journal, error);
    }
    // Before the swap nothing but staging tables was made: they go, and so does the journal.
    await dropStaging(db, id, run.names)
      .then(() => dropRestoreJournal(db, id))
      .catch(() => undefined);
    if (error instanceof EventshiftError && error.kind === 'refused') throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new EventshiftError(
      error instanceof EventshiftError ? error.kind : 'internal',
      `Restore of backup ${id} failed before any table was replaced; nothing was changed: ${message}`,
      { subject: error instanceof EventshiftError ? error.subject : id, cause: error },
    );
  }
}

/** The refusals that need the live database, then phase 1 (stageAll) and phase 2 (planSwap, swapIn), journaled. */
async function swapInStaged(run: RestoreRun, verifier: Db | undefined): Promise<StagedTable[]> {
  const { db, id, entries, journal, faultPoint } = run;
  await refuseNonTables(db, id, run.names);
  await refuseWithoutLocalInfile(db, id);
  refuseUncheckableRecipes(db, id, entries);
  await refuseWithoutHistoryInserts(db, id, entries);
  await refuseUnrecreatableTriggers(db, entries);
  run.log(`Backup ${id}: every file matches its manifest; restoring ${formatCount(entries.length)} table(s) into ${db.database}.`);
  const work = { folder: run.folder, manifest: run.manifest, entries, onProgress: run.onProgress, log: run.log, verifier };
  const staged = await stageAll(db, work, {
    alreadyStaged: journal.staged,
    faultPoint,
    onStaged: async (s) => {
      journal.staged[s.entry.name] = { loadWarnings: s.loadWarnings };
      await run.step(`stage ${s.entry.name}`, 'soon');
    },
  });
  journal.swap = await planSwap(db, { manifest: run.manifest, entries, staged, retire: journal.retire });
  await run.step('plan');
  faultPoint('restore swap before');
  await swapIn(db, journal.swap);
  faultPoint('restore swap renamed');
  await run.step('swap');
  const replaced = journal.swap.oldCopies.length > 0 ? `; the tables they replace are now ${journal.swap.oldCopies.join(', ')}` : '';
  run.log(`Swapped in ${staged.map((s) => s.entry.name).join(', ') || 'no table'}${replaced}.`);
  faultPoint('restore swap after');
  return staged;
}

/**
 * Phase 3, each step journaled and skipped when a resumed restore did it already: foreign keys of other tables
 * pointed back, the old copies dropped, and each restored table's foreign keys, triggers and AUTO_INCREMENT.
 */
async function finishAll(run: RestoreRun, staged: StagedTable[]): Promise<void> {
  const { db, journal, log, faultPoint } = run;
  const swap = journal.swap!;
  const pending = (step: string) => !journal.done.includes(step);
  try {
    for (const r of swap.repoint) {
      const name = `repoint ${r.table} ${r.constraint}`;
      if (!pending(name)) continue;
      await repointForeignKey(db, r, faultPoint);
      await run.step(name);
      log(`Pointed foreign key ${r.constraint} of ${r.table} back at the restored table.`);
      faultPoint(`restore ${name}`);
    }
    if (pending('drop old copies')) {
      if (swap.oldCopies.length > 0) await db.execute(`DROP TABLE IF EXISTS ${swap.oldCopies.map(quoteId).join(', ')}`);
      await run.step('drop old copies');
      faultPoint('restore old copies dropped');
    }
    for (const s of staged) {
      if (!pending(`foreign keys ${s.entry.name}`)) continue;
      const added = await addForeignKeys(db, s);
      await run.step(`foreign keys ${s.entry.name}`, 'soon');
      if (added > 0) {
        log(`Added the ${added} foreign key(s) of ${s.entry.name}.`);
        faultPoint(`restore foreign keys ${s.entry.name}`);
      }
    }
    for (const s of staged) {
      if (!pending(`finish ${s.entry.name}`)) continue;
      journal.definitions[s.entry.name] = await finishTable(db, s, log);
      await run.step(`finish ${s.entry.name}`, 'soon');
      faultPoint(`restore finish ${s.entry.name}`);
    }
    await putBackDatabaseDefaults(db, journal, log);
    journal.status = 'done';
    await run.save();
  } catch (error) {
    // The steps done so far, some not yet journaled (LAZY_SAVE_MS), are recorded for the restore that resumes.
    await run.save().catch(() => undefined);
    throw unfinished(db, journal, error);
  }
}

function restoreResult(run: RestoreRun, staged: StagedTable[], resumed: boolean): RestoreResult {
  const { journal } = run;
  const swap = journal.swap!;
  return {
    id: run.id,
    database: run.db.database,
    resumed,
    tables: run.entries.map((e) =>
      e.exists
        ? restored(
            staged.find((s) => s.entry.name === e.name)!,
            journal,
          )
        : notRestored(e.name, swap.dropped.includes(e.name)),
    ),
    retired: journal.retire.map((r) => r.table).filter((t) => swap.renames.some((r) => r.from === t)),
    repointed: swap.repoint.map((r) => `${r.table}.${r.constraint}`),
  };
}

/** After the swap, the staged tables as a resumed restore needs them (from the backup's files; nothing is loaded). */
async function restagedTables({ folder, manifest, entries, journal }: RestoreRun): Promise<StagedTable[]> {
  const out: StagedTable[] = [];
  for (const entry of entries.filter((e) => e.exists)) {
    const table = await prepareTable(backupTableSource(folder, manifest, entry));
    out.push({ ...table, loadWarnings: journal.staged[entry.name]?.loadWarnings ?? 0 });
  }
  return out;
}

/** The error of a restore that stopped after its swap: what the database holds now, what remains, and what to do. */
function unfinished(db: Db, journal: RestoreJournal, error: unknown): EventshiftError {
  const message = error instanceof Error ? error.message : String(error);
  const kind = error instanceof EventshiftError ? error.kind : (error as { errno?: number }).errno ? 'database' : 'internal';
  return new EventshiftError(
    kind,
    `Restore of backup ${journal.backupId} stopped part-way (${message}). ${db.database} now holds every table of the backup ` +
      `(${journal.tables.filter((t) => journal.staged[t]).join(', ')}) with its verified rows` +
      `${journal.swap?.dropped.length ? `, without the tables it did not have (${journal.swap.dropped.join(', ')})` : ''}, ` +
      `but ${remainingSteps(journal).join('; ')} remain to do. ` +
      `Run the same restore again: it resumes from its journal (${RESTORE_JOURNAL_TABLE}).`,
    { subject: journal.backupId, cause: error, details: { done: journal.done, remaining: remainingSteps(journal) } },
  );
}

/** The database's default character set and collation as they were when the restore began, if anything changed them. */
async function putBackDatabaseDefaults(db: Db, journal: RestoreJournal, log: (line: string) => void): Promise<void> {
  const then = journal.databaseDefaults;
  if (!then) return;
  const now = await databaseDefaults(db);
  if (now.charset === then.charset && now.collation === then.collation) return;
  await db.execute(
    `ALTER DATABASE ${quoteId(db.database)} CHARACTER SET ${quoteCharsetName(then.charset)} ` +
      `COLLATE ${quoteCharsetName(then.collation)}`,
  );
  log(
    `Put the database's default collation back to ${then.collation} ` +
      `(it was ${now.collation}: a restore was interrupted while recreating a trigger).`,
  );
}

/** For a refusal of backup `id`: what an unfinished restore of it left, if there is one. */
async function unfinishedNote(db: Db, id: string): Promise<string> {
  const journal = (await unfinishedRestores(db).catch(() => [])).find((j) => j.backupId === id);
  if (!journal || !swapped(journal)) return '';
  return (
    ` A restore of this backup began at ${journal.startedAt} and did not finish: ${db.database} holds its tables, but ` +
    `${remainingSteps(journal).join('; ')} remain to do, and finishing needs the backup's files as they were.`
  );
}

/** One restore at a time per database: a named lock on the restoring connection, released when it ends or dies. */
async function withRestoreLock<T>(db: Db, id: string, work: () => Promise<T>): Promise<T> {
  const lock = `eventshift:${db.database}:restore`.slice(0, 64);
  const [got] = await db.query<{ ok: number | string | null }>('SELECT GET_LOCK(?, 0) AS ok', [lock]);
  if (Number(got?.ok) !== 1) {
    throw refusal(
      `Another restore into ${db.database} is running (it holds the lock ${lock}); backup ${id} was not restored ` +
        'and nothing was changed. Wait for it to end.',
      { subject: id },
    );
  }
  try {
    return await work();
  } finally {
    await db.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
  }
}

/** A restore checks every table by its checksum's recipe; one the server cannot compute is refused before anything changes. */
function refuseUncheckableRecipes(db: Db, id: string, entries: readonly BackupTableEntry[]): void {
  for (const entry of entries) {
    const recipe = entry.checksum ? recipeOf(entry.checksum) : null;
    if (recipe && !db.capabilities.checksumRecipes.includes(recipe)) {
      throw refusal(
        `Backup ${id} checksummed table ${entry.name} with the ${recipe} recipe, ` +
          `which this server (${db.capabilities.version}) cannot compute ` +
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
    throw usageError(`The second connection of a restore must be to database ${db.database}, not ${verifier.database}.`, {
      subject: verifier.database,
    });
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
    'SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ' +
      `AND TABLE_TYPE NOT IN ('BASE TABLE', 'SEQUENCE', 'SYSTEM VERSIONED')
        AND TABLE_NAME IN (${names.map(() => '?').join(', ')})`,
    [db.database, ...names],
  );
  const found = rows[0];
  if (found) {
    throw refusal(
      `Backup ${id} would replace ${found.TABLE_NAME}, which is now a ${found.TABLE_TYPE.toLowerCase()}, not a table; ` +
        'nothing was changed. Drop or rename it first.',
      { subject: found.TABLE_NAME },
    );
  }
}

/** A system-versioned table's history is loaded with system_versioning_insert_history, which the server must allow. */
async function refuseWithoutHistoryInserts(db: Db, id: string, entries: readonly BackupTableEntry[]): Promise<void> {
  const versioned = entries.find((e) => e.kind === 'system-versioned');
  if (!versioned) return;
  const [row] = db.capabilities.insertHistory ? await db.query<{ secure: string }>('SELECT @@GLOBAL.secure_timestamp AS secure') : [];
  if (!db.capabilities.insertHistory || row?.secure === 'YES' || row?.secure === 'REPLICATION') {
    const why = db.capabilities.insertHistory
      ? `its secure_timestamp=${row?.secure} forbids writing a row's start and end`
      : `this server (${db.capabilities.version}) cannot write a row's start and end ` +
        '(system_versioning_insert_history needs MariaDB 10.11 or later)';
    throw refusal(
      `Backup ${id} holds the history of system-versioned table ${versioned.name}, and ${why}, so it cannot be restored here as it was; ` +
        'nothing was changed. Restore it on a server with secure_timestamp=NO (or SUPER, as a user with SUPER).',
      { subject: versioned.name },
    );
  }
}

async function refuseWithoutLocalInfile(db: Db, id: string): Promise<void> {
  const [row] = await db.query<{ on: number | string }>('SELECT @@GLOBAL.local_infile AS `on`');
  if (Number(row?.on) !== 1) {
    throw refusal(
      `Restoring backup ${id} loads rows with LOAD DATA LOCAL INFILE, which this server disables (local_infile=OFF); ` +
        'nothing was changed. Run SET GLOBAL local_infile = 1 and restore again.',
      { subject: id },
    );
  }
}

/** Last: AUTO_INCREMENT as it was, the saved triggers (those not there yet), and a last comparison of the definition. */
async function finishTable(db: Db, s: StagedTable, log: (line: string) => void): Promise<boolean> {
  const name = s.entry.name;
  const expected = s.entry.autoIncrement;
  if (expected !== null && autoIncrementOf(await showCreateTable(db, name)) !== expected) {
    await db.execute(`ALTER TABLE ${quoteId(name)} AUTO_INCREMENT = ${expected}`);
  }
  await setSequenceDefaults(db, name, s.sequenceDefaults);
  // Those created before a restore was interrupted are kept if they are the saved ones (the table is new since the swap).
  await recreateTriggers(db, name, await triggersToCreate(db, name, s.entry.triggers, log), log);
  const matches = (await showCreateTable(db, name)) === s.createStatement;
  if (!matches) log(`Warning: SHOW CREATE TABLE ${name} differs from the saved definition after restore.`);
  return matches;
}

function restored(s: StagedTable, journal: RestoreJournal): RestoredTable {
  return {
    name: s.entry.name,
    action: 'restored',
    method: s.method,
    rows: s.entry.rows,
    checksumVerified: restoredKind(s.entry) !== 'definition-only',
    autoIncrement: s.entry.autoIncrement,
    definitionMatches: journal.definitions[s.entry.name] ?? null,
    loadWarnings: s.loadWarnings,
  };
}

function notRestored(name: string, dropped: boolean): RestoredTable {
  return {
    name,
    action: dropped ? 'dropped' : 'absent',
    method: null,
    rows: 0,
    checksumVerified: false,
    autoIncrement: null,
    definitionMatches: null,
    loadWarnings: 0,
  };
}
