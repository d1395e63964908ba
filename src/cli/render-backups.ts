import type { BackupEntry, BackupsDeletion, BackupsListing } from '../run/backups.ts';
import { formatBytes, formatCount } from '../format.ts';

function runText(b: BackupEntry): string {
  if (!b.run) return b.mapping ? `mapping ${b.mapping}, no run recorded` : 'taken by hand';
  const r = b.run;
  return `run ${r.id} of ${r.mapping} (${r.finalized ? 'finalized' : r.status.replace('_', ' ')}, stage ${r.stage})`;
}

/** `backups list`: one block per backup: id, state, database, run, time, size, tables, label and folder. */
export function renderBackupsList(listing: BackupsListing): string {
  const where = listing.folders.join(', ');
  if (listing.backups.length === 0) {
    return `No backups${listing.database ? ` of database ${listing.database}` : ''} (looked in ${where}).`;
  }
  const head = listing.database ? `Backups of database ${listing.database} (looked in ${where}):` : `Backups in ${where}:`;
  const blocks = listing.backups.map((b) =>
    [
      `${b.id}  ${b.state.toUpperCase()}  database ${b.database ?? 'unknown'}  ${runText(b)}`,
      `    ${b.createdAt ?? 'no time recorded'}  ${formatCount(b.tables.length)} table(s): ${b.tables.join(', ')}  ` +
        `rows: ${formatCount(b.rows)}  ` +
        `size: ${formatBytes(b.bytes)}${b.label ? `  label: ${b.label}` : ''}`,
      `    in ${b.folder}${b.recorded ? '' : ' (not recorded in eventshift_backups)'}`,
      ...(b.problem ? [`    ${b.problem}`] : []),
    ].join('\n'),
  );
  return [head, ...blocks].join('\n');
}

/** `backups delete` and `backups prune`: what went (or would go), what stayed and why, and the space freed. */
export function renderBackupsDeletion(d: BackupsDeletion): string {
  const verb = d.dryRun ? 'would delete' : 'deleted';
  const lines = d.deleted.map((x) => {
    const whose = `${x.runId === null ? '' : `, run ${x.runId}`}${x.mapping ? ` of ${x.mapping}` : ''}`;
    return `${verb} ${x.id} (${x.state}${whose}): ${x.folder}, ${formatBytes(x.bytes)}`;
  });
  lines.push(...d.kept.map((k) => `kept ${k.id} (${k.folder}): ${k.reason}`));
  lines.push(
    d.deleted.length === 0
      ? `Nothing ${d.dryRun ? 'would be' : 'was'} deleted in ${d.database}.`
      : `${d.dryRun ? 'Would free' : 'Freed'} ${formatBytes(d.bytesFreed)} (${formatCount(d.bytesFreed)} bytes); ` +
          `${verb} ${formatCount(d.deleted.length)} backup(s) of ${d.database}.${d.dryRun ? ' Nothing was deleted (--dry-run).' : ''}`,
  );
  return lines.join('\n');
}
