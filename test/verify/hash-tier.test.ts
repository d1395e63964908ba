import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import type { CheckResult } from '../../src/verify/check-result.ts';

// The hash tier of the content checks (--verify hash): pieces whose hashes agree are settled, and any other piece is
// compared row by row, so a failure names the same rows, columns and values as --verify exact does.
const ws = testWorkspace('hash-tier');

let t: TestDatabase;
let backupDir: string;
beforeAll(async () => {
  t = await ws.database('hash_tier');
  backupDir = ws.path('backups');
  await generateVbzcart(t.db, { seed: 7272, pulls: 1200 });
});

const content = (checks: CheckResult[]) => checks.filter((c) => c.kind === 'content');
const verifyAs = (how: 'hash' | 'exact') => verify({ databaseUrl: t.url, mapping, backupDir, pieceRows: 100, contentCompare: how });

describe('content checks by hash', () => {
  it('settle every piece of a correct migration by its hashes', async () => {
    const run = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: ws.path('report'), contentCompare: 'hash' });
    expect(run.status).toBe('completed');
    expect(run.verification?.checks.filter((c) => !c.ok)).toEqual([]);
    expect(run.verification?.contentCompare).toBe('hash');
    const r = await verifyAs('hash');
    for (const c of content(r.verification.checks)) expect(c.method).toMatch(/^hashed in \d+ pieces; every piece settled by its hash$/);
    expect(Number(/hashed in (\d+)/.exec(content(r.verification.checks)[0]!.method!)![1])).toBeGreaterThan(5);
  });

  it('find a changed value, NULL made empty, values swapped between two rows and an extra row, naming them as exact does', async () => {
    // Keys of hold-on events, and a pull ID that no pull has (IDs have gaps), whose hold-on event ID nothing maps to.
    const [a, c] = await t.db.query<{ ID: number }>(
      'SELECT p.ID FROM `OLD ord_pull` AS p JOIN `OLD ord_pull` AS q ON q.ID_Ord <> p.ID_Ord AND q.ID = p.ID + 1 ' +
        'WHERE p.NotesPull IS NULL ORDER BY p.ID LIMIT 2',
    );
    // The NULL made '' is the only change in its piece (pieces of about 100 of the 1,200 pulls): the last such pull.
    const [b] = await t.db.query<{ ID: number }>('SELECT MAX(ID) AS ID FROM `OLD ord_pull` WHERE NotesPull IS NULL');
    const [gap] = await t.db.query<{ id: number }>(
      'SELECT MIN(p.ID + 1) AS id FROM `OLD ord_pull` AS p LEFT JOIN `OLD ord_pull` AS q ON q.ID = p.ID + 1 ' +
        'WHERE q.ID IS NULL AND p.ID < (SELECT MAX(ID) FROM `OLD ord_pull`)',
    );
    const ev = (pull: number | string) => Number(pull) + 1500;
    await t.db.execute("UPDATE event SET WhenStart = '2001-02-03 04:05:06' WHERE ID = ?", [ev(a!.ID)]);
    // NULL and '' must not hash alike.
    await t.db.execute("UPDATE event_vc_ord_hold SET Notes = '' WHERE ID_Event = ?", [ev(b!.ID)]);
    // Two rows' orders swapped: each row is wrong, the set of values in the column is not.
    await t.db.execute(
      'UPDATE event_vc_ord_hold AS x JOIN event_vc_ord_hold AS y ON x.ID_Event = ? AND y.ID_Event = ? ' +
        'SET x.ID_Order = y.ID_Order, y.ID_Order = x.ID_Order',
      [ev(c!.ID), ev(Number(c!.ID) + 1)],
    );
    await t.db.execute(
      "INSERT INTO event (ID, WhenStart, TypeCode, Descrip) VALUES (?, '2010-01-01 00:00:00', 'vc.order.hold.on', 'not mapped')",
      [ev(gap!.id)],
    );

    const hashed = content((await verifyAs('hash')).verification.checks);
    const exact = content((await verifyAs('exact')).verification.checks);
    const failing = (checks: CheckResult[]) =>
      checks
        .filter((x) => !x.ok)
        .map(({ id, failures, failureCount, expected, actual }) => ({ id, failures, failureCount, expected, actual }));
    expect(failing(hashed)).toEqual(failing(exact));

    const event = hashed.find((x) => x.id === 'holdOn.event.content')!;
    expect(event.failures).toContainEqual(
      expect.objectContaining({ key: String(ev(a!.ID)), reason: 'differs from its legacy row in column WhenStart' }),
    );
    expect(event.failures).toContainEqual({ key: String(ev(gap!.id)), reason: 'no legacy row maps to it' });
    const hold = hashed.find((x) => x.id === 'holdOn.hold.content')!;
    expect(hold.failures.map((f) => [f.key, f.reason])).toEqual([
      [String(ev(c!.ID)), 'differs from its legacy row in column ID_Order'],
      [String(ev(Number(c!.ID) + 1)), 'differs from its legacy row in column ID_Order'],
      [String(ev(b!.ID)), 'differs from its legacy row in column Notes'],
    ]);
    expect(hold.failures[2]!.values).toEqual([
      {
        column: 'Notes',
        expected: { form: 'null', value: null, cut: false, bytes: null },
        found: { form: 'text', value: '', cut: false, bytes: 0 },
      },
    ]);
    // Only the pieces that hold a difference were compared row by row; the rest were settled by their hashes.
    // Two pieces of hold rows hold a difference: the swapped pair's and the NULL made ''s, whose hashes must differ.
    expect(hold.method).toMatch(/^hashed in \d+ pieces; 2 pieces compared row by row$/);
    expect(hashed.find((x) => x.id === 'holdOn.legacy.content')!.method).toMatch(/every piece settled by its hash$/);
  });

  // Dense and chronological IDs are read through the lineage on both sides (the mapped rows' IDs and the target rows
  // of a piece), not computed from the legacy key.
  for (const ids of ['dense', 'chronological'] as const) {
    it(`settle ${ids} IDs by their hashes, and find a changed row as exact does`, async () => {
      const d = await ws.database(`hash_${ids}`);
      await generateVbzcart(d.db, { seed: 7373, pulls: 600 });
      const run = await migrate({
        databaseUrl: d.url,
        mapping,
        backupDir: ws.path(`b-${ids}`),
        overrides: { ids },
        contentCompare: 'hash',
      });
      expect(run.verification?.checks.filter((c) => !c.ok)).toEqual([]);
      const again = (how: 'hash' | 'exact') =>
        verify({ databaseUrl: d.url, mapping, backupDir: ws.path(`b-${ids}`), pieceRows: 100, contentCompare: how });
      for (const c of content((await again('hash')).verification.checks)) expect(c.method).toMatch(/every piece settled by its hash$/);
      const [row] = await d.db.query<{ id: number }>(
        "SELECT l.event_id AS id FROM eventshift_lineage AS l WHERE l.step = 'holdOff' ORDER BY l.legacy_key LIMIT 1 OFFSET 7",
      );
      await d.db.execute('UPDATE event_vc_ord_hold SET ID_Type = ID_Type + 1 WHERE ID_Event = ?', [row!.id]);
      const [hashed, exact] = [content((await again('hash')).verification.checks), content((await again('exact')).verification.checks)];
      const failing = (checks: CheckResult[]) => checks.filter((x) => !x.ok).map(({ id, failures }) => ({ id, failures }));
      expect(failing(hashed)).toEqual(failing(exact));
      expect(failing(hashed).map((f) => [f.id, f.failures.map((x) => [x.key, x.reason])])).toEqual([
        ['holdOff.hold.content', [[String(row!.id), 'differs from its legacy row in column ID_Type']]],
      ]);
    });
  }
});
