import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceTableNames } from '../../src/mapping/compile.ts';
import type { Db } from '../../src/db/connection.ts';
import { tableChecksum, type ContentChecksum } from '../../src/db/checksum.ts';
import { describeTable } from '../../src/db/introspect.ts';
import { quoteId } from '../../src/db/quote.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import {
  generateVbzcart,
  seedShape,
  type VbzcartFixture,
  type VbzcartProgress,
  type VbzcartProblemName,
} from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { legacyTablesDdl } from '../../mappings/vbzcart-ord-pull/legacy-schema.ts';
import { freshDatabase, type TestDatabase } from '../support/database.ts';

const fixtureTables = ['ord_hold_type', 'orders', 'ord_pull', 'event'] as const;
const problemNames: VbzcartProblemName[] = [
  'unknownHoldType',
  'orphanPull',
  'zeroWhenFreed',
  'pointerToReleasedPull',
  'danglingPullPointer',
  'invalidWhenPulled',
];

const opened: TestDatabase[] = [];
async function database(label: string): Promise<TestDatabase> {
  const t = await freshDatabase(label);
  opened.push(t);
  return t;
}

let seedA: TestDatabase;
let seedB: TestDatabase;
let otherSeed: TestDatabase;
let fixtureA: VbzcartFixture;
let fixtureB: VbzcartFixture;
let fixtureOther: VbzcartFixture;

beforeAll(async () => {
  [seedA, seedB, otherSeed] = await Promise.all([database('vbz_seed_a'), database('vbz_seed_b'), database('vbz_other')]);
  [fixtureA, fixtureB, fixtureOther] = await Promise.all([
    generateVbzcart(seedA.db),
    generateVbzcart(seedB.db),
    generateVbzcart(otherSeed.db, { seed: 7 }),
  ]);
});
afterAll(async () => {
  await Promise.all(opened.map((t) => t.drop()));
});

async function scalar(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query(sql, params);
  return Number(Object.values(row ?? {})[0] ?? NaN);
}

/** The keys the mapping's own problem check reports, built from its declaration (from, joins, where, key). */
async function problemKeys(db: Db, name: VbzcartProblemName): Promise<number[]> {
  const problem = mapping.problems![name]!;
  const sources = mapping.sources;
  // The mapping's SQL names legacy columns by alias placeholders; the mapping's own resolver fills them in.
  const sql = sourceTableNames(mapping).snippet;
  const joins = Object.entries(problem.join ?? {})
    .map(([alias, on]) => `LEFT JOIN ${quoteId(sources[alias]!)} AS ${quoteId(alias)} ON ${sql(on)}`)
    .join(' ');
  const key = problem.key === undefined ? `${problem.from}.ID` : sql(problem.key);
  const rows = await db.query<{ k: string | number }>(
    `SELECT ${key} AS k FROM ${quoteId(sources[problem.from]!)} AS ${quoteId(problem.from)} ${joins} ` +
      `WHERE ${sql(problem.where)} ORDER BY 1`,
  );
  return rows.map((r) => Number(r.k));
}

async function databaseFingerprint(db: Db): Promise<Record<string, { ddl: string; checksum: ContentChecksum }>> {
  const result: Record<string, { ddl: string; checksum: ContentChecksum }> = {};
  for (const table of fixtureTables) {
    const [create] = await db.query<{ 'Create Table': string }>(`SHOW CREATE TABLE ${quoteId(table)}`);
    const info = await describeTable(db, table);
    result[table] = { ddl: create!['Create Table'], checksum: await tableChecksum(db, table, info!.columns) };
  }
  return result;
}

