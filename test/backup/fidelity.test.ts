import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackup, restoreBackup, type BackupManifest } from '../../src/backup/index.ts';
import { columnValueSums, differingSums } from '../../src/backup/value-sums.ts';
import { recipeOf, tableChecksum } from '../../src/db/checksum.ts';
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
  it("gives back an ENUM error value (index 0) as such, not as the member '' (mysql-test main/type_enum.test)", async () => {
    const t = await ws.database('enum_index');
    // Non-strict, as legacy applications wrote: a value that is no member is stored as the error value.
    await runSqlScript(
      serverUrl,
      t.name,
      `SET sql_mode = '';
      CREATE TABLE t1 (id INT PRIMARY KEY, e ENUM('', 'a', 'b'), s SET('', 'x', 'y'), n ENUM('1', '2', '0'));
      INSERT INTO t1 VALUES (1, '', '', '1'), (2, 'nope', 'x,y', '2'), (3, 'a', 'nope', 3), (4, NULL, NULL, '0'), (5, 3, 7, 1);`,
    );
    const before = await states(t, ['t1']);
    expect(await t.db.query('SELECT id, e + 0 AS e FROM t1 WHERE id <= 2 ORDER BY id')).toEqual([
      { id: 1, e: 1 },
      { id: 2, e: 0 },
    ]);
    const manifest = await roundTrip(t, ['t1']);
    expect(manifest.tables[0]!.columns.map((c) => c.encoding)).toEqual(['text', 'index', 'index', 'index']);
    expect(await states(t, ['t1'])).toEqual(before);
  });
});

