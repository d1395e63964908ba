import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';

// The steps' checks start in the write stage as soon as the steps are written, while orders.WhenHeld is still being
// filled beside them; the verify stage takes their results and runs the rest.
const ws = testWorkspace('early-checks');

describe('checks started in the write stage', () => {
  it("run the steps' checks beside the projection's fill, and the report says which ran there", async () => {
    const t = await ws.database('early');
    await generateVbzcart(t.db, { seed: 9191, pulls: 3000 });
    const report = ws.path('report');
    const run = await migrate({ databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: report });
    expect(run.status).toBe('completed');
    const checks = run.verification!.checks;
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    const early = checks.filter((c) => c.ranDuring === 'write').map((c) => c.id);
    // Exactly the steps part's checks: content and references of both steps.
    expect(early.sort()).toEqual(
      [
        'holdOff.event.content',
        'holdOff.hold.content',
        'holdOff.hold.references',
        'holdOn.event.content',
        'holdOn.hold.content',
        'holdOn.hold.references',
        'holdOn.legacy.content',
        'holdOn.legacy.references',
      ].sort(),
    );
    // The same checks and order as a verification that runs them all itself.
    const again = await verify({ databaseUrl: t.url, mapping, backupDir: ws.path('backups') });
    expect(again.verification.checks.map((c) => c.id)).toEqual(checks.map((c) => c.id));
    expect(again.verification.checks.some((c) => c.ranDuring)).toBe(false);
    const md = await readFile(`${report}/report.md`, 'utf8');
    expect(md).toContain('8 of these checks started in the write stage, as soon as the rows they check were written');
  });

  it('are not started under --max-rows-per-second, which writes one part at a time', async () => {
    const t = await ws.database('early_paced');
    await generateVbzcart(t.db, { seed: 9192, pulls: 800 });
    const run = await migrate({ databaseUrl: t.url, mapping, backupDir: ws.path('b2'), maxRowsPerSecond: 1_000_000 });
    expect(run.status).toBe('completed');
    expect(run.verification!.checks.some((c) => c.ranDuring)).toBe(false);
  });
});
