/**
 * How an amount reads to a person, one way wherever it is shown: the CLI's messages and progress, the logs, the
 * report's Markdown and HTML, check titles. A contract (scripts/check-imports.ts) so that every layer that words a
 * message can use it; it imports nothing.
 *
 * Only amounts: rows, tables, checks, bytes, durations. An ID, a legacy key, a range of IDs, an AUTO_INCREMENT value
 * or a run's number is a name a DBA types back into SQL, and keeps its plain digits. Machine-readable output
 * (--json, report.json, CSV) keeps plain numbers.
 */

/** `1,234,567`: whole units with a comma every three digits. */
export function formatCount(n: number | bigint): string {
  const whole = typeof n === 'bigint' ? n : Math.round(n);
  return whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const byteUnits = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `512 B`, `1.5 KiB`, `12.3 MiB`, `1.5 GiB`: binary units, one decimal. */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${formatCount(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  // 1023.95 KiB would read 1024.0 KiB: it is 1.0 MiB.
  while (Math.abs(value) >= 1023.95 && unit < byteUnits.length - 1) ((value /= 1024), unit++);
  return `${value.toFixed(1)} ${byteUnits[unit]}`;
}

/** `3.4 s` under 10 s (a tenth: a short step needs it), then `0:10`, `12:34`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
