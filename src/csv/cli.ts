import { basename } from 'node:path';
import type { Mapping } from '../mapping/define.ts';
import type { SourcePlan } from '../plan/plan-data.ts';
import { bindCsvSources } from '../mapping/bind-sources.ts';
import { formatBytes, formatCount as n } from '../format.ts';

/** The mapping with the `--source` files bound. */
export const withSourceFlags = (mapping: Mapping, flags: { source?: Record<string, string> }) =>
  bindCsvSources(mapping, flags.source ?? {});

const shownDelimiter = (d: string) => (d === '\t' ? 'tab' : `'${d}'`);

/** Lines under a CSV source in the rendered plan: each file's dialect (and whether detected), its rows and bad rows. */
export function csvSourceLines(source: SourcePlan): string[] {
  const csv = source.csv;
  if (!csv) return [];
  const refused = csv.bad ? (csv.quarantine ? ' (quarantined)' : ' (refused without --quarantine)') : '';
  const lines = [
    `    read from CSV${csv.standsFor ? ` (stands for ${csv.standsFor})` : ''}: ${n(csv.records)} row(s), ${n(csv.accepted)} load, ` +
      `${n(csv.bad)} bad${refused}; times in ${csv.zone} -> ${csv.tableZone}`,
  ];
  for (const f of csv.files) {
    lines.push(
      `    ${basename(f.path)} (${formatBytes(f.bytes)}, sha256 ${f.sha256.slice(0, 12)}): ${n(f.records)} row(s), ${n(f.bad)} bad` +
        `${f.emptyLines ? `, ${n(f.emptyLines)} empty line(s)` : ''}`,
    );
    lines.push(
      `      encoding ${f.encoding.value} (${f.encoding.detected ? `detected: ${f.encoding.reason}` : 'declared'}); ` +
        `delimiter ${shownDelimiter(f.delimiter.value)} (${f.delimiter.detected ? `detected: ${f.delimiter.reason}` : 'declared'}); ` +
        `quote ${f.quote}; header ${f.header}`,
    );
    if (f.unreadable) lines.push(`      UNREADABLE from line ${f.unreadable.line}: ${f.unreadable.message}`);
  }
  return lines;
}
