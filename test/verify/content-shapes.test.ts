import { customType, int, mysqlTable } from 'drizzle-orm/mysql-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import vbzcart from '../../mappings/vbzcart-ord-pull/index.ts';
import { defineMapping, id, lit } from '../../src/mapping/define.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';

const ws = testWorkspace('content-shapes');

const bit1 = customType<{ data: number }>({ dataType: () => 'bit(1)' });

/** A target keyed by its own AUTO_INCREMENT ID: the step's ID goes to ID_Event, which nothing makes unique. */
const eventNote = mysqlTable('event_vc_note', {
  ID: int('ID', { unsigned: true }).autoincrement().primaryKey(),
  ID_Event: int('ID_Event', { unsigned: true }).notNull(),
  flag: bit1('flag').notNull(),
});

// VbzCart with that target added to holdOn: a BIT(1) written from an integer literal, as many a legacy flag is.
const holdOn = vbzcart.steps.holdOn!;
const mapping = defineMapping({
  ...vbzcart,
  targets: { ...vbzcart.targets, note: eventNote },
  steps: { ...vbzcart.steps, holdOn: { ...holdOn, rows: { ...holdOn.rows, note: { ID_Event: id, flag: lit(1) } } } },
});

let t: TestDatabase;
let backupDir: string;
beforeAll(async () => {
  t = await ws.database('content_shapes');
  backupDir = ws.path('backups');
  await generateVbzcart(t.db, { seed: 6161, pulls: 250 });
});

describe('content checks of targets of other shapes', () => {
  it('pass for a BIT(1) column written from the integer 1, and for a target not keyed by the step ID', async () => {
    const run = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: ws.path('report') });
    expect(run.verification?.checks.filter((c) => !c.ok)).toEqual([]);
    expect(run.status).toBe('completed');
    const [bits] = await t.db.query<{ n: string; ones: string }>('SELECT COUNT(*) AS n, SUM(flag = 1) AS ones FROM event_vc_note');
    expect(Number(bits!.n)).toBeGreaterThan(0);
    expect(bits!.ones).toBe(bits!.n);
  });

  it('name an ID that two rows of such a target carry, and leave the other targets alone', async () => {
    const [first] = await t.db.query<{ id: number }>('SELECT MIN(ID_Event) AS id FROM event_vc_note');
    const twice = Number(first!.id);
    await t.db.execute("INSERT INTO event_vc_note (ID_Event, flag) VALUES (?, b'1')", [twice]);
    const r = await verify({ databaseUrl: t.url, mapping, backupDir });
    expect(r.verification.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['holdOn.note.content']);
    const note = r.verification.checks.find((c) => c.id === 'holdOn.note.content')!;
    expect(note.failures).toEqual([{ key: String(twice), reason: '2 rows have this ID' }]);
    expect(note.failureCount).toBe(1);
    // A changed flag is a difference in that column.
    await t.db.execute('DELETE FROM event_vc_note WHERE ID = (SELECT MAX(ID) FROM (SELECT ID FROM event_vc_note) AS x)');
    await t.db.execute("UPDATE event_vc_note SET flag = b'0' WHERE ID_Event = ?", [twice]);
    const changed = await verify({ databaseUrl: t.url, mapping, backupDir });
    expect(changed.verification.checks.find((c) => c.id === 'holdOn.note.content')!.failures).toEqual([
      {
        key: String(twice),
        legacyKey: String(twice - 1500),
        reason: 'differs from its legacy row in column flag',
        // A BIT column is compared, and shown, as the hex digits of its bits.
        values: [
          {
            column: 'flag',
            expected: { form: 'hex', value: '1', cut: false, bytes: null },
            found: { form: 'hex', value: '0', cut: false, bytes: null },
          },
        ],
      },
    ]);
  });
});
