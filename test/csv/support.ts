import type { Db } from '../../src/db/connection.ts';
import { tableChecksum, type ContentChecksum } from '../../src/db/checksum.ts';
import { describeTable } from '../../src/db/introspect.ts';

/** The tables a VbzCart run writes or alters. */
export const vbzcartTargets = ['event', 'event_vc_ord_hold', 'event_vc_legacy', 'orders'] as const;

/** Content checksum of every column of each table, computed on the server. */
export async function checksums(db: Db, tables: readonly string[] = vbzcartTargets): Promise<Record<string, ContentChecksum>> {
  const out: Record<string, ContentChecksum> = {};
  for (const table of tables) {
    const info = await describeTable(db, table);
    if (!info) throw new Error(`no table ${table} in ${db.database}`);
    out[table] = await tableChecksum(db, table, info.columns);
  }
  return out;
}
