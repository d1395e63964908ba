import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { runCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { defineMapping } from '../../src/mapping/define.ts';
import { migrate } from '../../src/run/migrate.ts';
import { rolloutQuery, rolloutStage } from '../../src/run/rollout.ts';

let t: TestDatabase;
let work: string;
beforeAll(async () => {
  t = await freshDatabase('rollout');
  work = await mkdtemp(join(tmpdir(), 'es-rollout-'));
  await generateVbzcart(t.db, { seed: 6161 });
});
afterAll(async () => {
  await t.drop();
  await rm(work, { recursive: true, force: true });
});

describe('staged rollout', () => {
  it('starts at the first stage, refuses a stage whose requirement is unmet, and changes nothing', async () => {
    expect((await rolloutStage({ databaseUrl: t.url, mapping })).stage).toBe('old');
    await expect(rolloutStage({ databaseUrl: t.url, mapping, set: 'new' })).rejects.toThrow(
      /Stage new needs a completed migration of vbzcart-ord-pull/,
    );
    expect(await t.db.query("SHOW TABLES LIKE 'eventshift_rollout'")).toEqual([]);
    await expect(rolloutStage({ databaseUrl: t.url, mapping, set: 'newer' })).rejects.toThrow(
      /newer is not a rollout stage of vbzcart-ord-pull; its stages are old -> new/,
    );
  });

  it('moves forward once the migration completed; applications read it with one query; it never moves back', async () => {
    await migrate({ databaseUrl: t.url, mapping, backupDir: join(work, 'b'), reportDir: join(work, 'r') });
    const moved = runCli(['stage', 'vbzcart-ord-pull', '--set', 'new', '--yes'], { cwd: work, env: { DATABASE_URL: t.url } });
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('vbzcart-ord-pull: moved from old to new.');
    expect(moved.stdout).toContain("Applications read it with: SELECT stage FROM eventshift_rollout WHERE mapping = 'vbzcart-ord-pull'");
    expect(await t.db.query(rolloutQuery, [mapping.name])).toEqual([{ stage: 'new' }]);

    const back = runCli(['stage', 'vbzcart-ord-pull', '--set', 'old', '--yes'], { cwd: work, env: { DATABASE_URL: t.url } });
    expect(back.code).toBe(1);
    expect(back.stderr).toMatch(/Rollout stages only move forward: vbzcart-ord-pull is at new, after old/);
    const history = (await rolloutStage({ databaseUrl: t.url, mapping })).history;
    expect(history).toEqual([expect.objectContaining({ from: 'old', to: 'new' })]);
  });

  it('refuses invalid declarations when the mapping is defined', () => {
    const base = { ...mapping, sources: { pull: 'ord_pull', holdType: 'ord_hold_type', orders: 'orders' } } as never as Parameters<
      typeof defineMapping
    >[0];
    expect(() => defineMapping({ ...base, rollout: { stages: ['old', 'old'] } })).toThrow(
      /rollout.stages must name two or more distinct stages/,
    );
    expect(() => defineMapping({ ...base, rollout: { stages: ['old', 'new'], requires: { newest: 'migrated' } } })).toThrow(
      /rollout.requires names 'newest'/,
    );
  });
});