/** Checks everything the fixture says about the database it made against the database itself. */
async function expectFixtureMatches(db: Db, fixture: VbzcartFixture): Promise<void> {
  expect(await scalar(db, 'SELECT COUNT(*) FROM ord_pull')).toBe(fixture.counts.pulls);
  expect(await scalar(db, 'SELECT MAX(ID) FROM ord_pull')).toBe(fixture.maxPullId);
  expect(await scalar(db, 'SELECT MIN(ID) FROM ord_pull')).toBe(1);
  expect(fixture.span).toBe(Math.ceil(fixture.maxPullId / 100) * 100);
  expect(await scalar(db, 'SELECT COUNT(*) FROM ord_pull WHERE DAYNAME(WhenFreed) IS NOT NULL')).toBe(fixture.counts.released);
  expect(await scalar(db, 'SELECT COUNT(*) FROM ord_pull WHERE DAYNAME(WhenFreed) IS NOT NULL AND WhenFreed <= WhenPulled')).toBe(0);
  expect(await scalar(db, 'SELECT COUNT(*) FROM orders')).toBe(fixture.counts.orders);
  expect(await scalar(db, 'SELECT COUNT(*) FROM ord_hold_type')).toBe(fixture.counts.holdTypes);
  expect(
    await scalar(
      db,
      'SELECT COUNT(DISTINCT ID_Ord) FROM ord_pull pull JOIN orders ON orders.ID = pull.ID_Ord WHERE DAYNAME(pull.WhenFreed) IS NULL',
    ),
  ).toBe(fixture.counts.ordersHeld);
  const legacyWhen = sourceTableNames(mapping).snippet((mapping.steps.holdOn!.rows.legacy as { when: string }).when);
  expect(await scalar(db, `SELECT COUNT(*) FROM ord_pull pull WHERE ${legacyWhen}`)).toBe(fixture.counts.eventsByTable.event_vc_legacy);
  expect(fixture.counts.eventsByTable.event).toBe(fixture.counts.pulls + fixture.counts.released);

  // Existing events: the two blocks, nothing else but planted conflicts, AUTO_INCREMENT after the max.
  const { existingLow: low, existingHigh: high, holdOn, holdOff, inReservedRange } = fixture.eventIds;
  expect(await scalar(db, 'SELECT COUNT(*) FROM event')).toBe(fixture.counts.existingEvents);
  expect(fixture.counts.existingEvents).toBe(low.count + high.count + inReservedRange.length);
  expect(await scalar(db, 'SELECT COUNT(*) FROM event WHERE ID BETWEEN ? AND ?', [low.first, low.last])).toBe(low.count);
  expect(await scalar(db, 'SELECT COUNT(*) FROM event WHERE ID BETWEEN ? AND ?', [high.first, high.last])).toBe(high.count);
  expect(await scalar(db, 'SELECT COUNT(*) FROM event WHERE ID > ? AND ID < ?', [low.last, high.first])).toBe(inReservedRange.length);
  expect(await scalar(db, 'SELECT MAX(ID) FROM event')).toBe(high.last);
  expect(high.first).toBe(1500 + 2 * fixture.span + 1055);
  expect(holdOn).toEqual({ first: 1501, last: 1500 + fixture.maxPullId });
  expect(holdOff).toEqual({ first: 1501 + fixture.span, last: 1500 + fixture.span + fixture.maxPullId });
  expect(low.last).toBeLessThan(holdOn.first);
  expect(holdOff.last).toBeLessThan(high.first);
  expect((await describeTable(db, 'event'))!.autoIncrement).toBe(fixture.eventIds.nextAutoIncrement);

  for (const name of problemNames) expect(await problemKeys(db, name), name).toEqual([...fixture.problems[name]].sort((a, b) => a - b));
  // Targets are the tool's to create.
  expect(await describeTable(db, 'event_vc_ord_hold')).toBeNull();
  expect(await describeTable(db, 'event_vc_legacy')).toBeNull();
}

