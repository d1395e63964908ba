import { describe, expect, it } from 'vitest';
import { testWorkspace } from '../support/workspace.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import vbzcart from '../../mappings/vbzcart-ord-pull/index.ts';
import { col, defineMapping, renameTable } from '../../src/mapping/define.ts';
import { generateMediawiki } from '../../mappings/mediawiki-actor/fixture.ts';
import mediawikiActor from '../../mappings/mediawiki-actor/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { lineage } from '../../src/run/lineage.ts';

const ws = testWorkspace('after-cutover');

// VbzCart with one more value read from a column the cutover renames: each hold's Notes is its order's ID_Pull, which
// becomes `ID_Pull OLD` at cutover. Verification after the cutover must read it by its new name.
const holdOn = vbzcart.steps.holdOn!;
const mapping = defineMapping({
  ...vbzcart,
  steps: {
    ...vbzcart.steps,
    holdOn: {
      ...holdOn,
      join: { ...holdOn.join, orders: '{{orders.ID}} = {{pull.ID_Ord}}' },
      rows: { ...holdOn.rows, hold: { ...(holdOn.rows.hold as Record<string, never>), Notes: col('orders.ID_Pull') } },
    },
  },
});

describe('a step that reads a column the cutover renames', () => {
  it('verifies after the cutover, and lineage still finds its rows', async () => {
    const t = await ws.database('renamed_column');
    await generateVbzcart(t.db, { seed: 4242, pulls: 300 });
    const backupDir = ws.path('backups');
    const run = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: ws.path('report') });
    expect(run.status).toBe('completed');
    expect(await t.db.query("SHOW COLUMNS FROM orders LIKE 'ID_Pull OLD'")).toHaveLength(1);

    const after = await verify({ databaseUrl: t.url, mapping, backupDir });
    expect(after.verification.checks.filter((c) => !c.ok)).toEqual([]);
    const [hold] = await t.db.query<{ ID_Event: number; Notes: string | null }>(
      'SELECT ID_Event, Notes FROM event_vc_ord_hold WHERE Notes IS NOT NULL ORDER BY ID_Event LIMIT 1',
    );
    expect(hold).toBeDefined();
    // A changed copy of the renamed column is caught: the check reads the column, not a stale name.
    await t.db.execute('UPDATE event_vc_ord_hold SET Notes = CONCAT(Notes, 0) WHERE ID_Event = ?', [hold!.ID_Event]);
    const changed = await verify({ databaseUrl: t.url, mapping, backupDir });
    expect(changed.verification.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['holdOn.hold.content']);

    const found = await lineage({ databaseUrl: t.url, mapping, event: hold!.ID_Event });
    expect(JSON.stringify(found)).toContain(String(hold!.ID_Event - 1500));
  });
});

// The actor lookup with a cutover that renames one of its source tables: its checks after the cutover must read the
// table by its new name.
describe('a lookup whose source table the cutover renames', () => {
  it('verifies after the cutover', async () => {
    const t = await ws.database('renamed_lookup_source');
    await generateMediawiki(t.db, { seed: 5353, revisions: 300 });
    const renamed = defineMapping({ ...mediawikiActor, cutover: [renameTable('logging', 'OLD logging')] });
    const backupDir = ws.path('lookup-backups');
    const run = await migrate({ databaseUrl: t.url, mapping: renamed, backupDir, reportDir: ws.path('lookup-report') });
    expect(run.status).toBe('completed');
    expect(await t.db.query("SHOW TABLES LIKE 'OLD logging'")).toHaveLength(1);
    const after = await verify({ databaseUrl: t.url, mapping: renamed, backupDir });
    expect(after.verification.checks.filter((c) => !c.ok)).toEqual([]);
    expect(after.verification.checks.some((c) => c.kind === 'lookup' && c.table === 'OLD logging')).toBe(true);
  });
});
