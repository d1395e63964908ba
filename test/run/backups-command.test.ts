import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { runCli } from '../support/cli.ts';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import type { BackupsDeletion, BackupsListing } from '../../src/run/backups.ts';

/**
 * `eventshift backups list|prune|delete` on a VbzCart database: list shows each backup's database, run and state;
 * prune keeps the newest N per mapping; neither prune nor delete takes the only backup of a run that is not finalized
 * or undone; delete removes a backup's folder and record, nothing else.
 */
const ws = testWorkspace('bkcmd');
let t: TestDatabase;
let dir: string;

const cli = (...args: string[]) => runCli([...args, '--backup-dir', dir], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
const json = <T>(...args: string[]): T => {
  const r = cli(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};
const recorded = async () => (await t.db.query<{ id: string }>('SELECT id FROM eventshift_backups ORDER BY id')).map((r) => r.id);
const runBackup = async (run: number) =>
  (await t.db.query<{ backup_id: string }>('SELECT backup_id FROM eventshift_runs WHERE id = ?', [run]))[0]!.backup_id;

beforeAll(async () => {
  t = await ws.database('backups');
  dir = ws.path('backups');
  await generateVbzcart(t.db, { seed: 2022, pulls: 120 });
  const m = cli('migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--report', ws.path('rep1'));
  expect(m.code, m.stderr).toBe(0);
});

describe('backups list', () => {
  it("shows the database, the run (id, mapping, status, stage), the backup's state, size, tables and folder", async () => {
    const id = await runBackup(1);
    const text = cli('backups', 'list');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Backups of database ${t.name}`);
    expect(text.stdout).toContain(`${id}  COMPLETE  database ${t.name}  run 1 of vbzcart-ord-pull (completed, stage cutover)`);
    expect(text.stdout).toContain(`in ${join(dir, id)}`);

    const listing = json<BackupsListing>('backups', 'list');
    expect(listing.database).toBe(t.name);
    expect(listing.backups).toHaveLength(1);
    const [b] = listing.backups;
    expect(b).toMatchObject({
      id,
      database: t.name,
      mapping: 'vbzcart-ord-pull',
      state: 'complete',
      recorded: true,
      folder: join(dir, id),
    });
    expect(b!.run).toMatchObject({ id: 1, mapping: 'vbzcart-ord-pull', status: 'completed', stage: 'cutover', finalized: false });
    // The size as a person reads it: binary units, one decimal (this backup is some KiB).
    expect(b!.bytes).toBeGreaterThanOrEqual(1024);
    expect(b!.bytes).toBeLessThan(1024 ** 2);
    expect(text.stdout).toContain(`size: ${(b!.bytes / 1024).toFixed(1)} KiB`);
    expect(b!.tables).toEqual(expect.arrayContaining(['ord_pull', 'orders', 'event']));
    expect(b!.bytes).toBeGreaterThan(0);

    const checked = json<BackupsListing>('backups', 'list', '--check');
    expect(checked.backups[0]!.state).toBe('checked');
  });
});

describe('backups delete and prune', () => {
  it('refuse the only backup of a run that is not finalized, naming the run and what to do', async () => {
    const id = await runBackup(1);
    const refused = cli('backups', 'delete', id, '--yes');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Backup ${id} (${join(dir, id)}) was not deleted: it is the only backup of run 1 of vbzcart-ord-pull`);
    expect(refused.stderr).toContain('which is neither finalized nor undone');
    expect(refused.stderr).toContain('`eventshift finalize vbzcart-ord-pull`');
    expect(refused.stderr).toContain('`eventshift rollback vbzcart-ord-pull`');
    expect(existsSync(join(dir, id))).toBe(true);
    expect(await recorded()).toEqual([id]);

    const pruned = json<BackupsDeletion>('backups', 'prune', '--keep', '0', '--yes');
    expect(pruned.deleted).toEqual([]);
    expect(pruned.kept).toEqual([expect.objectContaining({ id, reason: expect.stringContaining('only backup of run 1') })]);
    expect(existsSync(join(dir, id))).toBe(true);

    // Two copies of run 1's only backup (the recorded folder and a copy elsewhere): --keep 0 takes at most one of them.
    const copies = ws.path('copies');
    await cp(join(dir, id), join(copies, id), { recursive: true });
    const both = runCli(['backups', 'prune', '--keep', '0', '--dry-run', '--json', '--backup-dir', copies], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    expect(both.code, both.stderr).toBe(0);
    const plan = JSON.parse(both.stdout) as BackupsDeletion;
    // The recorded folder may go, since the copy stays; the copy, which this database did not record, is kept.
    expect(plan.deleted.map((d) => d.folder)).toEqual([join(dir, id)]);
    expect(plan.kept.map((k) => k.id)).toContain(id);
    await rm(copies, { recursive: true });
  });

  it('prune keeps the newest N of each mapping, shows with --dry-run what would go, and says what it freed', async () => {
    const first = await runBackup(1);
    expect(cli('rollback', 'vbzcart-ord-pull', '--yes', '--quiet').code).toBe(0);
    const again = cli('migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--report', ws.path('rep2'));
    expect(again.code, again.stderr).toBe(0);
    const second = await runBackup(2);
    const byHand: string[] = [];
    for (const label of ['hand 1', 'hand 2']) {
      const r = cli('backup', 'create', '--tables', 'ord_hold_type', '--label', label);
      expect(r.code, r.stderr).toBe(0);
      byHand.push(r.stdout.trim());
    }

    const dry = json<BackupsDeletion>('backups', 'prune', '--keep', '1', '--dry-run');
    expect(dry.dryRun).toBe(true);
    expect(dry.deleted.map((d) => d.id).sort()).toEqual([first, byHand[0]].sort());
    expect(dry.bytesFreed).toBeGreaterThan(0);
    for (const id of [first, second, ...byHand]) expect(existsSync(join(dir, id))).toBe(true);
    const dryText = cli('backups', 'prune', '--keep', '1', '--dry-run');
    expect(dryText.stdout).toContain(`would delete ${first} (complete, run 1 of vbzcart-ord-pull): ${join(dir, first)}`);
    expect(dryText.stdout).toContain('Nothing was deleted (--dry-run).');

    const pruned = cli('backups', 'prune', '--keep', '1', '--yes');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(`deleted ${first} (complete, run 1 of vbzcart-ord-pull)`);
    expect(pruned.stdout).toContain(`deleted ${byHand[0]} (complete)`);
    expect(dry.bytesFreed).toBeLessThan(1024 ** 2);
    const freed = `${(dry.bytesFreed / 1024).toFixed(1)} KiB (${dry.bytesFreed.toLocaleString('en-US')} bytes)`;
    expect(pruned.stdout).toContain(`Freed ${freed}; deleted 2 backup(s)`);
    expect(existsSync(join(dir, first))).toBe(false);
    expect(existsSync(join(dir, byHand[0]!))).toBe(false);
    expect(existsSync(join(dir, second))).toBe(true);
    expect(existsSync(join(dir, byHand[1]!))).toBe(true);
    expect(await recorded()).toEqual([second]);
    // Nothing else: run 1 is still recorded, with the backup it had.
    expect(await runBackup(1)).toBe(first);

    // --keep 0 leaves run 2's only backup, saying why.
    const none = json<BackupsDeletion>('backups', 'prune', '--keep', '0', '--dry-run');
    expect(none.deleted.map((d) => d.id)).toEqual([byHand[1]]);
    expect(none.kept.map((k) => k.id)).toEqual([second]);
  });

  it('delete removes a backup no run needs (folder and record), and refuses run 2 until it is undone', async () => {
    const second = await runBackup(2);
    expect(cli('backups', 'delete', second, '--yes').code).toBe(1);
    expect(cli('restore', 'vbzcart-ord-pull', '--yes', '--quiet').code).toBe(0);

    const dry = json<BackupsDeletion>('backups', 'delete', second, '--dry-run');
    expect(dry.deleted).toEqual([expect.objectContaining({ id: second, runId: 2 })]);
    expect(existsSync(join(dir, second))).toBe(true);

    const deleted = cli('backups', 'delete', second, '--yes');
    expect(deleted.code, deleted.stderr).toBe(0);
    const bytes = dry.deleted[0]!.bytes;
    expect(bytes).toBeLessThan(1024 ** 2);
    const size = `${(bytes / 1024).toFixed(1)} KiB`;
    expect(deleted.stdout).toContain(`deleted ${second} (complete, run 2 of vbzcart-ord-pull): ${join(dir, second)}, ${size}`);
    expect(deleted.stdout).toContain(`Freed ${size} (${bytes.toLocaleString('en-US')} bytes); deleted 1 backup(s)`);
    expect(existsSync(join(dir, second))).toBe(false);
    expect(existsSync(dir)).toBe(true);
    expect(await recorded()).toEqual([]);
    expect(await runBackup(2)).toBe(second);

    const unknown = cli('backups', 'delete', '20200101T000000Z-abcdef', '--yes');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`There is no backup 20200101T000000Z-abcdef of database ${t.name} in ${dir}`);
  });
});
