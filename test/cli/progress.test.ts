import { describe, expect, it } from 'vitest';
import { logProgress, progressSink, renderBar, renderLine, silentProgress, terminalProgress, trackSteps } from '../../src/cli/progress.ts';

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
      't  [----]  4,999/500,000 rows  0.9%  2,500 rows/s',
    );
    expect(renderBar({ label: 't', done: 5_000, total: 500_000, elapsedMs: 2000 }, { width: 4 })).toBe(
      't  [----]  5,000/500,000 rows  1.0%  2,500 rows/s  ETA 3:18',
    );
    expect(renderBar({ label: 't', done: 0, total: 10, elapsedMs: 0 }, { width: 4 })).toBe('t  [----]  0/10 rows  0.0%');
  });

  it('shows the elapsed time instead of the ETA when finished, and an empty table as done', () => {
    expect(renderBar({ label: 'orders', done: 0, total: 0, elapsedMs: 12, complete: true }, { width: 4, final: true })).toBe(
      'orders  [####]  0/0 rows  100.0%  in 0.0 s',
    );
    expect(renderBar({ label: 'x', done: 3_000_000, total: 3_000_000, elapsedMs: 75_000, complete: true }, { width: 4, final: true })).toBe(
      'x  [####]  3,000,000/3,000,000 rows  100.0%  40,000 rows/s  in 1:15',
    );
  });

  it('never draws a step that has not said it is done as done, however far its rows come', () => {
    // At its total: one short of full, 99.9%.
    expect(renderBar({ label: 'x', done: 1000, total: 1000, elapsedMs: 1000 }, { width: 4 })).toBe(
      'x  [###-]  1,000/1,000 rows  99.9%  1,000 rows/s',
    );
    // Past its total (an estimate): the true count, 99.9%, and no ETA, which would be a guess.
    expect(renderBar({ label: 'x', done: 1200, total: 1000, elapsedMs: 1000 }, { width: 4, final: true })).toBe(
      'x  [###-]  1,200/1,000 rows  99.9%  1,200 rows/s  in 1.0 s',
    );
    // 99.96% reads 99.9%, not a rounded-up 100.0%.
    expect(renderBar({ label: 'x', done: 9_996, total: 10_000, elapsedMs: 1000 }, { width: 4 })).toMatch(/ {2}99\.9% {2}/);
    // An estimate of 0 with nothing done yet: nothing drawn as done.
    expect(renderBar({ label: 'x', done: 0, total: 0, elapsedMs: 0 }, { width: 4 })).toBe('x  [----]  0/0 rows  0.0%');
  });
});

describe('renderLine', () => {
  it('states the same facts as a log line', () => {
    expect(renderLine({ label: 'event', done: 250_000, total: 1_000_000, elapsedMs: 10_000 })).toBe(
      'event: 250,000/1,000,000 rows (25.0%), 25,000 rows/s, ETA 0:30',
    );
    expect(renderLine({ label: 'event', done: 1_000_000, total: 1_000_000, elapsedMs: 40_000, complete: true }, { final: true })).toBe(
      'event: 1,000,000/1,000,000 rows (100.0%), 25,000 rows/s, in 0:40',
    );
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
    task.complete(1000);
    task.complete(1000);
    task.stop();
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
    task.complete(1_000_000);
    expect(term.out.at(-1)).toMatch(/1,000,000\/1,000,000 rows {2}100\.0% {2}20,000 rows\/s {2}in 0:30/);
  });

  it('completes with what was done as the whole, and stops as it is', () => {
    const term = fakeTerminal();
    const sink = terminalProgress({ write: term.write, now: term.now, barWidth: 4 });
    // The total was an estimate: the step did fewer.
    const short = sink.start('backup orders', 200_000);
    short.update(0);
    term.advance(1000);
    short.update(187_500);
    short.complete(187_500);
    expect(term.out.at(-1)).toBe('\rbackup orders  [####]  187,500/187,500 rows  100.0%  187,500 rows/s  in 1.0 s\x1b[K\n');
    // Stopped past its estimate: not drawn as done.
    const stopped = sink.start('write holdOn', 1000);
    stopped.update(0);
    term.advance(1000);
    stopped.update(1200);
    stopped.stop();
    stopped.complete(1200);
    expect(term.out.at(-1)).toBe('\rwrite holdOn  [###-]  1,200/1,000 rows  99.9%  1,200 rows/s  in 1.0 s\x1b[K\n');
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
    task.stop();
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
    task.stop();
    expect(term.out.pop()).toBe('b: 0/1 rows (0.0%), in 0.0 s\n');
  });
});

