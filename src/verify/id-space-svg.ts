import { escapeXml } from './escape-xml.ts';
import type { ReportIdSpace } from './report-model.ts';
import { formatCount } from '../format.ts';

/**
 * The ID space of one target table as an inline SVG, what a DBA plans ranges from: the IDs in use before the run (runs),
 * the free gaps between them, each step's reserved range, and AUTO_INCREMENT, on one linear axis. Text is escaped;
 * every shape has a <title>, so hovering names it without any script.
 */

/** Colors of the reserved ranges, one per step in order. */
export const stepColors = ['#e8710a', '#7b3fe4', '#0b8a8f', '#c2185b', '#5d7d00', '#1a5fb4'];
export const usedColor = '#4a5563';
export const freeColor = '#dff3e4';
export const autoIncrementColor = '#c5221f';

const width = 960;
const left = 118;
const right = 24;
const plot = width - left - right;
const lane = { used: 34, reserved: 88 };
const laneHeight = 34;
const axisY = 146;
const height = 180;

// Long on purpose: one SVG drawn top to bottom (scale, lanes, ranges, axis), its coordinates shared by every element.
export function idSpaceSvg(space: ReportIdSpace): string {
  const points = [
    ...space.runs.flatMap((r) => [r.first, r.last]),
    ...space.reserved.flatMap((r) => [r.first, r.last]),
    ...(space.autoIncrement !== null ? [space.autoIncrement] : []),
    ...(space.raiseAutoIncrementTo !== null ? [space.raiseAutoIncrementTo] : []),
  ];
  const lo = Math.min(0, ...points);
  const top = Math.max(1, ...points);
  const hi = top + Math.max(1, Math.ceil((top - lo) * 0.04));
  const x = (id: number) => left + ((id - lo) / (hi - lo)) * plot;
  const span = (first: number, last: number) => {
    const x0 = x(first);
    return { x0, w: Math.max(1.5, x(last + 1) - x0) };
  };
  const out: string[] = [];
  const label = `ID space of ${space.table}.${space.keyColumn}`;
  out.push(
    `<svg class="idspace" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
      `role="img" aria-label="${escapeXml(label)}">`,
  );
  out.push(`<title>${escapeXml(label)}</title>`);

  // Lane 1: before the run. Free space is the background; used runs are drawn over it.
  out.push(laneLabel(lane.used, 'in use before', 'the run'));
  out.push(
    `<rect x="${left}" y="${lane.used}" width="${plot}" height="${laneHeight}" fill="${freeColor}" stroke="#9ccfa9">` +
      '<title>free</title></rect>',
  );
  if (!space.existed) {
    out.push(`<text x="${left + 8}" y="${lane.used + 22}" class="note">table created by the run: no IDs in use before it</text>`);
  }
  // Labels too long for their shape go in the strip under the lane, where they do not overlap one another.
  const under = strip();
  for (const run of space.runs) {
    const { x0, w } = span(run.first, run.last);
    const ids = run.last - run.first + 1;
    const merged = run.rows < ids ? ` of ${formatCount(ids)}: small gaps merged` : '';
    const title = `in use: ${run.first}..${run.last} (${formatCount(run.rows)} ID${run.rows === 1 ? '' : 's'}${merged})`;
    out.push(
      `<rect class="run" x="${x0.toFixed(2)}" y="${lane.used}" width="${w.toFixed(2)}" height="${laneHeight}" fill="${usedColor}">` +
        `<title>${escapeXml(title)}</title></rect>`,
    );
    const text = `${run.first}..${run.last}`;
    if (w > textWidth(text) + 8) out.push(centered(x0 + w / 2, lane.used + 22, text, 'on-dark'));
    else out.push(under(x0 + w / 2, lane.used + laneHeight + 13, text, 'small'));
  }
  for (const gap of space.gaps) {
    const { x0, w } = span(gap.first, gap.last);
    const size = gap.last - gap.first + 1;
    out.push(
      `<rect class="gap" x="${x0.toFixed(2)}" y="${lane.used}" width="${w.toFixed(2)}" height="${laneHeight}" fill="transparent">` +
        `<title>${escapeXml(`free gap: ${gap.first}..${gap.last} (${formatCount(size)} IDs)`)}</title></rect>`,
    );
    if (w > 84) out.push(centered(x0 + w / 2, lane.used + 22, `free ${formatCount(size)}`, 'free'));
  }

  // Lane 2: the reserved ranges.
  out.push(laneLabel(lane.reserved, 'reserved', 'by the run'));
  const below = strip();
  out.push(`<rect x="${left}" y="${lane.reserved}" width="${plot}" height="${laneHeight}" fill="#f6f7f9" stroke="#dde1e6"/>`);
  reservedBlocks(space).forEach((r, i) => {
    const { x0, w } = span(r.first, r.last);
    const color = stepColors[i % stepColors.length]!;
    const clash = r.collisions > 0 ? `; ${formatCount(r.collisions)} ID(s) already taken` : '';
    out.push(
      `<rect class="reserved" x="${x0.toFixed(2)}" y="${lane.reserved}" width="${w.toFixed(2)}" height="${laneHeight}" fill="${color}"` +
        `${r.collisions ? ` stroke="${autoIncrementColor}" stroke-width="3"` : ''}>` +
        `<title>${escapeXml(`${r.step}: ${r.first}..${r.last}${clash}`)}</title></rect>`,
    );
    const full = `${r.step} ${r.first}..${r.last}`;
    if (w > textWidth(full) + 8) out.push(centered(x0 + w / 2, lane.reserved + 22, full, 'on-dark'));
    else {
      if (w > textWidth(r.step) + 8) out.push(centered(x0 + w / 2, lane.reserved + 22, r.step, 'on-dark'));
      out.push(below(x0 + w / 2, lane.reserved + laneHeight + 13, w > textWidth(r.step) + 8 ? `${r.first}..${r.last}` : full, 'small'));
    }
  });

  // AUTO_INCREMENT (and where the run raises it to), across both lanes.
  const marker = (id: number, text: string, dy: number) => {
    const px = x(id);
    const anchor = px > width - 200 ? 'end' : 'start';
    return (
      `<line x1="${px.toFixed(2)}" y1="${lane.used - 12}" x2="${px.toFixed(2)}" y2="${axisY}" ` +
      `stroke="${autoIncrementColor}" stroke-width="2" stroke-dasharray="5 3"><title>${escapeXml(text)}</title></line>` +
      `<text x="${(px + (anchor === 'start' ? 4 : -4)).toFixed(2)}" y="${lane.used - 16 + dy}" text-anchor="${anchor}" class="marker">` +
      `${escapeXml(text)}</text>`
    );
  };
  if (space.autoIncrement !== null) out.push(marker(space.autoIncrement, `AUTO_INCREMENT ${space.autoIncrement}`, 0));
  if (space.raiseAutoIncrementTo !== null && space.raiseAutoIncrementTo !== space.autoIncrement) {
    out.push(marker(space.raiseAutoIncrementTo, `raised to ${space.raiseAutoIncrementTo}`, 0));
  }

  // Axis.
  out.push(`<line x1="${left}" y1="${axisY}" x2="${left + plot}" y2="${axisY}" stroke="#333"/>`);
  for (const tick of ticks(lo, hi)) {
    const px = x(tick);
    out.push(`<line x1="${px.toFixed(2)}" y1="${axisY}" x2="${px.toFixed(2)}" y2="${axisY + 5}" stroke="#333"/>`);
    out.push(centered(px, axisY + 19, String(tick), 'tick'));
  }
  out.push(`<text x="${left - 10}" y="${axisY + 19}" text-anchor="end" class="tick">${escapeXml(space.keyColumn)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** The reserved ranges as drawn: steps sharing one block (chronological numbering) are one shape named after all of them. */
export function reservedBlocks(space: ReportIdSpace): ReportIdSpace['reserved'] {
  const blocks: ReportIdSpace['reserved'] = [];
  for (const r of space.reserved) {
    const same = blocks.find((b) => b.first === r.first && b.last === r.last);
    if (same) same.step += ` + ${r.step}`;
    else blocks.push({ ...r });
  }
  return blocks;
}

function laneLabel(y: number, line1: string, line2: string): string {
  return (
    `<text x="${left - 10}" y="${y + 14}" text-anchor="end" class="lane">${escapeXml(line1)}</text>` +
    `<text x="${left - 10}" y="${y + 28}" text-anchor="end" class="lane">${escapeXml(line2)}</text>`
  );
}

/** Rough width of a label in 12px sans-serif: enough to decide whether it fits. */
const textWidth = (text: string) => text.length * 7;

/** Places centered labels along one line, dropping any that would overlap the one before. */
function strip() {
  let end = -Infinity;
  return (px: number, y: number, text: string, cls: string): string => {
    const half = textWidth(text) / 2;
    const at = Math.min(Math.max(px, left + half), left + plot - half);
    if (at - half < end + 6) return '';
    end = at + half;
    return centered(at, y, text, cls);
  };
}

function centered(px: number, y: number, text: string, cls: string): string {
  return `<text x="${px.toFixed(2)}" y="${y}" text-anchor="middle" class="${cls}">${escapeXml(text)}</text>`;
}

/** About six round tick values between lo and hi. */
export function ticks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 6;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(Math.round(t));
  return out;
}
