import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { connectAgain, openRowCursor } from '../../src/db/row-stream.ts';

let t: TestDatabase;
const rows = 300_000;
beforeAll(async () => {
  t = await freshDatabase('row_stream');
  // About 60 MB of rows: far more than the socket buffers hold while the cursor is paused.
  await t.db.execute('CREATE TABLE wide (id INT PRIMARY KEY, pad CHAR(200) NOT NULL)');
  await t.db.execute(`INSERT INTO wide SELECT seq, REPEAT('x', 200) FROM seq_1_to_${rows}`);
});
afterAll(async () => {
  await t.drop();
});

describe('a row cursor', () => {
  it('is still read to its end after waiting, paused, longer than the session allowed the server to wait on a write', async () => {
    const db = await connectAgain(t.db);
    try {
      // The server gives up on a client that reads nothing for net_write_timeout seconds; a merge keeps a cursor
      // paused while a slower one catches up, so the cursor's session must wait longer than that.
      await db.execute('SET SESSION net_write_timeout = 1');
      const cursor = await openRowCursor(db, 'SELECT id, pad FROM wide ORDER BY id', 100);
      await new Promise((r) => setTimeout(r, 4000));
      let n = 0;
      let last = 0;
      while (cursor.head) {
        n++;
        last = Number(cursor.head[0]!.toString());
        const wait = cursor.advance();
        if (wait) await wait;
      }
      expect(n).toBe(rows);
      expect(last).toBe(rows);
    } finally {
      db.raw.destroy();
    }
  }, 30_000);
});
