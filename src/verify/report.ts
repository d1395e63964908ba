import { chmod, writeFile } from 'node:fs/promises';
import { FILE_MODE, makePrivateFolder } from '../backup/private-files.ts';
import { join } from 'node:path';
import {
  buildReport,
  galeraSentence,
  nextCommands,
  sectionData,
  shownCheckActual,
  shownCheckValue,
  type Report,
  type ReportHeader,
  type ReportInput,
} from './report-model.ts';
import { shownValueText } from '../parts/failing-values.ts';
import { renderHtml } from './report-html.ts';
import { reportSections } from '../parts/registry.ts';
import { acceptedBy } from '../plan/dependents.ts';
import { formatCount as n, formatDuration } from '../format.ts';

export { buildReport, reportFormatVersion, type Report, type ReportInput } from './report-model.ts';
export { renderHtml } from './report-html.ts';

/**
 * Writes report.json (the model as it is, see docs/report-format.md), report.md and a self-contained report.html into
 * `dir`, whatever the verdict; returns the files written. They name legacy rows and show their values, so, like the
 * backups, they are readable by their owner only (a folder the report makes, and each file).
 */
export async function writeReport(dir: string, input: ReportInput): Promise<string[]> {
  const report = buildReport(input);
  await makePrivateFolder(dir, { recursive: true });
  const files = {
    json: join(dir, 'report.json'),
    md: join(dir, 'report.md'),
    html: join(dir, 'report.html'),
  };
  const write = async (path: string, text: string) => {
    await writeFile(path, text, { mode: FILE_MODE });
    await chmod(path, FILE_MODE);
  };
  await write(files.json, JSON.stringify(report, null, 2) + '\n');
  await write(files.md, renderMarkdown(report));
  await write(files.html, renderHtml(report));
  return [files.json, files.md, files.html];
}

