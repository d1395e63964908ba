import { beforeAll, describe, expect, it } from 'vitest';
import { createBackup, type BackupManifest } from '../../src/backup/index.ts';
import { preRunDifferences, withBackedUpRows } from '../../src/engine/pre-run-diff.ts';
import type { RenameState } from '../../src/mapping/compile.ts';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';

/** The rows that existed before a run, compared one by one with the backup's copy of them. */
const ws = testWorkspace('pre-run-diff');
const noRenames: RenameState = { tables: new Map(), columns: new Map(), done: true };

describe('comparing pre-run rows with the backup', () => {
  let t: TestDatabase;
  let manifest: BackupManifest;
  const differences = (m: BackupManifest, table: string) => {
    const entry = m.tables.find((e) => e.name === table)!;
    return withBackedUpRows(t.db, { backup: { dir: ws.dir, manifest: m }, entry }, (staged) =>
      preRunDifferences(t.db, { entry, staged, renames: noRenames, ranges: [], limit: 10 }),
    );
  };

  beforeAll(async () => {
    t = await ws.database('pre_run_diff');
    // Keys that differ only in case, held apart by a binary collation in a database whose default is not.
    await t.db.execute(`ALTER DATABASE ${t.name} COLLATE utf8mb4_general_ci`);
    await t.db.execute('CREATE TABLE codes (code VARCHAR(8) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, n INT) ENGINE=InnoDB');
    await t.db.execute("INSERT INTO codes VALUES ('a', 1), ('A', 2), ('b', 3)");
    await t.db.execute('CREATE TABLE loose (n INT) ENGINE=InnoDB');
    await t.db.execute('INSERT INTO loose VALUES (1), (1)');
    manifest = await createBackup(t.db, { dir: ws.dir, tables: ['codes', 'loose'] });
  });

  it("records each column's collation, and keeps keys apart that the table keeps apart", async () => {
    expect(manifest.tables.find((e) => e.name === 'codes')!.columns.map((c) => c.collation)).toEqual(['utf8mb4_bin', null]);
    expect(await differences(manifest, 'codes')).toEqual({ count: 0, rows: [] });
    await t.db.execute("UPDATE codes SET n = 20 WHERE code = 'A'");
    expect(await differences(manifest, 'codes')).toEqual({
      count: 1,
      rows: [{ key: 'code=A', change: 'changed', columns: [{ name: 'n', before: '2', now: '20' }] }],
    });
    // A backup written before collations were recorded takes the live column's.
    const older = { ...manifest, tables: manifest.tables.map((e) => ({ ...e, columns: e.columns.map(({ collation: _c, ...c }) => c) })) };
    expect((await differences(older, 'codes')).rows.map((r) => r.key)).toEqual(['code=A']);
    await t.db.execute("UPDATE codes SET n = 2 WHERE code = 'A'");
  });

  it('refuses a table without a primary key, saying so', async () => {
    await expect(differences(manifest, 'loose')).rejects.toThrow(
      "loose has no primary key, so its rows cannot be matched to the backup's one by one",
    );
  });
});
