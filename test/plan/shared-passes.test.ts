import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import vbzcart from '../../mappings/vbzcart-ord-pull/index.ts';
import { defineMapping } from '../../src/mapping/define.ts';
import { sideBySide } from '../../src/db/side-by-side.ts';
import { buildPlan } from '../../src/plan/plan.ts';
import { sharedPasses } from '../../src/plan/shared-passes.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('shared_passes');
  await generateVbzcart(t.db, { seed: 4242, pulls: 400 });
});
afterAll(async () => {
  await t.drop();
});

const count = async (sql: string) => Number((await t.db.query<{ n: string }>(sql))[0]!.n);

describe('shared passes', () => {
  it('give each asker of one FROM clause its own aggregates, over its own rows, in one pass', async () => {
    const passes = sharedPasses();
    const from = 'ord_pull AS pull';
    const sevens = passes.ask({ from, columns: ['SUM(CASE WHEN pull.ID % 7 = 0 THEN 1 ELSE 0 END)'], where: 'pull.ID % 7 = 0' });
    const fives = passes.ask({
      from,
      columns: ['SUM(CASE WHEN pull.ID % 5 = 0 THEN 1 ELSE 0 END)', 'MAX(CASE WHEN pull.ID % 5 = 0 THEN pull.ID END)'],
      where: 'pull.ID % 5 = 0',
    });
    const orders = passes.ask({ from: 'orders', columns: ['COUNT(*)'] });
    const pieces = passes.pieces();
    expect(pieces).toHaveLength(2);
    expect(() => passes.ask({ from, columns: ['COUNT(*)'] })).toThrow(/after the passes started/);
    await sideBySide(t.db, pieces);
    expect(Number((await sevens)[0])).toBe(await count('SELECT COUNT(*) AS n FROM ord_pull WHERE ID % 7 = 0'));
    const [n5, max5] = await fives;
    expect(Number(n5)).toBe(await count('SELECT COUNT(*) AS n FROM ord_pull WHERE ID % 5 = 0'));
    expect(Number(max5)).toBe(await count('SELECT MAX(ID) AS n FROM ord_pull WHERE ID % 5 = 0'));
    expect(Number((await orders)[0])).toBe(await count('SELECT COUNT(*) AS n FROM orders'));
  });

  it('fail every asker of a pass that fails, with the server error', async () => {
    const passes = sharedPasses();
    const a = passes.ask({ from: 'ord_pull AS pull', columns: ['SUM(pull.NoSuchColumn)'] });
    const b = passes.ask({ from: 'ord_pull AS pull', columns: ['COUNT(*)'] });
    await expect(sideBySide(t.db, passes.pieces())).rejects.toThrow(/NoSuchColumn/);
    await expect(a).rejects.toThrow(/NoSuchColumn/);
    await expect(b).rejects.toThrow(/NoSuchColumn/);
  });
});

describe("a run's plan", () => {
  it("counts the steps and problems as a person's plan does, and leaves a projection's rows with a value to the fill", async () => {
    const preview = await buildPlan(t.db, vbzcart, new Date());
    const run = await buildPlan(t.db, vbzcart, new Date(), { forRun: true });
    expect(run.ok).toBe(true);
    expect(run.steps).toEqual(preview.steps);
    expect(run.problems).toEqual(preview.problems);
    expect(run.sources).toEqual(preview.sources);
    expect(preview.projections[0]!.rowsWithValue).toBe(
      await count(
        'SELECT COUNT(DISTINCT ID_Ord) AS n FROM ord_pull JOIN orders ON orders.ID = ord_pull.ID_Ord WHERE DAYNAME(WhenFreed) IS NULL',
      ),
    );
    expect(run.projections).toEqual([{ ...preview.projections[0]!, rowsWithValue: null }]);
    expect(run.projections[0]!.tableRows).toBe(await count('SELECT COUNT(*) AS n FROM orders'));
  });

  it('still refuses a projection whose aggregate names a column the database lacks', async () => {
    const projection = vbzcart.projections!.whenHeld!;
    const broken = defineMapping({
      ...vbzcart,
      projections: { whenHeld: { ...projection, value: { ...projection.value, aggregate: 'MAX(pull.NoSuchColumn)' } } },
    });
    await expect(buildPlan(t.db, broken, new Date(), { forRun: true })).rejects.toThrow(/NoSuchColumn/);
  });
});
