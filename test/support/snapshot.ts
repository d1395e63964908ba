import type { Db } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';

/** Every non-bookkeeping table's definition and rows (as hex-safe JSON, sorted): to compare whole databases. */
export type Snapshot = Record<string, { create: string; rows: string[] }>;

export async function snapshot(db: Db): Promise<Snapshot> {
  const tables = await db.query<{ TABLE_NAME: string }>(
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME NOT LIKE 'eventshift\\_%' ORDER BY TABLE_NAME",
    [db.database],
  );
  const out: Snapshot = {};
  for (const { TABLE_NAME: name } of tables) {
    const [create] = await db.query<Record<string, string>>(`SHOW CREATE TABLE ${quoteId(name)}`);
    const rows = await db.query(`SELECT * FROM ${quoteId(name)}`);
    out[name] = {
      create: create!['Create Table']!,
      rows: rows.map((r) => JSON.stringify(r, (_k, v) => (v && v.type === 'Buffer' ? `hex:${Buffer.from(v.data).toString('hex')}` : v))).sort(),
    };
  }
  return out;
}
