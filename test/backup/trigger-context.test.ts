import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackup, restoreBackup, type BackupManifest } from '../../src/backup/index.ts';
import { serverUrl } from '../support/database.ts';
import { runSqlScript } from '../support/public-data.ts';
import { testWorkspace } from '../support/workspace.ts';
import { rawTrigger } from './exact-state.ts';

/**
 * Triggers come back as SHOW CREATE TRIGGER showed them, every field: built from MariaDB's mysql-test
 * main/ddl_i18n_koi8r.test (a trigger written in KOI8-R, in a utf8 database whose collation changes afterwards) and
 * main/mysqldump.test (a trigger created under sql_mode=traditional), plus the case: a trigger comparing
 * 'abc' with 'ABC', whose answer depends on the collation_connection it was created under.
 */
const ws = testWorkspace('triggers');

/** Text in KOI8-R bytes (Node encodes no KOI8-R; its TextDecoder gives the table to invert). */
function koi8r(text: string): Buffer {
  const decoder = new TextDecoder('koi8-r');
  const byChar = new Map<string, number>();
  for (let b = 0; b < 256; b++) byChar.set(decoder.decode(Uint8Array.of(b)), b);
  return Buffer.from([...text].map((c) => byChar.get(c) ?? 0x3f));
}

async function triggersOf(db: Parameters<typeof rawTrigger>[0], names: string[]): Promise<string[][]> {
  return Promise.all(names.map((n) => rawTrigger(db, n)));
}

async function backupDropRestore(t: Awaited<ReturnType<typeof ws.database>>, tables: string[]): Promise<BackupManifest> {
  const manifest = await createBackup(t.db, { dir: ws.path('b'), tables });
  for (const table of tables) await t.db.execute(`DROP TABLE \`${table}\``);
  await restoreBackup(t.db, { dir: ws.path('b'), id: manifest.id });
  return manifest;
}

