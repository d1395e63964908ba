import type { Connection, ResultSetHeader, RowDataPacket, FieldPacket } from 'mysql2/promise';
import { databaseError, usageError } from '../errors.ts';
import { detectCapabilities, galeraVariables, type Capabilities } from './capabilities.ts';

/** A row as read losslessly: strings for dates, decimals and big integers; Buffers for binary columns; null for NULL. */
export type Row = Record<string, unknown>;

/** The connection eventshift works through: a small subset of mysql2, with the settings that keep legacy data intact. */
export interface Db {
  readonly database: string;
  readonly capabilities: Capabilities;
  /** The server's id for this connection (CONNECTION_ID()), used to name lock holders. */
  readonly connectionId: number;
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  execute(sql: string, params?: readonly unknown[]): Promise<{ affectedRows: number; insertId: number }>;
  transaction<T>(work: (db: Db) => Promise<T>): Promise<T>;
  /** The raw mysql2 connection, for streaming reads and LOAD DATA. */
  readonly raw: Connection;
  /** What this session raised tmp_table_size to at most, in MiB (0: the server's own); connectAgain keeps it. */
  readonly tempTableMiB: number;
  /**
   * The session's max_allowed_packet in bytes, read at connect time: the largest statement the server takes, and the
   * largest row it sends. A multi-row INSERT built in Node (a streamed step's) stays well under it.
   */
  readonly maxAllowedPacket: number;
  close(): Promise<void>;
}

export interface ConnectionTarget {
  host?: string;
  port?: number;
  socketPath?: string;
  user: string;
  password?: string;
  database: string;
  /**
   * In-memory temporary tables (GROUP BY, window functions, derived tables) of this session may grow to this many MiB
   * before the server moves them to disk: tmp_table_size and max_heap_table_size are raised to it, never lowered.
   * 0 keeps the server's settings. URL parameter `temp-table-mib`; default defaultTempTableMiB.
   */
  tempTableMiB?: number;
}

/**
 * The default of ConnectionTarget.tempTableMiB. MariaDB's own default, 16 MiB, sends a GROUP BY over a few hundred
 * thousand rows to an on-disk table: a replay check at 500,000 pulls took 5.8 s with it and 1.9 s with 32 MiB or more.
 * The memory is taken only as a query needs it, by at most the few connections a run opens.
 */
export const defaultTempTableMiB = 256;

/** Parses `mysql://user:pass@host:port/db` (or `?socket=/path`). Throws a usage error naming what is wrong. */
export function parseDatabaseUrl(url: string): ConnectionTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`The database URL ${redactUrl(url)} is not a URL; write it as mysql://user:password@host:3306/database.`);
  }
  if (!['mysql:', 'mariadb:'].includes(parsed.protocol)) {
    throw usageError(`The database URL must start with mysql:// or mariadb://, not ${parsed.protocol}//.`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database)
    throw usageError(`The database URL ${redactUrl(url)} names no database; add it as the path, e.g. mysql://root@127.0.0.1:3306/shop.`);
  const socketPath = parsed.searchParams.get('socket') ?? parsed.searchParams.get('socketPath') ?? undefined;
  const tempTable = parsed.searchParams.get('temp-table-mib');
  if (tempTable !== null && !/^\d{1,7}$/.test(tempTable)) {
    throw usageError(
      `The database URL's temp-table-mib=${tempTable} is not a whole number of MiB; ` +
        "give e.g. temp-table-mib=256, or 0 to keep the server's tmp_table_size.",
    );
  }
  return {
    tempTableMiB: tempTable === null ? undefined : Number(tempTable),
    // An IPv6 address is bracketed in a URL, not on the wire.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    socketPath,
    user: decodeURIComponent(parsed.username || 'root'),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database,
  };
}

/**
 * Bytes of values one multi-row INSERT built in Node may carry on `db`: `cap`, or a quarter of the session's
 * max_allowed_packet if that is less, so the statement (its values escaped) fits the packet.
 */