/** Markdown text: legacy data may hold `|`, `<`, `*` and line breaks, none of which may change the document. */
const md = (v: unknown) =>
  String(v ?? '')
    .replace(/[\\`*[\]<|]|&(?=#?\w+;)|(?<!\w)_|_(?!\w)/g, '\\$&')
    .replace(/\r?\n|\r/g, ' ');

// Long on purpose: the Markdown report as one template, its sections in the order a reader meets them.
export function renderMarkdown(r: Report): string {
  const lines: string[] = [];
  lines.push(`# eventshift report: ${md(r.mapping)}, run ${r.run.id}`, '');
  lines.push(`**Verdict: ${r.verdict === 'pass' ? 'PASS' : 'FAIL'}** — ${md(r.summary.headline)}`, '');
  if (r.verdict === 'fail') {
    lines.push('Next:', '');
    for (const n of nextCommands(r)) lines.push(`- \`${n.command}\` ${n.why}`);
    lines.push('');
  }
  if (r.header) lines.push(...headerMarkdown(r.header), '');
  lines.push(
    `Database \`${r.run.database}\` on ${md(r.run.server)}; backup \`${r.run.backupId}\`; generated ${r.generatedAt}; ` +
      `checks took ${formatDuration(r.timings.checksSeconds)}.`,
  );

  for (const section of reportSections()) lines.push(...section.markdown(sectionData(r, section), md));

  lines.push('', '## Checks', '', '| | check | expected | actual | failing keys |', '| --- | --- | --- | --- | --- |');
  for (const c of r.checks) {
    const keys = c.failures
      .map((f) => `${md(f.key)}${f.legacyKey ? ` (legacy ${md(f.legacyKey)})` : ''}: ${md(f.reason)}${valuesMarkdown(f.values)}`)
      .join('; ');
    const more = c.failureCount > c.failures.length ? ` (+${n(c.failureCount - c.failures.length)} more)` : '';
    const explained =
      c.explainedCount > 0 ? `${keys ? '; ' : ''}${n(c.explainedCount)} expected from known data problems (listed below)` : '';
    const [expected, actual] = [shownCheckValue(c.expected), shownCheckActual(c)].map(md);
    lines.push(`| ${c.ok ? 'pass' : '**FAIL**'} | ${md(c.title)} | ${expected} | ${actual} | ${keys}${more}${explained} |`);
  }
  if (r.contentCompare) {
    lines.push('', `How the content checks compared rows (${r.contentCompare.how}): ${md(r.contentCompare.description)}`, '');
    for (const c of r.checks.filter((x) => x.method !== null)) lines.push(`- \`${c.id}\`: ${md(c.method)}`);
  }
  for (const c of r.checks.filter((x) => x.explainedCount > 0)) {
    lines.push('', `Disagreements of \`${c.id}\` that known data problems account for (not failures):`, '');
    for (const e of c.explained) lines.push(`- ${md(e.key)} — ${md(e.problem)}: ${md(e.reason)}`);
  }

  lines.push('', '## Data problems', '');
  if (r.dataProblems.length === 0) lines.push('None found.');
  else {
    lines.push('| problem | severity | rows | keys | consequence |', '| --- | --- | ---: | --- | --- |');
    for (const p of r.dataProblems) {
      const example = p.example ? ` e.g. ${md(p.example)}` : '';
      const seen = p.seenIn
        .map((x) => `; accounts for ${x.entity ? `${md(x.entity)} ` : ''}${x.keys.map(md).join(', ')} in ${md(x.check)}`)
        .join('');
      const keys = `${p.keys.map(md).join(', ')}${p.moreKeys ? ', ...' : ''}`;
      lines.push(
        `| ${md(p.description)} (${md(p.name)}) | ${p.severity} | ${n(p.count)} | ${keys} | ${md(p.consequence)}${example}${seen} |`,
      );
    }
  }

  lines.push(...dependentsMarkdown(r));

  lines.push('', '## ID space', '');
  for (const s of r.idSpace) {
    const used = s.existed
      ? `${n(s.rowsBefore)} row(s) before the run in ${n(s.runCount)} run(s): ${s.runs.map((x) => `${x.first}..${x.last}`).join(', ')}; ` +
        `free gaps: ${s.gaps.map((g) => `${g.first}..${g.last}`).join(', ') || 'none'}`
      : 'created by the run';
    const autoIncrement = s.autoIncrement === null ? 'no AUTO_INCREMENT' : `AUTO_INCREMENT ${s.autoIncrement}`;
    lines.push(
      `- \`${s.table}.${s.keyColumn}\`: ${used}; ${autoIncrement}; ` +
        `reserved: ${s.reserved.map((x) => `${md(x.step)} ${x.first}..${x.last}`).join(', ')}`,
    );
  }

  const stages = Object.entries(r.timings.stages);
  lines.push(
    '',
    '## Timings',
    '',
    `Checks: ${formatDuration(r.timings.checksSeconds)}` +
      `${stages.length ? `; stages: ${stages.map(([s, t]) => `${s} ${formatDuration(t)}`).join(', ')}` : ''}.`,
  );
  if (r.galera) lines.push('', md(galeraSentence(r.galera)));
  return lines.join('\n') + '\n';
}

/** The sign-off header as a two-column table: what was run, by whom, against what, and how far it went. */
function headerMarkdown(h: ReportHeader): string[] {
  const stages = h.stages.map(
    (s) => `${s.stage} ${s.seconds === null ? s.status : `${formatDuration(s.seconds)}${s.status === 'done' ? '' : ` (${s.status})`}`}`,
  );
  const finished = h.run.finishedAt ? `, finished ${h.run.finishedAt}` : '';
  const rows = [
    ['eventshift', h.eventshiftVersion],
    ['mapping', `${md(h.mapping)}, \`${h.mappingHash}\``],
    ['database', `\`${md(h.database)}\` on ${md(h.server)}`],
    ...(h.checksReadOn ? [['checks read on', `${md(h.checksReadOn)} (caught up with the primary first)`]] : []),
    ['operator', `OS user ${md(h.operator.osUser)} on ${md(h.operator.host)}; database user ${md(h.operator.databaseUser)}`],
    ['run', `${h.run.id} (${h.run.status}), started ${h.run.startedAt}${finished}`],
    ['stages', stages.join(', ') || 'none journaled'],
    ['cutover', h.cutover.done ? `done${h.cutover.at ? ` ${h.cutover.at}` : ''}` : 'not done'],
    ['report written', h.generatedAt],
  ];
  return ['| sign-off | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
}

/** A failing row's differing columns, expected and found, for a Markdown table cell (every value through `md`). */
function valuesMarkdown(values: Report['checks'][number]['failures'][number]['values']): string {
  return values.map((v) => ` (${md(v.column)}: expected ${md(shownValueText(v.expected))}, found ${md(shownValueText(v.found))})`).join('');
}

/** What names what the cutover renames and finalize drops, and the triggers the run's writes fire. */
function dependentsMarkdown(r: Report): string[] {
  if (r.dependents.length === 0 && r.firedTriggers.length === 0) return [];
  const lines = ['', '## What depends on what the run renames or drops', ''];
  if (r.dependents.length > 0) {
    lines.push('| change | object | what happens | accepted |', '| --- | --- | --- | --- |');
    for (const d of r.dependents) {
      const effect = d.effect === 'breaks' ? '**breaks**' : d.effect === 'blocks' ? '**blocks the change**' : 'follows';
      const accepted = acceptedBy(d.accepted) ?? '-';
      lines.push(`| ${d.stage}: ${md(d.change)} | ${d.kind} ${md(d.name)} | ${effect}: ${md(d.detail)} | ${accepted} |`);
    }
  }
  if (r.firedTriggers.length > 0) {
    lines.push('', "Triggers the run's own writes fire:", '');
    for (const t of r.firedTriggers) {
      lines.push(
        `- ${md(t.name)} (${t.when} ON ${md(t.table)}), by ${t.by.map(md).join(' and ')}${t.accepted ? ', accepted by the mapping' : ''}`,
      );
    }
  }
  return lines;
}
