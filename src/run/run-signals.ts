import { connect, parseDatabaseUrl, redactUrl, type ConnectionTarget, type Db } from '../db/connection.ts';
import { EventshiftError, refusal, usageError } from '../errors.ts';
import { replicaLagSignals, waitForReplica, type ReplicaAt } from './replica-lag.ts';
import { checkLoadVariables, serverLoadSignals } from './server-load.ts';
import { flowControlDefaults, galeraFlowControl } from './galera-flow-control.ts';
import type { ThrottleSignal } from './throttle-signals.ts';
import { formatDuration } from '../format.ts';

/** What a run watches besides its pause file: its replicas' lag and the primary's load (throttle-signals.ts). */
export interface WatchOptions {
  /**
   * --replica: the replicas whose lag holds the run, as URLs (`mysql://user:password@host:port[/database]`; without a
   * user, the primary's user and password; without a database, the primary's). Exactly these are watched. Without
   * any, those the primary reports (SHOW SLAVE HOSTS, or SHOW REPLICAS on MySQL) are, as the primary's user.
   */
  replicas?: readonly string[];
  /** false: without --replica, watch no replica instead of those the primary reports (--no-replica-discovery). */
  discoverReplicas?: boolean;
  /** --max-lag: the run holds while a replica is more than this many seconds behind (default 1.5). */
  maxLagSeconds?: number;
  /** --max-load VAR=N: the run holds while the primary's global status variable VAR is N or more. */
  maxLoad?: Readonly<Record<string, number>>;
}

const defaultMaxLagSeconds = 1.5;

/** The run's signals, open; `close` closes them all. */
export interface OpenedSignals {
  signals: ThrottleSignal[];
  close(): Promise<void>;
}

/** The name a replica goes by in messages: where it is, never its password. */
const replicaName = (t: ConnectionTarget) => `replica ${t.socketPath ?? `${t.host}:${t.port}`}`;

/**
 * A replica given as a URL (--replica, --verify-on), connected to as the URL says; its user (and password) are the
 * primary's when it names none, its database the primary's when it names none.
 */
export function replicaAt(url: string, primary: ConnectionTarget): ReplicaAt {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`The replica URL ${redactUrl(url)} is not a URL; write it as mysql://user:password@host:3306.`);
  }
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = `/${encodeURIComponent(primary.database)}`;
  const target = parseDatabaseUrl(parsed.toString());
  const own = parsed.username !== '';
  const at = { ...target, ...(own ? {} : { user: primary.user, password: primary.password }) };
  return { name: replicaName(at), target: at };
}

/**
 * The replicas the primary reports (MariaDB: SHOW SLAVE HOSTS; MySQL: SHOW REPLICAS, before 8.0.22 SHOW SLAVE HOSTS),
 * connected to as the primary's user, in the primary's database. A replica lists its host there only when it is
 * started with report_host; one that is not is refused, since its lag cannot be watched.
 */
export async function discoverReplicas(db: Db, primary: ConnectionTarget): Promise<ReplicaAt[]> {
  let rows: Array<Record<string, unknown>>;
  if (db.capabilities.engine === 'mysql') {
    rows = await db.query('SHOW REPLICAS').catch(() => db.query('SHOW SLAVE HOSTS'));
  } else {
    rows = await db.query('SHOW SLAVE HOSTS');
  }
  const unnamed = rows.filter((r) => !r.Host).map((r) => String(r.Server_id ?? r.Server_Id));
  if (unnamed.length > 0) {
    throw refusal(
      `The primary has replicas that report no host (server_id ${unnamed.join(', ')}: report_host is not set on them), so ` +
        'their lag cannot be watched. Set report_host (and report_port) on each, or give every replica with --replica URL ' +
        '(or --no-replica-discovery to watch none).',
    );
  }
  return rows.map((r) => {
    const target = { ...primary, host: String(r.Host), port: Number(r.Port) || 3306, socketPath: undefined };
    return { name: replicaName(target), target };
  });
}

/** Whether the server writes a binary log (log_bin), without which no replica can follow it. */
async function binaryLogOn(db: Db): Promise<boolean> {
  const [row] = await db.query<{ on: string | number }>('SELECT @@GLOBAL.log_bin AS `on`');
  return Number(row?.on) === 1;
}

/** What a run watches, resolved from its WatchOptions: the replicas by name and target, the limits, and its log lines. */
export interface Watch {
  /** The server the run writes to, where the load and (on a Galera node) flow control are read. */
  primary: ConnectionTarget;
  replicas: ReplicaAt[];
  maxLagSeconds: number;
  maxLoad: Readonly<Record<string, number>>;
  /** What the run watches and at which limits (or that it watches no replica, and why). */
  lines: string[];
}

/**
 * Resolves `options` on the primary `db` (reached as `primary`) before the run writes anything: the replicas given, or
 * those the primary reports; the limits, checked (a usage error for a bad --max-lag or an unknown --max-load variable,
 * a refusal for a replica that cannot be watched).
 */
