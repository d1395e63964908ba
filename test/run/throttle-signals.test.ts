import { describe, expect, it } from 'vitest';
import { throttle } from '../../src/run/throttle.ts';
import type { ThrottleSignal } from '../../src/run/throttle-signals.ts';

/**
 * How the run's throttle holds on its signals (replica lag, server load), with signals whose answers the test sets:
 * the hold is said once when it starts, every holdLogMs while it lasts and once when it ends; a signal that throws holds
 * too; the run's check is asked while it holds (so an interrupt stops it); a hold is not a pause.
 */
function settable(name: string): ThrottleSignal & { answer: string | null | Error; polls: number } {
  const signal = {
    name,
    answer: null as string | null | Error,
    polls: 0,
    async poll() {
      signal.polls++;
      if (signal.answer instanceof Error) throw signal.answer;
      return signal.answer;
    },
    close: async () => undefined,
  };
  return signal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('throttle signals', () => {
  it('do not hold while every signal answers null, and a hold is not counted as a pause', async () => {
    const lag = settable('replica a');
    const t = throttle({ signals: [lag] });
    await t.waitWhilePaused();
    await t.waitWhilePaused();
    expect(lag.polls).toBe(2);
    expect(t.holds()).toEqual([]);
    expect(t.pausedTimes?.()).toBe(0);
  });

  it('hold while one holds, saying so when it starts, while it lasts and when it ends', async () => {
    const lag = settable('replica a');
    const load = settable('Threads_running');
    const lines: string[] = [];
    const checks: number[] = [];
    const t = throttle({
      signals: [lag, load],
      holdPollMs: 10,
      holdLogMs: 100,
      log: (l) => void lines.push(l),
      check: async () => void checks.push(performance.now()),
    });
    lag.answer = '2.4 s behind, limit 1.5 s';
    const started = performance.now();
    // Two waiters (two connections of a run) share one hold, announced once.
    const waits = Promise.all([t.waitWhilePaused(), t.waitWhilePaused(async () => undefined)]);
    await sleep(150);
    load.answer = new Error('connection lost');
    await sleep(150);
    lag.answer = null;
    load.answer = null;
    await waits;
    const seconds = (performance.now() - started) / 1000;
    expect(lines[0]).toBe(
      'Held by replica a: 2.4 s behind, limit 1.5 s. The run waits before its next chunk, stage or check ' +
        '(stopping it now is safe: migrate again resumes).',
    );
    const still = lines.filter((l) => l.startsWith('Still held after'));
    expect(still.length).toBeGreaterThanOrEqual(2);
    expect(still.at(-1)).toMatch(
      /^Still held after \d+\.\d s by replica a: 2\.4 s behind, limit 1\.5 s; Threads_running: cannot be polled \(connection lost\); /,
    );
    expect(lines.at(-1)).toMatch(/^Going on after \d+\.\d s held by replica a, Threads_running\.$/);
    expect(lines.filter((l) => l.startsWith('Held by'))).toHaveLength(1);
    expect(t.holds()).toHaveLength(1);
    expect(t.holds()[0]!.signals).toEqual(['replica a', 'Threads_running']);
    expect(t.holds()[0]!.seconds).toBeGreaterThanOrEqual(0.28);
    expect(t.holds()[0]!.seconds).toBeLessThanOrEqual(seconds);
    // The check was asked while it held, not only before.
    expect(checks.length).toBeGreaterThan(10);
    expect(t.pausedTimes?.()).toBe(0);
  });

  it('a signal that throws holds the run until it answers (fail closed)', async () => {
    const lag = settable('replica a');
    lag.answer = new Error('connect ECONNREFUSED 127.0.0.1:3318');
    const lines: string[] = [];
    const t = throttle({ signals: [lag], holdPollMs: 10, log: (l) => void lines.push(l) });
    let done = false;
    const wait = t.waitWhilePaused().then(() => (done = true));
    await sleep(100);
    expect(done).toBe(false);
    expect(lines[0]).toMatch(
      /^Held by replica a: cannot be polled \(connect ECONNREFUSED 127\.0\.0\.1:3318\); the run holds until it answers\./,
    );
    lag.answer = null;
    await wait;
    expect(done).toBe(true);
  });

  it('a check that throws while held (an interrupt, a lost lock) ends the wait with its error', async () => {
    const lag = settable('replica a');
    lag.answer = '9.0 s behind, limit 1.5 s';
    let interrupted = false;
    const t = throttle({
      signals: [lag],
      holdPollMs: 10,
      check: async () => {
        if (interrupted) throw new Error('interrupted');
      },
    });
    const wait = t.waitWhilePaused();
    await sleep(50);
    interrupted = true;
    await expect(wait).rejects.toThrow('interrupted');
  });
});
