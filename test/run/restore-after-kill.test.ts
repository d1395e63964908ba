import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { snapshot, snapshotDifferences } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { latestRun } from '../../src/run/journal.ts';

/** `restore` around kills, through the real CLI: of the run before it wrote anything, and of the restore itself. */
const ws = testWorkspace('restore_kill');

/** A VbzCart database, its snapshot, and the CLI on it with a backup folder of its own. */
async function vbzcart(label: string, seed: number) {
  const t = await ws.database(label);
  await generateVbzcart(t.db, { seed, pulls: 200 });
  const backupDir = ws.path(label);
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli([...args, '--backup-dir', backupDir], { cwd: ws.dir, env: { DATABASE_URL: t.url, ...env } });
  return { t, original: await snapshot(t.db), backupDir, cli };
}

describe('restore after a run killed during its own backup', () => {
  it('says the database is as it was, removes the unfinished backup, and exits 0', async () => {
    const { t, original, backupDir, cli } = await vbzcart('untouched', 31);
    const killed = cli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet'], { EVENTSHIFT_FAULT: 'backup tables half-written' });
    expect(killed.signal).toBe('SIGKILL');
    expect((await readdir(backupDir)).length).toBe(1);
    const restored = cli(['restore', 'vbzcart-ord-pull', '--yes', '--quiet']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(
      new RegExp(
        '^Run 1 of vbzcart-ord-pull was stopped before its backup was complete, so it wrote ' +
          'nothing: es_untouched_\\w+ is as it was before the run, and there is nothing to restore\\. ' +
          'Its unfinished backup \\S+ was removed\\.',
      ),
    );
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
    expect(await readdir(backupDir)).toEqual([]);
    expect((await latestRun(t.db, 'vbzcart-ord-pull'))?.status).toBe('restored');
    // The next migrate starts a new run, which completes.
    expect(cli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet']).code).toBe(0);
    expect((await latestRun(t.db, 'vbzcart-ord-pull'))?.id).toBe(2);
  }, 120_000);
});

describe('a restore killed before its swap', () => {
  it('leaves the run as it was: verify goes on, and restore run again restores it', async () => {
    const { t, original, cli } = await vbzcart('before_swap', 33);
    expect(cli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet']).code).toBe(0);
    const killed = cli(['restore', 'vbzcart-ord-pull', '--yes', '--quiet'], { EVENTSHIFT_FAULT: 'restore swap before' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect((await latestRun(t.db, 'vbzcart-ord-pull'))?.status).toBe('completed');
    const verified = cli(['verify', 'vbzcart-ord-pull']);
    expect(verified.code, verified.stderr).toBe(0);
    const restored = cli(['restore', 'vbzcart-ord-pull', '--yes', '--quiet']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
    expect((await latestRun(t.db, 'vbzcart-ord-pull'))?.status).toBe('restored');
  }, 120_000);
});

describe('a restore killed part-way', () => {
  it('leaves the run restoring: the other commands refuse and name restore, which finishes it', async () => {
    const { t, original, cli } = await vbzcart('restoring', 32);
    expect(cli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet']).code).toBe(0);
    const killed = cli(['restore', 'vbzcart-ord-pull', '--yes', '--quiet'], { EVENTSHIFT_FAULT: 'restore swap after' });
    expect(killed.signal).toBe('SIGKILL');
    const others = [
      ['verify', 'vbzcart-ord-pull'],
      ['lineage', 'vbzcart-ord-pull', '--legacy', '1'],
      ['migrate', 'vbzcart-ord-pull', '--yes'],
      ['rollback', 'vbzcart-ord-pull', '--yes'],
      ['finalize', 'vbzcart-ord-pull', '--yes'],
    ];
    for (const args of others) {
      const r = cli(args);
      if (args[0] === 'finalize') {
        expect(r.code, r.stderr).toBe(2); // VbzCart declares nothing to finalize
        continue;
      }
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(
        new RegExp(
          'A restore of run 1 of vbzcart-ord-pull \\(its backup \\S+\\) began at .* UTC ' +
            'and did not finish; `eventshift restore vbzcart-ord-pull` finishes it, from where it stopped\\.',
        ),
      );
    }
    const again = cli(['restore', 'vbzcart-ord-pull', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Resuming the restore of backup \S+, interrupted after: swap\./);
    expect(again.stdout).toMatch(
      new RegExp(
        String.raw`^Restored backup \S+, finishing a restore that had been interrupted: event \(restored\), .*ord_pull \(restored\).*\.` +
          String.raw`\nDropped OLD ord_pull, renamed at cutover\.$`,
        'm',
      ),
    );
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
    expect((await latestRun(t.db, 'vbzcart-ord-pull'))?.status).toBe('restored');
  }, 120_000);
});
