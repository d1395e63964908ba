import { describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot } from '../support/snapshot.ts';
import { generateVbzcart, type VbzcartFixture } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { plan } from '../../src/run/plan-command.ts';
import { migrate } from '../../src/run/migrate.ts';
import { lineage } from '../../src/run/lineage.ts';
import { rollback } from '../../src/run/rollback.ts';
import { runCli, tracedRun } from '../support/cli.ts';
import type { PlanOverrides } from '../../src/plan/plan-data.ts';

const ws = testWorkspace('ids');

async function database(
  label: string,
  options: Parameters<typeof generateVbzcart>[1],
): Promise<{ t: TestDatabase; fixture: VbzcartFixture }> {
  const t = await ws.database(label);
  return { t, fixture: await generateVbzcart(t.db, options) };
}

/** migrate with these ID overrides, its report into the workspace's folder `report`. */
function migrateWith(t: TestDatabase, overrides: PlanOverrides, report: string) {
  return migrate({ databaseUrl: t.url, mapping, backupDir: ws.dir, reportDir: ws.path(report), overrides });
}

/** The new event IDs of a block, checked to be exactly first..last with no gap. */
async function expectGapFree(t: TestDatabase, first: number, last: number) {
  const [r] = await t.db.query<{ n: string; lo: string; hi: string }>(
    "SELECT COUNT(*) AS n, MIN(ID) AS lo, MAX(ID) AS hi FROM event WHERE TypeCode LIKE 'vc.order.hold.%' AND ID BETWEEN ? AND ?",
    [first, last],
  );
  expect({ n: Number(r!.n), lo: Number(r!.lo), hi: Number(r!.hi) }).toEqual({ n: last - first + 1, lo: first, hi: last });
}

