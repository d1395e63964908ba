import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { connect, defaultTempTableMiB, parseDatabaseUrl, redactUrl, type Db } from '../../src/db/connection.ts';
import { connectAgain } from '../../src/db/row-stream.ts';
import { galeraNodeOf } from '../../src/db/capabilities.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('connection');
});
afterAll(async () => {
  await t.drop();
});

describe('connection', () => {
  it('reads values without converting them', async () => {
    await t.db.execute(
      `CREATE TABLE v (
      id BIGINT UNSIGNED PRIMARY KEY, d DATETIME(6), dec65 DECIMAL(65,30), b VARBINARY(8), j JSON, f FLOAT, ` +
        `l VARCHAR(10) CHARACTER SET latin1
    )`,
    );
    await t.db.execute(
      "INSERT INTO v VALUES (18446744073709551615, '2024-02-29 23:59:59.123456', 1.000000000000000000000000000001, " +
        "X'00FF0D0A', '{\"a\": 1}', 0.1, 'caf\u00e9 \u20ac')",
    );
    const [row] = await t.db.query('SELECT * FROM v');
    expect(row).toEqual({
      id: '18446744073709551615',
      d: '2024-02-29 23:59:59.123456',
      dec65: '1.000000000000000000000000000001',
      b: Buffer.from([0, 255, 13, 10]),
      j: '{"a": 1}',
      f: '0.1',
      l: 'caf\u00e9 \u20ac',
    });
  });

  it('parses URLs and never shows the password', () => {
    expect(parseDatabaseUrl('mysql://u:p%40ss@db.example:3307/shop')).toMatchObject({
      host: 'db.example',
      port: 3307,
      user: 'u',
      password: 'p@ss',
      database: 'shop',
    });
    expect(redactUrl('mysql://u:secret@h/db')).toBe('mysql://u:***@h/db');
    expect(() => parseDatabaseUrl('mysql://root@127.0.0.1:3306/')).toThrow(/names no database/);
  });

  it(
    'raises the session temporary-table limits to temp-table-mib (default 256), keeps them on connectAgain, ' + "and 0 keeps the server's",
    async () => {
      const limits = async (db: Db) =>
        (
          await db.query<{ tmp: string; heap: string }>('SELECT @@SESSION.tmp_table_size AS tmp, @@SESSION.max_heap_table_size AS heap')
        )[0]!;
      const [server] = await t.db.query<{ tmp: string }>('SELECT @@GLOBAL.tmp_table_size AS tmp');
      const mib = (n: number) => String(n * 1024 * 1024);
      expect(await limits(t.db)).toEqual({ tmp: mib(defaultTempTableMiB), heap: mib(defaultTempTableMiB) });
      const again = await connectAgain(t.db);
      const kept = await connect(`${t.url}?temp-table-mib=0`);
      const raised = await connect(`${t.url}?temp-table-mib=300`);
      const raisedAgain = await connectAgain(raised);
      try {
        expect(await limits(again)).toEqual({ tmp: mib(defaultTempTableMiB), heap: mib(defaultTempTableMiB) });
        expect((await limits(kept)).tmp).toBe(String(server!.tmp));
        expect(await limits(raised)).toEqual({ tmp: mib(300), heap: mib(300) });
        expect(await limits(raisedAgain)).toEqual({ tmp: mib(300), heap: mib(300) });
      } finally {
        await Promise.all([again.close(), kept.close(), raised.close(), raisedAgain.close()]);
      }
      expect(() => parseDatabaseUrl(`${t.url}?temp-table-mib=lots`)).toThrow(/temp-table-mib=lots is not a whole number of MiB/);
    },
  );

  it('lets MariaDB choose by cost whether a GROUP BY reads through an index, in its own sessions only', async () => {
    const [flags] = await t.db.query<{ session: string; global: string }>(
      'SELECT @@SESSION.optimizer_adjust_secondary_key_costs AS session, @@GLOBAL.optimizer_adjust_secondary_key_costs AS global',
    );
    expect(flags!.session.split(',')).toContain('disable_forced_index_in_group_by');
    // The server's other flags are kept, and other sessions are left alone.
    expect(flags!.session.split(',')).toEqual(expect.arrayContaining(flags!.global.split(',').filter((f) => f !== '')));
    expect(flags!.global.split(',')).not.toContain('disable_forced_index_in_group_by');
    // A table of 20,000 rows grouped by an indexed column it does not otherwise read: no longer through the index.
    await t.db.execute('CREATE TABLE grouped (id INT PRIMARY KEY, g INT NOT NULL, v INT, KEY (g))');
    await t.db.execute('INSERT INTO grouped SELECT seq, seq % 997, seq FROM seq_1_to_20000');
    await t.db.execute('ANALYZE TABLE grouped');
    const [plan] = await t.db.query<{ type: string }>('EXPLAIN SELECT g, MAX(v) FROM grouped GROUP BY g');
    expect(plan!.type).toBe('ALL');
  });

  it('is no Galera node here (wsrep_on OFF, provider none); Galera is read from wsrep_on with a provider, MySQL has neither', () => {
    expect(t.db.capabilities.galera).toBeNull();
    const vars = (pairs: Record<string, string>) => new Map(Object.entries(pairs));
    // MySQL: SHOW VARIABLES names none of them.
    expect(galeraNodeOf(vars({ hostname: 'db1' }))).toBeNull();
    expect(galeraNodeOf(vars({ wsrep_on: 'OFF', wsrep_provider: 'none', wsrep_max_ws_rows: '0' }))).toBeNull();
    expect(galeraNodeOf(vars({ wsrep_on: 'ON', wsrep_provider: 'none' }))).toBeNull();
    expect(
      galeraNodeOf(
        vars({
          wsrep_on: 'ON',
          wsrep_provider: '/usr/lib/galera/libgalera_smm.so',
          wsrep_node_name: '',
          hostname: 'db1',
          wsrep_max_ws_rows: '1000',
          wsrep_max_ws_size: '1048576',
        }),
      ),
    ).toEqual({ node: 'db1', maxWriteSetRows: 1000, maxWriteSetBytes: 1048576 });
  });
});