describe("rows the table's own constraints would refuse today", () => {
  it('gives back rows that predate a CHECK constraint they violate (mysql-test main/check_constraint.test)', async () => {
    const t = await ws.database('check_violating');
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE TABLE t1 (a INT, b INT);
      INSERT INTO t1 VALUES (1, 2), (-1, 0), (3, 1);
      SET SESSION check_constraint_checks = 0;
      ALTER TABLE t1 ADD CONSTRAINT a_positive CHECK (a > 0), ADD CONSTRAINT b_gt_a CHECK (b > a);`,
    );
    const before = await states(t, ['t1']);
    await roundTrip(t, ['t1']);
    expect(await states(t, ['t1'])).toEqual(before);
    // The constraint still holds for new rows.
    await expect(t.db.execute('INSERT INTO t1 VALUES (-5, 1)')).rejects.toThrow(/CONSTRAINT .*a_positive.* failed/);
  });
});

describe('tables whose rows are not simply theirs', () => {
  it('restores a MERGE table by its definition, never writing into its base tables (mysqldump.test Bug#25993)', async () => {
    const t = await ws.database('merge');
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE TABLE m1 (id SMALLINT) ENGINE=MyISAM;
      CREATE TABLE m2 (id SMALLINT) ENGINE=MyISAM;
      CREATE TABLE merged (id SMALLINT) ENGINE=MERGE UNION=(m1, m2) INSERT_METHOD=FIRST;
      INSERT INTO m1 VALUES (1), (2);
      INSERT INTO m2 VALUES (3);
      INSERT INTO merged VALUES (5), (6);`,
    );
    const before = await states(t, ['merged', 'm1', 'm2']);
    // Only the MERGE table: its base tables stay in place, live, while it is restored.
    const manifest = await roundTrip(t, ['merged']);
    expect(manifest.tables[0]).toMatchObject({
      kind: 'definition-only',
      rows: 0,
      checksum: null,
      files: [expect.objectContaining({ kind: 'schema' })],
    });
    expect(await states(t, ['merged', 'm1', 'm2'])).toEqual(before);
    expect(await t.db.query('SELECT COUNT(*) AS n FROM m1')).toEqual([{ n: '4' }]);
  });

  it('never loads rows into a MERGE table from a version 2 backup either, which kept them as its own', async () => {
    const t = await ws.database('merge_v2');
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE TABLE m1 (id SMALLINT) ENGINE=MyISAM;
      CREATE TABLE merged (id SMALLINT) ENGINE=MERGE UNION=(m1) INSERT_METHOD=LAST;
      INSERT INTO merged VALUES (5), (6);`,
    );
    const manifest = await createBackup(t.db, { dir: ws.path('b'), tables: ['merged', 'm1'] });
    // Version 2 wrote a MERGE table like any other: its rows file held the rows of its base table.
    const folder = join(ws.path('b'), manifest.id);
    const base = manifest.tables[1]!;
    const baseRows = base.files.find((f) => f.kind === 'rows')!;
    await copyFile(join(folder, baseRows.name), join(folder, `merged-${baseRows.name}`));
    const v2 = {
      ...manifest,
      formatVersion: 2,
      tables: [
        {
          ...manifest.tables[0]!,
          kind: undefined,
          rows: base.rows,
          checksum: base.checksum,
          files: [...manifest.tables[0]!.files, { ...baseRows, name: `merged-${baseRows.name}` }],
        },
        { ...base, kind: undefined },
      ],
    };
    await writeFile(join(folder, 'manifest.json'), JSON.stringify(v2, null, 2));
    const before = await states(t, ['merged', 'm1']);
    await t.db.execute('DROP TABLE merged');
    const result = await restoreBackup(t.db, { dir: ws.path('b'), id: manifest.id });
    expect(result.tables.map((r) => [r.name, r.action, r.checksumVerified])).toEqual([
      ['merged', 'restored', false],
      ['m1', 'restored', true],
    ]);
    expect(await states(t, ['merged', 'm1'])).toEqual(before);
  });

  it('gives a sequence back its state, so it goes on where it was (mysqldump.test MDEV-21786, MDEV-20070)', async () => {
    const t = await ws.database('sequence');
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE SEQUENCE s_cycle START WITH 10 MINVALUE 10 MAXVALUE 12 INCREMENT BY 1 NOCACHE CYCLE;
      SELECT NEXTVAL(s_cycle), NEXTVAL(s_cycle), NEXTVAL(s_cycle), NEXTVAL(s_cycle) INTO @a, @b, @c, @d;
      CREATE SEQUENCE s_ids INCREMENT 5 START WITH 1 CACHE 10;
      CREATE TABLE uses_seq (i INTEGER DEFAULT NEXTVAL(s_ids), j INTEGER, k INTEGER DEFAULT (NEXTVAL(s_ids) + 1000));
      INSERT INTO uses_seq (j) VALUES (1), (2);`,
    );
    const tables = ['s_cycle', 's_ids', 'uses_seq'];
    const before = await states(t, tables);
    // s_cycle went 10, 11, 12 and round to 10: its next value is 11, in its second cycle.
    expect(await t.db.query('SELECT next_not_cached_value AS n, cycle_count AS c FROM s_cycle')).toEqual([{ n: '11', c: '1' }]);
    const manifest = await roundTrip(t, tables);
    expect(manifest.tables.map((e) => e.kind)).toEqual(['sequence', 'sequence', 'table']);
    expect(await states(t, tables)).toEqual(before);
    expect(await t.db.query('SELECT NEXTVAL(s_cycle) AS n')).toEqual([{ n: '11' }]);
    // The column default calls the restored sequence, from where the original would go on after a restart.
    await t.db.execute('INSERT INTO uses_seq (j) VALUES (3)');
    expect(await t.db.query('SELECT i, k FROM uses_seq WHERE j = 3')).toEqual([{ i: 51, k: 1056 }]);
  });
});

