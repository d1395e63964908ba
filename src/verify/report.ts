import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plan } from '../plan/plan.ts';
import type { Verification } from './verification.ts';

/** Everything a report shows; report.json is this object as it is. */
export interface ReportInput {
  mapping: string;
  runId: number;
  backupId: string;
  generatedAt: string;
  plan: Plan;
  verification: Verification;
}

export const reportFormatVersion = 1;

/** Writes report.json and report.md into `dir`; returns the files written. */
export async function writeReport(dir: string, input: ReportInput): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const md = join(dir, 'report.md');
  await writeFile(json, JSON.stringify({ formatVersion: reportFormatVersion, verdict: input.verification.ok ? 'pass' : 'fail', ...input }, null, 2) + '\n');
  await writeFile(md, renderMarkdown(input));
  return [json, md];
}

const cell = (v: unknown) => String(v ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');

export function renderMarkdown(r: ReportInput): string {
  const v = r.verification;
  const failed = v.checks.filter((c) => !c.ok);
  const lines: string[] = [];
  lines.push(`# eventshift report: ${r.mapping}, run ${r.runId}`, '');
  lines.push(v.ok ? `**Verdict: PASS** — all ${v.checks.length} checks hold.` : `**Verdict: FAIL** — ${failed.length} of ${v.checks.length} checks failed.`, '');
  lines.push(`Database \`${r.plan.database}\` on ${r.plan.server}; backup \`${r.backupId}\`; generated ${r.generatedAt}; checks took ${v.seconds} s.`, '');
  lines.push('## Steps', '', '| step | source rows | target | expected | written |', '| --- | ---: | --- | ---: | ---: |');
  for (const step of r.plan.steps) {
    for (const w of step.writes) {
      const check = v.checks.find((c) => c.id === `${step.name}.${w.alias}.content`);
      lines.push(`| ${cell(step.name)} | ${step.sourceRows} | ${cell(w.table)} | ${w.rows} | ${check?.actual ?? '?'} |`);
    }
  }
  lines.push('', '## Checks', '', '| | check | expected | actual | failing keys |', '| --- | --- | --- | --- | --- |');
  for (const c of v.checks) {
    const keys = c.failures.map((f) => `${f.key}${f.legacyKey ? ` (legacy ${f.legacyKey})` : ''}: ${f.reason}`).join('; ');
    lines.push(`| ${c.ok ? 'pass' : '**FAIL**'} | ${cell(c.title)} | ${cell(c.expected)} | ${cell(c.actual)} | ${cell(keys)}${c.failureCount > c.failures.length ? ` (+${c.failureCount - c.failures.length} more)` : ''} |`);
  }
  lines.push('', '## Data problems', '');
  const found = r.plan.problems.filter((p) => p.count > 0);
  if (found.length === 0) lines.push('None found.');
  else {
    lines.push('| problem | severity | rows | keys | consequence |', '| --- | --- | ---: | --- | --- |');
    for (const p of found) lines.push(`| ${cell(p.description)} | ${p.severity} | ${p.count} | ${cell(p.keys.join(', '))}${p.count > p.keys.length ? ', ...' : ''} | ${cell(p.consequence)} |`);
  }
  lines.push('', '## ID space', '');
  for (const space of r.plan.idSpace) {
    lines.push(`- \`${space.table}.${space.keyColumn}\`: ${space.rows} row(s) before the run, IDs ${space.minId ?? '-'}..${space.maxId ?? '-'}, AUTO_INCREMENT ${space.autoIncrement ?? '-'}; reserved: ${space.ranges.map((x) => `${x.step} ${x.first}..${x.last}`).join(', ')}`);
  }
  return lines.join('\n') + '\n';
}
