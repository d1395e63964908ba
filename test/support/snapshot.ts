import type { Db } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';

/**
 * Every non-bookkeeping table's definition and rows (as hex-safe JSON, sorted), and the definition of every view,
 * trigger, stored procedure and function and scheduled event (as `view NAME`, `trigger NAME`, ...: `create` is what
 * SHOW CREATE gives, with the sql_mode, character sets and collations it was created under, and for a trigger its
 * creation time and its place in its table's firing order; `rows` is empty): to compare whole databases.
 */
export type Snapshot = Record<string, { create: string; rows: string[] }>;

export async function snapshot(db: Db): Promise<Snapshot> {
  const tables = await db.query<{ TABLE_NAME: string }>(
    `SELECT TABLE_NAME FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' AND TABLE_NAME NOT LIKE 'eventshift\\_%' ORDER BY TABLE_NAME`,
    [db.database],
  );
  const out: Snapshot = {};
  for (const { TABLE_NAME: name } of tables) {
    const [create] = await db.query<Record<string, string>>(`SHOW CREATE TABLE ${quoteId(name)}`);
    const rows = await db.query(`SELECT * FROM ${quoteId(name)}`);
    out[name] = {
      create: create!['Create Table']!,
      rows: rows
        .map((r) => JSON.stringify(r, (_k, v) => (v && v.type === 'Buffer' ? `hex:${Buffer.from(v.data).toString('hex')}` : v)))
        .sort(),
    };
  }
  for (const [kind, name, order] of await schemaObjects(db)) {
    const [shown] = await db.query<Record<string, unknown>>(`SHOW CREATE ${kind} ${quoteId(name)}`);
    // A trigger's creation time (restore and rollback give it back) and its place in the order its table's fire.
    const definition = kind === 'TRIGGER' ? { ...shown, order } : shown;
    out[`${kind.toLowerCase()} ${name}`] = { create: JSON.stringify(definition), rows: [] };
  }
  return out;
}

/**
 * The database's views, triggers, routines and events, as [SHOW CREATE kind, name, a trigger's table, timing, event and
 * ACTION_ORDER], in a fixed order.
 */
async function schemaObjects(db: Db): Promise<Array<[string, string, string | null]>> {
  const rows = await db.query<{ kind: string; name: string; place: string | null }>(
    `SELECT 'VIEW' AS kind, TABLE_NAME AS name, NULL AS place FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?
     UNION ALL SELECT 'TRIGGER', TRIGGER_NAME, CONCAT_WS(' ', EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER)
       FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
     UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME, NULL FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
     UNION ALL SELECT 'EVENT', EVENT_NAME, NULL FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?
     ORDER BY kind, name`,
    [db.database, db.database, db.database, db.database],
  );
  return rows.map((r) => [r.kind, r.name, r.place]);
}

/**
 * What differs between two snapshots, one line per table or object (its definition, rows only in one, at most
 * `limit` of each): a short message for a failed comparison, where toEqual would print both databases whole.
 */
export function snapshotDifferences(before: Snapshot, after: Snapshot, limit = 3): string[] {
  const lines: string[] = [];
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[name];
    const b = after[name];
    if (!a || !b) {
      lines.push(`${name}: ${a ? 'gone' : 'new'}`);
      continue;
    }
    if (a.create !== b.create) lines.push(`${name}: definition ${JSON.stringify(a.create)} -> ${JSON.stringify(b.create)}`);
    const inB = new Set(b.rows);
    const inA = new Set(a.rows);
    const gone = a.rows.filter((r) => !inB.has(r));
    const added = b.rows.filter((r) => !inA.has(r));
    if (gone.length + added.length > 0) {
      lines.push(
        `${name}: ${gone.length} row(s) only before (${gone.slice(0, limit).join(' ')}), ` +
          `${added.length} only after (${added.slice(0, limit).join(' ')})`,
      );
    }
  }
  return lines;
}

/** `s` without its triggers' creation times: to compare two databases whose triggers were created apart. */
export function withoutCreationTimes(s: Snapshot): Snapshot {
  return Object.fromEntries(
    Object.entries(s).map(([name, v]) => [
      name,
      name.startsWith('trigger ') ? { ...v, create: JSON.stringify({ ...JSON.parse(v.create), Created: undefined }) } : v,
    ]),
  );
}