describe('trackSteps', () => {
  /** A sink that lists what it was told. */
  function listingSink(events: string[]) {
    return {
      start(label: string, total: number) {
        events.push(`start ${label} ${total}`);
        return {
          update: (done: number, total?: number) => void events.push(`${label} ${done}/${total}`),
          complete: (done: number) => void events.push(`complete ${label} ${done}`),
          stop: () => void events.push(`stop ${label}`),
        };
      },
    };
  }

  it('starts a task per label; completes it when the step says it ended, else stops it at the next label or on close', () => {
    const events: string[] = [];
    const steps = trackSteps(listingSink(events));
    steps.report('orders', 0, 20, false);
    steps.report('orders', 10, 20, false);
    steps.report('orders', 20, 20, false);
    steps.report('orders', 20, 20, true);
    steps.report('ord_pull', 0, 30, false);
    steps.report('ord_pull', 10, 30, false);
    steps.report('event', 5, 5, true);
    steps.report('broken', 1, 9, false);
    steps.close();
    steps.close();
    expect(events).toEqual([
      'start orders 20',
      'orders 0/20',
      'orders 10/20',
      // At its total, but not said to be done: still running.
      'orders 20/20',
      'complete orders 20',
      'start ord_pull 30',
      'ord_pull 0/30',
      'ord_pull 10/30',
      'stop ord_pull',
      // A step whose first report is its last (a small table, a step done by an earlier run).
      'start event 5',
      'complete event 5',
      'start broken 9',
      'broken 1/9',
      'stop broken',
    ]);
  });

  it('ends a step that stopped short of an estimated total at 100%, with the rows it really did', () => {
    const term = fakeTerminal();
    const steps = trackSteps(logProgress({ write: term.write, now: term.now, everyMs: 0 }));
    // information_schema estimated 200,000 rows; the table had 187,500.
    steps.report('backup orders', 0, 200_000, false);
    term.advance(1000);
    steps.report('backup orders', 100_000, 200_000, false);
    term.advance(875);
    steps.report('backup orders', 187_500, 200_000, false);
    steps.report('backup orders', 187_500, 187_500, true);
    steps.close();
    expect(term.out).toEqual([
      'backup orders: 0/200,000 rows (0.0%)\n',
      'backup orders: 100,000/200,000 rows (50.0%), 100,000 rows/s, ETA 1.0 s\n',
      'backup orders: 187,500/200,000 rows (93.7%), 100,000 rows/s, ETA 0.1 s\n',
      'backup orders: 187,500/187,500 rows (100.0%), 100,000 rows/s, in 1.9 s\n',
    ]);
  });

  it('does not draw an interrupted step as done, even past its estimated total', () => {
    const term = fakeTerminal();
    const steps = trackSteps(logProgress({ write: term.write, now: term.now, everyMs: 0 }));
    // The plan counted 1,000 rows; rows came in since, and SIGINT stopped the step at 1,200 (no `ended` report).
    steps.report('write holdOn', 0, 1000, false);
    term.advance(1000);
    steps.report('write holdOn', 600, 1000, false);
    term.advance(1000);
    steps.report('write holdOn', 1200, 1000, false);
    steps.close();
    expect(term.out.at(-1)).toBe('write holdOn: 1,200/1,000 rows (99.9%), 600 rows/s, in 2.0 s\n');
    expect(term.out.join('')).not.toContain('100.0%');
  });

  it('starts a new task for a label reported again after its task ended', () => {
    const events: string[] = [];
    const steps = trackSteps(listingSink(events));
    steps.report('verify', 4, 4, true);
    steps.report('verify', 0, 4, false);
    steps.close();
    expect(events).toEqual(['start verify 4', 'complete verify 4', 'start verify 4', 'verify 0/4', 'stop verify']);
  });
});
