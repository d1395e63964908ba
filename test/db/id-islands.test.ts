import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { idIslands } from '../../src/db/id-islands.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('id_islands');
});
afterAll(async () => {
  await t.drop();
});

async function table(name: string, ids: number[], type = 'INT UNSIGNED'): Promise<void> {
  await t.db.execute(`CREATE TABLE \`${name}\` (ID ${type} NOT NULL PRIMARY KEY)`);
  if (ids.length) await t.db.raw.query(`INSERT INTO \`${name}\` (ID) VALUES ?`, [ids.map((id) => [id])]);
}

const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

describe('gaps and islands of an integer key, on the server', () => {
  it('lists every run and gap when there are few', async () => {
    await table('few', [...range(1, 5), 8, ...range(10, 12), ...range(100, 200)]);
    expect(await idIslands(t.db, 'few', 'ID')).toEqual({
      runs: [
        { first: 1, last: 5, rows: 5 },
        { first: 8, last: 8, rows: 1 },
        { first: 10, last: 12, rows: 3 },
        { first: 100, last: 200, rows: 101 },
      ],
      gaps: [
        { first: 6, last: 7 },
        { first: 9, last: 9 },
        { first: 13, last: 99 },
      ],
      runCount: 4,
      gapCount: 3,
    });
  });

  it('merges runs across the smallest gaps beyond the limit, keeping exact counts', async () => {
    // 200 runs of 3 IDs with 2 free between them, and three big gaps.
    const ids = [
      ...range(0, 199).flatMap((i) => range(1 + i * 5, 3 + i * 5)),
      ...range(5000, 5009),
      ...range(9000, 9000),
      ...range(20_000, 20_004),
    ];
    await table('many', ids);
    const r = await idIslands(t.db, 'many', 'ID', 4);
    expect(r.runCount).toBe(203);
    expect(r.gapCount).toBe(202);
    expect(r.runs).toEqual([
      { first: 1, last: 998, rows: 600 },
      { first: 5000, last: 5009, rows: 10 },
      { first: 9000, last: 9000, rows: 1 },
      { first: 20_000, last: 20_004, rows: 5 },
    ]);
    expect(r.gaps).toEqual([
      { first: 999, last: 4999 },
      { first: 5010, last: 8999 },
      { first: 9001, last: 19_999 },
    ]);
    expect((await idIslands(t.db, 'many', 'ID')).runs).toHaveLength(50);
  });

  it('handles an empty table, key 0 and negative keys', async () => {
    await table('empty', []);
    expect(await idIslands(t.db, 'empty', 'ID')).toEqual({ runs: [], gaps: [], runCount: 0, gapCount: 0 });
    await table('signed', [-3, -2, 0, 1, 2], 'INT');
    expect(await idIslands(t.db, 'signed', 'ID')).toEqual({
      runs: [
        { first: -3, last: -2, rows: 2 },
        { first: 0, last: 2, rows: 3 },
      ],
      gaps: [{ first: -1, last: -1 }],
      runCount: 2,
      gapCount: 1,
    });
  });
});
