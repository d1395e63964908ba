import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';

/** Drops `table` if it exists; returns whether it did. Foreign keys referencing it are left as they are. */
export async function dropTableIfExists(db: Db, table: string): Promise<boolean> {
  if (!(await tableExists(db, table))) return false;
  await db.execute(`DROP TABLE IF EXISTS ${quoteId(table)}`);
  return true;
}
