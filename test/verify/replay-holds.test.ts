import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { legacyTablesDdl } from '../../mappings/vbzcart-ord-pull/legacy-schema.ts';
import { event } from '../../mappings/vbzcart-ord-pull/schema.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { createTableSql } from '../../src/db/ddl.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { renameState } from '../../src/engine/cutover.ts';
import { compareIntegerKeys, compareKeys, keyOrderOf, replayChecks, replayStreamSql, resolveNames } from '../../src/parts/replay-checks.ts';
import { connectAgain, openRowCursor } from '../../src/db/row-stream.ts';
import type { Mapping } from '../../src/mapping/define.ts';

/**
 * The VbzCart replay on a handful of orders written by hand for the edge cases: a hold lifted the second it was
 * placed, a hold placed the second another is lifted, WhenFreed zero or partly zero (never released), overlapping
 * holds, an order never held.
 */
const ws = testWorkspace('replay');
let t: TestDatabase;
const t1 = '2015-03-02 10:00:00';
const t2 = '2015-03-05 12:30:00';
const t3 = '2015-03-09 08:15:00';

beforeAll(async () => {
  t = await ws.database('replay_holds');
  for (const ddl of Object.values(legacyTablesDdl)) await t.db.execute(ddl);
  await t.db.execute(createTableSql(event));
  await t.db.execute("INSERT INTO event (ID, WhenStart, TypeCode) VALUES (1, '2014-01-01 00:00:00', 'vc.cart.create')");
  await t.db.execute("INSERT INTO ord_hold_type VALUES (1, 'customer request', NULL, 1, 1, 0, 0, 1)");
  // ID_Pull: the order's latest unreleased pull, as the legacy application kept it.
  await t.db.execute(`INSERT INTO orders (ID, Number, ID_Pull) VALUES (1, '15-00001', NULL), (2, '15-00002', 3), (3, '15-00003', 4),
    (4, '15-00004', 5), (5, '15-00005', 6), (6, '15-00006', NULL)`);
  await t.db.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'");
  await t.db.execute(`INSERT INTO ord_pull (ID, ID_Ord, ID_Type, WhenPulled, WhenFreed) VALUES
    (1, 1, 1, '${t1}', '${t1}'),
    (2, 2, 1, '${t1}', '${t2}'), (3, 2, 1, '${t2}', NULL),
    (4, 3, 1, '${t1}', '0000-00-00 00:00:00'),
    (5, 4, 1, '${t2}', '2015-03-00 00:00:00'),
    (6, 5, 1, '${t1}', NULL), (7, 5, 1, '${t2}', '${t3}')`);
  const result = await migrate({ databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: ws.path('report') });
  expect(result.status).toBe('completed');
});

describe('replaying hold events per order', () => {
  it('gives each order the state its pulls say, ties and zero dates included', async () => {
    const replayed = await t.db.query<{ k: number; holds: string; onHold: string; detail: string }>(
      `SELECT * FROM (${resolveNames(mapping.replays!.orderHolds!.events, mapping, await renameState(t.db, mapping))}) AS r ORDER BY k`,
    );
    expect(replayed.map((r) => ({ ...r, k: Number(r.k) }))).toEqual([
      { k: 1, holds: 'no active hold', onHold: 'not on hold', detail: `last hold lifted ${t1}` },
      { k: 2, holds: '1 active hold', onHold: 'on hold', detail: `since ${t1}` },
      { k: 3, holds: '1 active hold', onHold: 'on hold', detail: `since ${t1}` },
      { k: 4, holds: '1 active hold', onHold: 'on hold', detail: `since ${t2}` },
      { k: 5, holds: '1 active hold', onHold: 'on hold', detail: `since ${t1}` },
    ]);
    const r = await verify({ databaseUrl: t.url, mapping, backupDir: ws.path('backups') });
    const replays = r.verification.checks.filter((c) => c.kind === 'replay');
    expect(replays.map((c) => [c.id, c.ok, c.failureCount, c.explainedCount])).toEqual([
      ['orderHolds.unreleased pulls.replay', true, 0, 0],
      ['orderHolds.orders.ID_Pull.replay', true, 0, 0],
      ['orderHolds.orders.WhenHeld.replay', true, 0, 0],
    ]);
    expect(replays[1]!.expected).toBe('6 order(s) compared');
  });

  it('names an order whose hold is lifted before it was placed', async () => {
    // Order 1's hold-off event moved an hour before its hold-on: the count goes below zero.
    const [off] = await t.db.query<{ ID: number }>(
      "SELECT ID FROM event WHERE TypeCode = 'vc.order.hold.off' AND WhenStart = ? ORDER BY ID LIMIT 1",
      [t1],
    );
    await t.db.execute('UPDATE event SET WhenStart = WhenStart - INTERVAL 1 HOUR WHERE ID = ?', [off!.ID]);
    const r = await verify({ databaseUrl: t.url, mapping, backupDir: ws.path('backups') });
    const check = r.verification.checks.find((c) => c.id === 'orderHolds.unreleased pulls.replay')!;
    expect(check.ok).toBe(false);
    expect(check.failures).toEqual([
      {
        key: '1',
        reason:
          'events: a hold lifted while none was active (at 2015-03-02 09:00:00); unreleased pulls: no active hold (1 pull(s), 1 released)',
      },
    ]);
    expect(r.verification.checks.find((c) => c.id === 'orderHolds.orders.ID_Pull.replay')!.failures.map((f) => f.key)).toEqual(['1']);
  });
});

