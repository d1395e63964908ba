import type { LockHolder, RunSummary, StatusResult } from '../run/status.ts';
import { formatCount } from '../format.ts';

/** `eventshift status`: every run of the mapping, newest first, a few lines each. */
export function renderStatus(r: StatusResult): string {
  if (r.runs.length === 0) {
    return [`No runs of ${r.mapping} in ${r.database}.`, ...(r.lock ? [`The run lock is held by ${holder(r.lock)}.`] : [])].join('\n');
  }
  const out = [`Runs of ${r.mapping} in ${r.database}, newest first:`];
  if (r.lock && r.lock.runId === null) out.push(`The run lock is held by ${holder(r.lock)}.`);
  for (const run of r.runs) out.push(...runLines(run));
  return out.join('\n');
}

function holder(lock: LockHolder): string {
  const connection = `server connection ${lock.connectionId}${lock.node ? ` on Galera node ${lock.node}` : ''}`;
  if (lock.runId === null) {
    return `another eventshift process (${lock.host ? `host ${lock.host}, pid ${lock.pid}, ` : ''}${connection})`;
  }
  return `run ${lock.runId}: host ${lock.host}, pid ${lock.pid} (${connection})`;
}

function runLines(run: RunSummary): string[] {
  const why = run.error ? ` (${run.error})` : '';
  const finished = run.finishedAt ? `, finished ${run.finishedAt} UTC` : `, last updated ${run.updatedAt} UTC`;
  const rows = Object.entries(run.rowsWritten);
  const v = run.verification;
  return [
    `Run ${run.id}: ${run.status.replace('_', ' ')}${why}, last stage ${run.stage}; started ${run.startedAt} UTC${finished}`,
    ...(run.lockHolder
      ? [
          `  holds the run lock: host ${run.lockHolder.host}, pid ${run.lockHolder.pid}` +
            `${run.lockHolder.node ? `, through Galera node ${run.lockHolder.node}` : ''}`,
        ]
      : []),
    `  rows written: ${rows.length === 0 ? 'none' : rows.map(([step, n]) => `${step} ${formatCount(n)}`).join(', ')}`,
    ...(run.lastChunk
      ? [
          `  last chunk journaled: ${run.lastChunk.step} through legacy key ${run.lastChunk.progressKey} ` +
            `(${formatCount(run.lastChunk.rows)} rows)`,
        ]
      : []),
    `  backup: ${run.backup ? `${run.backup.id}${run.backup.dir ? ` in ${run.backup.dir}` : ''}` : 'none'}`,
    `  verification: ${v === null ? 'none yet' : v.ok ? 'passed' : `failed: ${v.failed.join(', ')}`}`,
    `  cutover: ${run.cutover ? 'done' : 'not done'}`,
  ];
}
