import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { runCli } from '../support/cli.ts';
import type { TestDatabase } from '../support/database.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * Commands that read a run's backup find it where the run recorded it (eventshift_backups.dir), not in ./backups:
 * without --backup-dir they use the recorded folder; a --backup-dir that differs wins only when the backup is there;
 * a backup moved away gives an error saying where it was recorded and what to do.
 */
const ws = testWorkspace('bkloc');

interface Migrated {
  t: TestDatabase;
  original: Snapshot;
  backupId: string;
  folder: string;
}

/** A fresh VbzCart database migrated with its backup in `backupDir` (relative to the workspace), run from the workspace. */
async function migrated(label: string, backupDir: string, ...extra: string[]): Promise<Migrated> {
  const t = await ws.database(label);
  await generateVbzcart(t.db, { seed: 2020, pulls: 120 });
  const original = await snapshot(t.db);
  const m = runCli(
    ['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--json', '--backup-dir', backupDir, '--report', `rep-${label}`, ...extra],
    {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    },
  );
  expect(m.code, m.stderr).toBe(0);
  const backupId = (JSON.parse(m.stdout) as { backup: { id: string } }).backup.id;
  const [row] = await t.db.query<{ dir: string }>('SELECT dir FROM eventshift_backups WHERE id = ?', [backupId]);
  return { t, original, backupId, folder: row!.dir };
}

/** Runs the CLI on `t` from `cwd` (default: a folder of the workspace whose ./backups holds nothing). */
const cliOn = (t: TestDatabase, args: string[], cwd?: string) =>
  runCli(args, { cwd: cwd ?? ws.path('elsewhere'), env: { DATABASE_URL: t.url } });

beforeAll(async () => {
  await mkdir(ws.path('elsewhere'), { recursive: true });
});

describe('a run whose backup is in a folder of its own', () => {
  it('records it as an absolute path, and verify and restore find it there without --backup-dir, from another folder', async () => {
    const { t, original, backupId, folder } = await migrated('found', 'run-backups');
    expect(folder).toBe(join(ws.dir, 'run-backups', backupId));

    const verified = cliOn(t, ['verify', 'vbzcart-ord-pull']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).not.toContain('manifest.json');

    // The same folder given again (relative to where the command runs) is the recorded one.
    const same = cliOn(t, ['verify', 'vbzcart-ord-pull', '--backup-dir', 'run-backups'], ws.dir);
    expect(same.code, same.stderr).toBe(0);

    const restored = cliOn(t, ['restore', 'vbzcart-ord-pull', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toContain(`Restoring backup ${backupId} from ${folder}`);
    expect(await snapshot(t.db)).toEqual(original);
  });

  it('refuses a --backup-dir that does not hold it, naming both places and that the recorded one has it', async () => {
    const { t, backupId, folder } = await migrated('wrongdir', 'run-backups-2');
    const wrong = ws.path('not-here');
    const r = cliOn(t, ['verify', 'vbzcart-ord-pull', '--backup-dir', wrong]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Backup ${backupId} of run 1 is not in ${join(wrong, backupId)}`);
    expect(r.stderr).toContain(`the database records it in ${folder}, where it is: leave out --backup-dir to use it there.`);
    expect(r.stderr).not.toContain('take a new backup');
  });
});

describe('a run whose backup was moved', () => {
  it('says where it was recorded and to pass --backup-dir; with the new folder, verify and restore use it', async () => {
    const { t, original, backupId, folder } = await migrated('moved', 'before-move');
    const movedTo = ws.path('after-move');
    await mkdir(movedTo, { recursive: true });
    await rename(folder, join(movedTo, backupId));

    for (const args of [['verify'], ['restore', '--yes']]) {
      const r = cliOn(t, [args[0]!, 'vbzcart-ord-pull', ...args.slice(1)]);
      const command = args[0];
      expect(r.code, `${command}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`Backup ${backupId} of run 1 was recorded in ${folder}, which no longer exists.`);
      expect(r.stderr).toContain(`If the backup was moved, pass --backup-dir with the folder that now holds ${backupId}`);
      expect(r.stderr).not.toContain('take a new backup');
    }

    // A --backup-dir that holds it neither: both places named.
    const neither = cliOn(t, ['verify', 'vbzcart-ord-pull', '--backup-dir', ws.path('not-here-either')]);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain(`the database records it in ${folder}, where it is not either.`);

    const verified = cliOn(t, ['verify', 'vbzcart-ord-pull', '--backup-dir', movedTo]);
    expect(verified.code, verified.stderr).toBe(0);
    const restored = cliOn(t, ['restore', 'vbzcart-ord-pull', '--yes', '--backup-dir', movedTo]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await snapshot(t.db)).toEqual(original);
  });
});

describe('migrate resuming a run', () => {
  it('verifies against the backup where the run recorded it, from a folder whose ./backups does not hold it', async () => {
    const t = await ws.database('resume');
    await generateVbzcart(t.db, { seed: 2021, pulls: 120 });
    const first = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--until', 'write', '--backup-dir', 'resume-backups'], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    expect(first.code, first.stderr).toBe(0);
    const resumed = cliOn(t, ['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--json', '--report', ws.path('rep-resume')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as { status: string; backup: { id: string; dir: string } };
    expect(result.status).toBe('completed');
    expect(result.backup.dir).toBe(join(ws.dir, 'resume-backups', result.backup.id));
  });
});

describe('restore --backup ID without a mapping', () => {
  it('finds a backup a run recorded, without --backup-dir', async () => {
    // Stopped before the cutover: restoring without the mapping does not undo its renames.
    const { t, backupId, folder } = await migrated('standalone', 'standalone-backups', '--until', 'verify');
    const r = cliOn(t, ['restore', '--backup', backupId, '--yes', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Restored backup ${backupId}`);
    expect(folder).toBe(join(ws.dir, 'standalone-backups', backupId));
  });
});