describe('generateVbzcart', () => {
  it("reproduces the seed's shape exactly by default", async () => {
    expect(fixtureA.counts.pulls).toBe(1665);
    expect(fixtureA.maxPullId).toBe(1883);
    expect(fixtureA.counts.released).toBe(528);
    expect(fixtureA.span).toBe(1900);
    expect(fixtureA.eventIds.existingLow).toEqual({ first: 1, last: 1229, count: 1229 });
    expect(fixtureA.eventIds.existingHigh.first).toBe(6355);
    expect(fixtureA.eventIds.existingHigh.count).toBeGreaterThanOrEqual(200);
    expect(fixtureA.eventIds.inReservedRange).toEqual([]);
    expect(fixtureA.counts.orders / fixtureA.counts.pulls).toBeGreaterThan(0.7);
    expect(fixtureA.counts.orders / fixtureA.counts.pulls).toBeLessThan(0.85);
    expect(seedShape).toMatchObject({ pulls: 1665, maxPullId: 1883, released: 528, lowEvents: 1229, highEventsFirst: 6355 });
    await expectFixtureMatches(seedA.db, fixtureA);
    expect(await scalar(seedA.db, 'SELECT COUNT(*) FROM event WHERE ID BETWEEN 1230 AND 6354')).toBe(0);
    // Several pulls per order sometimes; other event types exist already.
    expect(await scalar(seedA.db, 'SELECT MAX(c) FROM (SELECT COUNT(*) AS c FROM ord_pull GROUP BY ID_Ord) x')).toBeGreaterThan(1);
    expect(await scalar(seedA.db, "SELECT COUNT(DISTINCT TypeCode) FROM event WHERE TypeCode NOT LIKE 'vc.order.hold.%'")).toBeGreaterThan(
      3,
    );
  });

  it('creates the legacy tables as declared: latin1, InnoDB, the columns the mapping reads', async () => {
    for (const table of Object.keys(legacyTablesDdl)) {
      const [row] = await seedA.db.query<{ ENGINE: string; TABLE_COLLATION: string }>(
        'SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [seedA.name, table],
      );
      expect(row, table).toMatchObject({ ENGINE: 'InnoDB', TABLE_COLLATION: expect.stringMatching(/^latin1_/) });
    }
    const pull = await describeTable(seedA.db, 'ord_pull');
    expect(pull!.columns.map((c) => c.name)).toEqual([
      'ID',
      'ID_Ord',
      'ID_Type',
      'WhenPulled',
      'NotesPull',
      'VbzUser',
      'SysUser',
      'Machine',
      'WhenFreed',
      'NotesFree',
    ]);
    expect(pull!.columns.find((c) => c.name === 'NotesPull')!.charset).toBe('latin1');
    const orders = await describeTable(seedA.db, 'orders');
    expect(orders!.columns.map((c) => c.name)).toEqual([
      'ID',
      'Number',
      'ID_Cust',
      'WhenCreated',
      'WhenNeeded',
      'ID_Pull',
      'WhenClosed',
      'Notes',
    ]);
    expect(await scalar(seedA.db, 'SELECT COUNT(*) FROM ord_hold_type WHERE ID BETWEEN 1 AND 8')).toBe(8);
  });

  it('is deterministic: the same seed gives the same database, another seed another of the same shape', async () => {
    expect(fixtureB).toEqual(fixtureA);
    const a = await databaseFingerprint(seedA.db);
    expect(await databaseFingerprint(seedB.db)).toEqual(a);

    const other = await databaseFingerprint(otherSeed.db);
    expect(other.ord_pull!.checksum.rows).toBe(a.ord_pull!.checksum.rows);
    expect(other.ord_pull!.checksum.hash).not.toBe(a.ord_pull!.checksum.hash);
    expect(other.orders!.checksum.hash).not.toBe(a.orders!.checksum.hash);
    expect(other.event!.checksum.hash).not.toBe(a.event!.checksum.hash);
    expect(fixtureOther.problems).not.toEqual(fixtureA.problems);
    expect({ max: fixtureOther.maxPullId, released: fixtureOther.counts.released }).toEqual({ max: 1883, released: 528 });
    await expectFixtureMatches(otherSeed.db, fixtureOther);
  });

  it('plants a few of each default data problem at the keys it reports', async () => {
    for (const name of ['unknownHoldType', 'orphanPull', 'zeroWhenFreed', 'pointerToReleasedPull', 'danglingPullPointer'] as const) {
      expect(fixtureA.problems[name].length, name).toBeGreaterThanOrEqual(2);
    }
    expect(fixtureA.problems.invalidWhenPulled).toEqual([]);
    const zeroFreed = await seedA.db.query<{ WhenFreed: string }>(
      `SELECT WhenFreed FROM ord_pull WHERE ID IN (${fixtureA.problems.zeroWhenFreed.join(',')})`,
    );
    expect(zeroFreed.map((r) => r.WhenFreed)).toContain('0000-00-00 00:00:00');
    expect(
      await scalar(seedA.db, `SELECT COUNT(*) FROM ord_pull WHERE ID IN (${fixtureA.problems.unknownHoldType.join(',')}) AND ID_Type = 99`),
    ).toBeGreaterThan(0);
    // The dangling pointers name deleted pulls (inside the ID range), not IDs past the end.
    expect(
      await scalar(seedA.db, `SELECT MAX(ID_Pull) FROM orders WHERE ID IN (${fixtureA.problems.danglingPullPointer.join(',')})`),
    ).toBeLessThanOrEqual(1883);
  });

  it('plants the optional fatal problems and can leave out the default ones', async () => {
    const t = await database('vbz_fatal');
    const fixture = await generateVbzcart(t.db, {
      pulls: 3000,
      seed: 11,
      plant: { problems: false, zeroWhenPulled: 3, eventInRange: true },
    });
    expect(fixture.problems.invalidWhenPulled).toHaveLength(3);
    for (const name of problemNames.filter((p) => p !== 'invalidWhenPulled')) expect(fixture.problems[name], name).toEqual([]);
    expect(await scalar(t.db, "SELECT COUNT(*) FROM ord_pull WHERE WhenPulled = '0000-00-00 00:00:00'")).toBe(3);
    const [conflict] = fixture.eventIds.inReservedRange;
    expect(conflict).toBeGreaterThanOrEqual(fixture.eventIds.holdOn.first);
    expect(conflict).toBeLessThanOrEqual(fixture.eventIds.holdOn.last);
    expect(await scalar(t.db, 'SELECT COUNT(*) FROM event WHERE ID = ?', [conflict])).toBe(1);
    expect(await scalar(t.db, 'SELECT COUNT(*) FROM ord_pull WHERE ID = ?', [conflict! - 1500])).toBe(1);
    await expectFixtureMatches(t.db, fixture);
  });

  it('creates the target tables only when asked', async () => {
    const t = await database('vbz_targets');
    await generateVbzcart(t.db, { pulls: 50, createTargets: true });
    expect(await describeTable(t.db, 'event_vc_ord_hold')).not.toBeNull();
    expect(await describeTable(t.db, 'event_vc_legacy')).not.toBeNull();
    await expect(generateVbzcart(t.db, { pulls: 50 })).rejects.toThrow(/empty database/);
  });

  it('stores latin1 text as cp1252 bytes, with quotes, backslashes, tabs and newlines intact', async () => {
    const { pullId, text } = fixtureA.latin1Sample;
    const [row] = await seedA.db.query<{ hex: string; note: string }>(
      'SELECT HEX(NotesPull) AS hex, NotesPull AS note FROM ord_pull WHERE ID = ?',
      [pullId],
    );
    expect(row!.note).toBe(text);
    expect(row!.hex).toBe(cp1252Hex(text));
    expect(row!.hex).toMatch(/^(..)*80/); // the euro sign is 0x80 in cp1252
    // Each of these kinds of legacy value occurs in some pull.
    const present = [
      "NotesPull LIKE '%\\t%'",
      "NotesPull LIKE '%\\n%'",
      "NotesPull LIKE '%\\r\\n%'",
      "NotesPull LIKE '%\\\\\\\\%'",
      "NotesPull LIKE '%''%'",
      "NotesPull LIKE '%\"%'",
      'LENGTH(NotesPull) > 1000',
      "HEX(NotesPull) REGEXP '^(..)*(80|84|97|99)'",
      "Machine = ''",
      'Machine IS NULL',
      'VbzUser IS NULL AND SysUser IS NULL',
      'VbzUser IS NOT NULL',
    ];
    for (const where of present) expect(await scalar(seedA.db, `SELECT COUNT(*) FROM ord_pull WHERE ${where}`), where).toBeGreaterThan(0);
    expect(await scalar(seedA.db, 'SELECT COUNT(*) FROM event WHERE Descrip <> CONVERT(Descrip USING ascii)')).toBeGreaterThan(0);
  });

  it('generates 20,000 pulls quickly, in the same shape', async () => {
    const t = await database('vbz_20k');
    const started = performance.now();
    const progress: VbzcartProgress[] = [];
    const fixture = await generateVbzcart(t.db, { pulls: 20_000, seed: 3, batchRows: 2000, onProgress: (p) => progress.push(p) });
    expect(performance.now() - started).toBeLessThan(20_000);
    const pulls = progress.filter((p) => p.stage === 'pulls');
    expect(pulls.length).toBeGreaterThanOrEqual(10);
    expect(pulls.at(-1)).toEqual({ stage: 'pulls', done: 20_000, total: 20_000 });
    expect(progress.at(-1)).toEqual({ stage: 'events', done: fixture.counts.existingEvents, total: fixture.counts.existingEvents });
    expect(fixture.counts.pulls).toBe(20_000);
    expect(fixture.counts.released).toBe(6000);
    expect(fixture.maxPullId).toBeGreaterThan(20_000);
    expect(fixture.eventIds.existingLow).toEqual({ first: 1, last: 1229, count: 1229 });
    await expectFixtureMatches(t.db, fixture);
  });
});

/** cp1252 bytes of a string, as HEX() prints them: independent of the server's conversion tables. */
function cp1252Hex(text: string): string {
  const special: Record<string, number> = {
    '€': 0x80,
    '‚': 0x82,
    '„': 0x84,
    '…': 0x85,
    '‘': 0x91,
    '’': 0x92,
    '“': 0x93,
    '”': 0x94,
    '•': 0x95,
    '–': 0x96,
    '—': 0x97,
    '™': 0x99,
  };
  return [...text]
    .map((ch) => {
      const code = special[ch] ?? ch.charCodeAt(0);
      if (code > 0xff || (code >= 0x80 && code < 0xa0 && !(ch in special))) throw new Error(`${ch} is not in this cp1252 table`);
      return code.toString(16).toUpperCase().padStart(2, '0');
    })
    .join('');
}
