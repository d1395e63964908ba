import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup, unfinishedRestores } from '../../src/backup/index.ts';
import { foreignKeysOfStatement, parseForeignKey, withReferencedTable } from '../../src/backup/foreign-keys.ts';
import type { TestDatabase } from '../support/database.ts';
import { serverUrl } from '../support/database.ts';
import { loadPeerCorpus, loadSakila } from '../support/public-data.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';
import { leftoverTables } from './table-state.ts';

/**
 * restoreBackup on the public Sakila database, with renames done by hand: foreign keys in both directions between the
 * restored tables and the others, and what a restore must refuse, before it changes anything, to keep them whole.
 */
const ws = testWorkspace('restore_fk');
let t: TestDatabase;
let original: Snapshot;

describe('foreign key clauses', () => {
  it('are parsed as SHOW CREATE TABLE writes them, and re-pointed at another table with nothing else changed', () => {
    const clause = 'CONSTRAINT `fk_a``b` FOREIGN KEY (`x`, `y z`) REFERENCES `OLD rental` (`id`, `k`) ON DELETE SET NULL ON UPDATE CASCADE';
    expect(parseForeignKey(clause)).toMatchObject({
      name: 'fk_a`b',
      columns: ['x', 'y z'],
      referencedSchema: null,
      referencedTable: 'OLD rental',
      referencedColumns: ['id', 'k'],
    });
    expect(withReferencedTable(clause, 'rental')).toBe(clause.replace('`OLD rental`', '`rental`'));
    expect(parseForeignKey('CONSTRAINT `f` FOREIGN KEY (`a`) REFERENCES `other db`.`t` (`b`)')).toMatchObject({
      referencedSchema: 'other db',
      referencedTable: 't',
    });
    const create =
      'CREATE TABLE `c` (\n  `a` int(11) DEFAULT NULL,\n  KEY `a` (`a`),\n' +
      '  CONSTRAINT `c_ibfk_1` FOREIGN KEY (`a`) REFERENCES `p` (`id`)\n) ENGINE=InnoDB';
    expect(foreignKeysOfStatement(create).map((f) => f.clause)).toEqual(['CONSTRAINT `c_ibfk_1` FOREIGN KEY (`a`) REFERENCES `p` (`id`)']);
  });
});

describe('restoring some of Sakila', () => {
  beforeEach(async () => {
    t = await ws.database('restore_fk');
    await loadSakila(serverUrl, t.name);
    original = await snapshot(t.db);
  }, 120_000);

  it('puts rental back after it was renamed away, pointing payment back at it, and drops the renamed table it retires', async () => {
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: ['rental', 'customer', 'rental_event'], recordAbsent: true });
    await t.db.execute('RENAME TABLE rental TO `OLD rental`');
    await t.db.execute("UPDATE customer SET email = 'changed' WHERE customer_id < 10");
    await t.db.execute(
      'CREATE TABLE rental_event (id INT PRIMARY KEY, rental_id INT, ' +
        'CONSTRAINT fk_event_rental FOREIGN KEY (rental_id) REFERENCES `OLD rental` (rental_id))',
    );
    const result = await restoreBackup(t.db, { dir: ws.dir, id: manifest.id, retire: [{ table: 'OLD rental', standsFor: 'rental' }] });
    expect(result.retired).toEqual(['OLD rental']);
    expect(result.repointed).toEqual(['payment.fk_payment_customer', 'payment.fk_payment_rental']);
    expect(result.tables.map((r) => [r.name, r.action, r.definitionMatches])).toEqual([
      ['rental', 'restored', true],
      ['customer', 'restored', true],
      ['rental_event', 'dropped', null],
    ]);
    expect(snapshotDifferences(original, await snapshot(t.db))).toEqual([]);
    expect(await leftoverTables(t.db)).toEqual([]);
    expect(await unfinishedRestores(t.db)).toEqual([]);
  }, 60_000);

  it('refuses, changing nothing, when a table it does not replace holds a foreign key name of a restored table', async () => {
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: ['rental'] });
    await t.db.execute('RENAME TABLE rental TO `OLD rental`');
    const renamed = await snapshot(t.db);
    await expect(restoreBackup(t.db, { dir: ws.dir, id: manifest.id })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(
        new RegExp(
          '^Table rental of backup \\S+ has a foreign key named fk_rental_\\w+, ' +
            'and table OLD rental now holds that name .*nothing was changed\\. Drop or rename table OLD rental',
        ),
      ),
    });
    expect(snapshotDifferences(renamed, await snapshot(t.db))).toEqual([]);
    expect(await leftoverTables(t.db)).toEqual([]);
    expect(await unfinishedRestores(t.db)).toEqual([]);
  }, 60_000);

  it('refuses, changing nothing, rows that the foreign keys it adds without checking would leave orphaned, both ways', async () => {
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: ['rental'] });
    // A rental made since the backup, and a payment for it: restoring rental would orphan the payment.
    await t.db.execute(
      'INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, staff_id) ' + "VALUES (20000, '2026-01-01', 1, 1, 1)",
    );
    await t.db.execute(
      'INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date) ' +
        "VALUES (20000, 1, 1, 20000, 2.99, '2026-01-01')",
    );
    // And an inventory row that existed at backup time is gone: restored rentals of it would reference nothing.
    await t.db.execute('SET SESSION foreign_key_checks = 0');
    await t.db.execute('DELETE FROM inventory WHERE inventory_id = 1');
    await t.db.execute('SET SESSION foreign_key_checks = 1');
    const before = await snapshot(t.db);
    const error = await restoreBackup(t.db, { dir: ws.dir, id: manifest.id }).then(
      () => null,
      (e: unknown) => e as Error & { kind: string },
    );
    expect(error?.kind).toBe('refused');
    expect(error?.message).toMatch(
      new RegExp(
        '^Restoring backup \\S+ would break foreign keys: ' +
          '\\d+ row\\(s\\) of rental would reference no row of inventory \\(foreign key fk_rental_inventory; e\\.g\\. inventory_id=1\\); ' +
          '1 row\\(s\\) of payment would reference ' +
          'no row of rental \\(foreign key fk_payment_rental; e\\.g\\. rental_id=20000\\)\\. Nothing was changed\\.',
      ),
    );
    expect(snapshotDifferences(before, await snapshot(t.db))).toEqual([]);
    expect(await leftoverTables(t.db)).toEqual([]);
  }, 60_000);

  it('refuses, changing nothing, to drop a table that a table it leaves has a foreign key to', async () => {
    const manifest = await createBackup(t.db, { dir: ws.dir, tables: ['actor', 'later'], recordAbsent: true });
    await t.db.execute('CREATE TABLE later (id INT PRIMARY KEY)');
    await t.db.execute(
      'CREATE TABLE keeper (id INT PRIMARY KEY, later_id INT, ' +
        'CONSTRAINT fk_keeper_later FOREIGN KEY (later_id) REFERENCES later (id))',
    );
    await expect(restoreBackup(t.db, { dir: ws.dir, id: manifest.id })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/^Table keeper has a foreign key fk_keeper_later that references later, which did not exist when/),
    });
    expect(await leftoverTables(t.db)).toEqual([]);
  }, 60_000);
});

