import { describe, expect, it } from 'vitest';
import { runProgress } from '../../src/cli/run-progress.ts';

/** A stream that keeps what it was given, and a clock the test moves by hand. */
function fakeStream(isTTY: boolean) {
  let ms = 0;
  const out: string[] = [];
  return { stream: { isTTY, write: (text: string) => void out.push(text) }, now: () => ms, advance: (by: number) => void (ms += by), out };
}

describe('runProgress', () => {
  it('shows rows for backup and write and checks for verify, one task per label', () => {
    const t = fakeStream(false);
    const progress = runProgress({}, t.stream, t.now);
    progress.report({ stage: 'write', label: 'write holdOn', done: 0, total: 1000, unit: 'rows' });
    t.advance(1000);
    progress.report({ stage: 'write', label: 'write holdOn', done: 1000, total: 1000, unit: 'rows' });
    progress.report({ stage: 'verify', label: 'verify', done: 0, total: 4, unit: 'checks' });
    t.advance(2000);
    progress.report({ stage: 'verify', label: 'verify', done: 4, total: 4, unit: 'checks' });
    progress.close();
    expect(t.out).toEqual([
      'write holdOn: 1,000/1,000 rows (100.0%), 1,000 rows/s, in 1.0 s\n',
      'verify: 4/4 checks (100.0%), 2 checks/s, in 2.0 s\n',
    ]);
  });

  it('ends the bar being drawn before a log line, and starts it afresh after', () => {
    const t = fakeStream(true);
    const logged: string[] = [];
    const progress = runProgress({}, t.stream, t.now);
    const log = progress.logger((line) => {
      t.out.push(`LOG ${line}\n`);
      logged.push(line);
    })!;
    progress.report({ stage: 'write', label: 'write holdOn', done: 100, total: 1000, unit: 'rows' });
    log('Paused');
    progress.report({ stage: 'write', label: 'write holdOn', done: 200, total: 1000, unit: 'rows' });
    progress.close();
    const text = t.out.join('');
    // Every log line starts on a line of its own.
    expect(text).toMatch(/\n(LOG Paused\n)/);
    expect(text.split('LOG Paused\n')[1]).toContain('write holdOn');
    expect(logged).toEqual(['Paused']);
  });

  it('is silent with --quiet, and leaves no logger when there is none', () => {
    const t = fakeStream(true);
    const progress = runProgress({ quiet: true }, t.stream, t.now);
    progress.report({ stage: 'backup', label: 'backup ord_pull', done: 5, total: 10, unit: 'rows' });
    progress.close();
    expect(t.out).toEqual([]);
    expect(progress.logger(undefined)).toBeUndefined();
  });
});
