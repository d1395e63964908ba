import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import vbzcart from '../../mappings/vbzcart-ord-pull/index.ts';
import { defineMapping } from '../../src/mapping/define.ts';
import { buildPlan } from '../../src/plan/plan.ts';
import { problemKeyLimit } from '../../src/plan/plan-data.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('problem_scans');
  await generateVbzcart(t.db, { seed: 4242, pulls: 400 });
});
afterAll(async () => {
  await t.drop();
});

// Problems that read the same rows (same source, joins and key) are found in one pass; each must still get exactly
// the rows its own condition names, where conditions overlap, where one is NULL for some rows, and where one has none.
const extra = {
  sevens: { description: 'every seventh pull', severity: 'warning' as const, from: 'pull', where: 'pull.ID % 7 = 0' },
  fives: { description: 'every fifth pull', severity: 'warning' as const, from: 'pull', where: 'pull.ID % 5 = 0' },
  freedLate: { description: 'released after 2010', severity: 'warning' as const, from: 'pull', where: "pull.WhenFreed >= '2010-01-01'" },
  none: { description: 'no pull', severity: 'warning' as const, from: 'pull', where: '1 = 0' },
  typed: {
    description: 'hold types that restock',
    severity: 'warning' as const,
    from: 'pull',
    join: { holdType: 'holdType.ID = pull.ID_Type' },
    where: 'holdType.doHoldRstk = 1',
  },
};
const mapping = defineMapping({ ...vbzcart, problems: { ...vbzcart.problems, ...extra } });

describe('data problems sharing a scan', () => {
  it("each get their own count and first keys, in the mapping's order", async () => {
    const plan = await buildPlan(t.db, mapping, new Date());
    const named = plan.problems.filter((p) => p.name in mapping.problems!);
    expect(named.map((p) => p.name)).toEqual(Object.keys(mapping.problems!));
    const joins: Record<string, string> = { typed: 'LEFT JOIN ord_hold_type AS holdType ON holdType.ID = pull.ID_Type' };
    for (const [name, p] of Object.entries(extra)) {
      const rows = await t.db.query<{ ID: number }>(
        `SELECT pull.ID FROM ord_pull AS pull ${joins[name] ?? ''} WHERE ${p.where} ORDER BY pull.ID`,
      );
      const found = named.find((f) => f.name === name)!;
      expect(found.count, name).toBe(rows.length);
      expect(found.keys, name).toEqual(rows.slice(0, problemKeyLimit).map((r) => String(r.ID)));
    }
    // The conditions do overlap and do leave rows out, so the test means something.
    const count = (name: string) => named.find((f) => f.name === name)!.count;
    expect(count('sevens')).toBeGreaterThan(problemKeyLimit);
    expect(count('freedLate')).toBeGreaterThan(0);
    expect(count('freedLate')).toBeLessThan(400);
    expect(count('typed')).toBeGreaterThan(0);
    expect(count('none')).toBe(0);
    expect(named.find((f) => f.name === 'none')!.keys).toEqual([]);
  });
});
