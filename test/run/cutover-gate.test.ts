import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { tableExists } from '../../src/db/introspect.ts';
import { migrate } from '../../src/run/migrate.ts';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * The cutover renames only what a verification of the data as it is now has passed: a run resumed after its verify
 * stage verifies again, and so does one whose cutover waited on --postpone-cutover-file.
 */
const ws = testWorkspace('gate');

async function vbzcart(label: string): Promise<TestDatabase> {
  const t = await ws.database(label);
  await generateVbzcart(t.db, { pulls: 1500, seed: 6060 });
  return t;
}

/** Waits (up to a minute) until the run has logged a line starting with `prefix`; fails the test, naming it, after that. */
async function untilLine(lines: readonly string[], prefix: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!lines.some((l) => l.startsWith(prefix))) {
    if (Date.now() > deadline) throw new Error(`No line starting with "${prefix}" after 60 s; the run logged:\n${lines.join('\n')}`);
    await delay(100);
  }
}

const renamed = async (t: TestDatabase) => ({ ordPull: await tableExists(t.db, 'ord_pull'), old: await tableExists(t.db, 'OLD ord_pull') });

describe('the cutover gate', () => {
  it('a run resumed after its verification verifies again: a row changed since stops the cutover, renaming nothing', async () => {
    const t = await vbzcart('gate_changed');
    const options = { databaseUrl: t.url, mapping, backupDir: ws.path('b1'), reportDir: ws.path('r1') };
    const first = await migrate({ ...options, until: 'verify' });
    expect(first.status).toBe('stopped');
    expect(first.verification?.ok).toBe(true);
    const [hold] = await t.db.query<{ ID_Event: number; Notes: string | null }>('SELECT ID_Event, Notes FROM event_vc_ord_hold LIMIT 1');
    await t.db.execute("UPDATE event_vc_ord_hold SET Notes = 'changed after the verification' WHERE ID_Event = ?", [hold!.ID_Event]);

    const lines: string[] = [];
    await expect(migrate({ ...options, log: (l) => lines.push(l) })).rejects.toThrow(
      /data changed after it was verified, so the cutover renamed nothing more: 1 check\(s\) now fail \(holdOn\.hold\.content\)/,
    );
    expect(lines.join('\n')).toMatch(/Verifying again before the cutover: run \d+ was verified by an earlier migrate/);
    expect(await renamed(t)).toEqual({ ordPull: true, old: false });
    // The report now shows the verification the cutover stopped on, not the earlier one that passed.
    const report = JSON.parse(await readFile(join(ws.path('r1'), 'report.json'), 'utf8')) as {
      verdict: string;
      checks: Array<{ id: string; ok: boolean; failures: Array<{ key: string }> }>;
    };
    expect(report.verdict).toBe('fail');
    expect(report.checks.filter((c) => !c.ok).map((c) => [c.id, c.failures.map((f) => f.key)])).toEqual([
      ['holdOn.hold.content', [String(hold!.ID_Event)]],
    ]);
    const [columns] = await t.db.query<{ n: string }>(
      'SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?',
      ['orders', 'ID_Pull'],
    );
    expect(Number(columns!.n)).toBe(1);

    // Put right, the next migrate verifies again and cuts over.
    await t.db.execute('UPDATE event_vc_ord_hold SET Notes = ? WHERE ID_Event = ?', [hold!.Notes, hold!.ID_Event]);
    const done = await migrate(options);
    expect(done.status).toBe('completed');
    expect(done.verification?.ok).toBe(true);
    expect(await renamed(t)).toEqual({ ordPull: false, old: true });
  });

  it('a run resumed after its verification with nothing changed verifies again and cuts over', async () => {
    const t = await vbzcart('gate_same');
    const options = { databaseUrl: t.url, mapping, backupDir: ws.path('b2'), reportDir: ws.path('r2') };
    await migrate({ ...options, until: 'verify' });
    const lines: string[] = [];
    const done = await migrate({ ...options, log: (l) => lines.push(l) });
    expect(done.status).toBe('completed');
    expect(lines.join('\n')).toMatch(/Verifying again before the cutover/);
    // The cutover says what it renamed, each as it is done.
    expect(lines.filter((l) => l.startsWith('Renamed'))).toEqual([
      'Renamed column orders.ID_Pull to ID_Pull OLD.',
      'Renamed table ord_pull to OLD ord_pull.',
    ]);
    expect(await renamed(t)).toEqual({ ordPull: false, old: true });
  });

  it('a --pause-file pause before the cutover: the run verifies again, and a row changed meanwhile stops it', async () => {
    const t = await vbzcart('gate_pause');
    const pauseFile = ws.path('pause');
    const lines: string[] = [];
    const running = migrate({
      databaseUrl: t.url,
      mapping,
      backupDir: ws.path('b4'),
      reportDir: ws.path('r4'),
      pauseFile,
      pollMs: 100,
      log: (l) => lines.push(l),
      // Paused once every check is done: the run waits before its cutover stage.
      onProgress: (p) => {
        if (p.stage === 'verify' && p.done === p.total && p.total > 0) writeFileSync(pauseFile, '');
      },
    });
    await untilLine(lines, 'Paused:');
    expect(lines.join('\n')).toMatch(/Paused: .*pause exists/);
    await t.db.execute("UPDATE event_vc_ord_hold SET Notes = 'changed during a pause' ORDER BY ID_Event LIMIT 1");
    await rm(pauseFile);
    await expect(running).rejects.toThrow(/data changed after it was verified/);
    expect(lines.join('\n')).toMatch(/Verifying again before the cutover: the data may have changed while the run was paused/);
    expect(await renamed(t)).toEqual({ ordPull: true, old: false });
    const [run] = await t.db.query<{ verification: string }>('SELECT verification FROM eventshift_runs ORDER BY id DESC LIMIT 1');
    expect(JSON.parse(String(run!.verification))).toEqual({ ok: false, failed: ['holdOn.hold.content'] });
  });

  it('--postpone-cutover-file: the verified run waits while the file exists, then verifies again and cuts over', async () => {
    const t = await vbzcart('gate_postpone');
    const file = ws.path('postpone-cutover');
    await writeFile(file, '');
    const lines: string[] = [];
    const running = migrate({
      databaseUrl: t.url,
      mapping,
      backupDir: ws.path('b3'),
      reportDir: ws.path('r3'),
      postponeCutoverFile: file,
      pollMs: 100,
      log: (l) => lines.push(l),
    });
    await untilLine(lines, 'Cutover postponed');
    expect(lines.join('\n')).toMatch(/Cutover postponed: .*postpone-cutover exists/);
    await delay(500);
    // Still waiting: verified, nothing renamed.
    expect(await renamed(t)).toEqual({ ordPull: true, old: false });
    await rm(file);
    const done = await running;
    expect(done.status).toBe('completed');
    const text = lines.join('\n');
    expect(text).toMatch(/Cutover goes ahead: .*postpone-cutover was removed after/);
    expect(text).toMatch(/Verifying again before the cutover: the data may have changed while the run was postponed/);
    expect(await renamed(t)).toEqual({ ordPull: false, old: true });
  });
});
