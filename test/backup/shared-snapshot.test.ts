import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackup, readManifest, restoreBackup, type BackupManifest } from '../../src/backup/index.ts';
import { openSnapshotReaders } from '../../src/backup/shared-snapshot.ts';
import { tableChecksum } from '../../src/db/checksum.ts';
import { connect } from '../../src/db/connection.ts';
import { describeTable } from '../../src/db/introspect.ts';
import { quoteId } from '../../src/db/quote.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { leftoverTables, tableStates } from './table-state.ts';

const ws = testWorkspace('shared');
let t: TestDatabase;

beforeAll(async () => {
  t = await ws.database('shared_snapshot');
  // Large enough to be read as two key ranges; text with every character a line could trip on; NULLs; a key gap.
  await t.db.execute(`CREATE TABLE big (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY, note TEXT CHARACTER SET latin1, b VARBINARY(8), at DATETIME(3), n DECIMAL(12,4)
  ) ENGINE=InnoDB`);
  await t.db.execute(`INSERT INTO big SELECT seq, IF(seq % 7 = 0, NULL, CONCAT('n', seq, IF(seq % 5 = 0, ',\\n\\t\\\\''x', ''))),
    IF(seq % 11 = 0, NULL, UNHEX(LPAD(HEX(seq), 8, '0'))), '2024-01-01 00:00:00' + INTERVAL seq SECOND, seq / 3 FROM seq_1_to_60000`);
  await t.db.execute("INSERT INTO big VALUES (90000, _latin1 X'809F00', X'00', NULL, NULL)");
  await t.db.execute('ANALYZE TABLE big');
  await t.db.execute('CREATE TABLE small (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB');
  await t.db.execute("INSERT INTO small VALUES (1, 'one'), (2, NULL)");
});

describe('a backup of a large table', () => {
  it('reads it as key ranges on two connections sharing one snapshot, into one file, and restores it exactly', async () => {
    const names = ['big', 'small'];
    const before = await tableStates(t.db, names);
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: names });
    expect(manifest.snapshot).toEqual({ connections: 2, shared: 'backup-stage' });
    const big = manifest.tables[0]!;
    expect(big.rows).toBe(60_001);
    expect(big.files.filter((f) => f.kind === 'rows')).toEqual([expect.objectContaining({ encoding: 'sql-quoted/binary' })]);
    const columns = (await describeTable(t.db, 'big'))!.columns;
    expect(big.checksum).toEqual(await tableChecksum(t.db, 'big', columns, { recipe: 'crc32c-bytes' }));

    await t.db.execute('DELETE FROM big WHERE id > 100');
    await t.db.execute("UPDATE small SET v = 'changed'");
    const result = await restoreBackup(t.db, { dir: ws.dir, id: manifest.id });
    expect(result.tables.map((r) => [r.name, r.rows, r.loadWarnings])).toEqual([
      ['big', 60_001, 0],
      ['small', 2, 0],
    ]);
    expect(await tableStates(t.db, names)).toEqual(before);
    expect(await leftoverTables(t.db)).toEqual([]);
  });

  it('is read on one connection when asked to, with the same content', async () => {
    const shared = await createBackup(t.db, { dir: ws.dir, tables: ['big'] });
    const single = await createBackup(t.db, { dir: ws.dir, tables: ['big'], connections: 1 });
    expect(single.snapshot).toEqual({ connections: 1, shared: 'single' });
    expect(single.tables[0]!.checksum).toEqual(shared.tables[0]!.checksum);
  });
});