describe("the peer corpus's foreign keys (mysqldump.test, foreign_key.test)", () => {
  let p: TestDatabase;
  let corpus: Snapshot;
  beforeAll(async () => {
    p = await ws.database('restore_fk_peer');
    await loadPeerCorpus(serverUrl, p.name);
    corpus = await snapshot(p.db);
  }, 120_000);

  it('restores cascading, self-referencing and composite foreign keys over the tables a cascade changed', async () => {
    const tables = ['md_fk_parent', 'md_fk_child', 'fk_tree', 'fk_composite_parent', 'fk_composite_child'];
    const manifest = await createBackup(p.db, { dir: ws.dir, tables });
    await p.db.execute('DELETE FROM md_fk_parent WHERE id = 1'); // ON DELETE CASCADE: two children go
    await p.db.execute('DELETE FROM fk_tree WHERE id = 2'); // and its child 3, through the self-reference
    await p.db.execute('DELETE FROM fk_composite_parent WHERE a = 1 AND b = 1'); // ON DELETE SET NULL
    expect(snapshotDifferences(corpus, await snapshot(p.db))).toHaveLength(5);
    const result = await restoreBackup(p.db, { dir: ws.dir, id: manifest.id });
    expect(result.repointed).toEqual([]);
    expect(result.tables.every((r) => r.definitionMatches)).toBe(true);
    expect(snapshotDifferences(corpus, await snapshot(p.db))).toEqual([]);
    await expect(p.db.execute('INSERT INTO fk_composite_child VALUES (9, 7, 7)')).rejects.toThrow(/foreign key constraint fails/);
  }, 60_000);

  it('restores the parents alone, pointing the children they keep back at them, composite keys included', async () => {
    const manifest = await createBackup(p.db, { dir: ws.dir, tables: ['md_fk_parent', 'fk_composite_parent'] });
    await p.db.execute('INSERT INTO md_fk_parent VALUES (4)');
    await p.db.execute('INSERT INTO fk_composite_parent VALUES (2, 2)');
    const result = await restoreBackup(p.db, { dir: ws.dir, id: manifest.id });
    expect(result.repointed).toEqual(['fk_composite_child.fk_comp', 'md_fk_child.md_fk']);
    expect(snapshotDifferences(corpus, await snapshot(p.db))).toEqual([]);
    expect(await leftoverTables(p.db)).toEqual([]);
    await expect(p.db.execute('DELETE FROM fk_composite_parent WHERE a = 1 AND b = 2')).resolves.toBeDefined();
    expect(await p.db.query('SELECT id, a, b FROM fk_composite_child WHERE id = 2')).toEqual([{ id: 2, a: null, b: null }]);
  }, 60_000);
});

describe('a foreign key from another database', () => {
  it('refuses, changing nothing, to move away a table that a table of another database references', async () => {
    const parent = await ws.database('restore_fk_parent');
    const other = await ws.database('restore_fk_other');
    await parent.db.execute('CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB');
    await parent.db.execute('INSERT INTO p VALUES (1), (2)');
    const manifest = await createBackup(parent.db, { dir: ws.dir, tables: ['p'] });
    await other.db.execute(`CREATE TABLE c (id INT, CONSTRAINT c_p FOREIGN KEY (id) REFERENCES \`${parent.name}\`.p (id)) ENGINE=InnoDB`);
    await expect(restoreBackup(parent.db, { dir: ws.dir, id: manifest.id })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringContaining(`restoring backup ${manifest.id} replaces or drops: \`${other.name}\`.\`c\` (c_p, to p)`),
    });
    expect(await leftoverTables(parent.db)).toEqual([]);
    await other.db.execute('DROP TABLE c');
    await parent.db.execute('DELETE FROM p WHERE id = 2');
    await restoreBackup(parent.db, { dir: ws.dir, id: manifest.id });
    expect(await parent.db.query('SELECT id FROM p ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
  }, 60_000);
});
