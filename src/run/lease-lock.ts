import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { serverErrno, type Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { leaseTableName } from '../engine/bookkeeping-schema.ts';
import { EventshiftError } from '../errors.ts';
import { formatDuration } from '../format.ts';

/**
 * The run lock on a Galera cluster. GET_LOCK is node-local there (two sessions on two nodes both got the same lock),
 * so the lock is a row of `eventshift_locks`, which the cluster replicates: taken by an INSERT of the row, or by an
 * UPDATE of a row whose lease has expired, committed. Certification makes that exclusive: of two takers on two
 * nodes, the second either sees the first's row or fails certification (1213) and looks again. The holder renews the
 * lease on its lock connection every `renewMs`; a run that dies (its process, or its node) stops renewing, and another
 * run takes the lock over once the lease has run out, `leaseMs` after the last renewal at most: no manual step.
 */

/**
 * How long a lease lasts after its last renewal, and how often the holder renews it. 20 s and 3 s: a run whose node
 * dies is taken over by a migrate through another node within 20 s; six renewals fit in a lease, so a few delayed by
 * flow control or a busy node do not lose it; and a holder that could not renew for 17 s (`leaseMs - renewMs`) stops
 * at its next safe point, before anyone may take the lock over.
 */
const leaseDefaults = { leaseMs: 20_000, renewMs: 3_000 } as const;

/** Where the leases are: one row per lock name, in the migrated database (created by the first run that takes one). */

const createLeaseTableSql = `CREATE TABLE IF NOT EXISTS ${leaseTableName} (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  token CHAR(32) NOT NULL,
  holder_host VARCHAR(255) NOT NULL,
  holder_pid INT UNSIGNED NOT NULL,
  holder_connection BIGINT UNSIGNED NOT NULL,
  holder_node VARCHAR(255) NOT NULL,
  taken_at DATETIME(6) NOT NULL,
  renewed_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** Who holds a lease: the process (host, pid), its lock connection and the node it is on, and how fresh the lease is. */
export interface LeaseHolder {
  connectionId: number;
  host: string;
  pid: number;
  node: string;
  /** Seconds since the holder last renewed the lease (by the clock of the node that read it). */
  renewedSecondsAgo: number;
  /** Seconds until the lease runs out; 0 or less when it has. */
  expiresInSeconds: number;
}

/**
 * A lock this process holds on a connection of its own: a lease here, or GET_LOCK's (run/lock.ts, whose RunLock this
 * is).
 */
export interface HeldLock {
  readonly name: string;
  /** CONNECTION_ID() of the holding connection, recorded in the run so others can name the holder. */
  readonly connectionId: number;
  /**
   * Rejects when the lock has been lost, so that another run could take it: GET_LOCK's connection dropped (a server
   * restart, a KILL, a network cut); a lease's renewal found another holder, or none succeeded for `leaseMs - renewMs`.
   * A run calls this before each chunk, stage and check, and so stops at a safe point; every chunk is journaled, so
   * migrate again resumes. GET_LOCK's asks the server at most once a second; a lease answers from its renewals.
   */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** How long to wait for a holder to let go (default 3 s). */
  waitSeconds?: number;
  /** On Galera: the lease's length and renewal period (leaseDefaults). */
  leaseMs?: number;
  renewMs?: number;
  /** On Galera: says that the run waits for a dead holder's lease to run out, and that it took the lock over. */
  log?: (line: string) => void;
}

interface LeaseRow {
  token: string;
  renewed_at: string;
  holder_host: string;
  holder_pid: number | string;
  holder_connection: number | string;
  holder_node: string;
  renewed_us_ago: number | string;
  expires_in_us: number | string;
}

/** A lease's row: its holder, its token (whose the lease is) and the renewal time as stored (to see it move). */
type LeaseRowRead = LeaseHolder & { token: string; renewedAt: string };

async function leaseRow(db: Db, name: string): Promise<LeaseRowRead | null> {
  const [row] = await db.query<LeaseRow & Record<string, unknown>>(
    `SELECT token, renewed_at, holder_host, holder_pid, holder_connection, holder_node,
            TIMESTAMPDIFF(MICROSECOND, renewed_at, UTC_TIMESTAMP(6)) AS renewed_us_ago,
            TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), expires_at) AS expires_in_us
       FROM ${leaseTableName} WHERE name = ?`,
    [name],
  );
  if (!row) return null;
  return {
    token: row.token,
    renewedAt: String(row.renewed_at),
    connectionId: Number(row.holder_connection),
    host: row.holder_host,
    pid: Number(row.holder_pid),
    node: row.holder_node,
    renewedSecondsAgo: Number(row.renewed_us_ago) / 1e6,
    expiresInSeconds: Number(row.expires_in_us) / 1e6,
  };
}

/** Who holds the lease `name` now; null when nobody does (no row, or its lease has run out). Read-only. */
export async function leaseHolder(db: Db, name: string): Promise<LeaseHolder | null> {
  if (!(await tableExists(db, leaseTableName))) return null;
  const row = await leaseRow(db, name);
  return !row || row.expiresInSeconds <= 0 ? null : withoutToken(row);
}

/** A server error that means another node's transaction on the same row won: look again. */
const lostRace = (error: unknown) => [1062, 1213].includes(serverErrno(error) ?? 0);

/**
 * Takes the lease `name` on `db` (its own connection, which the lease keeps and closes on release), or returns who
 * holds it. A holder seen renewing its lease is refused (after `waitSeconds`, in case it is letting go); one whose
 * lease is not renewed while this process watches it for a renewal period and a second (its process or its node is
 * dead) is waited for until its lease runs out, then taken over: at most `leaseMs` after its last renewal.
 */
export async function takeLease(db: Db, name: string, options: LeaseOptions = {}): Promise<HeldLock | { holder: LeaseHolder }> {
  const leaseMs = options.leaseMs ?? leaseDefaults.leaseMs;
  const renewMs = options.renewMs ?? leaseDefaults.renewMs;
  const token = randomBytes(16).toString('hex');
  const holderParams = [token, hostname(), process.pid, db.connectionId, db.capabilities.galera?.node ?? 'unknown'];
  // DDL runs in total order on every node: only when the table is missing.
  if (!(await tableExists(db, leaseTableName))) await db.execute(createLeaseTableSql);
  const deadline = performance.now() + (options.waitSeconds ?? 3) * 1000;
  // The holder being watched: its lease's token, its renewal as first seen, and since when (this process's clock).
  let watched = null as { token: string; renewedAt: string; since: number; alive: boolean } | null;
  let waitingForExpiry = false;
  for (;;) {
    const row = await leaseRow(db, name);
    const readAt = performance.now();
    try {
      if (!row) {
        await db.execute(
          `INSERT INTO ${leaseTableName}
                  (token, holder_host, holder_pid, holder_connection, holder_node, name, taken_at, renewed_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)`,
          [...holderParams, name, leaseMs * 1000],
        );
      } else if (row.expiresInSeconds <= 0) {
        const { affectedRows } = await db.execute(
          `UPDATE ${leaseTableName} SET token = ?, holder_host = ?, holder_pid = ?, holder_connection = ?, holder_node = ?,
                  taken_at = UTC_TIMESTAMP(6), renewed_at = UTC_TIMESTAMP(6), expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
            WHERE name = ? AND token = ? AND expires_at < UTC_TIMESTAMP(6)`,
          [...holderParams, leaseMs * 1000, name, row.token],
        );
        if (affectedRows !== 1) continue;
        options.log?.(
          `Took over the run lock ${name}: its lease, held by pid ${row.pid} on ${row.host} through node ${row.node}, ` +
            `had run out (last renewed ${formatDuration(row.renewedSecondsAgo)} before).`,
        );
      } else {
        if (watched?.token !== row.token) watched = { token: row.token, renewedAt: row.renewedAt, since: readAt, alive: false };
        else if (watched.renewedAt !== row.renewedAt) watched.alive = true;
        const dead = !watched.alive && readAt - watched.since > renewMs + 1000;
        if (watched.alive && readAt >= deadline) return { holder: withoutToken(row) };
        if (dead && !waitingForExpiry) {
          waitingForExpiry = true;
          options.log?.(
            `The run lock ${name} is held by pid ${row.pid} on ${row.host} through node ${row.node}, which has not renewed ` +
              `its lease for ${formatDuration(row.renewedSecondsAgo)}: waiting ${formatDuration(row.expiresInSeconds)} for it to run ` +
              'out, then taking the lock over.',
          );
        }
        await delay(dead ? Math.min(Math.ceil(row.expiresInSeconds * 1000) + 50, leaseMs) : Math.min(500, renewMs));
        continue;
      }
    } catch (error) {
      if (lostRace(error)) continue;
      throw error;
    }
    // Committed: certification ordered this write before any other taker's. Read back (a causal read) to be sure.
    if ((await leaseRow(db, name))?.token === token) return heldLease(db, name, { token, leaseMs, renewMs, renewedAt: readAt });
  }
}

const withoutToken = ({ token: _token, renewedAt: _renewedAt, ...holder }: LeaseRowRead): LeaseHolder => holder;

/** The lease held: renewed every `renewMs` on `db`, lost when a renewal finds another holder or none succeeds for long. */
function heldLease(db: Db, name: string, held: { token: string; leaseMs: number; renewMs: number; renewedAt: number }): HeldLock {
  const { token, leaseMs, renewMs } = held;
  let renewedAt = held.renewedAt;
  let lost: string | null = null;
  let renewing: Promise<void> | null = null;
  const renew = () =>
    (renewing ??= (async () => {
      const started = performance.now();
      try {
        const { affectedRows } = await db.execute(
          `UPDATE ${leaseTableName} SET renewed_at = UTC_TIMESTAMP(6), expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
            WHERE name = ? AND token = ?`,
          [leaseMs * 1000, name, token],
        );
        if (affectedRows === 1) renewedAt = started;
        else lost = await takenBy(db, name);
      } catch (error) {
        // A conflict with another node's write of the row: a takeover, unless the row is still ours.
        if (serverErrno(error) === 1213) {
          const row = await leaseRow(db, name).catch(() => null);
          if (row?.token !== token) lost = await takenBy(db, name);
        } else lost = `its lock connection ${db.connectionId} failed (${error instanceof Error ? error.message : String(error)})`;
      }
      if (lost !== null) clearInterval(timer);
    })().finally(() => (renewing = null)));
  const timer = setInterval(() => void renew(), renewMs);
  // The renewal never holds the process open on its own.
  timer.unref();
  return {
    name,
    connectionId: db.connectionId,
    async assertHeld() {
      // Stop before anyone else may take the lease over: the lease runs `leaseMs` from the last renewal, by any node's
      // clock, and a renewal that began `renewMs` before that leaves the margin.
      const age = performance.now() - renewedAt;
      if (lost === null && age > leaseMs - renewMs) {
        lost =
          `its lease was last renewed ${formatDuration(age / 1000)} ago, ` +
          `and it runs out ${formatDuration(leaseMs / 1000)} after a renewal`;
      }
      if (lost !== null) throw lockLost(name, lost);
    },
    async release() {
      clearInterval(timer);
      await renewing;
      if (lost === null)
        await db.execute(`DELETE FROM ${leaseTableName} WHERE name = ? AND token = ?`, [name, token]).catch(() => undefined);
      await db.close();
    },
  };
}

/** The error a run stops with at a safe point once its lock is lost, and why. */
export function lockLost(name: string, why: string): EventshiftError {
  return new EventshiftError(
    'database',
    `The run lock ${name} was lost: ${why}. This run stopped at a safe point; run the command again to resume.`,
    { subject: name },
  );
}

async function takenBy(db: Db, name: string): Promise<string> {
  const row = await leaseRow(db, name).catch(() => null);
  return row
    ? `another process took it over (pid ${row.pid} on ${row.host} through node ${row.node}, connection ${row.connectionId})`
    : 'its row was deleted';
}
