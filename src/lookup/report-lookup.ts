import type { Plan } from '../plan/plan-data.ts';
import { escapeXml as esc } from '../verify/escape-xml.ts';
import type { CheckResult } from '../verify/check-result.ts';
import { formatCount as n } from '../format.ts';

/** A lookup in report.json: per source table, its rows, those filled and skipped, and whether its check passed. */
export interface ReportLookup {
  name: string;
  table: string;
  naturalKey: string;
  /** Distinct natural keys that got a lookup row; of them `reused` existed, `created` are the run's. */
  keys: number;
  reused: number;
  created: number;
  skippedKeys: number;
  conflictedKeys: number;
  sources: Array<{
    table: string;
    reference: string;
    rows: number;
    fill: number;
    skipped: number;
    conflicted: number;
    /** Whether the reference check passed; null when it did not run. */
    ok: boolean | null;
  }>;
  /** The `everyRowOf` sources: each row gets its lookup row; whether that check passed (null: not run). */
  everyRowOf: Array<{ table: string; rows: number; ok: boolean | null }>;
}

export function reportLookups(plan: Plan, checks: readonly CheckResult[]): ReportLookup[] {
  return (plan.lookups ?? []).map((l) => ({
    name: l.name,
    table: l.table,
    naturalKey: l.naturalKey,
    keys: l.keys,
    reused: l.reuse,
    created: l.create,
    skippedKeys: l.skippedKeys,
    conflictedKeys: l.conflictedKeys.length,
    sources: l.sources.map((s) => {
      const check = checks.find((c) => c.id === `${l.name}.${s.alias}.reference`);
      return {
        table: s.table,
        reference: s.reference.name,
        rows: s.rows,
        fill: s.fill,
        skipped: s.skipped,
        conflicted: s.conflicted,
        ok: check ? check.ok && checks.find((c) => c.id === `${l.name}.${s.alias}.skipped`)?.ok !== false : null,
      };
    }),
    everyRowOf: (l.everyRowOf ?? []).map((e) => ({
      table: e.table,
      rows: e.rows,
      ok: checks.find((c) => c.id === `${l.name}.${e.alias}.rows`)?.ok ?? null,
    })),
  }));
}

const verdict = (ok: boolean | null) => (ok === null ? '-' : ok ? 'as defined' : 'differs');

export function lookupsMarkdown(lookups: readonly ReportLookup[], md: (v: unknown) => string): string[] {
  if (lookups.length === 0) return [];
  const lines = ['', '## Lookups', ''];
  for (const l of lookups) {
    lines.push(
      `Lookup ${md(l.name)}: ${n(l.keys)} ${md(l.naturalKey)}(s) with a \`${md(l.table)}\` row ` +
        `(${n(l.reused)} reused, ${n(l.created)} created by the run); ` +
        `${n(l.skippedKeys)} skipped and ${n(l.conflictedKeys)} in conflict (see Data problems).`,
      '',
      '| table | reference | rows | filled | skipped | in conflict | references |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const s of l.sources)
      lines.push(
        `| ${md(s.table)} | ${md(`${s.table}.${s.reference}`)} | ${n(s.rows)} | ${n(s.fill)} | ${n(s.skipped)} | ${n(s.conflicted)} | ` +
          `${s.ok === false ? '**differs**' : verdict(s.ok)} |`,
      );
    for (const e of l.everyRowOf ?? []) {
      const ok = e.ok === false ? '**differs**' : verdict(e.ok);
      lines.push(`| ${md(e.table)} | (every row gets its ${md(l.table)} row) | ${n(e.rows)} | | | | ${ok} |`);
    }
  }
  return lines;
}

const mark = (ok: boolean | null) =>
  ok === null ? '-' : ok ? '<span class="ok">✓ as defined</span>' : '<span class="bad">✗ differs</span>';

export function lookupsHtml(lookups: readonly ReportLookup[]): string {
  if (lookups.length === 0) return '';
  return `<section id="lookups"><h2>Lookups</h2>${lookups
    .map((l) => {
      const rows = l.sources.map(
        (s) =>
          `<tr${s.ok === false ? ' class="failed"' : ''}><td><code>${esc(s.table)}</code></td><td><code>${esc(s.reference)}</code></td>` +
          [s.rows, s.fill, s.skipped, s.conflicted].map((x) => `<td class="n">${n(x)}</td>`).join('') +
          `<td>${mark(s.ok)}</td></tr>`,
      );
      const everyRow = (l.everyRowOf ?? []).map(
        (e) =>
          `\n<tr${e.ok === false ? ' class="failed"' : ''}><td><code>${esc(e.table)}</code></td>` +
          `<td>(every row gets its <code>${esc(l.table)}</code> row)</td><td class="n">${n(e.rows)}</td>` +
          `<td></td><td></td><td></td><td>${mark(e.ok)}</td></tr>`,
      );
      return (
        `\n<p>Lookup <b>${esc(l.name)}</b>: ${n(l.keys)} ${esc(l.naturalKey)}(s) with a <code>${esc(l.table)}</code> row ` +
        `(${n(l.reused)} reused, ${n(l.created)} created by the run); ` +
        `${n(l.skippedKeys)} skipped and ${n(l.conflictedKeys)} in conflict (see data problems).</p>\n` +
        '<table><thead><tr><th>table</th><th>reference</th><th>rows</th><th>filled</th><th>skipped</th><th>in conflict</th>' +
        '<th>references</th></tr></thead>\n' +
        `<tbody>${rows.join('\n')}${everyRow.join('')}</tbody></table>`
      );
    })
    .join('\n')}</section>`;
}
