import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { runCli } from '../support/cli.ts';
import type { TestDatabase } from '../support/database.ts';
import { snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * The backup folder is part of the preflight: plan refuses, and migrate refuses before its first write, when the
 * backup would not fit. The folder is a real filesystem too small for it: a 16 KiB tmpfs mounted for this file.
 */
const ws = testWorkspace('room');
let t: TestDatabase;
let tiny: string;

beforeAll(async () => {
  t = await ws.database('room');
  await generateVbzcart(t.db, { seed: 5151, pulls: 300 });
  tiny = ws.path('tiny');
  await mkdir(tiny);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', tiny]);
});
afterAll(() => {
  if (tiny) execFileSync('umount', [tiny]);
});

describe('room for the backup', () => {
  it('plan refuses a backup folder without room for the backup, saying how much it needs and has', () => {
    const r = runCli(['plan', 'vbzcart-ord-pull', '--backup-dir', tiny], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(r.code, r.stderr).toBe(1);
    // Sizes in binary units with one decimal; the empty 16 KiB tmpfs has all of it free.
    expect(r.stdout).toMatch(/The backup needs about \d+\.\d (KiB|MiB) \(the data of \d+ table\(s\), as the server sizes it\)/);
    expect(r.stdout).toMatch(/and the filesystem of .*tiny has 16\.0 KiB free/);
    const roomy = runCli(['plan', 'vbzcart-ord-pull', '--backup-dir', ws.path('roomy')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(roomy.code, roomy.stderr + roomy.stdout).toBe(0);
  });

  it('migrate refuses before its first write: no bookkeeping, no backup, the database as it was', async () => {
    const before = await snapshot(t.db);
    const r = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--backup-dir', tiny], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The backup needs about .* free space there or give --backup-dir a folder with room\. Nothing was written\./);
    expect(await snapshot(t.db)).toEqual(before);
    const [bookkeeping] = await t.db.query<{ n: string }>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'eventshift%'",
    );
    expect(Number(bookkeeping!.n)).toBe(0);
  });
});
