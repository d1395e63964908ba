import { spawnSync } from 'node:child_process';
import { appendFile, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkBackup, createBackup, listBackups, readManifest, restoreBackup, type BackupManifest } from '../../src/backup/index.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { leftoverTables, tableState } from './table-state.ts';

const ws = testWorkspace('integrity');
let t: TestDatabase;

const clock = (iso: string) => () => new Date(iso);
const rowsFile = (m: BackupManifest, table: string) => m.tables.find((e) => e.name === table)!.files.find((f) => f.kind === 'rows')!;

beforeAll(async () => {
  t = await ws.database('backup_integrity');
  await t.db.execute('CREATE TABLE orders (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB');
  await t.db.execute("INSERT INTO orders (note) VALUES ('a'), ('b'), ('c')");
});

describe('backup files', () => {
  it('are private: the folders 0700, every file 0600', async () => {
    const dir = ws.path('private', 'backups');
    const m = await createBackup(t.db, { dir, tables: ['orders'], gzip: true, now: clock('2026-11-21T10:45:00.123Z') });
    expect(m.id).toMatch(/^20261121T104500Z-[0-9a-f]{6}$/);
    expect(m.createdAt).toBe('2026-11-21T10:45:00.123Z');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, m.id))).mode & 0o777).toBe(0o700);
    for (const name of ['manifest.json', ...m.tables[0]!.files.map((f) => f.name)]) {
      expect((await stat(join(dir, m.id, name))).mode & 0o777, name).toBe(0o600);
    }
  });

  it('refuse ids that are not backup ids, so no path leaves the backup folder', async () => {
    await expect(readManifest(ws.dir, '../etc')).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/is not a backup id/),
    });
    await expect(checkBackup(ws.dir, '20261121T104500Z-000000')).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/There is no backup/),
    });
  });
});

describe('createBackup', () => {
  it('refuses to run inside a transaction of the caller, whose snapshot it cannot share', async () => {
    const dir = ws.path('in-transaction');
    await expect(t.db.transaction(() => createBackup(t.db, { dir, tables: ['orders'] }))).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/this connection is inside one; commit or roll it back first/),
    });
    expect(await listBackups(dir)).toEqual([]);
  });
});

describe('a damaged backup', () => {
  it('is reported by checkBackup file by file, and restore refuses it without touching the database', async () => {
    const dir = ws.path('tamper');
    const m = await createBackup(t.db, { dir, tables: ['orders'] });
    const file = rowsFile(m, 'orders');
    await appendFile(join(dir, m.id, file.name), '4\td\n');
    await t.db.execute("UPDATE orders SET note = 'changed' WHERE id = 1");
    const before = await tableState(t.db, 'orders');

    const check = await checkBackup(dir, m.id);
    expect(check).toMatchObject({ status: 'damaged', ok: false });
    const damaged = check.files.find((f) => f.name === file.name)!;
    expect(damaged).toMatchObject({ ok: false, expectedBytes: file.bytes, actualBytes: file.bytes + 4, expectedSha256: file.sha256 });
    expect(damaged.actualSha256).not.toBe(file.sha256);
    expect(check.files.filter((f) => f.ok)).toHaveLength(1);
    expect(check.problems).toEqual([expect.stringContaining(`File ${file.name} (rows of table orders) has ${file.bytes + 4} bytes`)]);

    await expect(restoreBackup(t.db, { dir, id: m.id })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(new RegExp(`Backup ${m.id} failed its integrity check, so nothing was restored`)),
    });
    expect(await tableState(t.db, 'orders')).toEqual(before);
    expect(await leftoverTables(t.db)).toEqual([]);

    await unlink(join(dir, m.id, file.name));
    expect((await checkBackup(dir, m.id)).problems).toEqual([`File ${file.name} (rows of table orders) is missing.`]);
  });

  it('whose rows do not load to the recorded checksum is refused after staging, and the staging table is dropped', async () => {
    const dir = ws.path('checksum');
    const m = await createBackup(t.db, { dir, tables: ['orders'] });
    // A rows file that differs from what was read, with a manifest that vouches for it: only the checksum can tell.
    const file = rowsFile(m, 'orders');
    const path = join(dir, m.id, file.name);
    const text = await readFile(path, 'latin1');
    const changed = text.replace(
      file.encoding === 'sql-quoted/binary' ? ",'b'\n" : '\tb\n',
      file.encoding === 'sql-quoted/binary' ? ",'B'\n" : '\tB\n',
    );
    expect(changed).not.toBe(text);
    await writeFile(path, changed, 'latin1');
    const { createHash } = await import('node:crypto');
    const bytes = await readFile(path);
    file.sha256 = createHash('sha256').update(bytes).digest('hex');
    file.bytes = bytes.length;
    await writeFile(join(dir, m.id, 'manifest.json'), JSON.stringify(m));
    await t.db.execute("UPDATE orders SET note = 'again' WHERE id = 2");
    const before = await tableState(t.db, 'orders');

    await expect(restoreBackup(t.db, { dir, id: m.id })).rejects.toMatchObject({
      kind: 'refused',
      subject: 'orders',
      message: expect.stringMatching(
        /for table orders do not match the backup's checksum .* no table was replaced and nothing was changed/,
      ),
    });
    expect(await tableState(t.db, 'orders')).toEqual(before);
    expect(await leftoverTables(t.db)).toEqual([]);
  });
});