describe('the readers of a backup', () => {
  it('see one snapshot, though another connection commits all the time', async () => {
    await t.db.execute('CREATE TABLE ticks (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB');
    const writer = await connect(t.url);
    let writing = true;
    let commits = 0;
    const writes = (async () => {
      while (writing) {
        await writer.execute('INSERT INTO ticks VALUES ()');
        commits++;
      }
    })();
    try {
      const seen: number[][] = [];
      for (let round = 0; round < 5; round++) {
        const snapshot = await openSnapshotReaders(t.db, 3);
        expect(snapshot.shared).toBe('backup-stage');
        const counts = await Promise.all(
          snapshot.readers.map(async (r) => Number((await r.query<{ n: string }>('SELECT COUNT(*) AS n FROM ticks'))[0]!.n)),
        );
        await snapshot.end(true);
        seen.push(counts);
      }
      // Each round's readers agree, and the writer went on committing between rounds.
      for (const counts of seen) expect(new Set(counts).size).toBe(1);
      expect(new Set(seen.map((c) => c[0])).size).toBeGreaterThan(1);
      expect(commits).toBeGreaterThan(5);
    } finally {
      writing = false;
      await writes;
      await writer.close();
    }
  });

  it("fall back to the caller's connection alone for a user without the RELOAD privilege", async () => {
    const user = `es_noreload_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    const admin = await connect(`${serverUrl}/${t.name}`);
    await admin.execute(`CREATE USER ${quoteId(user)}@'%' IDENTIFIED BY '${password}'`);
    try {
      await admin.execute(`GRANT ALL PRIVILEGES ON ${quoteId(t.name)}.* TO ${quoteId(user)}@'%'`);
      const url = new URL(serverUrl);
      const limited = await connect({ host: url.hostname, port: Number(url.port || 3306), user, password, database: t.name });
      try {
        const manifest = await createBackup(limited, { dir: ws.dir, tables: ['big'] });
        expect(manifest.snapshot).toEqual({ connections: 1, shared: 'single' });
        expect(manifest.tables[0]!.rows).toBe(60_001);
      } finally {
        await limited.close();
      }
    } finally {
      await admin.execute(`DROP USER ${quoteId(user)}@'%'`);
      await admin.close();
    }
  });
});

describe('a row whose text is longer than max_allowed_packet', () => {
  it('has its table written as load-data-tsv/binary, which sends each value on its own, and restored', async () => {
    const [{ max }] = (await t.db.query<{ max: string }>('SELECT @@max_allowed_packet AS max')) as [{ max: string }];
    // Hex doubles it: too long as one line of text, short enough as a value.
    await t.db.execute('CREATE TABLE huge (id INT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB');
    await t.db.execute('INSERT INTO huge VALUES (1, REPEAT(?, ?)), (2, NULL)', ['ab', Math.ceil(Number(max) / 3)]);
    const before = await tableStates(t.db, ['huge']);
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: ['huge'] });
    expect(manifest.tables[0]!.files.find((f) => f.kind === 'rows')).toMatchObject({ encoding: 'load-data-tsv/binary' });
    expect(manifest.tables[0]!.checksum).toMatchObject({ rows: 2, recipe: t.db.capabilities.checksumRecipe });
    await t.db.execute('DELETE FROM huge');
    await restoreBackup(t.db, { dir: ws.dir, id: manifest.id });
    expect(await tableStates(t.db, ['huge'])).toEqual(before);
    await t.db.execute('DROP TABLE huge');
  });
});

describe('backups of format version 1', () => {
  it('still restore; a manifest of a version this eventshift does not know is refused, naming it', async () => {
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: ['small'], rowsEncoding: 'load-data-tsv/binary' });
    const path = ws.path(manifest.id, 'manifest.json');
    const { snapshot: _snapshot, ...v2 } = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
    const v1 = {
      ...v2,
      formatVersion: 1,
      rowEncoding: 'load-data-tsv/binary',
      tables: v2.tables.map(({ kind: _kind, ...e }) => ({ ...e, files: e.files.map(({ encoding: _encoding, ...f }) => f) })),
    };
    await writeFile(path, JSON.stringify(v1, null, 2));
    expect((await readManifest(ws.dir, manifest.id)).formatVersion).toBe(1);
    await t.db.execute("UPDATE small SET v = 'changed'");
    const result = await restoreBackup(t.db, { dir: ws.dir, id: manifest.id });
    expect(result.tables.map((r) => [r.name, r.rows, r.checksumVerified])).toEqual([['small', 2, true]]);
    expect(await t.db.query('SELECT id, v FROM small ORDER BY id')).toEqual([
      { id: 1, v: 'one' },
      { id: 2, v: null },
    ]);

    await writeFile(path, JSON.stringify({ ...v1, formatVersion: 4 }, null, 2));
    await expect(readManifest(ws.dir, manifest.id)).rejects.toThrow(/formatVersion 4 is not one this eventshift reads \(1, 2, 3\)/);
  });
});
