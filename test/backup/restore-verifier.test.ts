import { readFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/backup/index.ts';
import { connect } from '../../src/db/connection.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { leftoverTables, tableStates } from './table-state.ts';

const tables = ['first', 'second', 'third'];
const ws = testWorkspace('verifier');
let t: TestDatabase;
let opened = 0;
const onSecond: string[] = [];
/** Opens the second connection, recording the statements it runs. */
const openAnother = async () => {
  opened++;
  const db = await connect(t.url);
  const query = db.query.bind(db);
  db.query = (sql, params) => {
    onSecond.push(sql);
    return query(sql, params);
  };
  return db;
};

beforeAll(async () => {
  t = await ws.database('restore_verifier');
  await t.db.execute(
    'CREATE TABLE first (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) CHARACTER SET latin1, ' +
      'ts TIMESTAMP(3) NULL) ENGINE=InnoDB',
  );
  await t.db.execute(
    "INSERT INTO first (v, ts) VALUES ('a', '2024-06-01 12:00:00.125'), (_latin1 X'80', NULL), (NULL, '1999-12-31 23:59:59.999')",
  );
  await t.db.execute('CREATE TABLE second (k BIGINT UNSIGNED NOT NULL PRIMARY KEY, b BLOB, KEY b_prefix (b(4))) ENGINE=InnoDB');
  const rows = Array.from({ length: 20_000 }, (_, i) => [i + 1, Buffer.from((i + 1).toString(16).padStart(8, '0'), 'hex')]);
  await t.db.execute('INSERT INTO second (k, b) VALUES ?', [rows]);
  await t.db.execute("INSERT INTO second (k, b) VALUES (18446744073709551615, X'FF')"); // the halves meet near 2^63
  await t.db.execute('CREATE TABLE third (x DOUBLE) ENGINE=InnoDB');
  await t.db.execute('INSERT INTO third VALUES (0.1), (NULL)');
});

describe('restoreBackup with a second connection', () => {
  it('checksums a large table with an integer key in two halves, one on each connection, and restores exactly', async () => {
    const before = await tableStates(t.db, tables);
    const m = await createBackup(t.db, { dir: ws.dir, tables });
    await t.db.execute('DELETE FROM second WHERE k > 10');
    await t.db.execute("UPDATE first SET v = 'changed'");
    await t.db.execute('DROP TABLE third');
    const log: string[] = [];
    const result = await restoreBackup(t.db, { dir: ws.dir, id: m.id, connect: openAnother, log: (line) => log.push(line) });
    expect(opened).toBe(1);
    // (1 + 2^64 - 1) / 2: the upper half of `second`, the only table large enough to split.
    expect(onSecond.filter((sql) => sql.includes('WHERE `k` > 9223372036854775808'))).toHaveLength(1);
    expect(onSecond.filter((sql) => sql.includes('SUM('))).toHaveLength(1);
    expect(result.tables.map((r) => [r.name, r.action, r.rows, r.checksumVerified])).toEqual([
      ['first', 'restored', 3, true],
      ['second', 'restored', 20001, true],
      ['third', 'restored', 2, true],
    ]);
    expect(log.filter((l) => l.startsWith('Loaded ')).map((l) => l.split(' ')[1])).toEqual(tables);
    expect(await tableStates(t.db, tables)).toEqual(before);
    expect(await leftoverTables(t.db)).toEqual([]);
  });

  it('refuses when the halves do not add up to the recorded checksum, after staging, and changes nothing', async () => {
    const m = await createBackup(t.db, { dir: ws.dir, tables });
    // A manifest that records another checksum for the split table: only the verification can tell.
    const path = ws.path(m.id, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    manifest.tables[1].checksum.hash = (BigInt(manifest.tables[1].checksum.hash) + 1n).toString();
    await writeFile(path, JSON.stringify(manifest));
    await t.db.execute("UPDATE first SET v = 'later'");
    const before = await tableStates(t.db, tables);
    await expect(restoreBackup(t.db, { dir: ws.dir, id: m.id, connect: openAnother })).rejects.toMatchObject({
      kind: 'refused',
      subject: 'second',
      message: expect.stringMatching(/for table second do not match the backup's checksum/),
    });
    expect(await tableStates(t.db, tables)).toEqual(before);
    expect(await leftoverTables(t.db)).toEqual([]);
  });

  it('refuses a second connection to another database before changing anything', async () => {
    const m = await createBackup(t.db, { dir: ws.dir, tables: ['third'] });
    await expect(restoreBackup(t.db, { dir: ws.dir, id: m.id, connect: () => connect(`${serverUrl}/mysql`) })).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/must be to database es_restore_verifier_\w+, not mysql/),
    });
  });
});
