import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { serverUrl } from '../support/database.ts';
import { loadSakila } from '../support/public-data.ts';
import { sakilaMapping as mapping } from '../support/sakila-mapping.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';
import { migrate } from '../../src/run/migrate.ts';
import { rollback } from '../../src/run/rollback.ts';

/**
 * The Sakila mapping (test/support/sakila-mapping.ts) on the public Sakila database: its projections fill columns of
 * customer and film, whose `last_update` is `ON UPDATE CURRENT_TIMESTAMP`; nothing but the projected column changes.
 */
const ws = testWorkspace('sakila_writes');
const options = (t: TestDatabase) => ({ databaseUrl: t.url, mapping, backupDir: ws.path('backups'), reportDir: ws.path('reports') });

describe('writes on Sakila change only what the mapping says', () => {
  let t: TestDatabase;
  let original: Snapshot;

  beforeAll(async () => {
    t = await ws.database('sakila_writes');
    await loadSakila(serverUrl, t.name);
    original = await snapshot(t.db);
  }, 120_000);

  it('migrates and verifies; every last_update stays as it was', async () => {
    const result = await migrate(options(t));
    const failed = result.verification?.checks.filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(result.status).toBe('completed');
    // The report shows what the cutover breaks (accepted by the mapping) and the trigger the projection fires.
    const html = await readFile(join(result.reportDir!, 'report.html'), 'utf8');
    expect(html).toMatch(/<section id="dependents">[\s\S]*view <code>sales_by_store<\/code><\/td><td><span class="bad">breaks<\/span>[^<]*<\/td><td>by the mapping/);
    expect(html).toContain('<code>upd_film</code> (AFTER UPDATE ON <code>film</code>), by projection copies, accepted by the mapping');
    const report = JSON.parse(await readFile(join(result.reportDir!, 'report.json'), 'utf8'));
    expect(report.dependents.filter((d: { effect: string }) => d.effect === 'breaks')).toHaveLength(5);
    const now = await snapshot(t.db);
    for (const table of ['customer', 'film']) {
      const strip = (rows: string[]) => rows.map((r) => JSON.stringify({ ...JSON.parse(r), last_rental_date: undefined, copies: undefined }));
      expect(strip(now[table]!.rows).sort(), table).toEqual(original[table]!.rows);
    }
  }, 120_000);

  it('rolls back to the database it started from: rows, definitions, views, triggers and routines', async () => {
    const result = await rollback(options(t));
    expect(result.actions).toContain('put back trigger rental_date on rental as the backup has it (the renames had rewritten it)');
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
  }, 120_000);
});