describe('system-versioned tables', () => {
  it('come back with their history (versioning/mysqldump.test MDEV-16355; MyISAM partitioned by SYSTEM_TIME)', async () => {
    const t = await ws.database('versioned');
    await runSqlScript(
      serverUrl,
      t.name,
      `SET time_zone = '+00:00';
      CREATE TABLE t1 (x INT) WITH SYSTEM VERSIONING;
      SET timestamp = UNIX_TIMESTAMP('1990-01-01 00:00');
      INSERT t1 (x) VALUES (1), (2), (3);
      SET timestamp = UNIX_TIMESTAMP('1990-08-03 00:00');
      DELETE FROM t1 WHERE x = 1;
      SET timestamp = UNIX_TIMESTAMP('1991-01-02 00:00');
      DELETE FROM t1 WHERE x = 2;
      SET timestamp = DEFAULT;
      CREATE TABLE sv_partition (a INT NOT NULL PRIMARY KEY, note VARCHAR(10)) ENGINE=MyISAM WITH SYSTEM VERSIONING
        PARTITION BY SYSTEM_TIME (PARTITION p_hist HISTORY, PARTITION p_cur CURRENT);
      INSERT INTO sv_partition VALUES (1, 'a'), (2, 'b'), (3, 'c');
      DELETE FROM sv_partition WHERE a = 2;
      UPDATE sv_partition SET note = 'c2' WHERE a = 3;`,
    );
    const tables = ['t1', 'sv_partition'];
    const asOf = "SELECT x FROM t1 FOR SYSTEM_TIME AS OF TIMESTAMP '1990-09-01 00:00:00' ORDER BY x";
    const history =
      'SELECT PARTITION_NAME AS p, TABLE_ROWS AS n FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY p';
    const before = {
      states: await states(t, tables),
      asOf: await t.db.query(asOf),
      partitions: await t.db.query(history, [t.name, 'sv_partition']),
    };
    expect(before.asOf).toEqual([{ x: 2 }, { x: 3 }]);
    const manifest = await roundTrip(t, tables);
    expect(manifest.tables.map((e) => [e.kind, e.rows, e.columns.filter((c) => c.systemTime).map((c) => [c.name, c.systemTime])])).toEqual([
      [
        'system-versioned',
        3,
        [
          ['ROW_START', 'start'],
          ['ROW_END', 'end'],
        ],
      ],
      [
        'system-versioned',
        4,
        [
          ['ROW_START', 'start'],
          ['ROW_END', 'end'],
        ],
      ],
    ]);
    expect({
      states: await states(t, tables),
      asOf: await t.db.query(asOf),
      partitions: await t.db.query(history, [t.name, 'sv_partition']),
    }).toEqual(before);
  });

  it('refuses, at backup time, a table versioned by transaction id, saying why (versioning suite, SYS_DATATYPE bigint)', async () => {
    const t = await ws.database('versioned_trx');
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE TABLE t1 (x INT UNSIGNED, sys_start BIGINT UNSIGNED AS ROW START INVISIBLE,
        sys_end BIGINT UNSIGNED AS ROW END INVISIBLE, PERIOD FOR SYSTEM_TIME (sys_start, sys_end)) ENGINE=InnoDB WITH SYSTEM VERSIONING;
      INSERT INTO t1 (x) VALUES (3);`,
    );
    await expect(createBackup(t.db, { dir: ws.path('b'), tables: ['t1'] })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(
        /at table t1.*system-versioned by transaction id .*sys_start.*bigint\(20\) unsigned.*does not back it up/,
      ),
    });
  });
});

describe("mydumper's test database (test/mydumper_testing_db_template.sql)", () => {
  it('comes back identical: prefix indexes, a foreign key, a trigger with another DEFINER, a name ending in a dot', async () => {
    const t = await ws.database('mydumper_template');
    // uuid() and rand() replaced by values fixed in advance, so the copies compare.
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE TABLE \`mydumper_aipk_uuid_.\` (id int primary key auto_increment, val varchar(36));
      INSERT INTO \`mydumper_aipk_uuid_.\` (val) VALUES ('0f2c7e3a-1b2c-11ee-be56-0242ac120009');
      CREATE TABLE \`perftest\` (
        \`id\` int(11) NOT NULL AUTO_INCREMENT, \`val\` varchar(108) DEFAULT NULL,
        PRIMARY KEY (\`id\`), KEY \`val\` (\`val\`(2)), KEY \`val_2\` (\`val\`(4)), KEY \`val_3\` (\`val\`(8))
      ) ENGINE=InnoDB;
      CREATE TABLE \`perftest_2\` (
        \`id\` int(11) NOT NULL AUTO_INCREMENT, \`val\` varchar(108) DEFAULT NULL,
        PRIMARY KEY (\`id\`), KEY \`val\` (\`val\`(2)), KEY \`val_2\` (\`val\`(4)), KEY \`val_3\` (\`val\`(8))
      ) ENGINE=InnoDB;
      CREATE TABLE \`pertest_child\` (
        \`id\` int NOT NULL, PRIMARY KEY (\`id\`), CONSTRAINT \`pertest_child_ibfk_1\` FOREIGN KEY (\`id\`) REFERENCES \`perftest\` (\`id\`)
      ) ENGINE=InnoDB;
      INSERT INTO perftest (val) VALUES ('alpha'), ('beta'), ('gamma');
      INSERT INTO pertest_child VALUES (1), (3);
      CREATE TABLE t (qty INT, price INT);
      INSERT INTO t VALUES (3, 50);
      CREATE VIEW v AS SELECT qty, price, qty*price AS value FROM t;
      DELIMITER ;;
      CREATE DEFINER=\`root\`@\`localhost\` TRIGGER perftest_trigger  AFTER    UPDATE ON perftest    FOR EACH ROW      ` +
        `INSERT INTO perftest_2 VALUES (old.id,old.val) ;;
      DELIMITER ;`,
    );
    const tables = ['mydumper_aipk_uuid_.', 'perftest', 'perftest_2', 'pertest_child', 't'];
    const before = await states(t, tables);
    await roundTrip(t, tables);
    expect(await states(t, tables)).toEqual(before);
    // The view over t works again, and the trigger fires as its definer wrote it.
    expect(await t.db.query('SELECT value FROM v')).toEqual([{ value: '150' }]);
    await t.db.execute("UPDATE perftest SET val = 'ALPHA' WHERE id = 1");
    expect(await t.db.query('SELECT id, val FROM perftest_2')).toEqual([{ id: 1, val: 'alpha' }]);
    await expect(t.db.execute('INSERT INTO pertest_child VALUES (9)')).rejects.toThrow(/foreign key constraint fails/);
  });
});

