import { describe, expect, it } from 'vitest';
import { testWorkspace } from '../support/workspace.ts';
import { runCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { snapshot } from '../support/snapshot.ts';

/** After `rollback` or `restore`, asking the run for what it wrote says that it was undone: never a raw SQL error. */
const ws = testWorkspace('undone');

describe('verify and lineage of a run that was undone', () => {
  for (const undo of ['rollback', 'restore'] as const) {
    it(`say that the run was undone by ${undo}, and exit 1`, async () => {
      const t = await ws.database(`undone_${undo}`);
      await generateVbzcart(t.db, { seed: 77, pulls: 120 });
      const cli = (...args: string[]) => runCli([...args, '--backup-dir', ws.path(undo)], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
      expect(cli('migrate', 'vbzcart-ord-pull', '--yes', '--quiet').code).toBe(0);
      const before = cli('lineage', 'vbzcart-ord-pull', '--legacy', '1');
      expect(before.code, before.stderr).toBe(0);
      const undone = cli(undo, 'vbzcart-ord-pull', '--yes', '--quiet');
      expect(undone.code, undone.stderr).toBe(0);
      const how =
        undo === 'rollback'
          ? /was rolled back \(`eventshift rollback`\) at \d{4}-\d\d-\d\d [\d:.]+ UTC/
          : /was undone by restoring its backup \(`eventshift restore`\) at \d{4}-\d\d-\d\d [\d:.]+ UTC/;
      for (const [args, asked] of [
        [['verify'], 'nothing to verify'],
        [['lineage', '--legacy', '1'], 'no lineage to show'],
        [['lineage', '--event', '1'], 'no lineage to show'],
      ] as const) {
        const r = cli(args[0], 'vbzcart-ord-pull', ...args.slice(1));
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toMatch(/^eventshift: Run 1 of vbzcart-ord-pull /);
        expect(r.stderr).toMatch(how);
        expect(r.stderr).toContain(`what it wrote is gone, so there is ${asked}. \`eventshift migrate vbzcart-ord-pull\` runs it again.`);
      }
      // And migrate runs it again, as the message says.
      expect(cli('migrate', 'vbzcart-ord-pull', '--yes', '--quiet').code).toBe(0);
      expect(cli('verify', 'vbzcart-ord-pull').code).toBe(0);
    });
  }
});

describe('restore when no run was recorded', () => {
  it('after a migrate killed before it recorded its run, says nothing was written, exits 0 and changes nothing', async () => {
    const t = await ws.database('undone_unrecorded');
    await generateVbzcart(t.db, { seed: 78, pulls: 60 });
    const original = await snapshot(t.db);
    const env = { DATABASE_URL: t.url };
    const args = ['--backup-dir', ws.path('unrecorded')];
    const killed = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', ...args], {
      cwd: ws.dir,
      env: { ...env, EVENTSHIFT_FAULT: 'bookkeeping migration half-applied' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const restored = runCli(['restore', 'vbzcart-ord-pull', '--yes', ...args], { cwd: ws.dir, env });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(
      `No run of vbzcart-ord-pull is recorded in ${t.name}, so eventshift has written nothing there for it`,
    );
    expect(await snapshot(t.db)).toEqual(original);
  });
});
