import { escapeRegExp, quoteId } from './quote.ts';
import { serverErrno, type Db } from './connection.ts';

/**
 * The privileges the connected user holds now, at each level: global (`*.*`), per database (`db.*`, whose name may
 * be a LIKE pattern) and per table. Column-level grants are left out: no statement eventshift runs is covered by one.
 */
export interface HeldPrivileges {
  /** The user the server authenticated, as information_schema's GRANTEE writes it: `'user'@'host'`. */
  grantee: string;
  /** The roles enabled in the session (the default role at connect time, and the roles granted to it). */
  roles: string[];
  global: ReadonlySet<string>;
  databases: ReadonlyArray<{ pattern: string; privileges: ReadonlySet<string> }>;
  tables: ReadonlyArray<{ database: string; table: string; privileges: ReadonlySet<string> }>;
  /**
   * Whether the server compares database and table names in lower case (lower_case_table_names 1 or 2): a grant on
   * `event_actor` then covers a mapping's `Event_Actor`, one table.
   */
  foldCase: boolean;
}

/** What `ALL PRIVILEGES` stands for at database and table level (SHOW GRANTS writes it so; information_schema expands it). */
const allPrivileges = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'REFERENCES',
  'INDEX',
  'ALTER',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'EXECUTE',
  'CREATE VIEW',
  'SHOW VIEW',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'EVENT',
  'TRIGGER',
  'DELETE HISTORY',
];

/**
 * Reads the current user's privileges. The user's own grants come from information_schema's USER_PRIVILEGES,
 * SCHEMA_PRIVILEGES and TABLE_PRIVILEGES, whose rows for GRANTEE = CURRENT_USER() are the user's whatever the
 * privileges of the session are. Those tables do not show a role's grants (MariaDB 10.11: a user with a default role
 * sees only rows of their own), so each role in information_schema.ENABLED_ROLES (the default role and the roles
 * granted to it, whose privileges are in effect) is read with `SHOW GRANTS FOR role`, which a user may run for a role
 * granted to them.
 */
