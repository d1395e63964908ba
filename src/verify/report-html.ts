import { escapeXml as esc } from './escape-xml.ts';
import { autoIncrementColor, freeColor, idSpaceSvg, reservedBlocks, stepColors, usedColor } from './id-space-svg.ts';
import {
  galeraSentence,
  nextCommands,
  sectionData,
  shownCheckActual,
  shownCheckValue,
  type Report,
  type ReportCheck,
  type ReportHeader,
  type ReportIdSpace,
} from './report-model.ts';
import { inAll, shownValueText } from '../parts/failing-values.ts';
import { reportSections } from '../parts/registry.ts';
import { acceptedBy } from '../plan/dependents.ts';
import { formatCount as n, formatDuration } from '../format.ts';

/**
 * report.html: one self-contained file (inline CSS and SVG, no scripts, no network), readable by whoever signs the
 * migration off. Every piece of text from the database or the mapping goes through `esc`.
 */
export function renderHtml(r: Report): string {
  const pass = r.verdict === 'pass';
  const sections = reportSections();
  const nav = [
    ...sections.flatMap((section) => (section.nav ? [section.nav] : [])),
    `<a href="#checks">Checks (${n(r.summary.failed)} failed)</a>`,
    `<a href="#problems">Data problems (${n(r.summary.dataProblems)})</a>`,
    '<a href="#idspace">ID space</a>',
    '<a href="#timings">Timings</a>',
  ];
  const body = [
    verdictHeader(r),
    r.header ? signOffSection(r.header) : '',
    `<nav>${nav.join(' · ')}</nav>`,
    // A part's section with nothing to show is '' here: an empty line of the body.
    ...sections.map((section) => section.html(sectionData(r, section))),
    checksSection(r),
    problemsSection(r),
    dependentsSection(r),
    idSpaceSection(r),
    timingsSection(r),
    `<footer>eventshift report, format version ${r.formatVersion} (report.json beside this file has the same content); ` +
      `generated ${esc(r.generatedAt)}.</footer>`,
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${pass ? 'PASS' : 'FAIL'}: eventshift report for ${r.mapping}, run ${r.run.id}`)}</title>
<style>${css}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

const bodyFont = 'font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const swatchBox = 'display: inline-block; width: 12px; height: 12px; vertical-align: -1px; margin: 0 4px 0 12px; border: 1px solid #999';
const css = `
body { ${bodyFont}; color: #1f2328; margin: 0 auto; max-width: 1040px; padding: 0 20px 40px; }
h2 { margin-top: 2.2em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
h3 { margin: 1.6em 0 .4em; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: .6em 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { margin: 20px 0 10px; padding: 18px 24px; border-radius: 10px; color: #fff; }
.verdict.pass { background: #1a7f37; }
.verdict.fail { background: #cf222e; }
.verdict .big { font-size: 44px; font-weight: 800; letter-spacing: .04em; line-height: 1.1; }
.verdict .headline { font-size: 19px; margin: .3em 0; }
.verdict .meta { opacity: .92; font-size: 13px; margin: 0; }
nav { margin: 8px 0 0; font-size: 14px; }
.ok { color: #1a7f37; font-weight: 700; }
.bad { color: #cf222e; font-weight: 700; }
.muted { color: #59636e; }
tr.failed td { background: #ffebe9; }
ul.keys { margin: .3em 0 .3em 1.2em; padding: 0; }
ul.keys li { margin: .1em 0; }
.warning { color: #9a6700; font-weight: 700; }
.fatal { color: #cf222e; font-weight: 700; }
figure { margin: .5em 0 1em; overflow-x: auto; }
svg.idspace { max-width: 100%; height: auto; font-family: system-ui, sans-serif; }
svg .lane { font-size: 12px; fill: #444; }
svg .tick { font-size: 11px; fill: #333; }
svg .on-dark { font-size: 12px; fill: #fff; font-weight: 600; }
svg .free { font-size: 12px; fill: #1a7f37; font-weight: 600; }
svg .marker { font-size: 12px; fill: ${autoIncrementColor}; font-weight: 700; }
svg .note { font-size: 12px; fill: #59636e; font-style: italic; }
svg .small { font-size: 11px; fill: #333; }
.legend span.swatch { ${swatchBox}; }
.verdict .next { margin: .7em 0 0; font-size: 14px; }
.verdict .next code { background: rgba(255, 255, 255, .18); color: #fff; padding: 1px 5px; border-radius: 4px; }
.verdict .next ul { margin: .2em 0 0 1.2em; padding: 0; }
table.signoff { width: auto; margin: 0 0 .4em; font-size: 14px; }
table.signoff th { text-align: right; white-space: nowrap; font-weight: 600; }
table.values { width: auto; margin: .2em 0 .4em; font-size: 13px; }
table.values td, table.values th { padding: 2px 6px; background: #fff; }
.cut { color: #59636e; font-style: italic; }
footer { margin-top: 3em; font-size: 12px; color: #59636e; }
`;

function verdictHeader(r: Report): string {
  const pass = r.verdict === 'pass';
  const explained = r.summary.explainedDisagreements;
  const meta = [
    `Mapping <b>${esc(r.mapping)}</b>, run ${r.run.id}`,
    `database <code>${esc(r.run.database)}</code> on ${esc(r.run.server)}`,
    `backup <code>${esc(r.run.backupId)}</code>`,
    `${n(r.summary.passed)} of ${n(r.summary.checks)} checks passed`,
    `${n(r.summary.dataProblems)} data problem(s)${explained ? `, accounting for ${n(explained)} replay disagreement(s)` : ''}`,
  ];
  return `<header id="verdict" class="verdict ${pass ? 'pass' : 'fail'}" role="status">
<div class="big">${pass ? 'PASS' : 'FAIL'}</div>
<p class="headline">${esc(r.summary.headline)}</p>
<p class="meta">${meta.join(' · ')}</p>${pass ? '' : nextHtml(r)}
</header>`;
}

/** The FAIL banner's next commands, with the mapping's name filled in. */
function nextHtml(r: Report): string {
  const items = nextCommands(r).map((n) => `<li><code>${esc(n.command)}</code> ${esc(n.why)}</li>`);
  return `\n<div class="next">Next:<ul>${items.join('')}</ul></div>`;
}

/** The sign-off header: what was run (version, mapping hash), where, by whom, its stages and whether it was cut over. */
function signOffSection(h: ReportHeader): string {
  const stages = h.stages.map(
    (s) =>
      `${esc(s.stage)} ${s.seconds === null ? `<i>${s.status}</i>` : formatDuration(s.seconds)}` +
      `${s.status === 'failed' ? ' <span class="bad">failed</span>' : ''}`,
  );
  const rows = [
    ['eventshift', esc(h.eventshiftVersion)],
    ['mapping', `<b>${esc(h.mapping)}</b> <code>${esc(h.mappingHash)}</code>`],
    ['database', `<code>${esc(h.database)}</code> on ${esc(h.server)}`],
    ...(h.checksReadOn ? [['checks read on', `${esc(h.checksReadOn)} (caught up with the primary first)`]] : []),
    [
      'operator',
      `OS user <code>${esc(h.operator.osUser)}</code> on <code>${esc(h.operator.host)}</code>; ` +
        `database user <code>${esc(h.operator.databaseUser)}</code>`,
    ],
    [
      'run',
      `${h.run.id} (${esc(h.run.status)}), started ${esc(h.run.startedAt)}` +
        `${h.run.finishedAt ? `, finished ${esc(h.run.finishedAt)}` : ''}`,
    ],
    ['stages', stages.join(' · ') || 'none journaled'],
    ['cutover', h.cutover.done ? `<span class="ok">done</span>${h.cutover.at ? ` ${esc(h.cutover.at)}` : ''}` : 'not done'],
    ['report written', esc(h.generatedAt)],
  ];
  const body = rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('');
  return `<section id="signoff"><table class="signoff"><tbody>${body}</tbody></table></section>`;
}

// A check's seconds stay a measurement to three decimals, in a column of their own (`s`): checks take from a
// millisecond to minutes, and a column of `0.0 s` would hide which were slow. The Timings paragraph gives durations.
function checksSection(r: Report): string {
  const ordered = [...r.checks.filter((c) => !c.ok), ...r.checks.filter((c) => c.ok)];
  const rows = ordered.map(
    (c) =>
      `<tr class="${c.ok ? 'passed' : 'failed'}" id="check-${esc(c.id)}">` +
      `<td>${c.ok ? '<span class="ok">pass</span>' : '<span class="bad">FAIL</span>'}</td>` +
      `<td>${esc(c.title)}${checkDetails(c)}</td><td>${esc(shownCheckValue(c.expected))}</td><td>${esc(shownCheckActual(c))}</td>` +
      `<td class="n">${c.seconds.toFixed(3)}</td></tr>`,
  );
  const how = r.contentCompare
    ? `<p class="muted" id="content-compare">How the content checks compared rows (${esc(r.contentCompare.how)}): ` +
      `${esc(r.contentCompare.description)}</p>`
    : '';
  return `<section id="checks"><h2>Checks: ${n(r.summary.passed)} passed, ${n(r.summary.failed)} failed</h2>
<table><thead><tr><th></th><th>check</th><th>expected</th><th>actual</th><th>s</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${how}</section>`;
}

function checkDetails(c: ReportCheck): string {
  const parts: string[] = c.method ? [`<div class="muted">${esc(c.method)}</div>`] : [];
  if (c.failures.length > 0 || c.failureCount > 0) {
    const more = c.failureCount - c.failures.length;
    const keys = c.failures.map(
      (f) =>
        `<li><code class="key">${esc(f.key)}</code>${f.legacyKey ? ` (legacy <code>${esc(f.legacyKey)}</code>)` : ''}: ` +
        `${esc(f.reason)}${valuesHtml(f.values)}</li>`,
    );
    parts.push(
      `<div class="bad">Failing keys (${n(c.failureCount)}):</div><ul class="keys failing">${keys.join('')}` +
        `${more > 0 ? `<li class="muted">… and ${n(more)} more</li>` : ''}</ul>`,
    );
  }
  if (c.explainedCount > 0) {
    const more = c.explainedCount - c.explained.length;
    const keys = c.explained.map(
      (e) =>
        `<li><code class="key">${esc(e.key)}</code> — <a href="#problem-${esc(e.problem)}">${esc(e.problem)}</a>: ${esc(e.reason)}</li>`,
    );
    parts.push(
      `<div class="warning">Expected from known data problems (${n(c.explainedCount)}, not failures):</div>` +
        `<ul class="keys explained">${keys.join('')}${more > 0 ? `<li class="muted">… and ${n(more)} more</li>` : ''}</ul>`,
    );
  }
  return parts.join('');
}

/** A failing row's differing columns: the value the mapping computes from the legacy row and the value found. */
function valuesHtml(values: ReportCheck['failures'][number]['values']): string {
  if (values.length === 0) return '';
  const cell = (v: (typeof values)[number]['expected']) => {
    const text = shownValueText({ ...v, cut: false });
    return `<td class="mono">${esc(text)}${v.cut ? ` <span class="cut">… cut; ${inAll(v.bytes)} in all</span>` : ''}</td>`;
  };
  const rows = values.map((v) => `<tr><td><code>${esc(v.column)}</code></td>${cell(v.expected)}${cell(v.found)}</tr>`);
  return (
    `<table class="values"><thead><tr><th>column</th><th>expected (mapped from the legacy row)</th><th>found</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function problemsSection(r: Report): string {
  if (r.dataProblems.length === 0) return `<section id="problems"><h2>Data problems</h2><p>None found.</p></section>`;
  const rows = r.dataProblems.map((p) => {
    const seen = p.seenIn.map(
      (s) =>
        `<br><span class="muted">accounts for ${s.entity ? `${esc(s.entity)} ` : ''}${s.keys.map(esc).join(', ')} ` +
        `in <a href="#check-${esc(s.check)}">${esc(s.check)}</a></span>`,
    );
    return (
      `<tr id="problem-${esc(p.name)}">` +
      `<td><b>${esc(p.description)}</b><br><code class="muted">${esc(p.name)}</code></td>` +
      `<td class="${p.severity}">${p.severity}</td><td class="n">${n(p.count)}</td>` +
      `<td class="mono">${p.keys.map(esc).join(', ')}${p.moreKeys ? ', …' : ''}</td>` +
      `<td>${esc(p.consequence ?? '')}${p.example ? `<br><span class="muted">e.g. ${esc(p.example)}</span>` : ''}` +
      `${seen.join('')}</td></tr>`
    );
  });
  return `<section id="problems"><h2>Data problems found in the legacy data</h2>
<table><thead><tr><th>problem</th><th>severity</th><th>rows</th><th>keys</th><th>consequence</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
}

function dependentsSection(r: Report): string {
  if (r.dependents.length === 0 && r.firedTriggers.length === 0) return '';
  const rows = r.dependents.map(
    (d) =>
      `<tr${d.effect === 'follows' ? '' : ' class="failed"'}>` +
      `<td>${esc(d.stage)}: ${esc(d.change)}</td><td>${esc(d.kind)} <code>${esc(d.name)}</code></td>` +
      `<td>${d.effect === 'follows' ? 'follows' : `<span class="bad">${d.effect === 'breaks' ? 'breaks' : 'blocks the change'}</span>`}: ` +
      `${esc(d.detail)}</td>` +
      `<td>${acceptedBy(d.accepted) ?? ''}</td></tr>`,
  );
  const fired = r.firedTriggers.map(
    (t) =>
      `<li><code>${esc(t.name)}</code> (${esc(t.when)} ON <code>${esc(t.table)}</code>), ` +
      `by ${t.by.map(esc).join(' and ')}${t.accepted ? ', accepted by the mapping' : ''}</li>`,
  );
  const head = '<thead><tr><th>change</th><th>object</th><th>what happens</th><th>accepted</th></tr></thead>';
  return `<section id="dependents"><h2>What depends on what the run renames or drops</h2>
${rows.length ? `<table>${head}<tbody>${rows.join('\n')}</tbody></table>` : ''}
${fired.length ? `<p>Triggers the run's own writes fire:</p><ul>${fired.join('')}</ul>` : ''}</section>`;
}

function idSpaceSection(r: Report): string {
  const swatch = (color: string) => `<span class="swatch" style="background:${color}"></span>`;
  const tables = r.idSpace.map((s) => {
    const merged = s.runs.length < s.runCount ? ` (the ${n(s.runs.length - 1)} largest gaps shown; runs between smaller gaps merged)` : '';
    const before = s.existed
      ? `${n(s.rowsBefore)} row(s) before the run, IDs ${s.minId ?? '-'}..${s.maxId ?? '-'} in ${n(s.runCount)} run(s) ` +
        `with ${n(s.gapCount)} free gap(s)${merged}`
      : 'created by the run';
    const autoIncrement = s.autoIncrement === null ? 'no AUTO_INCREMENT' : `AUTO_INCREMENT ${s.autoIncrement}`;
    const raised = s.raiseAutoIncrementTo !== null ? `, raised to ${s.raiseAutoIncrementTo} before writing` : '';
    const legend = [
      `${swatch(usedColor)}in use before the run`,
      `${swatch(freeColor)}free`,
      ...reservedBlocks(s).map((x, i) => `${swatch(stepColors[i % stepColors.length]!)}reserved: ${esc(x.step)}`),
      ...(s.autoIncrement !== null ? [`${swatch(autoIncrementColor)}AUTO_INCREMENT`] : []),
    ];
    return `<h3>${esc(s.table)}.${esc(s.keyColumn)}</h3>
<p class="muted">${before}; ${autoIncrement}${raised}; the key holds up to ${esc(s.columnMax)}.</p>
<figure>${idSpaceSvg(s)}
<figcaption class="legend">${legend.join('')}</figcaption></figure>
${idSpaceTable(s)}`;
  });
  return `<section id="idspace"><h2>ID space of the target tables</h2>${tables.join('\n')}</section>`;
}

function idSpaceTable(s: ReportIdSpace): string {
  const rows = [
    ...s.runs.map((x) => ({ first: x.first, what: 'in use', text: `${x.first}..${x.last}`, size: `${n(x.rows)} ID(s)` })),
    ...s.gaps.map((x) => ({ first: x.first, what: 'free', text: `${x.first}..${x.last}`, size: `${n(x.size)} ID(s)` })),
    ...s.reserved.map((x) => ({
      first: x.first,
      what: `reserved: ${x.step}${x.collisions ? ` (${n(x.collisions)} taken!)` : ''}`,
      text: `${x.first}..${x.last}`,
      size: `${n(x.last - x.first + 1)} ID(s)`,
    })),
  ].sort((a, b) => a.first - b.first);
  return `<details><summary>The same as a table</summary><table><thead><tr><th>IDs</th><th>what</th><th>size</th></tr></thead><tbody>${rows
    .map((x) => `<tr><td class="mono">${x.text}</td><td>${esc(x.what)}</td><td class="n">${x.size}</td></tr>`)
    .join('')}</tbody></table></details>`;
}

function timingsSection(r: Report): string {
  const stages = Object.entries(r.timings.stages);
  const slowest = [...r.checks].sort((a, b) => b.seconds - a.seconds).slice(0, 5);
  const ofStages = stages.length
    ? `; stages of this invocation: ${stages.map(([s, t]) => `${esc(s)} ${formatDuration(t)}`).join(', ')}`
    : '';
  const slowRows = slowest.map((c) => `<tr><td>${esc(c.title)}</td><td class="n">${c.seconds.toFixed(3)}</td></tr>`);
  const galera = r.galera ? `<p id="galera">${esc(galeraSentence(r.galera))}</p>\n` : '';
  return `<section id="timings"><h2>Timings</h2>
<p>Checks started ${esc(r.timings.verifyStartedAt)} and took ${formatDuration(r.timings.checksSeconds)}${ofStages}.</p>
${galera}<table><thead><tr><th>slowest checks</th><th>s</th></tr></thead><tbody>${slowRows.join('')}</tbody></table></section>`;
}