export function insertBudget(db: Pick<Db, 'maxAllowedPacket'>, cap: number): number {
  return Math.min(cap, Math.floor(db.maxAllowedPacket / 4));
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/** The sql_mode and time zone every eventshift session sets first (plan checks that they hold: server-variables.ts). */
export const sessionSqlMode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';
export const sessionTimeZone = '+00:00';

/** What every eventshift session sets first; exported SQL files start with the same. */
export const sessionSettingsSql = `SET time_zone = '${sessionTimeZone}', sql_mode = '${sessionSqlMode}'`;

/** Opens a connection with lossless settings: see DESIGN.md, "Reading legacy data without losing it". */
export async function connect(target: ConnectionTarget | string): Promise<Db> {
  const t = typeof target === 'string' ? parseDatabaseUrl(target) : target;
  let raw: Connection;
  try {
    // Loaded when a connection is first made, not when the CLI starts: `eventshift --help` needs no driver.
    const { default: mysql } = await import('mysql2/promise');
    raw = await mysql.createConnection({
      host: t.socketPath ? undefined : t.host,
      port: t.socketPath ? undefined : t.port,
      socketPath: t.socketPath,
      user: t.user,
      password: t.password,
      database: t.database,
      charset: 'utf8mb4_bin',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      jsonStrings: true,
      // FLOAT and DOUBLE as the server prints them, not re-printed by JavaScript.
      typeCast: (field, next) => (field.type === 'FLOAT' || field.type === 'DOUBLE' ? field.string() : next()),
      infileStreamFactory: undefined,
      multipleStatements: false,
    });
  } catch (cause) {
    const where = t.socketPath ?? `${t.host}:${t.port}`;
    throw databaseError(`Connecting to database ${t.database} at ${where} as ${t.user}`, cause);
  }
  const tempTableMiB = t.tempTableMiB ?? defaultTempTableMiB;
  let info: RowDataPacket | undefined;
  let variables: RowDataPacket[] = [];
  try {
    // Every session speaks UTC and strict SQL, whatever the server's defaults.
    await raw.query(sessionSettingsSql);
    await raw.query(sessionLimitsSql(tempTableMiB));
    [[info]] = (await raw.query('SELECT VERSION() AS version, CONNECTION_ID() AS id, @@SESSION.max_allowed_packet AS packet')) as [
      RowDataPacket[],
      FieldPacket[],
    ];
    // SHOW VARIABLES, not @@wsrep_on: MySQL has no such variable, and a MariaDB built without wsrep neither.
    [variables] = (await raw.query(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${galeraVariables.map((v) => `'${v}'`).join(', ')})`,
    )) as [RowDataPacket[], FieldPacket[]];
  } catch (cause) {
    raw.destroy();
    throw databaseError(`Setting up the session on database ${t.database}`, cause);
  }
  const capabilities = detectCapabilities(
    String(info!.version),
    new Map(variables.map((v) => [String(v.Variable_name).toLowerCase(), String(v.Value)])),
  );
  if (capabilities.galera) {
    try {
      // Causal reads: a read waits until this node has applied every write-set the cluster committed before it, so a
      // run resumed through another node reads the journal the dead node's last chunks left, not an older one.
      await raw.query('SET SESSION wsrep_sync_wait = @@SESSION.wsrep_sync_wait | 1');
    } catch (cause) {
      raw.destroy();
      throw databaseError(`Setting up the session on database ${t.database}`, cause);
    }
  }
  if (capabilities.engine === 'mariadb') {
    try {
      await raw.query(groupByCostsSql);
    } catch (cause) {
      // A server without the variable or the flag (before MariaDB 10.5.24, 10.6.17, 10.11.7) plans as it always did.
      const errno = (cause as { errno?: number }).errno;
      if (errno !== 1193 && errno !== 1231) {
        raw.destroy();
        throw databaseError(`Setting up the session on database ${t.database}`, cause);
      }
    }
  }
  const maxAllowedPacket = Number(info!.packet);
  return wrap(raw, { database: t.database, capabilities, connectionId: Number(info!.id), tempTableMiB, maxAllowedPacket });
}

/**
 * MariaDB up to 11.0 reads a whole table through any index that gives a GROUP BY's order, looking up every row, even
 * where reading the table and sorting costs less (MDEV-33306): grouping 500,000 legacy rows by an indexed column
 * took up to a third more CPU so (1.06-1.26 against 0.92-1.0 CPU-s). This flag makes that choice by cost, for this
 * session only.
 */
const groupByCostsSql =
  'SET SESSION optimizer_adjust_secondary_key_costs = ' +
  "CONCAT_WS(',', NULLIF(@@SESSION.optimizer_adjust_secondary_key_costs, ''), 'disable_forced_index_in_group_by')";

/**
 * Raises the session's limits where they are lower, never lowers them: GROUP_CONCAT to 1 MiB (the plan's first keys of
 * a data problem; MySQL 8 cuts at 1024 bytes, which would show a long key cut short), and in-memory temporary tables
 * to `tempTableMiB` MiB (0: the server's).
 */
function sessionLimitsSql(tempTableMiB: number): string {
  const raise = (variable: string, bytes: number) => `${variable} = GREATEST(@@SESSION.${variable}, ${bytes})`;
  const tempBytes = tempTableMiB * 1024 * 1024;
  const limits = [
    raise('group_concat_max_len', 1024 * 1024),
    ...(tempTableMiB > 0 ? [raise('tmp_table_size', tempBytes), raise('max_heap_table_size', tempBytes)] : []),
  ];
  return `SET SESSION ${limits.join(', ')}`;
}

/** What a session is, as a Db shows it: its database, the server's capabilities, and its settings. */
type SessionFacts = Pick<Db, 'database' | 'capabilities' | 'connectionId' | 'tempTableMiB' | 'maxAllowedPacket'>;

function wrap(raw: Connection, session: SessionFacts): Db {
  const db: Db = {
    ...session,
    raw,
    async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []) {
      try {
        const [rows] = await raw.query(sql, params as unknown[]);
        return rows as T[];
      } catch (cause) {
        throw databaseError(`The statement ${abbreviate(sql)}`, cause);
      }
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      try {
        const [result] = (await raw.query(sql, params as unknown[])) as [ResultSetHeader, FieldPacket[]];
        return { affectedRows: result.affectedRows, insertId: result.insertId };
      } catch (cause) {
        throw databaseError(`The statement ${abbreviate(sql)}`, cause);
      }
    },
    async transaction<T>(work: (db: Db) => Promise<T>) {
      await raw.query('START TRANSACTION');
      try {
        const result = await work(db);
        await raw.query('COMMIT');
        return result;
      } catch (error) {
        await raw.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    async close() {
      await raw.end().catch(() => raw.destroy());
    },
  };
  return db;
}

/** The server's error number of `error` or of the error it wraps (its cause, at any depth); null when none has one. */
export function serverErrno(error: unknown): number | null {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const errno = (e as { errno?: unknown }).errno;
    if (typeof errno === 'number') return errno;
  }
  return null;
}

function abbreviate(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `"${flat.slice(0, 157)}..."` : `"${flat}"`;
}