export async function readPrivileges(db: Db): Promise<HeldPrivileges> {
  const [me] = await db.query<{ u: string; lctn: string | number }>('SELECT CURRENT_USER() AS u, @@lower_case_table_names AS lctn');
  const grantee = granteeOf(String(me!.u));
  const global = new Set<string>();
  const databases = new Map<string, Set<string>>();
  const tables = new Map<string, { database: string; table: string; privileges: Set<string> }>();
  for (const r of await db.query<{ p: string }>('SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?', [
    grantee,
  ]))
    global.add(r.p.toUpperCase());
  const schemaRows = await db.query<{ s: string; p: string }>(
    'SELECT TABLE_SCHEMA AS s, PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  );
  for (const r of schemaRows) setOf(databases, r.s).add(r.p.toUpperCase());
  const tableRows = await db.query<{ s: string; t: string; p: string }>(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  );
  for (const r of tableRows) tableEntry(tables, r.s, r.t).privileges.add(r.p.toUpperCase());
  const roles = await enabledRoles(db);
  for (const role of roles) {
    const lines = await db.query<Record<string, string>>(`SHOW GRANTS FOR ${quoteId(role)}`);
    for (const grant of lines.flatMap((l) => parseGrant(Object.values(l)[0] ?? ''))) {
      if (grant.on === null) for (const p of grant.privileges) global.add(p);
      else if (grant.on.table === null) for (const p of grant.privileges) setOf(databases, grant.on.database).add(p);
      else for (const p of grant.privileges) tableEntry(tables, grant.on.database, grant.on.table).privileges.add(p);
    }
  }
  return {
    grantee,
    roles,
    global,
    databases: [...databases].map(([pattern, privileges]) => ({ pattern, privileges })),
    tables: [...tables.values()],
    foldCase: Number(me!.lctn) !== 0,
  };
}

/**
 * The session's enabled roles. With none, MariaDB's ENABLED_ROLES has one row whose ROLE_NAME is NULL; a server
 * without roles (MySQL before 8.0.19) has no such table, and no roles.
 */
async function enabledRoles(db: Db): Promise<string[]> {
  try {
    const enabled = await db.query<{ r: string | null }>('SELECT ROLE_NAME AS r FROM information_schema.ENABLED_ROLES');
    return enabled.flatMap((r) => (r.r === null ? [] : [String(r.r)]));
  } catch (error) {
    if (serverErrno(error) === 1109) return [];
    throw error;
  }
}

/** Whether `held` covers `privilege` on table `table` of database `database` (null: the database as a whole). */
export function holds(held: HeldPrivileges, privilege: string, database: string, table: string | null): boolean {
  if (held.global.has(privilege)) return true;
  const name = (s: string) => (held.foldCase ? s.toLowerCase() : s);
  const pattern = (p: string) => (held.foldCase ? new RegExp(databasePattern(p).source, 'i') : databasePattern(p));
  if (held.databases.some((d) => d.privileges.has(privilege) && pattern(d.pattern).test(database))) return true;
  return (
    table !== null &&
    held.tables.some((t) => name(t.database) === name(database) && name(t.table) === name(table) && t.privileges.has(privilege))
  );
}

/** `user@host` as CURRENT_USER() gives it, written as information_schema's GRANTEE: `'user'@'host'`. */
function granteeOf(currentUser: string): string {
  const at = currentUser.lastIndexOf('@');
  const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return `${quote(currentUser.slice(0, at))}@${quote(currentUser.slice(at + 1))}`;
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}

function tableEntry(map: Map<string, { database: string; table: string; privileges: Set<string> }>, database: string, table: string) {
  const key = `${database}\u0000${table}`;
  let entry = map.get(key);
  if (!entry) map.set(key, (entry = { database, table, privileges: new Set() }));
  return entry;
}

/** One `GRANT privileges ON target TO ...` line of SHOW GRANTS; role grants, PROXY and column-level privileges left out. */
interface ParsedGrant {
  privileges: string[];
  /** null: `*.*`. */
  on: { database: string; table: string | null } | null;
}

/** The privileges of one SHOW GRANTS line, none for a line that grants a role or a proxy, or grants on a routine. */
export function parseGrant(line: string): ParsedGrant[] {
  const match = /^GRANT (.+?) ON ((?:`(?:[^`]|``)*`|\*)\.(?:`(?:[^`]|``)*`|\*)) TO /.exec(line);
  if (!match || /^PROXY$/i.test(match[1]!)) return [];
  // Column-level privileges, `SELECT (a, b)`, cover columns only: dropped before the list is split.
  const privileges = match[1]!
    .replace(/[A-Z ]+\([^)]*\)/g, '')
    .split(',')
    .map((p) => p.trim().toUpperCase())
    .filter((p) => p !== '' && p !== 'USAGE');
  const expanded = privileges.flatMap((p) => (p === 'ALL PRIVILEGES' || p === 'ALL' ? allPrivileges : [p]));
  const [database, table] = splitTarget(match[2]!);
  return [{ privileges: expanded, on: database === null ? null : { database, table } }];
}

/** `` `db`.`t` `` as [db, t]; `*` as null. */
function splitTarget(target: string): [string | null, string | null] {
  const parts = target.match(/`(?:[^`]|``)*`|\*/g) ?? [];
  const name = (part: string | undefined) => (part === undefined || part === '*' ? null : part.slice(1, -1).replaceAll('``', '`'));
  return [name(parts[0]), name(parts[1])];
}

/**
 * A database name of a grant (GRANT ... ON `db`.*) as it matches names: `_` and `%` are wildcards unless escaped with
 * a backslash.
 */
export function databasePattern(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '_') source += '.';
    else if (c === '%') source += '.*';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}