describe('an incomplete backup', () => {
  it('(a folder without manifest.json) is listed as incomplete and never restored', async () => {
    const dir = ws.path('incomplete');
    const m = await createBackup(t.db, { dir, tables: ['orders'] });
    await unlink(join(dir, m.id, 'manifest.json'));
    const check = await checkBackup(dir, m.id);
    expect(check).toMatchObject({ status: 'incomplete', ok: false, manifest: null });
    expect(check.unlistedFiles).toHaveLength(2);
    const [listed] = await listBackups(dir);
    expect(listed).toMatchObject({ id: m.id, status: 'incomplete', complete: false, createdAt: null, tables: [] });
    expect(listed!.bytes).toBeGreaterThan(0);
    await expect(restoreBackup(t.db, { dir, id: m.id })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/is incomplete/),
    });
  });
});

describe('listBackups', () => {
  it('lists backups newest first, with what they hold, and marks unreadable manifests', async () => {
    const dir = ws.path('list');
    const older = await createBackup(t.db, {
      dir,
      tables: ['orders', 'not_yet'],
      recordAbsent: true,
      label: 'older',
      mapping: 'm1',
      runId: '3',
      now: clock('2026-01-02T00:00:00Z'),
    });
    const newer = await createBackup(t.db, { dir, tables: ['orders'], label: 'newer', now: clock('2026-03-04T00:00:00Z') });
    const broken = await createBackup(t.db, { dir, tables: ['orders'], now: clock('2025-05-05T00:00:00Z') });
    await writeFile(join(dir, broken.id, 'manifest.json'), '{"format": "something else"}');
    await writeFile(join(dir, 'README.md'), 'not a backup');

    const list = await listBackups(dir);
    expect(list.map((b) => b.id)).toEqual([newer.id, older.id, broken.id]);
    expect(list[1]).toMatchObject({
      status: 'complete',
      complete: true,
      label: 'older',
      mapping: 'm1',
      runId: '3',
      database: t.name,
      createdAt: '2026-01-02T00:00:00.000Z',
      tables: ['orders', 'not_yet'],
      rows: 3,
      problem: null,
    });
    expect(list[1]!.bytes).toBe(older.tables[0]!.files.reduce((n, f) => n + f.bytes, 0));
    expect(list[2]).toMatchObject({ status: 'unreadable', complete: false, problem: expect.stringMatching(/format is "something else"/) });
    expect(await listBackups(ws.path('nothing-here'))).toEqual([]);
  });
});

describe('a table that did not exist at backup time', () => {
  it(
    'is refused unless asked to record it; recorded, it is dropped by restore if it exists by then, ' + 'and reported absent if not',
    async () => {
      const dir = ws.path('absent');
      await expect(createBackup(t.db, { dir, tables: ['new_target', ' new_target'] })).rejects.toMatchObject({
        kind: 'refused',
        message: expect.stringMatching(/has no table named "new_target", " new_target"; nothing was backed up/),
      });
      const m = await createBackup(t.db, { dir, tables: ['new_target'], recordAbsent: true });
      expect(m.tables).toEqual([expect.objectContaining({ name: 'new_target', exists: false, files: [] })]);
      await t.db.execute('CREATE TABLE new_target (id INT PRIMARY KEY)');
      await t.db.execute('INSERT INTO new_target VALUES (1)');
      const first = await restoreBackup(t.db, { dir, id: m.id });
      expect(first.tables).toEqual([expect.objectContaining({ name: 'new_target', action: 'dropped' })]);
      expect(await tableState(t.db, 'new_target')).toBeNull();
      const again = await restoreBackup(t.db, { dir, id: m.id });
      expect(again.tables).toEqual([expect.objectContaining({ name: 'new_target', action: 'absent' })]);
    },
  );
});

describe('the snapshot', () => {
  it('reads every table as of one moment: a row committed meanwhile by another connection is not in the backup', async () => {
    await t.db.execute('CREATE TABLE snap_a (id INT PRIMARY KEY) ENGINE=InnoDB');
    await t.db.execute('CREATE TABLE snap_b (id INT PRIMARY KEY) ENGINE=InnoDB');
    await t.db.execute('INSERT INTO snap_a VALUES (1)');
    await t.db.execute('INSERT INTO snap_b VALUES (1)');
    let inserted = false;
    const m = await createBackup(t.db, {
      dir: ws.path('snapshot'),
      tables: ['snap_a', 'snap_b'],
      onProgress: (p) => {
        if (p.table !== 'snap_a' || inserted) return;
        inserted = true;
        // Synchronously, from another process and connection, while snap_a is being read and before snap_b is.
        const script = `import mysql from 'mysql2/promise';
          const c = await mysql.createConnection(${JSON.stringify(`${serverUrl}/${t.name}`)});
          await c.query('INSERT INTO snap_b VALUES (2)');
          await c.end();`;
        const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
        if (child.status !== 0) throw new Error(`the concurrent insert failed: ${child.stderr}`);
      },
    });
    expect(inserted).toBe(true);
    expect(await t.db.query('SELECT id FROM snap_b ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(m.tables.find((e) => e.name === 'snap_b')).toMatchObject({ rows: 1, maxKey: '1' });
  });
});
