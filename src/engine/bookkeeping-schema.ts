import {
  bigint,
  customType,
  datetime,
  index,
  int,
  json,
  longtext,
  mysqlTable,
  primaryKey,
  text,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/mysql-core';

/**
 * eventshift's own tables in the target database. Changed only through generated migrations (`npm run db:generate`),
 * applied by the tool under its lock.
 */

/** One row per migration run of a mapping. */
export const runs = mysqlTable(
  'eventshift_runs',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    mapping: varchar('mapping', { length: 128 }).notNull(),
    /** running, completed (cutover done), stopped (--until), interrupted (SIGINT/SIGTERM), failed, refused, restored, rolled_back */
    status: varchar('status', { length: 16 }).notNull(),
    /** The last stage that finished: none, backup, write, verify, cutover. */
    stage: varchar('stage', { length: 16 }).notNull(),
    /** The plan the run froze at its start (ranges, offsets, counts): a resumed run uses these, never new ones. */
    plan: json('plan').notNull(),
    backupId: varchar('backup_id', { length: 64 }),
    host: varchar('host', { length: 255 }).notNull(),
    pid: int('pid').notNull(),
    /** CONNECTION_ID() of the connection holding the run lock while the run is alive. */
    lockConnectionId: bigint('lock_connection_id', { mode: 'number', unsigned: true }),
    startedAt: datetime('started_at', { mode: 'string', fsp: 3 }).notNull(),
    updatedAt: datetime('updated_at', { mode: 'string', fsp: 3 }).notNull(),
    finishedAt: datetime('finished_at', { mode: 'string', fsp: 3 }),
    error: longtext('error'),
    /** The last verification's verdict and summary, as JSON. */
    verification: json('verification'),
  },
  (t) => [index('eventshift_runs_mapping').on(t.mapping, t.id)],
);

/** The journal: one row per stage and step of a run, written before and after it runs. */
export const steps = mysqlTable(
  'eventshift_steps',
  {
    runId: bigint('run_id', { mode: 'number', unsigned: true }).notNull(),
    stage: varchar('stage', { length: 16 }).notNull(),
    step: varchar('step', { length: 128 }).notNull(),
    /** started, done, failed */
    status: varchar('status', { length: 16 }).notNull(),
    /** The last legacy key whose rows are committed, for chunked write steps. */
    progressKey: bigint('progress_key', { mode: 'number' }),
    rowsDone: bigint('rows_done', { mode: 'number', unsigned: true }).notNull().default(0),
    startedAt: datetime('started_at', { mode: 'string', fsp: 3 }).notNull(),
    finishedAt: datetime('finished_at', { mode: 'string', fsp: 3 }),
    detail: json('detail'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.stage, t.step] })],
);

/** Backups taken by runs or by hand; the manifest on disk is the authority, this is the index. */
export const backups = mysqlTable('eventshift_backups', {
  id: varchar('id', { length: 64 }).primaryKey(),
  runId: bigint('run_id', { mode: 'number', unsigned: true }),
  label: varchar('label', { length: 255 }),
  dir: varchar('dir', { length: 1024 }).notNull(),
  tables: json('tables').notNull(),
  rowsTotal: bigint('rows_total', { mode: 'number', unsigned: true }).notNull(),
  bytes: bigint('bytes', { mode: 'number', unsigned: true }).notNull(),
  createdAt: datetime('created_at', { mode: 'string', fsp: 3 }).notNull(),
});

/**
 * Which legacy row produced which new ID, for steps numbered `dense` or `chronological` (an `offset` step's lineage
 * is its rule: ID = legacy key + offset). Filled before the step writes; the writes, checks and `lineage` read it.
 */
export const lineage = mysqlTable(
  'eventshift_lineage',
  {
    runId: bigint('run_id', { mode: 'number', unsigned: true }).notNull(),
    step: varchar('step', { length: 128 }).notNull(),
    legacyKey: bigint('legacy_key', { mode: 'number' }).notNull(),
    eventId: bigint('event_id', { mode: 'number', unsigned: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.step, t.legacyKey] }), uniqueIndex('eventshift_lineage_event').on(t.runId, t.eventId)],
);

const longblob = customType<{ data: Buffer }>({ dataType: () => 'longblob' });

/**
 * Rows of CSV sources that could not be loaded (wrong field count, a value that does not parse, a duplicate key,
 * bytes invalid in the file's encoding), set aside by runs started with `--quarantine`: the file, the line the row
 * starts on, why, and the row's bytes exactly as they are in the file (without its line break).
 */
export const quarantine = mysqlTable(
  'eventshift_quarantine',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    runId: bigint('run_id', { mode: 'number', unsigned: true }).notNull(),
    /** The mapping's source alias. */
    source: varchar('source', { length: 64 }).notNull(),
    file: varchar('file', { length: 1024 }).notNull(),
    line: bigint('line', { mode: 'number', unsigned: true }).notNull(),
    reason: text('reason').notNull(),
    raw: longblob('raw').notNull(),
  },
  (t) => [index('eventshift_quarantine_run').on(t.runId, t.source, t.line)],
);

/**
 * The rollout stage applications should run in, per mapping (see RolloutDefinition). Applications read it with
 * `SELECT stage FROM eventshift_rollout WHERE mapping = ?`; only `eventshift stage --set` changes it, forward only.
 */
export const rollout = mysqlTable('eventshift_rollout', {
  mapping: varchar('mapping', { length: 128 }).primaryKey(),
  stage: varchar('stage', { length: 64 }).notNull(),
  changedAt: datetime('changed_at', { mode: 'string', fsp: 3 }).notNull(),
  /** Every change so far: [{ from, to, at, host, pid }], oldest first. */
  history: json('history').notNull(),
});

/**
 * The heartbeat a run writes on the primary several times a second while it watches replicas (run/replica-lag.ts),
 * one row per writing process: a replica's lag is how long ago the run wrote the newest `seq` the replica has applied,
 * timed by the run itself, so no clock of another host counts. The row goes when the run ends (one left by a killed
 * run is replaced by the next run's cleanup after an hour).
 */
export const heartbeat = mysqlTable('eventshift_heartbeat', {
  /** host:pid:random of the writing process. */
  writer: varchar('writer', { length: 128 }).primaryKey(),
  seq: bigint('seq', { mode: 'number', unsigned: true }).notNull(),
  /** The primary's clock when it was written, for a person reading the table; lag is not measured with it. */
  writtenAt: datetime('written_at', { mode: 'string', fsp: 6 }).notNull(),
});

/**
 * The run locks' leases on a Galera cluster, one row per lock name (run/lease-lock.ts). Not a drizzle table: the lock is
 * taken before the bookkeeping tables are created or upgraded (under it), so the lock creates its own table.
 */
export const leaseTableName = 'eventshift_locks';
