import { beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/index.ts';
import { RowChecksum, fingerprintSql } from '../../src/backup/row-checksum.ts';
import { tableChecksum, textOnceWorks } from '../../src/db/checksum.ts';
import { describeTable } from '../../src/db/introspect.ts';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';

const decimal = (n: bigint) => Buffer.from(n.toString(), 'latin1');

describe('RowChecksum', () => {
  it('counts rows and adds 64-bit fingerprints exactly, as SUM over DECIMAL does', () => {
    const sum = new RowChecksum('crc32c');
    expect(sum.result()).toEqual({ rows: 0, hash: '0', recipe: 'crc32c' });
    sum.add(decimal(1n));
    sum.add(decimal(0xffffffffffffffffn));
    sum.add(null); // a NULL fingerprint counts as a row and adds nothing
    expect(sum.result()).toEqual({ rows: 3, hash: (1n + 0xffffffffffffffffn).toString(), recipe: 'crc32c' });
  });

  it('stays exact past 2^53 and past the rows it adds up in plain numbers', () => {
    const sum = new RowChecksum('md5');
    const rows = (1 << 19) * 4 + 12_345;
    for (let i = 0; i < rows; i++) sum.add(decimal(i % 2 ? 0xffffffffffffffffn : 0xfedcba9876543210n));
    const expected = BigInt(Math.ceil(rows / 2)) * 0xfedcba9876543210n + BigInt(Math.floor(rows / 2)) * 0xffffffffffffffffn;
    expect(sum.result()).toEqual({ rows, hash: expected.toString(), recipe: 'md5' });
  });

  it('refuses a fingerprint that is not an unsigned 64-bit integer', () => {
    expect(() => new RowChecksum('md5').add(Buffer.from('123456789012345678901'))).toThrow(/64-bit/);
    expect(() => new RowChecksum('md5').add(Buffer.from('12a'))).toThrow(/decimal digits/);
  });
});

describe("a backup's checksum", () => {
  const ws = testWorkspace('row-checksum');
  let t: TestDatabase;
  beforeAll(async () => {
    t = await ws.database('row_checksum');
    await t.db.execute("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES'");
    await t.db.execute(`CREATE TABLE kinds (
      id INT NOT NULL PRIMARY KEY, latin VARCHAR(20) CHARACTER SET latin1, u TEXT CHARACTER SET utf8mb4, b BLOB, f FLOAT,
      d DOUBLE, dt DATETIME(6), ts TIMESTAMP NULL, j JSON, e ENUM('x','y'), bits BIT(5), g INT AS (id * 2) VIRTUAL
    ) ENGINE=InnoDB`);
    await t.db.execute(`INSERT INTO kinds (id, latin, u, b, f, d, dt, ts, j, e, bits) VALUES
      (1, _latin1 X'80E9', '😀', X'00FF', 0.1, 0.1, '0000-00-00 00:00:00', '2024-01-01 00:00:00', '{"a":1}', 'y', b'10101'),
      (2, '', '', '', -1.5e-30, 5e-324, '2024-02-30 01:02:03.456789', NULL, '[]', 'x', b'0'),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await t.db.execute('CREATE TABLE nothing (id INT PRIMARY KEY) ENGINE=InnoDB');
    await t.db.execute('CREATE TABLE rows_of_isam (v VARCHAR(5)) ENGINE=MyISAM');
    await t.db.execute("INSERT INTO rows_of_isam VALUES ('a'), ('a'), (NULL)");
  });

  it('is tableChecksum of the table, though it is taken in the same pass as the rows', async () => {
    const names = ['kinds', 'nothing', 'rows_of_isam'];
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: names });
    for (const name of names) {
      const entry = manifest.tables.find((e) => e.name === name)!;
      // The columns as the backup reads them: ENUM and SET by index (row-encoding.ts), the others by value.
      const columns = entry.columns.filter((c) => !c.generated);
      expect(columns.map((c) => c.name)).toEqual((await describeTable(t.db, name))!.columns.filter((c) => !c.generated).map((c) => c.name));
      // Rows files are written as the rows' stored text where the server has CRC32C(), and checksummed as that text.
      const recipe = t.db.capabilities.checksumRecipes.includes('crc32c-bytes') ? 'crc32c-bytes' : t.db.capabilities.checksumRecipe;
      expect(entry.checksum, name).toEqual(await tableChecksum(t.db, name, columns, { recipe }));
      expect(entry.checksum!.recipe).toBe(recipe);
    }
    expect(manifest.tables.map((e) => e.checksum!.rows)).toEqual([3, 0, 3]);
  });

  it('is the same by either recipe, on every kind of value, and each tells NULL from empty and one value from another', async () => {
    const columns = (await describeTable(t.db, 'kinds'))!.columns.filter((c) => !c.generated);
    // tableChecksum builds each row's text once for the CRC recipes where the server allows; MariaDB does, so the
    // sums of the fingerprints below (text built twice) check that way of computing it.
    if (t.db.capabilities.engine === 'mariadb') expect(await textOnceWorks(t.db)).toBe(true);
    for (const recipe of t.db.capabilities.checksumRecipes) {
      const sums = new RowChecksum(recipe);
      const rows = await t.db.query<{ f: string }>(`SELECT ${fingerprintSql(columns, recipe)} AS f FROM kinds`);
      for (const r of rows) sums.add(Buffer.from(String(r.f)));
      expect(sums.result(), recipe).toEqual(await tableChecksum(t.db, 'kinds', columns, { recipe }));
      // Row 2 holds '' where row 3 holds NULL: their fingerprints differ, and each differs from one value changed.
      const one = async (where: string) => (await tableChecksum(t.db, 'kinds', columns, { where, recipe })).hash;
      expect(await one('id = 2'), recipe).not.toBe(await one('id = 3'));
      await t.db.execute("UPDATE kinds SET u = 'x' WHERE id = 2");
      const changed = await one('id = 2');
      await t.db.execute("UPDATE kinds SET u = '' WHERE id = 2");
      expect(changed, recipe).not.toBe(await one('id = 2'));
    }
  });
});
