import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { snapshot, type Snapshot } from '../support/snapshot.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';

const bin = join(import.meta.dirname, '../../bin/eventshift.mjs');
let t: TestDatabase;
let work: string;
let before: Snapshot;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, DATABASE_URL: t.url },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  t = await freshDatabase('cli');
  work = await mkdtemp(join(tmpdir(), 'es-cli-'));
  await generateVbzcart(t.db, { seed: 9191 });
  before = await snapshot(t.db);
});
afterAll(async () => {
  await t.drop();
  await rm(work, { recursive: true, force: true });
});

describe('the eventshift CLI', () => {
  it('plans read-only, with --json', () => {
    const r = cli('plan', 'vbzcart-ord-pull', '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.ok).toBe(true);
    expect(result.plan.steps.map((s: { name: string }) => s.name)).toEqual(['holdOn', 'holdOff']);
  });

  it('prints a readable plan', () => {
    const r = cli('plan', 'vbzcart-ord-pull');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/holdOn: 1,665 source rows/);
    expect(r.stdout).toMatch(/OK: migrate can go ahead/);
  });

  it('exits 2 for bad usage: no --yes without a terminal, unknown mapping, no database', () => {
    const noYes = cli('migrate', 'vbzcart-ord-pull');
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toMatch(/pass --yes to confirm/);
    const unknown = cli('plan', 'no-such-mapping');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/No mapping named no-such-mapping/);
    const r = spawnSync(process.execPath, [bin, 'plan', 'vbzcart-ord-pull'], {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: '' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/No database given/);
  });

  it('exits 3 when the database is unreachable, in one sentence, without the password', () => {
    const r = cli('plan', 'vbzcart-ord-pull', '--database-url', 'mysql://root:sekret@127.0.0.1:1/nowhere');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^eventshift: Connecting to database nowhere at 127\.0\.0\.1:1 as root failed/);
    expect(r.stderr).not.toContain('sekret');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('migrates, verifies, catches a hand-edited row, and restores', async () => {
    const m = cli('migrate', 'vbzcart-ord-pull', '--yes', '--report', 'rep');
    expect(m.stderr).toMatch(/Stage backup/);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/completed, last stage cutover/);
    expect(cli('verify', 'vbzcart-ord-pull').code).toBe(0);

    const [row] = await t.db.query<{ id: number }>('SELECT MIN(ID_Event) AS id FROM event_vc_ord_hold WHERE ID_Event >= 1600');
    const edited = Number(row!.id);
    await t.db.execute("UPDATE event_vc_ord_hold SET Notes = 'edited by hand' WHERE ID_Event = ?", [edited]);
    const bad = cli('verify', 'vbzcart-ord-pull', '--report', 'rep2');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL .*holdOn -> event_vc_ord_hold/);
    expect(bad.stdout).toContain(`${edited} (legacy ${edited - 1500}): differs from its legacy row`);

    const list = cli('backups', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/vbzcart-ord-pull run 1/);

    const restored = cli('restore', 'vbzcart-ord-pull', '--yes');
    expect(restored.code).toBe(0);
    expect(await snapshot(t.db)).toEqual(before);
  });
});