export async function resolveWatch(db: Db, primary: ConnectionTarget, options: WatchOptions): Promise<Watch> {
  const maxLagSeconds = options.maxLagSeconds ?? defaultMaxLagSeconds;
  if (!(maxLagSeconds > 0)) throw usageError(`--max-lag must be a positive number of seconds, not ${maxLagSeconds}.`);
  const maxLoad = options.maxLoad ?? {};
  await checkLoadVariables(db, Object.keys(maxLoad));
  const lines: string[] = [];
  let replicas: ReplicaAt[];
  if (options.replicas && options.replicas.length > 0) {
    replicas = options.replicas.map((url) => replicaAt(url, primary));
  } else if (options.discoverReplicas === false) {
    replicas = [];
    lines.push('Replicas: none watched (--no-replica-discovery).');
  } else if (!(await binaryLogOn(db))) {
    // A server that writes no binary log has no replicas to fall behind it.
    replicas = [];
    lines.push('Replicas: none (the server writes no binary log, so nothing replicates from it).');
  } else {
    const asked = db.capabilities.engine === 'mysql' ? 'SHOW REPLICAS' : 'SHOW SLAVE HOSTS';
    replicas = await discoverReplicas(db, primary).catch((error: unknown) => {
      if (error instanceof EventshiftError && error.kind === 'refused') throw error;
      // Fail closed: a primary that will not say which replicas it has may have some that lag.
      const message = error instanceof Error ? error.message : String(error);
      throw refusal(
        `The primary would not say which replicas it has (${asked}: ${message}), so their lag cannot be watched. ` +
          'Give each replica with --replica URL, grant the user what it needs to ask (REPLICATION MASTER ADMIN on MariaDB, ' +
          'REPLICATION SLAVE on MySQL), or pass --no-replica-discovery to watch none.',
      );
    });
    if (replicas.length === 0)
      lines.push(
        `Replicas: none connected now (${asked} on the primary lists none); a replica that connects later is not watched: ` +
          'give it with --replica URL.',
      );
  }
  if (replicas.length > 0) {
    const how = options.replicas?.length ? 'given' : 'found on the primary';
    lines.push(
      `Replicas (${how}): ${replicas.map((r) => r.name.replace(/^replica /, '')).join(', ')}; ` +
        `the run holds before each chunk while one is more than ${formatDuration(maxLagSeconds)} behind or cannot be read.`,
    );
  }
  const load = Object.entries(maxLoad);
  if (load.length > 0) lines.push(`Load: the run holds while ${load.map(([v, n]) => `${v} >= ${n}`).join(' or ')} on the primary.`);
  if (db.capabilities.galera)
    lines.push(
      `Galera flow control: the run holds while the cluster was paused more than ${flowControlDefaults.maxPausedFraction * 100}% ` +
        "of the time since the last look, or while this node's receive queue is over half its gcs.fc_limit.",
    );
  return { primary, replicas, maxLagSeconds, maxLoad, lines };
}

/**
 * Opens the signals of `watch` on the primary `db`: one per replica, one per --max-load variable, and on a Galera node
 * its flow control. Closed together.
 */
export async function openSignals(db: Db, watch: Watch): Promise<OpenedSignals> {
  const signals: ThrottleSignal[] = [];
  try {
    signals.push(...(await replicaLagSignals(db, watch.replicas, watch.maxLagSeconds)));
    signals.push(...(await serverLoadSignals(db, watch.maxLoad)));
    if (db.capabilities.galera) signals.push(galeraFlowControl(watch.primary));
  } catch (error) {
    await Promise.allSettled(signals.map((s) => s.close()));
    throw error;
  }
  return { signals, close: async () => void (await Promise.allSettled(signals.map((s) => s.close()))) };
}

/** A connection to a replica that holds every write the primary had committed when it was asked for (--verify-on). */
export interface CaughtUpReplica {
  name: string;
  db: Db;
  /** How far behind it was when it had caught up, in seconds (the last heartbeat's way there). */
  lagSeconds: number;
}

/**
 * --verify-on URL: waits until that replica has applied everything the primary `db` had committed (waitForReplica),
 * then connects to it, with the same lossless settings, for the checks to read there. The caller closes `db`.
 */
export async function caughtUpReplica(
  db: Db,
  primary: ConnectionTarget,
  url: string,
  options: { log?: (line: string) => void; check?: () => Promise<void> } = {},
): Promise<CaughtUpReplica> {
  const replica = replicaAt(url, primary);
  const started = performance.now();
  const lagSeconds = await waitForReplica(db, replica, options);
  const on = await connect(replica.target);
  options.log?.(
    `Verifying on ${replica.name}: it has applied everything the primary committed before ` +
      `(caught up in ${formatDuration((performance.now() - started) / 1000)}).`,
  );
  return { name: replica.name, db: on, lagSeconds };
}