describe('the order the sides stream in', () => {
  it('is the order the merge expects, for numbers, text and NULL alike', async () => {
    const keys = ['9', '10', '100', '2', 'b', 'B', 'ab', 'é', 'e', '']
      .map((k) => `SELECT ${/^\d+$/.test(k) ? k : `'${k}'`} AS k`)
      .concat('SELECT NULL AS k')
      .join(' UNION ALL ');
    const cursor = await openRowCursor(t.db, replayStreamSql(keys, []));
    const streamed: Array<Buffer | null> = [];
    for (; cursor.head; await cursor.advance()) streamed.push(cursor.head[0]!);
    expect(streamed).toHaveLength(11);
    expect(streamed).toEqual([...streamed].sort(compareKeys));
    expect(streamed.map((k) => k?.toString() ?? null)).toEqual([null, '', '2', '9', 'B', 'b', 'e', '10', 'ab', 'é', '100']);
    expect(await keyOrderOf(t.db, [keys])).toBe('text');
  });

  it("is by value where every side's key is an integer column, as the merge then expects", async () => {
    await t.db.execute(
      'CREATE TABLE int_keys (s BIGINT NULL, u BIGINT UNSIGNED NULL, z INT(5) UNSIGNED ZEROFILL NULL, d DECIMAL(20,0) NULL)',
    );
    await t.db.execute(`INSERT INTO int_keys (s, u) VALUES (-9223372036854775808, 18446744073709551615), (-10, 10), (-9, 9), (-1, 0),
      (0, 100), (9, 2), (10, NULL), (100, 9223372036854775807), (9223372036854775807, 1), (NULL, 3)`);
    const signed = 'SELECT s AS k FROM int_keys';
    const unsigned = 'SELECT u AS k FROM int_keys';
    expect(await keyOrderOf(t.db, [signed, unsigned])).toBe('integer');
    for (const query of [signed, unsigned]) {
      const cursor = await openRowCursor(t.db, replayStreamSql(query, [], undefined, 'integer'));
      const streamed: Array<Buffer | null> = [];
      for (; cursor.head; await cursor.advance()) streamed.push(cursor.head[0]!);
      expect(streamed).toHaveLength(10);
      expect(streamed).toEqual([...streamed].sort(compareIntegerKeys));
      // Negative keys: the order differs from text order, which the merge would refuse.
      if (query === signed) expect(streamed).not.toEqual([...streamed].sort(compareKeys));
    }
    // A side whose key is not an integer column, or whose text has leading zeros, keeps every side in text order.
    expect(await keyOrderOf(t.db, [signed, 'SELECT z AS k FROM int_keys'])).toBe('text');
    expect(await keyOrderOf(t.db, [signed, 'SELECT d AS k FROM int_keys'])).toBe('text');
    expect(await keyOrderOf(t.db, ['SELECT CAST(s AS CHAR) AS k FROM int_keys', unsigned])).toBe('text');
  });
});

describe('disagreements explained by data problems, with keys that are not whole numbers', () => {
  it('are explained by the first problem naming the key, held or in the merge alike', async () => {
    await t.db.execute('CREATE TABLE things (k VARCHAR(8) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, flaw VARCHAR(8))');
    await t.db.execute("INSERT INTO things VALUES ('a', NULL), ('B', 'odd'), ('c', 'odd'), ('c2', 'late'), ('d', NULL), ('10', NULL)");
    const things: Mapping = {
      ...mapping,
      aliases: undefined,
      sources: { thing: 'things' },
      problems: {
        oddThing: { description: 'odd', severity: 'warning', from: 'thing', where: "thing.flaw = 'odd'" },
        lateThing: { description: 'late', severity: 'warning', from: 'thing', where: "thing.flaw IN ('odd', 'late')" },
      },
    };
    const rows = (pairs: Array<[string, string, string?]>) =>
      pairs
        .map(([k, state, detail]) => `SELECT '${k}' AS k, '${state}' AS state, ${detail === undefined ? 'NULL' : `'${detail}'`} AS detail`)
        .join(' UNION ALL ');
    const replay = {
      description: 'things',
      entity: 'thing',
      events: rows([
        ['a', 'x'],
        ['B', 'x'],
        ['c', 'x'],
        ['c2', 'x'],
        ['d', 'x'],
        ['10', 'x'],
      ]),
      // Legacy 'b' differs from the problem's 'B' only in case: no problem names it, whatever the collation says.
      // The legacy side's detail is read only for the keys listed, by their exact bytes ('B' is not 'b').
      compare: {
        legacy: {
          legacy: rows([
            ['a', 'x'],
            ['b', 'y', 'bee'],
            ['c', 'y', 'sea'],
            ['c2', 'y'],
            ['d', 'y'],
            ['10', 'x'],
          ]),
          explainedBy: { oddThing: 'thing.k', lateThing: 'thing.k' },
        },
      },
    };
    const run = (holdAtMost?: number) =>
      replayChecks({
        connectSide: () => connectAgain(t.db),
        mapping: things,
        renames: { tables: new Map(), columns: new Map(), done: false },
        name: 'things',
        replay,
        limit: 50,
        holdAtMost,
      });
    const [held] = await run();
    expect(held!.explained!.map((e) => [e.key, e.problem])).toEqual([
      ['B', 'oddThing'],
      ['c', 'oddThing'],
      ['c2', 'lateThing'],
    ]);
    expect(held!.failures).toEqual([
      { key: 'b', reason: 'events: no row for this thing; legacy: y (bee)' },
      { key: 'd', reason: 'events: x; legacy: y' },
    ]);
    expect(held!.explained!.find((e) => e.key === 'c')!.reason).toBe('events: x; legacy: y (sea)');
    expect(held!.explained!.find((e) => e.key === 'B')!.reason).toBe('events: x; legacy: no row for this thing');
    expect(held!.actual).toBe('2 agree, 3 explained by data problems, 2 disagree');
    expect(await run(0)).toEqual([held]);
  });
});
