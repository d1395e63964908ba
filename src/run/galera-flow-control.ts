import type { RowDataPacket } from 'mysql2/promise';
import { connect, type ConnectionTarget, type Db } from '../db/connection.ts';
import type { ThrottleSignal } from './throttle-signals.ts';
import { formatDuration } from '../format.ts';

export interface FlowControlOptions {
  /**
   * Hold while the cluster was paused by flow control for more than this fraction of the time since the last poll
   * (default 0.1). Flow control pauses every node's writes while any node's receive queue is over its limit: a run
   * that writes on meanwhile only makes that node's queue longer.
   */
  maxPausedFraction?: number;
  /**
   * Hold while this node's receive queue (wsrep_local_recv_queue: write-sets it received and has not applied yet) is
   * longer than this. Default: half of the node's gcs.fc_limit (16 unless set), so the run backs off before this
   * node would ask the cluster to pause.
   */
  maxRecvQueue?: number;
}

/** gcs.fc_limit's default, when wsrep_provider_options does not say. */
const defaultFcLimit = 16;

/** The thresholds galeraFlowControl holds at unless told otherwise. */
export const flowControlDefaults = { maxPausedFraction: 0.1 } as const;

/** How long one reading may take: a node that does not answer holds the run (fail closed) without blocking its checks. */
const readTimeoutMs = 2000;

/**
 * Galera flow control as a throttle signal, read on a connection of its own to the node the run writes through (made
 * at the first poll, and again after one fails).
 *
 * wsrep_flow_control_paused is a fraction over the whole time since the server started or FLUSH STATUS (measured:
 * 0.005 after 5.7 s paused in the first 1,000 s), so it says little about now; the signal reads
 * wsrep_flow_control_paused_ns, the nanoseconds paused so far, and takes the fraction of its own interval since the
 * last poll: how much of that time the cluster was paused. A FLUSH STATUS in between (the counter went down) starts
 * the count again. The first poll only takes the count, and looks at the receive queue.
 */
export function galeraFlowControl(target: ConnectionTarget | string, options: FlowControlOptions = {}): ThrottleSignal {
  const maxPaused = options.maxPausedFraction ?? flowControlDefaults.maxPausedFraction;
  let db: Db | null = null;
  let maxQueue = options.maxRecvQueue;
  let last: { pausedNs: bigint; at: bigint } | null = null;
  const drop = async () => {
    const was = db;
    db = null;
    last = null;
    await was?.close().catch(() => undefined);
  };
  return {
    name: 'Galera flow control',
    async poll() {
      try {
        db ??= await connect(target);
        maxQueue ??= Math.floor(fcLimitOf(await providerOptions(db)) / 2);
        const status = await statusOf(db);
        const at = process.hrtime.bigint();
        const pausedNs = BigInt(status.get('wsrep_flow_control_paused_ns') ?? '0');
        const queue = Number(status.get('wsrep_local_recv_queue') ?? 0);
        const before = last;
        last = { pausedNs, at };
        const node = db.capabilities.galera?.node ?? 'this node';
        if (queue > maxQueue) {
          return `node ${node}'s receive queue holds ${queue} write-sets it has not applied (wsrep_local_recv_queue; limit ${maxQueue})`;
        }
        if (!before || pausedNs < before.pausedNs || at <= before.at) return null;
        const fraction = Number(pausedNs - before.pausedNs) / Number(at - before.at);
        if (fraction <= maxPaused) return null;
        const seconds = Number(at - before.at) / 1e9;
        return (
          `the cluster was paused by flow control ${Math.round(Math.min(1, fraction) * 100)}% of the last ${formatDuration(seconds)} ` +
          `(wsrep_flow_control_paused_ns on node ${node}; limit ${Math.round(maxPaused * 100)}%): a node is behind in applying writes`
        );
      } catch (error) {
        await drop();
        throw new Error(`Galera flow control could not be read: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
    },
    close: drop,
  };
}

async function statusOf(db: Db): Promise<Map<string, string>> {
  const [rows] = await db.raw.query<RowDataPacket[]>({
    sql: "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_flow_control_paused_ns', 'wsrep_local_recv_queue')",
    timeout: readTimeoutMs,
  });
  if (rows.length < 2) throw new Error('the server has no wsrep_flow_control_paused_ns or wsrep_local_recv_queue: it is not a Galera node');
  return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
}

async function providerOptions(db: Db): Promise<string> {
  const [rows] = await db.raw.query<RowDataPacket[]>({
    sql: "SHOW GLOBAL VARIABLES LIKE 'wsrep\\_provider\\_options'",
    timeout: readTimeoutMs,
  });
  return String(rows[0]?.Value ?? '');
}

/** gcs.fc_limit from wsrep_provider_options (`...; gcs.fc_limit = 16; ...`). */
export function fcLimitOf(providerOptions: string): number {
  const match = /(?:^|;)\s*gcs\.fc_limit\s*=\s*(\d+)/.exec(providerOptions);
  return match ? Number(match[1]) : defaultFcLimit;
}
