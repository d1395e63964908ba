import { describe, expect, it } from 'vitest';
import { createBackup, restoreBackup, type BackupManifest } from '../../src/backup/index.ts';
import { quoteId } from '../../src/db/quote.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { runSqlScript } from '../support/public-data.ts';
import { testWorkspace } from '../support/workspace.ts';
import { exactState, type ExactState } from './exact-state.ts';

/**
 * Objects a plain backup of rows and definitions gets wrong, each built from a peer project's test case (named in each
 * test) and taken through backup -> drop -> restore: they must come back identical (exact-state.ts), or the backup
 * must refuse them, saying why.
 */
const ws = testWorkspace('fidelity');

async function states(t: TestDatabase, tables: readonly string[]): Promise<Record<string, ExactState | null>> {
  const out: Record<string, ExactState | null> = {};
  for (const table of tables) out[table] = await exactState(t.db, table);
  return out;
}

/** Backs `tables` up, drops them all, restores the backup; returns the manifest. */
async function roundTrip(t: TestDatabase, tables: string[]): Promise<BackupManifest> {
  const manifest = await createBackup(t.db, { dir: ws.path('b'), tables });
  await t.db.execute('SET SESSION foreign_key_checks = 0');
  for (const table of tables) await t.db.execute(`DROP TABLE ${quoteId(table)}`);
  await t.db.execute('SET SESSION foreign_key_checks = 1');
  await restoreBackup(t.db, { dir: ws.path('b'), id: manifest.id });
  return manifest;
}

describe('values a text form cannot tell apart', () => {
  it('gives back an ENUM error value (index 0) as such, not as the member \'\' (mysql-test main/type_enum.test)', async () => {
    const t = await ws.database('enum_index');
    // Non-strict, as legacy applications wrote: a value that is no member is stored as the error value.
    await runSqlScript(serverUrl, t.name, `SET sql_mode = '';
      CREATE TABLE t1 (id INT PRIMARY KEY, e ENUM('', 'a', 'b'), s SET('', 'x', 'y'), n ENUM('1', '2', '0'));
      INSERT INTO t1 VALUES (1, '', '', '1'), (2, 'nope', 'x,y', '2'), (3, 'a', 'nope', 3), (4, NULL, NULL, '0'), (5, 3, 7, 1);`);
    const before = await states(t, ['t1']);
    expect(await t.db.query('SELECT id, e + 0 AS e FROM t1 WHERE id <= 2 ORDER BY id')).toEqual([{ id: 1, e: 1 }, { id: 2, e: 0 }]);
    const manifest = await roundTrip(t, ['t1']);
    expect(manifest.tables[0]!.columns.map((c) => c.encoding)).toEqual(['text', 'index', 'index', 'index']);
    expect(await states(t, ['t1'])).toEqual(before);
  });
});

describe('rows the table\'s own constraints would refuse today', () => {
  it('gives back rows that predate a CHECK constraint they violate (mysql-test main/check_constraint.test)', async () => {
    const t = await ws.database('check_violating');
    await runSqlScript(serverUrl, t.name, `CREATE TABLE t1 (a INT, b INT);
      INSERT INTO t1 VALUES (1, 2), (-1, 0), (3, 1);
      SET SESSION check_constraint_checks = 0;
      ALTER TABLE t1 ADD CONSTRAINT a_positive CHECK (a > 0), ADD CONSTRAINT b_gt_a CHECK (b > a);`);
    const before = await states(t, ['t1']);
    await roundTrip(t, ['t1']);
    expect(await states(t, ['t1'])).toEqual(before);
    // The constraint still holds for new rows.
    await expect(t.db.execute('INSERT INTO t1 VALUES (-5, 1)')).rejects.toThrow(/CONSTRAINT .*a_positive.* failed/);
  });
});
