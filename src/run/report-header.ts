import { hostname, userInfo } from 'node:os';
import type { Db } from '../db/connection.ts';
import { mappingHash } from '../mapping/mapping-hash.ts';
import type { Mapping } from '../mapping/define.ts';
import { stages } from '../engine/step-journal.ts';
import type { ReportHeaderInput } from '../verify/report-model.ts';
import { runById, type RunRecord } from './journal.ts';
import { eventshiftVersion } from './version.ts';

/**
 * What the report's sign-off header says about who wrote it and where the run stands, read when the report is
 * written: eventshift's version, the mapping's hash (mapping-hash.ts), the server and database user, the OS user and
 * host of this process, the replica the checks read on (--verify-on), the run record's times, each stage as the steps
 * journal has it, and whether the cutover ran.
 */
export async function reportHeader(
  db: Db,
  mapping: Mapping,
  run: RunRecord,
  { checksReadOn = null }: { checksReadOn?: string | null } = {},
): Promise<ReportHeaderInput> {
  const fresh = (await runById(db, run.id)) ?? run;
  const [server] = await db.query<{ host: string; port: string | number; version: string; user: string }>(
    'SELECT @@hostname AS host, @@port AS port, VERSION() AS version, CURRENT_USER() AS user',
  );
  const journaled = await stageRows(db, run.id);
  const cutover = journaled.find((s) => s.stage === 'cutover');
  const cutoverDone = fresh.stage === 'cutover';
  return {
    eventshiftVersion,
    mappingHash: mappingHash(mapping, fresh.plan.steps),
    server: `${server!.host}:${server!.port} (${server!.version})`,
    checksReadOn,
    operator: { osUser: osUser(), host: hostname(), databaseUser: server!.user },
    run: { status: fresh.status, startedAt: isoOf(fresh.startedAt)!, finishedAt: isoOf(fresh.finishedAt) },
    stages: journaled,
    cutover: { done: cutoverDone, at: cutoverDone ? (cutover?.finishedAt ?? isoOf(fresh.finishedAt)) : null },
  };
}

/** Per stage of the run, in run order: from its first step's start to its last step's end, as journaled. */
async function stageRows(db: Db, runId: number): Promise<ReportHeaderInput['stages']> {
  const rows = await db.query<{ stage: string; started: string; finished: string | null; open: string | number; failed: string | number }>(
    `SELECT stage, MIN(started_at) AS started, MAX(finished_at) AS finished,
            SUM(status = 'started') AS open, SUM(status = 'failed') AS failed
       FROM eventshift_steps WHERE run_id = ? GROUP BY stage`,
    [runId],
  );
  const order = [...stages, 'finalize'];
  return rows
    .sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage))
    .map((r) => {
      const status = Number(r.failed) > 0 ? 'failed' : Number(r.open) > 0 ? 'running' : 'done';
      const startedAt = isoOf(r.started)!;
      const finishedAt = status === 'running' ? null : isoOf(r.finished);
      const seconds = finishedAt === null ? null : Math.round(Date.parse(finishedAt) - Date.parse(startedAt)) / 1000;
      return { stage: r.stage, status, startedAt, finishedAt, seconds };
    });
}

/** The OS user running this process; its uid when the system has no name for it (a container's unnamed user). */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** A DATETIME as the bookkeeping stores it (UTC, `YYYY-MM-DD HH:MM:SS[.fff]`), as ISO 8601. */
const isoOf = (t: string | null): string | null => (t === null ? null : new Date(`${t.replace(' ', 'T')}Z`).toISOString());