describe('rows too long for their checksum fingerprint', () => {
  it(
    'are verified by sums of their values, which the fingerprint would take for NULL ' + '(mysql-test main/type_blob.test, packet.test)',
    async () => {
      const t = await ws.database('long_rows');
      await runSqlScript(
        serverUrl,
        t.name,
        `CREATE TABLE huge_blob (id INT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB;
      INSERT INTO huge_blob VALUES (1, REPEAT(0x00FF5C27220A0D1A, 2000000)), (2, 0x00);
      CREATE TABLE lost (id INT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB;
      INSERT INTO lost VALUES (1, NULL), (2, 0x00);
      CREATE TABLE small (id INT PRIMARY KEY, b BLOB);
      INSERT INTO small VALUES (1, 0x01);`,
      );
      const manifest = await createBackup(t.db, { dir: ws.path('b'), tables: ['huge_blob', 'small'] });
      const [huge, small] = manifest.tables;
      expect(small!.valueSums).toBeUndefined();
      expect(huge!.valueSums?.map((v) => v.column)).toEqual(['id', 'b']);
      // The checksum alone cannot tell the 16 MB value from NULL; the sums can.
      const columns = huge!.columns.filter((c) => !c.generated);
      expect(await tableChecksum(t.db, 'lost', columns, { recipe: recipeOf(huge!.checksum!) })).toEqual(huge!.checksum);
      expect(differingSums(huge!.valueSums!, await columnValueSums(t.db, 'lost', huge!.columns))).toEqual(['b']);

      const before = await states(t, ['huge_blob']);
      await t.db.execute('UPDATE huge_blob SET b = NULL WHERE id = 1');
      await restoreBackup(t.db, { dir: ws.path('b'), id: manifest.id, tables: ['huge_blob'] });
      expect(await states(t, ['huge_blob'])).toEqual(before);

      // Sums that disagree with the rows loaded: refused, nothing changed.
      const path = join(ws.path('b'), manifest.id, 'manifest.json');
      const edited = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
      edited.tables[0]!.valueSums![1]!.md5 = '1';
      await writeFile(path, JSON.stringify(edited, null, 2));
      await t.db.execute('DELETE FROM huge_blob WHERE id = 2');
      await expect(restoreBackup(t.db, { dir: ws.path('b'), id: manifest.id, tables: ['huge_blob'] })).rejects.toMatchObject({
        kind: 'refused',
        message: expect.stringMatching(/do not match the backup's sums of the values of b .*nothing was changed/),
      });
      expect(await t.db.query('SELECT id FROM huge_blob')).toEqual([{ id: 1 }]);
    },
  );
});
