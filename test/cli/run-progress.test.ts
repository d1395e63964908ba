import { describe, expect, it } from 'vitest';
import { runProgress } from '../../src/cli/run-progress.ts';
import { migrate, type MigrateProgress } from '../../src/run/migrate.ts';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';

const ws = testWorkspace('run_progress');

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
    progress.report({ stage: 'write', label: 'write holdOn', done: 0, total: 1000, unit: 'rows', ended: false });
    t.advance(1000);
    progress.report({ stage: 'write', label: 'write holdOn', done: 1000, total: 1000, unit: 'rows', ended: true });
    progress.report({ stage: 'verify', label: 'verify', done: 0, total: 4, unit: 'checks', ended: false });
    t.advance(2000);
    progress.report({ stage: 'verify', label: 'verify', done: 4, total: 4, unit: 'checks', ended: true });
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
    progress.report({ stage: 'write', label: 'write holdOn', done: 100, total: 1000, unit: 'rows', ended: false });
    log('Paused');
    progress.report({ stage: 'write', label: 'write holdOn', done: 1000, total: 1000, unit: 'rows', ended: false });
    log('Step holdOff: 500 rows written.');
    progress.report({ stage: 'write', label: 'write holdOn', done: 1000, total: 1000, unit: 'rows', ended: true });
    progress.close();
    const text = t.out.join('');
    // Every log line starts on a line of its own.
    expect(text).toMatch(/\n(LOG Paused\n)/);
    expect(text.split('LOG Paused\n')[1]).toContain('write holdOn');
    expect(logged).toEqual(['Paused', 'Step holdOff: 500 rows written.']);
    // The bar a message interrupts ends as it is, even at its total; only the step's last report draws it as done.
    const ends = text.split(/\r/).filter((draw) => draw.includes('\n'));
    expect(ends.map((draw) => draw.replace(/\n[^]*$/, ''))).toEqual([
      'write holdOn  [##----------------------]  100/1,000 rows  10.0%  in 0.0 s\x1b[K',
      'write holdOn  [#######################-]  1,000/1,000 rows  99.9%  in 0.0 s\x1b[K',
      'write holdOn  [########################]  1,000/1,000 rows  100.0%  in 0.0 s\x1b[K',
    ]);
  });

  it('is silent with --quiet, and leaves no logger when there is none', () => {
    const t = fakeStream(true);
    const progress = runProgress({ quiet: true }, t.stream, t.now);
    progress.report({ stage: 'backup', label: 'backup ord_pull', done: 5, total: 10, unit: 'rows', ended: false });
    progress.close();
    expect(t.out).toEqual([]);
    expect(progress.logger(undefined)).toBeUndefined();
  });
});

/**
 * migrate's real reports, drawn as the CLI draws them (log lines: stderr is not a terminal here): a write stage whose
 * source lost rows after the plan counted them ends at 100% with the rows written, and an interrupted one does not end
 * as done.
 */
describe('runProgress on a real run', () => {
  /** migrate with its progress drawn into `lines`, and its reports kept. */
  async function migrateDrawn(options: Partial<Parameters<typeof migrate>[0]> & { databaseUrl: string }) {
    const t = fakeStream(false);
    const progress = runProgress({}, t.stream, t.now);
    const reports: MigrateProgress[] = [];
    try {
      const result = await migrate({
        mapping,
        backupDir: ws.path('backups'),
        chunkKeys: 200,
        ...options,
        onProgress: (p) => {
          reports.push(p);
          progress.report(p);
          options.onProgress?.(p);
        },
      });
      return { result, reports, lines: () => t.out.join('').split('\n').filter(Boolean) };
    } finally {
      progress.close();
    }
  }

  it('ends a write whose plan counted more rows than there were at 100%, with the rows written', async () => {
    const t = await ws.database('rp_short');
    await generateVbzcart(t.db, { seed: 77, pulls: 3000 });
    await migrateDrawn({ databaseUrl: t.url, until: 'backup' });
    // The plan is frozen; 400 pulls go before the write stage reads them.
    await t.db.execute('DELETE FROM ord_pull ORDER BY ID LIMIT 400');
    const { result, reports, lines } = await migrateDrawn({ databaseUrl: t.url, until: 'write' });
    expect(result.status).toBe('stopped');
    const written = Object.values(result.rowsWritten).reduce((a, b) => a + b, 0);
    const planned = result.plan.steps.flatMap((s) => s.writes).reduce((n, w) => n + w.rows, 0);
    expect(written).toBeLessThan(planned);
    const count = written.toLocaleString('en-US');
    const drawn = lines().filter((l) => l.startsWith('write '));
    expect(drawn.at(-1)).toMatch(new RegExp(`^write [^:]+: ${count}/${count} rows \\(100\\.0%\\), .*in `));
    // The one report that says so is the last, with the rows written as the whole.
    const writes = reports.filter((p) => p.stage === 'write');
    expect(writes.filter((p) => p.ended)).toEqual([{ ...writes.at(-1)!, done: written, total: written, ended: true }]);
  });

  it('does not end an interrupted write as done', async () => {
    const t = await ws.database('rp_interrupted');
    await generateVbzcart(t.db, { seed: 78, pulls: 3000 });
    const interrupt = new AbortController();
    const { result, reports, lines } = await migrateDrawn({
      databaseUrl: t.url,
      interrupt: interrupt.signal,
      onProgress: (p) => {
        if (p.stage === 'write' && p.done > 0) interrupt.abort('SIGINT');
      },
    });
    expect(result.status).toBe('interrupted');
    expect(reports.filter((p) => p.stage === 'write' && p.ended)).toEqual([]);
    const drawn = lines().filter((l) => l.startsWith('write '));
    expect(drawn.length).toBeGreaterThan(0);
    expect(drawn.join('\n')).not.toMatch(/100\.0%/);
    expect(drawn.at(-1)).toMatch(/^write [^:]+: [\d,]+\/[\d,]+ rows \((\d|[1-9]\d)\.\d%\), .*in /);
  });
});
