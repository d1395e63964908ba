import { describe, expect, it } from 'vitest';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { defineMapping, sql } from '../../src/mapping/define.ts';
import { migrate } from '../../src/run/migrate.ts';

const ws = testWorkspace('steps-together');

// holdOff with a value the server refuses on its first row (a scalar subquery giving eight rows): written beside
// holdOn, it fails while holdOn is still being written in small chunks.
const holdOff = mapping.steps.holdOff!;
const failing = defineMapping({
  ...mapping,
  steps: {
    ...mapping.steps,
    holdOff: {
      ...holdOff,
      rows: { ...holdOff.rows, hold: { ...(holdOff.rows.hold as Record<string, never>), Notes: sql('(SELECT Name FROM {{holdType}})') } },
    },
  },
});

describe('steps written at the same time', () => {
  it('when one fails, the other stops at a chunk boundary, and migrate again finishes both', async () => {
    const t = await ws.database('steps_together');
    await generateVbzcart(t.db, { seed: 7373, pulls: 20_000 });
    const backupDir = ws.path('backups');
    await expect(
      migrate({ databaseUrl: t.url, mapping: failing, backupDir, reportDir: ws.path('report'), chunkKeys: 100 }),
    ).rejects.toThrow(/Subquery returns more than 1 row/);
    const journal = await t.db.query<{ step: string; status: string; progress_key: string | null }>(
      "SELECT step, status, progress_key FROM eventshift_steps WHERE stage = 'write' AND step LIKE 'step %' ORDER BY step",
    );
    const [stats] = await t.db.query<{ hi: number }>('SELECT MAX(ID) AS hi FROM ord_pull');
    // holdOn stopped part-way (not run to its end after holdOff had failed), with its progress journaled.
    const holdOn = journal.find((j) => j.step === 'step holdOn')!;
    expect(holdOn.status).toBe('started');
    expect(Number(holdOn.progress_key ?? 0)).toBeLessThan(Number(stats!.hi));
    expect(journal.find((j) => j.step === 'step holdOff')!.status).toBe('started');

    const resumed = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: ws.path('report') });
    expect(resumed.status).toBe('completed');
    expect(resumed.verification?.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
