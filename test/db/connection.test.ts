import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { parseDatabaseUrl, redactUrl } from '../../src/db/connection.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('connection');
});
afterAll(async () => {
  await t.drop();
});

describe('connection', () => {
  it('reads values without converting them', async () => {
    await t.db.execute(`CREATE TABLE v (
      id BIGINT UNSIGNED PRIMARY KEY, d DATETIME(6), dec65 DECIMAL(65,30), b VARBINARY(8), j JSON, f FLOAT, l VARCHAR(10) CHARACTER SET latin1
    )`);
    await t.db.execute("INSERT INTO v VALUES (18446744073709551615, '2024-02-29 23:59:59.123456', 1.000000000000000000000000000001, X'00FF0D0A', '{\"a\": 1}', 0.1, 'caf\u00e9 \u20ac')");
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
    expect(parseDatabaseUrl('mysql://u:p%40ss@db.example:3307/shop')).toMatchObject({ host: 'db.example', port: 3307, user: 'u', password: 'p@ss', database: 'shop' });
    expect(redactUrl('mysql://u:secret@h/db')).toBe('mysql://u:***@h/db');
    expect(() => parseDatabaseUrl('mysql://root@127.0.0.1:3306/')).toThrow(/names no database/);
  });
});
