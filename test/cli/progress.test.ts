import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  logProgress,
  progressSink,
  renderBar,
  renderLine,
  silentProgress,
  terminalProgress,
  trackSteps,
} from '../../src/cli/progress.ts';

/** A clock the test moves by hand, and a writer that keeps what it was given. */
function fakeTerminal() {
  let ms = 0;
  const out: string[] = [];
  return {
    now: () => ms,
    advance: (by: number) => void (ms += by),
    write: (text: string) => void out.push(text),
    out,
  };
}

describe('renderBar', () => {
  it('shows the bar, rows done of the total, the percentage, rows/s and the ETA', () => {
    const line = renderBar({ label: 'ord_pull', done: 125_000, total: 500_000, elapsedMs: 5000 }, { width: 20 });
    expect(line).toBe('ord_pull  [#####---------------]  125,000/500,000 rows  25.0%  25,000 rows/s  ETA 0:15');
  });

  it('shows no ETA before 1% is done, and no rate before anything is', () => {
    expect(renderBar({ label: 't', done: 4_999, total: 500_000, elapsedMs: 2000 }, { width: 4 })).toBe(
      't  [----]  4,999/500,000 rows  1.0%  2,500 rows/s',
    );
    expect(renderBar({ label: 't', done: 5_000, total: 500_000, elapsedMs: 2000 }, { width: 4 })).toBe(
      't  [----]  5,000/500,000 rows  1.0%  2,500 rows/s  ETA 3:18',
    );
    expect(renderBar({ label: 't', done: 0, total: 10, elapsedMs: 0 }, { width: 4 })).toBe('t  [----]  0/10 rows  0.0%');
  });

  it('shows the elapsed time instead of the ETA when finished, and an empty table as done', () => {
    expect(renderBar({ label: 'orders', done: 0, total: 0, elapsedMs: 12 }, { width: 4, final: true })).toBe(
      'orders  [####]  0/0 rows  100.0%  in 0.0 s',
    );
    expect(renderBar({ label: 'x', done: 3_000_000, total: 3_000_000, elapsedMs: 75_000 }, { width: 4, final: true })).toBe(
      'x  [####]  3,000,000/3,000,000 rows  100.0%  40,000 rows/s  in 1:15',
    );
  });
});

describe('renderLine', () => {
  it('states the same facts as a log line', () => {
    expect(renderLine({ label: 'event', done: 250_000, total: 1_000_000, elapsedMs: 10_000 })).toBe(
      'event: 250,000/1,000,000 rows (25.0%), 25,000 rows/s, ETA 0:30',
    );
    expect(renderLine({ label: 'event', done: 1_000_000, total: 1_000_000, elapsedMs: 40_000 }, { final: true })).toBe(
      'event: 1,000,000/1,000,000 rows (100.0%), 25,000 rows/s, in 0:40',
    );
  });
});

