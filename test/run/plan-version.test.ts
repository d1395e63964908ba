import { describe, expect, it } from 'vitest';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { planVersion, upgradePlan, type StoredPlan } from '../../src/plan/plan-data.ts';
import { latestRun } from '../../src/run/journal.ts';
import { migrate } from '../../src/run/migrate.ts';
import { rollback } from '../../src/run/rollback.ts';
import { verify } from '../../src/run/verify-run.ts';
import { snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';

/** Runs planned before plans had a version: read as the version that planned them, and finished and undone as then. */
const ws = testWorkspace('plan-version');

/** A plan as the code before versions stored it: every field of today's plan but the version. */
function unversioned(fields: Partial<StoredPlan> = {}): StoredPlan {
  return {
    mapping: 'm',
    database: 'd',
    server: '10.11',
    createdAt: '2026-01-01T00:00:00.000Z',
    sources: [],
    steps: [
      {
        name: 's',
        description: undefined,
        from: 'a',
        keyColumn: 'ID',
        sourceRows: 0,
        ids: { strategy: 'offset', offset: 0 },
        range: null,
        writes: [],
        writePath: 'streamed',
        codeColumns: ['t.c'],
      },
    ],
    projections: [],
    lookups: [],
    tables: { backup: [], create: [], alter: [], rename: [] },
    dependents: [],
    firedTriggers: [{ name: 'tr', table: 't', when: 'AFTER UPDATE', by: ['rollback'], accepted: true, names: ['u'] }],
    idSpace: [],
    problems: [],
    refusals: [],
    aliasWarnings: [],
    suggestion: null,
    ok: true,
    ...fields,
  };
}

describe('upgradePlan', () => {
  it('reads a plan without a version that lists its fired triggers as version 2, and changes nothing else', () => {
    const stored = unversioned();
    expect(upgradePlan(stored)).toEqual({ ...stored, version: 2 });
    expect(planVersion).toBe(2);
  });

  it('reads a plan without fired triggers as version 1, with what such a plan lacks empty and every step set-based', () => {
    const { steps, ...rest } = unversioned();
    const { writePath: _w, codeColumns: _c, ...step } = steps[0]!;
    const stored = { ...rest, steps: [step], lookups: undefined, dependents: undefined, firedTriggers: undefined };
    expect(upgradePlan(stored)).toEqual({
      ...rest,
      version: 1,
      steps: [{ ...step, writePath: 'set-based', codeColumns: [] }],
      lookups: [],
      dependents: [],
      firedTriggers: [],
    });
  });

  it("keeps a fired trigger's missing table list empty, and refuses a plan of a newer version", () => {
    const stored = unversioned({ firedTriggers: [{ name: 'tr', table: 't', when: 'AFTER INSERT', by: ['step s'], accepted: false }] });
    expect(upgradePlan(stored).firedTriggers).toEqual([
      { name: 'tr', table: 't', when: 'AFTER INSERT', by: ['step s'], accepted: false, names: [] },
    ]);
    expect(() => upgradePlan(unversioned({ version: planVersion + 1 }))).toThrow(/made by a newer eventshift/);
  });
});

describe('a run whose stored plan has no version (planned by the code before versions)', () => {
  it('resumes, verifies and rolls back as it did', { timeout: 180_000 }, async () => {
    const t = await ws.database('unversioned');
    await generateVbzcart(t.db, { seed: 91, pulls: 150 });
    const original = await snapshot(t.db);
    const options = { databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: ws.path('report') };
    const stopped = await migrate({ ...options, until: 'write' });
    expect(stopped.status).toBe('stopped');
    const removeVersion = () => t.db.execute("UPDATE eventshift_runs SET plan = JSON_REMOVE(plan, '$.version')");
    await removeVersion();
    const [stored] = await t.db.query<{ plan: string }>('SELECT plan FROM eventshift_runs');
    expect(JSON.parse(stored!.plan)).not.toHaveProperty('version');
    expect((await latestRun(t.db, mapping.name))!.plan.version).toBe(2);

    const resumed = await migrate(options);
    expect(resumed.runId).toBe(stopped.runId);
    expect(resumed.status).toBe('completed');
    expect(resumed.verification?.ok).toBe(true);
    await removeVersion();
    expect((await verify(options)).verification.ok).toBe(true);

    await rollback(options);
    expect(await snapshot(t.db)).toEqual(original);
    expect((await latestRun(t.db, mapping.name))!.status).toBe('rolled_back');
  });
});