describe('triggers come back in the context they were created in', () => {
  it("keeps collation_connection: 'abc' = 'ABC' is 1 before and after", async () => {
    const t = await ws.database('trg_collation');
    // The mariadb client's utf8mb4 connection collates utf8mb4_general_ci; eventshift's connections are utf8mb4_bin.
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE TABLE cmp (id INT PRIMARY KEY, same INT);
      CREATE TRIGGER cmp_same BEFORE INSERT ON cmp FOR EACH ROW SET NEW.same = ('abc' = 'ABC');
      INSERT INTO cmp (id) VALUES (1);`,
    );
    const before = await triggersOf(t.db, ['cmp_same']);
    const manifest = await backupDropRestore(t, ['cmp']);
    // Without EXECUTE IMMEDIATE (MySQL), a UTF-8 statement is sent as text, with the same result.
    await restoreBackup(
      { ...t.db, capabilities: { ...t.db.capabilities, executeImmediate: false } },
      { dir: ws.path('b'), id: manifest.id },
    );
    expect(manifest.tables[0]!.triggers[0]).toMatchObject({ characterSetClient: 'utf8mb4', collationConnection: 'utf8mb4_general_ci' });
    expect(await triggersOf(t.db, ['cmp_same'])).toEqual(before);
    await t.db.execute('INSERT INTO cmp (id) VALUES (2)');
    expect(await t.db.query('SELECT id, same FROM cmp ORDER BY id')).toEqual([
      { id: 1, same: 1 },
      { id: 2, same: 1 },
    ]);
    // The session is eventshift's own again.
    expect(await t.db.query('SELECT @@collation_connection AS c, @@character_set_client AS s')).toEqual([
      { c: 'utf8mb4_bin', s: 'utf8mb4' },
    ]);
  });

  it('keeps a KOI8-R statement, its character set and the collation its database had (ddl_i18n_koi8r.test)', async () => {
    const t = await ws.database('trg_koi8r');
    await t.db.execute(`ALTER DATABASE \`${t.name}\` DEFAULT CHARACTER SET utf8 DEFAULT COLLATE utf8_unicode_ci`);
    await runSqlScript(
      serverUrl,
      t.name,
      koi8r(`CREATE TABLE t1(c INT);
CREATE TABLE log(msg VARCHAR(255));
DELIMITER |
CREATE TRIGGER trg1 BEFORE INSERT ON t1 FOR EACH ROW
BEGIN
  DECLARE перем1 CHAR(10);

  INSERT INTO log VALUES(COLLATION(перем1));
  INSERT INTO log VALUES(COLLATION('текст'));
  INSERT INTO log VALUES(COLLATION(_koi8r    'текст'));
  INSERT INTO log VALUES(@@collation_connection);
  INSERT INTO log VALUES(@@character_set_client);

  SET @a1 = 'текст';
END|
CREATE TRIGGER trg2 AFTER INSERT ON t1 FOR EACH ROW
BEGIN
  DECLARE перем1 CHAR(10) CHARACTER SET utf8;

  INSERT INTO log VALUES(COLLATION(перем1));
  INSERT INTO log VALUES(COLLATION('текст'));
  SET @b1 = 'текст';
END|
DELIMITER ;
`),
      'koi8r',
    );
    await t.db.execute(`ALTER DATABASE \`${t.name}\` COLLATE cp866_general_ci`);
    const fire = async () => {
      await t.db.execute('DELETE FROM log');
      await t.db.execute('INSERT INTO t1 VALUES (0)');
      const [vars] = await t.db.query<{ a1: string; b1: string }>('SELECT @a1 AS a1, @b1 AS b1');
      return { log: (await t.db.query<{ msg: string }>('SELECT msg FROM log')).map((r) => r.msg), vars };
    };
    const firedBefore = await fire();
    expect(firedBefore.log).toEqual([
      'utf8mb3_unicode_ci',
      'koi8r_general_ci',
      'koi8r_general_ci',
      'koi8r_general_ci',
      'koi8r',
      'utf8mb3_general_ci',
      'koi8r_general_ci',
    ]);
    expect(firedBefore.vars).toEqual({ a1: 'текст', b1: 'текст' });
    await t.db.execute('DELETE FROM t1');
    const before = await triggersOf(t.db, ['trg1', 'trg2']);
    const manifest = await backupDropRestore(t, ['t1', 'log']);
    expect(manifest.tables[0]!.triggers.map((g) => [g.name, g.characterSetClient, g.databaseCollation])).toEqual([
      ['trg2', 'koi8r', 'utf8mb3_unicode_ci'],
      ['trg1', 'koi8r', 'utf8mb3_unicode_ci'],
    ]);
    expect(await triggersOf(t.db, ['trg1', 'trg2'])).toEqual(before);
    expect(await fire()).toEqual(firedBefore);
    // A server without EXECUTE IMMEDIATE (MySQL) could send the statement only as UTF-8: refused before anything changes.
    const noExecuteImmediate = { ...t.db, capabilities: { ...t.db.capabilities, executeImmediate: false } };
    await expect(restoreBackup(noExecuteImmediate, { dir: ws.path('b'), id: manifest.id })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/Trigger trg2 on table t1 was written in koi8r, .* no EXECUTE IMMEDIATE.*nothing was changed/),
    });
    expect(await triggersOf(t.db, ['trg1', 'trg2'])).toEqual(before);
    const [schema] = await t.db.query('SELECT DEFAULT_COLLATION_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [
      t.name,
    ]);
    expect(schema).toEqual({ c: 'cp866_general_ci' });
  });

  it('keeps sql_mode and the definer, and the order of two triggers on one event (mysqldump.test trg1..trg3)', async () => {
    const t = await ws.database('trg_mode');
    await runSqlScript(
      serverUrl,
      t.name,
      `CREATE TABLE t1 (a INT, b BIGINT DEFAULT NULL);
      SET sql_mode = 'traditional';
      CREATE DEFINER = 'nobody_here'@'localhost' TRIGGER trg3 AFTER UPDATE ON t1 FOR EACH ROW SET @fired := 'Yes';
      SET sql_mode = '';
      CREATE TRIGGER trg2a BEFORE UPDATE ON t1 FOR EACH ROW SET NEW.b = 12;
      CREATE TRIGGER trg2b BEFORE UPDATE ON t1 FOR EACH ROW PRECEDES trg2a SET NEW.b = NEW.b + 1;`,
    );
    const names = ['trg3', 'trg2a', 'trg2b'];
    const order =
      'SELECT TRIGGER_NAME AS n, ACTION_ORDER AS o FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME';
    const before = { triggers: await triggersOf(t.db, names), order: await t.db.query(order, [t.name]) };
    await backupDropRestore(t, ['t1']);
    expect({ triggers: await triggersOf(t.db, names), order: await t.db.query(order, [t.name]) }).toEqual(before);
  });

  it('restores the triggers of a version 2 backup, which recorded only their text and sql_mode, and says so', async () => {
    const t = await ws.database('trg_v2');
    await t.db.execute('CREATE TABLE t (a INT)');
    await t.db.execute('CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.a = NEW.a * 2');
    const manifest = await createBackup(t.db, { dir: ws.path('b'), tables: ['t'] });
    const path = join(ws.path('b'), manifest.id, 'manifest.json');
    const v2 = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
    v2.formatVersion = 2;
    v2.tables[0]!.triggers = v2.tables[0]!.triggers.map(({ name, sqlMode, statement }) => ({ name, sqlMode, statement }));
    delete v2.tables[0]!.kind;
    await writeFile(path, JSON.stringify(v2, null, 2));
    await t.db.execute('DROP TABLE t');
    const log: string[] = [];
    await restoreBackup(t.db, { dir: ws.path('b'), id: manifest.id, log: (l) => log.push(l) });
    await t.db.execute('INSERT INTO t VALUES (2)');
    expect(await t.db.query('SELECT a FROM t')).toEqual([{ a: 4 }]);
    expect(log.join('\n')).toMatch(/Recreated trigger t_bi on t from a backup that did not record its character set and collations/);
  });
});