describe('formatDuration', () => {
  it('gives tenths under 10 s, then m:ss and h:mm:ss', () => {
    expect(formatDuration(3_449)).toBe('3.4 s');
    expect(formatDuration(10_000)).toBe('0:10');
    expect(formatDuration(754_000)).toBe('12:34');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});

describe('terminalProgress', () => {
  it('redraws in place at most every 100 ms, and ends the line when finished', () => {
    const term = fakeTerminal();
    const task = terminalProgress({ write: term.write, now: term.now, barWidth: 4 }).start('ord_pull', 1000);
    expect(term.out).toEqual(['\rord_pull  [----]  0/1,000 rows  0.0%\x1b[K']);
    for (let i = 1; i <= 50; i++) {
      term.advance(10);
      task.update(i * 10);
    }
    // 500 ms of updates every 10 ms: one redraw per 100 ms.
    expect(term.out).toHaveLength(1 + 5);
    expect(term.out.at(-1)).toBe('\rord_pull  [##--]  500/1,000 rows  50.0%  1,000 rows/s  ETA 0.5 s\x1b[K');
    task.update(1000);
    task.finish();
    task.finish();
    task.update(1);
    // The final rate counts from the first report (10 rows at 10 ms): 990 rows in 490 ms.
    expect(term.out.at(-1)).toBe('\rord_pull  [####]  1,000/1,000 rows  100.0%  2,020 rows/s  in 0.5 s\x1b[K\n');
    expect(term.out).toHaveLength(1 + 5 + 1);
  });

  it('measures the rate over the last 10 s, from the first report: a resumed step shows its own rate', () => {
    const term = fakeTerminal();
    const task = terminalProgress({ write: term.write, now: term.now, barWidth: 4 }).start('write holdOn', 1_000_000);
    // Resumed: 400,000 rows were written by an earlier run, reported at once.
    term.advance(1);
    task.update(400_000);
    for (let i = 1; i <= 200; i++) {
      term.advance(100);
      task.update(400_000 + i * 100);
    }
    expect(term.out.at(-1)).toMatch(/420,000\/1,000,000 rows {2}42\.0% {2}1,000 rows\/s {2}ETA 9:40/);
    // Faster for the next 10 s: the rate follows within the window.
    for (let i = 1; i <= 100; i++) {
      term.advance(100);
      task.update(420_000 + i * 5_000);
    }
    expect(term.out.at(-1)).toMatch(/920,000\/1,000,000 rows {2}92\.0% {2}50,000 rows\/s {2}ETA 1\.6 s/);
    task.update(1_000_000);
    task.finish();
    expect(term.out.at(-1)).toMatch(/1,000,000\/1,000,000 rows {2}100\.0% {2}20,000 rows\/s {2}in 0:30/);
  });

  it('cuts lines to the terminal width', () => {
    const term = fakeTerminal();
    terminalProgress({ write: term.write, now: term.now, columns: 12 }).start('a_very_long_table_name', 10);
    expect(term.out[0]).toBe('\ra_very_long\x1b[K');
  });
});

describe('logProgress', () => {
  it('writes a line every 5 s while a task runs, and one when it finishes', () => {
    const term = fakeTerminal();
    const task = logProgress({ write: term.write, now: term.now }).start('event', 100_000);
    for (let i = 1; i <= 120; i++) {
      term.advance(100);
      task.update(i * 500);
    }
    expect(term.out).toEqual([
      'event: 25,000/100,000 rows (25.0%), 5,000 rows/s, ETA 0:15\n',
      'event: 50,000/100,000 rows (50.0%), 5,000 rows/s, ETA 0:10\n',
    ]);
    task.finish();
    expect(term.out.at(-1)).toBe('event: 60,000/100,000 rows (60.0%), 5,000 rows/s, in 0:12\n');
  });
});

describe('progressSink', () => {
  it('chooses by the terminal and --quiet', () => {
    const term = fakeTerminal();
    const stream = (isTTY: boolean) => ({ isTTY, write: term.write });
    expect(progressSink({ quiet: true }, stream(true), term.now)).toBe(silentProgress);
    progressSink({}, stream(true), term.now).start('a', 1);
    expect(term.out.pop()).toMatch(/^\ra {2}\[/);
    const task = progressSink({}, stream(false), term.now).start('b', 1);
    expect(term.out).toEqual([]);
    task.finish();
    expect(term.out.pop()).toBe('b: 0/1 rows (0.0%), in 0.0 s\n');
  });
});

describe('trackSteps', () => {
  it('starts a task per label, finishes it at its total or at the next label, and on close', () => {
    const events: string[] = [];
    const sink = {
      start(label: string, total: number) {
        events.push(`start ${label} ${total}`);
        return { update: (done: number) => void events.push(`${label} ${done}`), finish: () => void events.push(`finish ${label}`) };
      },
    };
    const steps = trackSteps(sink);
    steps.report('orders', 0, 20);
    steps.report('orders', 10, 20);
    steps.report('orders', 20, 20);
    steps.report('orders', 20, 20);
    steps.report('ord_pull', 0, 30);
    steps.report('ord_pull', 10, 30);
    steps.report('event', 5, 5);
    steps.report('broken', 1, 9);
    steps.close();
    steps.close();
    expect(events).toEqual([
      'start orders 20',
      'orders 0',
      'orders 10',
      'orders 20',
      'finish orders',
      'start ord_pull 30',
      'ord_pull 0',
      'ord_pull 10',
      'finish ord_pull',
      'start event 5',
      'event 5',
      'finish event',
      'start broken 9',
      'broken 1',
      'finish broken',
    ]);
  });

  it('follows a total that was an estimate: a backup estimated at 0 rows is done only when its rows are', () => {
    const term = fakeTerminal();
    const steps = trackSteps(logProgress({ write: term.write, now: term.now, everyMs: 0 }));
    // As write-rows reports a table whose estimate was 0: total above the rows while they come, then the rows.
    steps.report('orders', 0, 1);
    steps.report('orders', 10_000, 10_001);
    steps.report('orders', 12_345, 12_345);
    steps.report('orders', 12_345, 12_345);
    steps.close();
    expect(term.out).toEqual([
      'orders: 0/1 rows (0.0%)\n',
      'orders: 10,000/10,001 rows (100.0%)\n',
      'orders: 12,345/12,345 rows (100.0%)\n',
      'orders: 12,345/12,345 rows (100.0%), in 0.0 s\n',
    ]);
  });
});
