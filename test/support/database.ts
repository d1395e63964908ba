import { randomBytes } from 'node:crypto';
import { connect, type Db } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';

/** The server tests run against; TEST_DATABASE_SERVER overrides it (no database in the path). */
export const serverUrl = (process.env.TEST_DATABASE_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');

export interface TestDatabase {
  name: string;
  url: string;
  db: Db;
  /** Drops the database and closes the connection. */
  drop(): Promise<void>;
}

/** A fresh, empty database for one test file: `es_<label>_<random>`, on `server` (default: the tests' server). */
export async function freshDatabase(label: string, server = serverUrl): Promise<TestDatabase> {
  const name = `es_${label.replace(/[^a-z0-9_]/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = await connect(`${server}/mysql`);
  try {
    await admin.execute(`CREATE DATABASE ${quoteId(name)} CHARACTER SET utf8mb4`);
  } finally {
    await admin.close();
  }
  const url = `${server}/${name}`;
  const db = await connect(url);
  return {
    name,
    url,
    db,
    async drop() {
      await db.close();
      const admin2 = await connect(`${server}/mysql`);
      try {
        await admin2.execute(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
      } finally {
        await admin2.close();
      }
    },
  };
}
