import { escapeXml as esc } from '../verify/escape-xml.ts';
import type { ReportScope, ReportSection } from './part.ts';
import { formatCount as n } from '../format.ts';

/** A step in report.json: its source rows, its reserved range, and per target the rows expected and written. */
export interface ReportStep {
  name: string;
  description: string | null;
  from: string;
  /** Legacy rows the step reads (those passing its filter), counted at plan time. */
  sourceRows: number;
  range: { table: string; first: number; last: number } | null;
  targets: Array<{
    alias: string;
    table: string;
    /** Rows the mapping defines for this target, counted from the legacy rows at verify time (plan time if unchecked). */
    expected: number;
    /** Rows found in the step's range; null when no content check ran. */
    written: number | null;
    /** Whether the content check passed; null when none ran. */
    ok: boolean | null;
  }>;
}

/** The steps' section of the report (report.json's `steps`): source rows -> expected -> written, per target. */
export const stepsReport: ReportSection<'steps', ReportStep[]> = {
  field: 'steps',
  data: reportSteps,
  markdown: stepsMarkdown,
  html: stepsHtml,
  nav: '<a href="#steps">Steps</a>',
};

/** Each step with its targets' rows: as verified where a content check counted them, else as planned. */
function reportSteps({ plan, checks }: ReportScope): ReportStep[] {
  return plan.steps.map((s) => ({
    name: s.name,
    description: s.description ?? null,
    from: s.from,
    sourceRows: s.sourceRows,
    range: s.range,
    targets: s.writes.map((w) => {
      const check = checks.find((c) => c.id === `${s.name}.${w.alias}.content`);
      return {
        alias: w.alias,
        table: w.table,
        expected: typeof check?.expected === 'number' ? check.expected : w.rows,
        written: typeof check?.actual === 'number' ? check.actual : null,
        ok: check ? check.ok : null,
      };
    }),
  }));
}

/** A target's rows written, or `-` when the check did not count them. */
const written = (t: ReportStep['targets'][number]) => (t.written === null ? '-' : n(t.written));

/** report.md's table of the steps' targets. */
function stepsMarkdown(steps: readonly ReportStep[], md: (text: unknown) => string): string[] {
  const lines = [
    '',
    '## Steps',
    '',
    '| step | source rows | target | expected | written | content |',
    '| --- | ---: | --- | ---: | ---: | --- |',
  ];
  for (const s of steps) {
    for (const t of s.targets) {
      const content = t.ok === null ? '-' : t.ok ? 'as mapped' : '**differs**';
      lines.push(`| ${md(s.name)} | ${n(s.sourceRows)} | ${md(t.table)} | ${n(t.expected)} | ${written(t)} | ${content} |`);
    }
  }
  return lines;
}

/** report.html's table of the steps, a row per target, the step's cells spanning its targets. */
function stepsHtml(steps: readonly ReportStep[]): string {
  const rows = steps.flatMap((s) =>
    s.targets.map(
      (t, i) =>
        `<tr${t.ok === false ? ' class="failed"' : ''}>` +
        (i === 0
          ? `<td rowspan="${s.targets.length}"><b>${esc(s.name)}</b>` +
            `${s.description ? `<br><span class="muted">${esc(s.description)}</span>` : ''}</td>` +
            `<td rowspan="${s.targets.length}" class="n">${n(s.sourceRows)}</td>` +
            `<td rowspan="${s.targets.length}" class="mono">` +
            `${s.range ? `${esc(s.range.table)} ${s.range.first}..${s.range.last}` : '-'}</td>`
          : '') +
        `<td><code>${esc(t.table)}</code></td><td class="n">${n(t.expected)}</td><td class="n">${written(t)}</td>` +
        `<td>${t.ok === null ? '-' : t.ok ? '<span class="ok">✓ as mapped</span>' : '<span class="bad">✗ differs</span>'}</td></tr>`,
    ),
  );
  const head = ['step', 'source rows', 'reserved IDs', 'target', 'expected', 'written', 'content'].map((h) => `<th>${h}</th>`);
  return `<section id="steps"><h2>Steps: source rows → expected → written</h2>
<table><thead><tr>${head.join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
}
