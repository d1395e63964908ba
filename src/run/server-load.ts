import type { RowDataPacket } from 'mysql2/promise';
import type { Db } from '../db/connection.ts';
import { connectAgain } from '../db/row-stream.ts';
import { usageError } from '../errors.ts';
import type { ThrottleSignal } from './throttle-signals.ts';

/**
 * --max-load VAR=N, as pt-online-schema-change has it: the run holds while the primary's global status variable VAR
 * (`SHOW GLOBAL STATUS`, e.g. Threads_running) is N or more. The variables are read together on a connection of their
 * own, at most every quarter of a second however often they are asked; the run's own busy connections count too.
 */

/** How long one reading of the status variables answers for every signal asking. */
const freshMs = 250;
const readTimeoutMs = 2000;

/** SHOW GLOBAL STATUS of `names`, by lower-case name. */
async function statusValues(db: Db, names: readonly string[]): Promise<Map<string, number>> {
  const [rows] = await db.raw.query<RowDataPacket[]>({
    sql: `SHOW GLOBAL STATUS WHERE Variable_name IN (${names.map(() => '?').join(', ')})`,
    values: [...names],
    timeout: readTimeoutMs,
  });
  return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), Number(r.Value)]));
}

/** Refuses (a usage error) a name the server has no global status variable for, or one whose value is not a number. */
export async function checkLoadVariables(db: Db, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const values = await statusValues(db, names);
  const unknown = names.filter((n) => !Number.isFinite(values.get(n.toLowerCase())));
  if (unknown.length > 0) {
    throw usageError(
      `--max-load: the server has no numeric global status variable ${unknown.join(', ')} ` +
        '(SHOW GLOBAL STATUS lists them; e.g. Threads_running).',
    );
  }
}

/** A signal per variable of `limits` (checked with checkLoadVariables), read on a new connection to `primary`'s server. */
export async function serverLoadSignals(primary: Db, limits: Readonly<Record<string, number>>): Promise<ThrottleSignal[]> {
  const names = Object.keys(limits);
  if (names.length === 0) return [];
  let db: Db | null = null;
  const read = async (): Promise<Map<string, number>> => {
    db ??= await connectAgain(primary);
    try {
      return await statusValues(db, names);
    } catch (cause) {
      db.raw.destroy();
      db = null;
      throw cause;
    }
  };
  let reading: { at: number; values: Promise<Map<string, number>> } | null = null;
  const current = () => {
    if (!reading || performance.now() - reading.at >= freshMs) reading = { at: performance.now(), values: read() };
    return reading.values;
  };
  let open = names.length;
  return names.map((name) => ({
    name,
    async poll() {
      const value = (await current()).get(name.toLowerCase());
      if (value === undefined || !Number.isFinite(value)) throw new Error(`the server does not show ${name}`);
      return value >= limits[name]! ? `${value}, holding at ${limits[name]} or more` : null;
    },
    async close() {
      if (--open > 0) return;
      const last = db;
      db = null;
      await last?.close();
    },
  }));
}
