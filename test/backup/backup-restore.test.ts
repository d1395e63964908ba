import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, readManifest, restoreBackup, type BackupManifest, type BackupProgress } from '../../src/backup/index.ts';
import { decodeStoredLine } from '../../src/backup/row-encoding.ts';
import { quoteId } from '../../src/db/quote.ts';
import { tableChecksum } from '../../src/db/checksum.ts';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { leftoverTables, tableStates } from './table-state.ts';

const STRICT = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';
const weird = 'we`ird tab le ✓';
const long = `long_${'x'.repeat(55)}_end`; // 64 characters: no room for a suffix
const tables = ['every_case', weird, long, 'my_isam', 'gen', 'ahead', 'parent', 'child', 'later'];

let t: TestDatabase;
let dir: string;

async function createFixture(db: TestDatabase['db']): Promise<void> {
  // Zero and invalid dates can only be written under a permissive sql_mode, as legacy applications did.
  await db.execute("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES'");
  await db.execute(`CREATE TABLE every_case (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    nul_or_empty VARCHAR(20) NULL,
    blob_any BLOB NULL,
    vb VARBINARY(300) NULL,
    bin4 BINARY(4) NULL,
    latin VARCHAR(300) CHARACTER SET latin1 NULL,
    latin_text TEXT CHARACTER SET latin1 NULL,
    emoji VARCHAR(100) CHARACTER SET utf8mb4 NULL,
    tricky TEXT NULL,
    dt6 DATETIME(6) NULL,
    ts6 TIMESTAMP(6) NULL DEFAULT NULL,
    zero_dt DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
    zero_d DATE NULL,
    dec65 DECIMAL(65,30) NULL,
    big_u BIGINT UNSIGNED NULL,
    big_s BIGINT NULL,
    bits BIT(13) NULL,
    bit1 BIT(1) NULL,
    j JSON NULL,
    e ENUM('a','b','c d') NULL,
    s SET('x','y','z') NULL,
    f FLOAT NULL,
    d DOUBLE NULL,
    t TIME(6) NULL,
    y YEAR NULL,
    g GEOMETRY NULL
  ) ENGINE=InnoDB AUTO_INCREMENT=1000 COMMENT='fidelity? yes: \\\\ ''quoted'''`);
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex');
  const latinHigh = Buffer.from(Array.from({ length: 128 }, (_, i) => 128 + i)).toString('hex');
  const latinLow = Buffer.from(Array.from({ length: 127 }, (_, i) => 1 + i)).toString('hex');
  // Row 0: AUTO_INCREMENT key 0, every other column NULL (zero_dt takes its zero default).
  await db.execute('INSERT INTO every_case (id) VALUES (0)');
  // Row 1: empty values everywhere a value can be empty.
  await db.execute(`INSERT INTO every_case (id, nul_or_empty, blob_any, vb, latin, latin_text, emoji, tricky, j, s, e)
    VALUES (1, '', '', '', '', '', '', '', '[]', '', 'zzz')`); // 'zzz' is no member: the ENUM's '' error value (index 0)
  // Row 2: every byte, every escape, extremes.
  await db.execute(`INSERT INTO every_case VALUES (2, 'NULL', X'${allBytes}', X'00090A0D5C275C4E22FF', X'00FF0A09',
    _latin1 X'${latinHigh}', _latin1 X'${latinLow}', '😀 café \u{1D11E} ✓',
    'tab\\there\\nnew\\rline\\\\back \\\\N \\0nul ''q'' "dq"',
    '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999999', '0000-00-00 00:00:00', '0000-00-00',
    '-12345678901234567890123456789012345.123456789012345678901234567890', 18446744073709551615, -9223372036854775808,
    b'1010101010101', b'1', '{"a": [1, 2.50, "x\\\\ty"], "b": null, "ü": "😀"}', 'c d', 'x,z',
    0.1, 0.1, '-838:59:59.000000', 0, ST_GeomFromText('POINT(1 2)', 4326))`);
  // Row 3: more edge values.
  await db.execute(`INSERT INTO every_case (id, zero_dt, zero_d, dt6, ts6, dec65, big_u, big_s, bits, bit1, f, d, t, y, g, e, s, vb, bin4)
    VALUES (3, '2024-02-30 12:00:00', '2024-00-15', '1000-01-01 00:00:00.000001', '1970-01-01 00:00:01.000001',
    '0.000000000000000000000000000001', 0, 9223372036854775807, b'0', b'0', 16777217, 1.7976931348623157e308,
    '-00:00:00.000001', 2155, ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), 'a', 'x,y,z', X'', X'61')`);
  await db.execute(`INSERT INTO every_case (id, f, d, t, y) VALUES (4, 3.4028235e38, 5e-324, '838:59:59', 1901),
    (5, 1.4e-45, -2.2250738585072014e-308, '00:00:00', 2000), (6, -1.17549435e-38, 123456789.12345679, '-00:00:01', 1999)`);

  await db.execute(`CREATE TABLE ${quoteId(weird)} (
    ${quoteId('id col')} INT NOT NULL PRIMARY KEY, ${quoteId('va`l ue')} VARCHAR(20), ${quoteId('naïve ✓')} VARBINARY(10)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  await db.execute(`INSERT INTO ${quoteId(weird)} VALUES (1, 'a\`b', X'0a'), (2, NULL, NULL), (3, '', X'')`);

  await db.execute(`CREATE TABLE ${quoteId(long)} (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB`);
  await db.execute(`INSERT INTO ${quoteId(long)} VALUES (18446744073709551615, 'max')`);

  await db.execute(`CREATE TABLE my_isam (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) CHARACTER SET latin1, b BLOB)
    ENGINE=MyISAM DEFAULT CHARSET=latin1`);
  await db.execute("INSERT INTO my_isam (v, b) VALUES ('one', X'00'), (_latin1 X'809F', NULL), (NULL, X'5C')");

  await db.execute(`CREATE TABLE gen (
    id INT NOT NULL PRIMARY KEY, a INT, b INT AS (a * 2) VIRTUAL, c VARCHAR(20) AS (CONCAT('x', a)) STORED, d VARCHAR(5),
    KEY c_key (c)
  ) ENGINE=InnoDB`);
  await db.execute("INSERT INTO gen (id, a, d) VALUES (1, 10, 'p'), (2, NULL, NULL)");

  await db.execute('CREATE TABLE ahead (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB AUTO_INCREMENT=5000');
  await db.execute("INSERT INTO ahead (id, v) VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  await db.execute('ALTER TABLE ahead AUTO_INCREMENT = 5000');
  await db.execute('CREATE TRIGGER ahead_upper BEFORE INSERT ON ahead FOR EACH ROW SET NEW.v = UPPER(NEW.v)');

  await db.execute('CREATE TABLE parent (id INT NOT NULL PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB');
  await db.execute(`CREATE TABLE child (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, parent_id INT,
    CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE
  ) ENGINE=InnoDB`);
  await db.execute("INSERT INTO parent VALUES (1, 'p1'), (2, 'p2')");
  await db.execute('INSERT INTO child (parent_id) VALUES (1), (1), (2), (NULL)');
  await db.execute(`SET SESSION sql_mode = '${STRICT}'`);
}

/** Changes every table the way a migration (or an accident) would. */
async function mutate(db: TestDatabase['db']): Promise<void> {
  await db.execute("UPDATE every_case SET tricky = 'changed', f = 1 WHERE id = 2");
  await db.execute('DELETE FROM every_case WHERE id = 0');
  await db.execute('INSERT INTO every_case (emoji) VALUES (NULL)');
  await db.execute(`DROP TABLE ${quoteId(weird)}`);
  await db.execute(`UPDATE ${quoteId(long)} SET v = 'min'`);
  await db.execute('TRUNCATE TABLE my_isam');
  await db.execute('ALTER TABLE gen ADD COLUMN extra INT');
  await db.execute("INSERT INTO ahead (v) VALUES ('four')");
  await db.execute('DROP TRIGGER ahead_upper');
  await db.execute("UPDATE parent SET v = 'changed'");
  await db.execute('DELETE FROM child WHERE parent_id = 2');
  await db.execute('CREATE TABLE later (id INT PRIMARY KEY)');
}

beforeAll(async () => {
  t = await freshDatabase('backup_restore');
  dir = await mkdtemp(join(tmpdir(), 'eventshift-backups-'));
  await createFixture(t.db);
});
afterAll(async () => {
  await t?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each([{ gzip: false }, { gzip: true }])('backup and restore (gzip: $gzip)', ({ gzip }) => {
  let manifest: BackupManifest;
  let before: Awaited<ReturnType<typeof tableStates>>;

  it('backs up every table, recording absent ones', async () => {
    before = await tableStates(t.db, tables);
    expect(before.later).toBeNull();
    const progress: BackupProgress[] = [];
    // The first progress report carries the server's estimate (TABLE_ROWS). The table the previous round restored
    // has statistics the server recalculates in the background, late under load: made current here.
    await t.db.query('ANALYZE TABLE every_case');
    manifest = await createBackup(t.db, {
      dir,
      tables,
      recordAbsent: true,
      label: 'fidelity',
      mapping: 'test-mapping',
      runId: 7,
      gzip,
      onProgress: (p) => progress.push(p),
    });
    expect(manifest).toMatchObject({
      format: 'eventshift-backup',
      formatVersion: 3,
      label: 'fidelity',
      mapping: 'test-mapping',
      runId: '7',
      database: t.name,
    });
    // A few rows: read on the caller's connection alone, not worth sharing the snapshot.
    expect(manifest.snapshot).toEqual({ connections: 1, shared: 'single' });
    expect(manifest.id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(manifest.serverVersion).toMatch(/MariaDB|^\d/);
    expect(await readManifest(dir, manifest.id)).toEqual(manifest);

    const byName = Object.fromEntries(manifest.tables.map((e) => [e.name, e]));
    expect(manifest.tables.map((e) => e.name)).toEqual(tables);
    expect(byName.later).toMatchObject({ exists: false, rows: 0, files: [], checksum: null });
    expect(byName.every_case).toMatchObject({
      exists: true,
      engine: 'InnoDB',
      transactional: true,
      rows: 7,
      autoIncrement: '1000',
      maxKey: '6',
      primaryKey: ['id'],
    });
    expect(byName.my_isam).toMatchObject({ engine: 'MyISAM', transactional: false, rows: 3, autoIncrement: '4' });
    expect(byName.ahead).toMatchObject({
      autoIncrement: '5000',
      maxKey: '3',
      triggers: [expect.objectContaining({ name: 'ahead_upper' })],
    });
    expect(byName[long]).toMatchObject({ maxKey: '18446744073709551615' });
    expect(byName.child).toMatchObject({ foreignKeys: ['fk_child_parent'] });
    expect(byName.gen!.columns.map((c) => [c.name, c.generated, c.encoding])).toEqual([
      ['id', false, 'text'],
      ['a', false, 'text'],
      ['b', true, null],
      ['c', true, null],
      ['d', false, 'text'],
    ]);
    expect(byName.every_case!.columns.filter((c) => c.encoding === 'hex').map((c) => c.name)).toEqual([
      'blob_any',
      'vb',
      'bin4',
      'bits',
      'bit1',
      'g',
    ]);

    // File names are safe and never carry the real (odd) names; the manifest does.
    const files = manifest.tables.flatMap((e) => e.files.map((f) => f.name));
    expect(files.every((f) => /^[0-9]{2}-[A-Za-z0-9_-]+-[0-9a-f]{8}\.(sql|rows|rows\.gz)$/.test(f))).toBe(true);
    const rowsFiles = manifest.tables.flatMap((e) => e.files.filter((f) => f.kind === 'rows'));
    expect(rowsFiles.every((f) => f.encoding === 'sql-quoted/binary' && f.compression === (gzip ? 'gzip' : null))).toBe(true);
    expect((await readdir(join(dir, manifest.id))).sort()).toEqual([...files, 'manifest.json'].sort());

    // Progress: each table reports 0 of its estimate, then that it ended, with its rows.
    expect(progress.filter((p) => p.table === 'every_case')).toEqual([
      { table: 'every_case', rows: 0, totalRows: 7, ended: false },
      { table: 'every_case', rows: 7, totalRows: 7, ended: true },
    ]);
    expect(progress.filter((p) => p.ended).map((p) => p.table)).toEqual(tables.filter((name) => name !== 'later'));
  });

  it('writes rows files that decode to the stored bytes', async () => {
    const entry = manifest.tables.find((e) => e.name === weird)!;
    const file = entry.files.find((f) => f.kind === 'rows')!;
    const raw = await readFile(join(dir, manifest.id, file.name));
    const text = gzip ? gunzipSync(raw) : raw;
    expect(text.toString('latin1')).toBe("1,'a`b',0A\n2,NULL,\\N\n3,'',\n");
    const lines = text
      .toString('latin1')
      .split('\n')
      .slice(0, -1)
      .map((l) => decodeStoredLine(Buffer.from(l, 'latin1')));
    expect(lines).toEqual([
      [Buffer.from('1'), Buffer.from('a`b'), Buffer.from('0A')],
      [Buffer.from('2'), null, null],
      [Buffer.from('3'), Buffer.alloc(0), Buffer.alloc(0)],
    ]);
    const schema = await readFile(join(dir, manifest.id, entry.files.find((f) => f.kind === 'schema')!.name), 'utf8');
    expect(schema).toBe(`${before[weird]!.create};\n`);
  });

  it('restores every table byte for byte, with its definition, AUTO_INCREMENT and triggers', async () => {
    await mutate(t.db);
    expect(await tableStates(t.db, tables)).not.toEqual(before);
    const sessionSql =
      'SELECT @@SESSION.sql_mode AS mode, @@SESSION.foreign_key_checks AS fk, @@SESSION.unique_checks AS uc, @@SESSION.time_zone AS tz';
    const sessionBefore = await t.db.query(sessionSql);
    const progress: string[] = [];
    const log: string[] = [];
    const result = await restoreBackup(t.db, {
      dir,
      id: manifest.id,
      onProgress: (p) => progress.push(`${p.table}:${p.rows}/${p.totalRows}${p.ended ? ' ended' : ''}`),
      log: (l) => log.push(l),
    });

    expect(await tableStates(t.db, tables)).toEqual(before);
    expect(await leftoverTables(t.db)).toEqual([]);
    const actions = Object.fromEntries(
      result.tables.map((r) => [r.name, [r.action, r.method, r.rows, r.checksumVerified, r.definitionMatches]]),
    );
    expect(actions).toEqual({
      every_case: ['restored', 'swap', 7, true, true],
      [weird]: ['restored', 'swap', 3, true, true],
      [long]: ['restored', 'swap', 1, true, true],
      my_isam: ['restored', 'swap', 3, true, true],
      gen: ['restored', 'swap', 2, true, true],
      ahead: ['restored', 'swap', 3, true, true],
      parent: ['restored', 'swap', 2, true, true],
      child: ['restored', 'swap', 4, true, true],
      later: ['dropped', null, 0, false, null],
    });
    expect(progress.filter((p) => p.startsWith('every_case:'))).toEqual(['every_case:7/7', 'every_case:7/7 ended']);
    expect(log.some((l) => l.includes('Swapped in'))).toBe(true);

    // The session is as it was, and the tables behave as before: trigger, AUTO_INCREMENT, foreign key.
    expect(await t.db.query(sessionSql)).toEqual(sessionBefore);
    await t.db.execute("INSERT INTO ahead (v) VALUES ('five')");
    expect(await t.db.query('SELECT id, v FROM ahead WHERE id >= 5000')).toEqual([{ id: 5000, v: 'FIVE' }]);
    await t.db.execute('DELETE FROM ahead WHERE id = 5000');
    await t.db.execute('ALTER TABLE ahead AUTO_INCREMENT = 5000');
    await expect(t.db.execute('INSERT INTO child (parent_id) VALUES (99)')).rejects.toThrow(/foreign key constraint fails/);
  });
});

describe('engine-specific types and tables', () => {
  it("restores MariaDB's own types, other character sets, invisible columns, and an Aria table without a key", async (ctx) => {
    if (t.db.capabilities.engine !== 'mariadb') ctx.skip();
    await t.db.execute(`CREATE TABLE maria_types (
      id INT PRIMARY KEY, u UUID, ip INET6, ip4 INET4, mp POLYGON, dbl DOUBLE(10,2), fl FLOAT(7,3),
      sj CHAR(5) CHARACTER SET sjis, uc VARCHAR(10) CHARACTER SET ucs2, inv INT INVISIBLE
    ) ENGINE=InnoDB`);
    await t.db.execute(`INSERT INTO maria_types (id, u, ip, ip4, mp, dbl, fl, sj, uc, inv) VALUES
      (1, UUID(), '::1', '10.0.0.1', ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), 12345678.91, 1234.567, _sjis X'815C', 'äb', 7),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await t.db.execute('CREATE TABLE aria_no_key (a INT, b VARCHAR(3)) ENGINE=Aria');
    await t.db.execute("INSERT INTO aria_no_key VALUES (1, 'a'), (1, 'a'), (NULL, NULL)");
    const names = ['maria_types', 'aria_no_key'];
    const before = await tableStates(t.db, names);
    const manifest = await createBackup(t.db, { dir, tables: names });
    expect(manifest.tables.map((e) => [e.engine, e.transactional, e.maxKey])).toEqual([
      ['InnoDB', true, '2'],
      ['Aria', false, null],
    ]);
    await t.db.execute('DELETE FROM maria_types');
    await t.db.execute('DELETE FROM aria_no_key WHERE a IS NULL');
    const result = await restoreBackup(t.db, { dir, id: manifest.id });
    expect(result.tables.map((r) => [r.name, r.rows, r.loadWarnings])).toEqual([
      ['maria_types', 2, 0],
      ['aria_no_key', 3, 0],
    ]);
    expect(await tableStates(t.db, names)).toEqual(before);
  });
});

describe('restore of part of a backup', () => {
  it('restores only the named tables, and names the tables a backup holds when asked for another', async () => {
    const manifest = await createBackup(t.db, { dir, tables: ['gen', 'ahead'] });
    await t.db.execute('DELETE FROM gen');
    await t.db.execute('DELETE FROM ahead WHERE id = 1');
    const result = await restoreBackup(t.db, { dir, id: manifest.id, tables: ['gen'] });
    expect(result.tables.map((r) => r.name)).toEqual(['gen']);
    expect(await t.db.query('SELECT COUNT(*) AS n FROM gen')).toEqual([{ n: '2' }]);
    expect(await t.db.query('SELECT COUNT(*) AS n FROM ahead')).toEqual([{ n: '2' }]);
    await expect(restoreBackup(t.db, { dir, id: manifest.id, tables: ['nope'] })).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/holds no table named nope; it holds: gen, ahead/),
    });
  });

  it('refuses to back up a view, and names it', async () => {
    await t.db.execute('CREATE VIEW some_view AS SELECT 1 AS one');
    await expect(createBackup(t.db, { dir, tables: ['gen', 'some_view'] })).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/at table some_view.*is a view, not a table/),
    });
    const leftovers = (await readdir(dir)).filter((n) => !n.startsWith('.'));
    const complete = await Promise.all(leftovers.map((n) => readdir(join(dir, n)).then((f) => f.includes('manifest.json'))));
    expect(complete.every(Boolean)).toBe(true);
  });
});

describe('checksum recipes', () => {
  it('restores a backup whose manifest predates recipes (md5, no recipe field), checking it by md5', async () => {
    const manifest = await createBackup(t.db, { dir, tables: ['every_case', 'gen'] });
    const path = join(dir, manifest.id, 'manifest.json');
    const old = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
    for (const entry of old.tables) {
      const columns = entry.columns.filter((c) => !c.generated);
      const { rows, hash } = await tableChecksum(t.db, entry.name, columns, { recipe: 'md5' });
      entry.checksum = { rows, hash };
    }
    await writeFile(path, JSON.stringify(old, null, 2));
    await t.db.execute('DELETE FROM every_case WHERE id = 2');
    const result = await restoreBackup(t.db, { dir, id: manifest.id });
    expect(result.tables.map((r) => [r.name, r.checksumVerified])).toEqual([
      ['every_case', true],
      ['gen', true],
    ]);
    expect((await readManifest(dir, manifest.id)).tables[0]!.checksum).not.toHaveProperty('recipe');
  });

  it('refuses, before changing anything, a backup whose recipe the server cannot compute', async () => {
    const manifest = await createBackup(t.db, { dir, tables: ['gen'] });
    const path = join(dir, manifest.id, 'manifest.json');
    const edited = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
    edited.tables[0]!.checksum!.recipe = 'crc32c';
    await writeFile(path, JSON.stringify(edited, null, 2));
    const olderServer = {
      ...t.db,
      capabilities: { ...t.db.capabilities, checksumRecipe: 'md5' as const, checksumRecipes: ['md5' as const] },
    };
    await expect(restoreBackup(olderServer, { dir, id: manifest.id })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/with the crc32c recipe, which this server .* cannot compute.*nothing was changed/),
    });
    edited.tables[0]!.checksum!.recipe = 'sha9' as never;
    await writeFile(path, JSON.stringify(edited, null, 2));
    await expect(readManifest(dir, manifest.id)).rejects.toThrow(/checksum\.recipe "sha9" is not one this eventshift knows/);
  });
});