describe('ID strategies', () => {
  it('dense: consecutive IDs in legacy-key order, each step after the previous, placed in the lowest gap that fits', async () => {
    const { t, fixture } = await database('ids_dense', { seed: 8080 });
    const original = await snapshot(t.db);
    const planned = await plan({ databaseUrl: t.url, mapping, overrides: { ids: 'dense' } });
    expect(planned.ok, planned.reasons.join(' ')).toBe(true);
    const [on, off] = planned.plan.steps;
    // The existing events end at 1229: the lowest free block, aligned to 100, starts at 1300.
    expect(on!.range).toEqual({ table: 'event', first: 1300, last: 1300 + fixture.counts.pulls - 1 });
    expect(off!.range).toEqual({
      table: 'event',
      first: 1300 + fixture.counts.pulls,
      last: 1300 + fixture.counts.pulls + fixture.counts.released - 1,
    });

    const r = await migrateWith(t, { ids: 'dense' }, 'report-dense');
    expect(r.verification?.ok, JSON.stringify(r.verification?.checks.filter((c) => !c.ok))).toBe(true);
    await expectGapFree(t, on!.range!.first, off!.range!.last);
    // Within each step, the written events follow legacy-key order.
    for (const step of ['holdOn', 'holdOff']) {
      const [order] = await t.db.query<{ bad: string; n: string }>(
        `SELECT SUM(k <= p) AS bad, COUNT(*) AS n FROM (SELECT l.legacy_key AS k, LAG(l.legacy_key) OVER (ORDER BY e.ID) AS p
           FROM event e JOIN eventshift_lineage l ON l.event_id = e.ID AND l.step = ?) x`,
        [step],
      );
      expect(Number(order!.bad), step).toBe(0);
      expect(Number(order!.n), step).toBe(step === 'holdOn' ? fixture.counts.pulls : fixture.counts.released);
    }

    // Lineage answers both ways, for the first pull and its release.
    const [pull] = await t.db.query<{ ID: number }>('SELECT MIN(ID) AS ID FROM `OLD ord_pull` WHERE DAYNAME(WhenFreed) IS NOT NULL');
    const fromLegacy = await lineage({ databaseUrl: t.url, mapping, legacy: Number(pull!.ID) });
    expect(fromLegacy.links.map((l) => l.step).sort()).toEqual(['holdOff', 'holdOn']);
    for (const link of fromLegacy.links) {
      const back = await lineage({ databaseUrl: t.url, mapping, event: link.eventId });
      expect(back.links).toEqual([link]);
      expect(link.via).toBe('lineage table');
    }
    await rollback({ databaseUrl: t.url, mapping, backupDir: ws.dir });
    expect(await snapshot(t.db)).toEqual(original);
  });

  it('chronological: one gap-free block across both steps, IDs strictly increasing with WhenStart', async () => {
    const { t, fixture } = await database('ids_chrono', { seed: 8181 });
    const r = await migrateWith(t, { ids: 'chronological' }, 'report-chronological');
    expect(r.verification?.ok, JSON.stringify(r.verification?.checks.filter((c) => !c.ok))).toBe(true);
    const range = r.plan.steps[0]!.range!;
    expect(r.plan.steps[1]!.range).toEqual(range);
    expect(range.last - range.first + 1).toBe(fixture.counts.pulls + fixture.counts.released);
    await expectGapFree(t, range.first, range.last);
    const [backwards] = await t.db.query<{ n: string }>(
      'SELECT COUNT(*) AS n FROM (SELECT WhenStart AS w, LAG(WhenStart) OVER (ORDER BY ID) AS p ' +
        'FROM event WHERE ID BETWEEN ? AND ?) x WHERE w < p',
      [range.first, range.last],
    );
    expect(Number(backwards!.n)).toBe(0);
    expect(r.verification!.checks.find((c) => c.id === 'holdOn+holdOff.chronological')?.ok).toBe(true);
    // Hold-off events interleave with hold-on events in time, so the block is not two halves.
    const [kinds] = await t.db.query<{ n: string }>(
      'SELECT COUNT(*) AS n FROM (SELECT TypeCode AS c, LAG(TypeCode) OVER (ORDER BY ID) AS p ' +
        'FROM event WHERE ID BETWEEN ? AND ?) x WHERE c <> p',
      [range.first, range.last],
    );
    expect(Number(kinds!.n)).toBeGreaterThan(100);
  });

  it('refuses IDs that collide, suggests a placement that fits, and that placement runs', async () => {
    const { t } = await database('ids_suggest', { seed: 8282, plant: { eventInRange: true } });
    const refused = await plan({ databaseUrl: t.url, mapping });
    expect(refused.ok).toBe(false);
    const suggestion = refused.plan.suggestion!;
    expect(suggestion.args).toBe(`--ids dense --start holdOn=${suggestion.first}`);
    expect(refused.reasons.join(' ')).toContain(`A placement that fits: \`${suggestion.args}\``);
    const start = { holdOn: suggestion.first };
    const accepted = await plan({ databaseUrl: t.url, mapping, overrides: { ids: 'dense', start } });
    expect(accepted.ok, accepted.reasons.join(' ')).toBe(true);
    const r = await migrateWith(t, { ids: 'dense', start }, 'report-start');
    expect(r.verification?.ok).toBe(true);
    await expectGapFree(t, suggestion.first, suggestion.last);
  });

  it('refuses a range past the key column maximum, and --start that names no step', async () => {
    const { t } = await database('ids_max', { seed: 8383 });
    const beyond = await plan({ databaseUrl: t.url, mapping, overrides: { ids: 'dense', start: { holdOn: 4_294_967_000 } } });
    expect(beyond.ok).toBe(false);
    expect(beyond.reasons.join(' ')).toMatch(/exceeds the largest value 4294967295 of event\.ID/);
    await expect(plan({ databaseUrl: t.url, mapping, overrides: { start: { holdOut: 1 } } })).rejects.toThrow(
      /no step.*holdOut|step holdOut/,
    );
  });
  it('a dense run killed after its lineage or mid-chunk resumes to the same database', async () => {
    const args = ['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--ids', 'dense', '--chunk-keys', '300', '--backup-dir', ws.dir];
    const { t: ref } = await database('ids_crash_ref', { seed: 8484, pulls: 900 });
    const traced = await tracedRun(args, { cwd: ws.dir, env: { DATABASE_URL: ref.url } });
    expect(traced.run.code).toBe(0);
    const expected = await snapshot(ref.db);
    const firstChunk = traced.points.find((p) => p.startsWith('chunk holdOn'))!;
    for (const point of ['write lineage holdOn worked', firstChunk, 'write lineage holdOff started']) {
      const { t } = await database('ids_crash', { seed: 8484, pulls: 900 });
      const killed = runCli(args, { cwd: ws.dir, env: { DATABASE_URL: t.url, EVENTSHIFT_FAULT: point } });
      expect(killed.signal, point).toBe('SIGKILL');
      const resumed = runCli(
        args.filter((a, i) => a !== '--ids' && args[i - 1] !== '--ids'),
        { cwd: ws.dir, env: { DATABASE_URL: t.url } },
      );
      expect(resumed.code, `${point}: ${resumed.stderr}`).toBe(0);
      expect(await snapshot(t.db), point).toEqual(expected);
    }
  });
});
