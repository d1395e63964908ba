import type { Db } from '../db/connection.ts';
import { databasePattern } from '../db/privileges.ts';
import { quoteCharsetName, quoteId } from '../db/quote.ts';
import { EventshiftError, refusal } from '../errors.ts';
import type { BackupTrigger } from './manifest.ts';
import { databaseDefaults } from './restore-journal.ts';
import { maskQuoted } from './create-statement.ts';

/**
 * Triggers as a backup saves them and a restore recreates them. A trigger's body is parsed, every time it fires, in
 * the context it was created in: its sql_mode, its character_set_client (the bytes of its statement are text in that
 * character set), its collation_connection (the collation of its string literals: `'abc' = 'ABC'` is 1 under
 * utf8mb4_general_ci and 0 under utf8mb4_bin) and the collation its database had then (that of its variables declared
 * without one). A backup records all of them, and the statement as the bytes the server stores; a restore recreates
 * the trigger in that same context, from those bytes, at its original creation time, and reads it back to check that
 * SHOW CREATE TRIGGER gives what it gave at backup time (mysqldump does the same, but leaves out the time and sends the
 * statement through its own character set).
 */

/** SHOW CREATE TRIGGER's row, each field as the bytes the server stores (no conversion of results). */
async function showCreateTriggerBytes(db: Db, name: string): Promise<Array<Buffer | null>> {
  const [saved] = await db.query<{ results: string | null }>('SELECT @@SESSION.character_set_results AS results');
  await db.execute('SET SESSION character_set_results = NULL');
  try {
    const [rows] = await db.raw.query({
      sql: `SHOW CREATE TRIGGER ${quoteId(name)}`,
      rowsAsArray: true,
      typeCast: (field) => field.buffer(),
    });
    const [row] = rows as Array<Array<Buffer | null>>;
    if (!row) throw new Error(`SHOW CREATE TRIGGER ${name} returned nothing`);
    return row;
  } finally {
    await db.execute(`SET SESSION character_set_results = ${saved?.results ? quoteCharsetName(saved.results) : 'NULL'}`);
  }
}

/** What a backup records of a trigger, read from the server. */
async function readTrigger(db: Db, name: string): Promise<BackupTrigger> {
  const [text] = await db.query<Record<string, string>>(`SHOW CREATE TRIGGER ${quoteId(name)}`);
  const bytes = await showCreateTriggerBytes(db, name);
  // UNIX_TIMESTAMP of a DATETIME depends on the session's time zone: eventshift's sessions are '+00:00'.
  const [created] = await db.query<{ created: string | null }>(
    'SELECT CAST(UNIX_TIMESTAMP(CREATED) AS CHAR) AS created FROM information_schema.TRIGGERS ' +
      'WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?',
    [db.database, name],
  );
  const field = (i: number) => bytes[i]?.toString('utf8') ?? '';
  return {
    name,
    sqlMode: text?.sql_mode ?? '',
    statement: text?.['SQL Original Statement'] ?? '',
    statementBytes: bytes[2]?.toString('hex') ?? '',
    characterSetClient: field(3),
    collationConnection: field(4),
    databaseCollation: field(5),
    created: created?.created ?? null,
  };
}

/** The triggers of `table`, in the order the server fires them (each timing and event by ACTION_ORDER). */
export async function readTriggers(db: Db, table: string): Promise<BackupTrigger[]> {
  return readTriggersNamed(db, (await triggerNames(db, [table])).get(table) ?? []);
}

/** The names of the triggers on each of `tables` (those with any), in firing order: one query for them all. */
export async function triggerNames(db: Db, tables: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (tables.length === 0) return out;
  const rows = await db.query<{ EVENT_OBJECT_TABLE: string; TRIGGER_NAME: string }>(
    `SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS
      WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE IN (${tables.map(() => '?').join(', ')})
      ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
    [db.database, ...tables],
  );
  // One table asked for: every row is its own, under whatever name the server matched (lower_case_table_names=1).
  for (const r of rows) {
    const table = tables.length === 1 ? tables[0]! : r.EVENT_OBJECT_TABLE;
    out.set(table, [...(out.get(table) ?? []), r.TRIGGER_NAME]);
  }
  return out;
}

/** The triggers `names`, in that order, as a backup records them. */
export async function readTriggersNamed(db: Db, names: readonly string[]): Promise<BackupTrigger[]> {
  const triggers: BackupTrigger[] = [];
  for (const name of names) triggers.push(await readTrigger(db, name));
  return triggers;
}

/** Whether the backup recorded the trigger's full context (format version 3); older backups have text and sql_mode. */
export const hasContext = (t: BackupTrigger): t is Required<BackupTrigger> =>
  t.statementBytes !== undefined &&
  t.characterSetClient !== undefined &&
  t.collationConnection !== undefined &&
  t.databaseCollation !== undefined;

interface SessionContext {
  sqlMode: string;
  client: string;
  connection: string;
  schemaCharset: string;
  schemaCollation: string;
}

async function sessionContext(db: Db): Promise<SessionContext> {
  const [row] = await db.query<{ mode: string; client: string; connection: string }>(
    'SELECT @@SESSION.sql_mode AS mode, @@SESSION.character_set_client AS client, @@SESSION.collation_connection AS connection',
  );
  const schema = await databaseDefaults(db);
  return {
    sqlMode: row!.mode,
    client: row!.client,
    connection: row!.connection,
    schemaCharset: schema.charset,
    schemaCollation: schema.collation,
  };
}

/**
 * Recreates the saved triggers of `table` (which must exist), in order, each in the context it was created in, and
 * checks each against the backup. The session's settings and the database's default collation are put back after
 * (a restore killed in the middle of a trigger may leave the database's default collation switched: the next restore
 * puts it back). Throws, naming the trigger and what differs, if one does not come back as it was.
 */
export async function recreateTriggers(
  db: Db,
  table: string,
  triggers: readonly BackupTrigger[],
  log: (line: string) => void,
): Promise<void> {
  await createInContexts(db, {
    table,
    triggers,
    log,
    sqlOf: (trigger) => [hasContext(trigger) ? statementSql(db, table, trigger) : trigger.statement],
  });
}

/**
 * Creates `triggers` of `table` again in place of the live ones of the same names (a table's rename rewrites their
 * definitions), each from its saved bytes in its saved context (sql_mode, character sets, collations, creation time),
 * at the place the live one has among the triggers of its timing and event: `CREATE OR REPLACE ... FOLLOWS` the one
 * before it (or PRECEDES the one after) on MariaDB, so no write goes without it; DROP and CREATE on MySQL. Checks each
 * against `triggers` and the order of the table's triggers after; throws, naming what differs, if one is not as saved.
 */
export async function replaceTriggers(
  db: Db,
  table: string,
  triggers: ReadonlyArray<Required<BackupTrigger>>,
  log: (line: string) => void,
): Promise<void> {
  if (triggers.length === 0) return;
  const order = await triggerOrder(db, table);
  const sqlOf = (trigger: Required<BackupTrigger>) => {
    const group = order.find((g) => g.includes(trigger.name)) ?? [trigger.name];
    const at = group.indexOf(trigger.name);
    const place = at > 0 ? { clause: 'FOLLOWS', name: group[at - 1]! } : group.length > 1 ? { clause: 'PRECEDES', name: group[1]! } : null;
    return replaceSql(db, table, trigger, place);
  };
  await createInContexts(db, { table, triggers, log, sqlOf });
  const after = await triggerOrder(db, table);
  if (JSON.stringify(after) !== JSON.stringify(order)) {
    throw new EventshiftError(
      'internal',
      `The triggers of table ${table} fire in a different order after they were created again (${JSON.stringify(after)} ` +
        `instead of ${JSON.stringify(order)}).`,
      { subject: table },
    );
  }
}

/** The names of `table`'s triggers, one list per timing and event, in the order they fire (ACTION_ORDER). */
async function triggerOrder(db: Db, table: string): Promise<string[][]> {
  const rows = await db.query<{ name: string; grp: string }>(
    `SELECT TRIGGER_NAME AS name, CONCAT(ACTION_TIMING, ' ', EVENT_MANIPULATION) AS grp FROM information_schema.TRIGGERS
      WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
    [db.database, table],
  );
  const groups = new Map<string, string[]>();
  for (const r of rows) groups.set(r.grp, [...(groups.get(r.grp) ?? []), r.name]);
  return [...groups.values()];
}

/**
 * The statements that replace a live trigger by `trigger`, `FOLLOWS` or `PRECEDES` another (the server keeps neither
 * clause in the definition, so the saved bytes come back as they were). The clause goes right after FOR EACH ROW,
 * found in the bytes read one by one (quoted text masked); the check after the trigger is created catches a statement
 * in a multi-byte character set that this misreads.
 */
function replaceSql(db: Db, table: string, trigger: Required<BackupTrigger>, place: { clause: string; name: string } | null): string[] {
  statementSql(db, table, trigger);
  return triggerReplaceSql(trigger, place, db.capabilities.executeImmediate);
}

/**
 * replaceSql's statements, for a server with EXECUTE IMMEDIATE (MariaDB: one statement from the saved bytes) or without
 * (DROP and CREATE from the bytes read as UTF-8, exact only for a statement in UTF-8 or ASCII).
 */
export function triggerReplaceSql(
  trigger: Required<BackupTrigger>,
  place: { clause: string; name: string } | null,
  executeImmediate: boolean,
): string[] {
  const bytes = Buffer.from(trigger.statementBytes, 'hex');
  const text = bytes.toString('latin1');
  const create = /^CREATE\s/i.exec(text);
  const row = /\bFOR\s+EACH\s+ROW\b/i.exec(maskQuoted(text));
  if (!create || !row) {
    throw new EventshiftError('internal', `The saved definition of trigger ${trigger.name} has no CREATE ... FOR EACH ROW.`, {
      subject: trigger.name,
    });
  }
  const end = row.index + row[0].length;
  if (executeImmediate) {
    const hex = (b: Buffer) => `X'${b.toString('hex')}'`;
    const parts = [hex(Buffer.concat([bytes.subarray(0, 6), Buffer.from(' OR REPLACE'), bytes.subarray(6, end)]))];
    if (place) {
      // The other trigger's name, as bytes of the statement's character set.
      const name = Buffer.from(quoteId(place.name), 'utf8').toString('hex');
      parts.push(
        hex(Buffer.from(` ${place.clause} `)),
        `CAST(CONVERT(_utf8mb4 X'${name}' USING ${quoteCharsetName(trigger.characterSetClient)}) AS BINARY)`,
      );
    }
    parts.push(hex(bytes.subarray(end)));
    return [`EXECUTE IMMEDIATE CONCAT(${parts.join(', ')})`];
  }
  const utf8 = bytes.toString('utf8');
  const at = bytes.subarray(0, end).toString('utf8').length;
  return [
    `DROP TRIGGER ${quoteId(trigger.name)}`,
    `${utf8.slice(0, at)}${place ? ` ${place.clause} ${quoteId(place.name)}` : ''}${utf8.slice(at)}`,
  ];
}

/** Triggers of `table` to create, and the statements that create each one. */
interface TriggerWork<T extends BackupTrigger> {
  table: string;
  triggers: readonly T[];
  log: (line: string) => void;
  sqlOf: (trigger: T) => string[];
}

/**
 * Runs the statements `sqlOf` gives for each trigger, in order, each in the context the trigger was created in, and
 * checks each one that recorded its context against it afterwards; puts back the session's settings and the
 * database's default collation after.
 */
async function createInContexts<T extends BackupTrigger>(db: Db, work: TriggerWork<T>): Promise<void> {
  if (work.triggers.length === 0) return;
  const saved = await sessionContext(db);
  /** The database's default collation as the triggers so far left it. */
  const schema = { collation: saved.schemaCollation };
  try {
    for (const trigger of work.triggers) {
      const statements = work.sqlOf(trigger);
      try {
        await createInContext(db, { trigger, statements, saved, schema, work });
      } catch (cause) {
        throw new EventshiftError(
          'database',
          `Recreating trigger ${trigger.name} on table ${work.table} failed: ${(cause as Error).message}`,
          {
            subject: work.table,
            cause,
          },
        );
      }
      if (hasContext(trigger)) await checkTrigger(db, work.table, trigger);
    }
  } finally {
    await db.execute(
      `SET SESSION sql_mode = ?, character_set_client = ${quoteCharsetName(saved.client)}, ` +
        `collation_connection = ${quoteCharsetName(saved.connection)}, timestamp = DEFAULT`,
      [saved.sqlMode],
    );
    if (schema.collation !== saved.schemaCollation) {
      await db.execute(
        `ALTER DATABASE ${quoteId(db.database)} CHARACTER SET ${quoteCharsetName(saved.schemaCharset)} ` +
          `COLLATE ${quoteCharsetName(saved.schemaCollation)}`,
      );
    }
  }
}

/**
 * Runs one trigger's statements under its sql_mode and, when the backup recorded them, its character sets, creation
 * time and database collation (switching `schema.collation` if need be); the session's character sets are put back.
 */
async function createInContext<T extends BackupTrigger>(
  db: Db,
  at: { trigger: T; statements: string[]; saved: SessionContext; schema: { collation: string }; work: TriggerWork<T> },
): Promise<void> {
  const { trigger, statements, saved, schema } = at;
  await db.execute('SET SESSION sql_mode = ?', [trigger.sqlMode]);
  if (!hasContext(trigger)) {
    // Format versions 1 and 2 kept the statement's text and sql_mode only.
    for (const sql of statements) await db.execute(sql);
    at.work.log(
      `Recreated trigger ${trigger.name} on ${at.work.table} from a backup that did not record its character set and collations: ` +
        `they are now this session's (${saved.client}, ${saved.connection}) and the database's (${schema.collation}).`,
    );
    return;
  }
  if (trigger.databaseCollation !== schema.collation) {
    await db.execute(`ALTER DATABASE ${quoteId(db.database)} COLLATE ${quoteCharsetName(trigger.databaseCollation)}`);
    schema.collation = trigger.databaseCollation;
  }
  await db.execute(
    `SET SESSION character_set_client = ${quoteCharsetName(trigger.characterSetClient)}, ` +
      `collation_connection = ${quoteCharsetName(trigger.collationConnection)}, ` +
      `timestamp = ${trigger.created !== null && /^\d+(\.\d+)?$/.test(trigger.created) ? trigger.created : 'DEFAULT'}`,
  );
  for (const sql of statements) await db.execute(sql);
  await db.execute(
    `SET SESSION character_set_client = ${quoteCharsetName(saved.client)}, ` +
      `collation_connection = ${quoteCharsetName(saved.connection)}, timestamp = DEFAULT`,
  );
}

/**
 * The SQL that runs a trigger's statement as its own bytes: `EXECUTE IMMEDIATE X'...'` (a hex literal is ASCII
 * whatever the driver's character set). Without it (MySQL), the statement is sent as the driver sends text, UTF-8,
 * which is exact only for a statement written in UTF-8; any other is refused, naming its character set.
 */
function statementSql(db: Db, table: string, trigger: Required<BackupTrigger>): string {
  if (db.capabilities.executeImmediate) return `EXECUTE IMMEDIATE X'${trigger.statementBytes}'`;
  if (/^utf8(mb[34])?$/.test(trigger.characterSetClient)) return Buffer.from(trigger.statementBytes, 'hex').toString('utf8');
  throw new EventshiftError(
    'refused',
    `Trigger ${trigger.name} on table ${table} was written in ${trigger.characterSetClient}, ` +
      `and this server (${db.capabilities.version}) has no ` +
      'EXECUTE IMMEDIATE to take its statement as those bytes; nothing was changed. ' +
      'Restore it on MariaDB, or recreate it by hand from the manifest (statementBytes, characterSetClient).',
    { subject: table },
  );
}

/**
 * Throws, before a restore changes anything, if a trigger of `tables` could not be recreated exactly on this server,
 * or by this user: one whose DEFINER is another user needs SUPER or SET USER, and one made while the database had
 * another default collation needs ALTER on the database (recreateTriggers switches it for a moment). Without them the
 * restore would fail after its swap, with the tables replaced and their triggers missing.
 */
export async function refuseUnrecreatableTriggers(
  db: Db,
  tables: ReadonlyArray<{ name: string; triggers: readonly BackupTrigger[] }>,
): Promise<void> {
  for (const table of tables) for (const trigger of table.triggers.filter(hasContext)) statementSql(db, table.name, trigger);
  const all = tables.flatMap((table) => table.triggers.map((trigger) => ({ table: table.name, trigger })));
  if (all.length === 0) return;
  const [session] = await db.query<{ user: string }>('SELECT CURRENT_USER() AS user');
  const user = session!.user;
  const { schemaCollation } = await sessionContext(db);
  const otherDefiner = all.find(({ trigger }) => {
    const definer = definerOf(trigger.statement);
    return definer !== null && definer !== user;
  });
  const switching = all.find(({ trigger }) => hasContext(trigger) && trigger.databaseCollation !== schemaCollation);
  if (!otherDefiner && !switching) return;
  const grants = await sessionGrants(db);
  if (
    otherDefiner &&
    !grants.some((g) => g.on === '*.*' && g.privileges.some((p) => ['ALL PRIVILEGES', 'SUPER', 'SET USER'].includes(p)))
  ) {
    const { table, trigger } = otherDefiner;
    throw refusal(
      `Trigger ${trigger.name} on table ${table} is recreated with its DEFINER ${definerOf(trigger.statement)}, which needs the SET USER ` +
        `(or SUPER) privilege, and ${user} has neither; nothing was changed. Restore as a user with it (GRANT SET USER ON *.* TO ...), ` +
        'or as that definer.',
      { subject: table, details: { trigger: trigger.name, definer: definerOf(trigger.statement), user, privilege: 'SET USER' } },
    );
  }
  const alterable = (g: Grant) =>
    g.privileges.some((p) => p === 'ALL PRIVILEGES' || p === 'ALTER') &&
    (g.on === '*.*' || (g.on.endsWith('.*') && databasePattern(g.on.slice(0, -2)).test(db.database)));
  if (switching && !grants.some(alterable)) {
    const { table, trigger } = switching;
    throw refusal(
      `Trigger ${trigger.name} on table ${table} was made while database ${db.database} had the default collation ` +
        `${(trigger as Required<BackupTrigger>).databaseCollation} (its variables take it), so recreating it switches the database's ` +
        `default collation for a moment, which needs the ALTER privilege on ${db.database}; ${user} lacks it, and nothing was changed. ` +
        `GRANT ALTER ON \`${db.database}\`.* to ${user}, then restore again.`,
      { subject: table, details: { trigger: trigger.name, user, privilege: 'ALTER' } },
    );
  }
}

/** `user@host` of a trigger statement's DEFINER clause, as CURRENT_USER() writes it; null without one. */
function definerOf(statement: string): string | null {
  const quoted = "(`(?:[^`]|``)*`|'(?:[^']|'')*'|[^\\s@`']+)";
  const match = new RegExp(`^\\s*CREATE\\s+DEFINER\\s*=\\s*${quoted}@${quoted}`, 'i').exec(statement);
  if (!match) return null;
  const unquote = (part: string) => (/^[`']/.test(part) ? part.slice(1, -1).replaceAll(part[0]!.repeat(2), part[0]!) : part);
  return `${unquote(match[1]!)}@${unquote(match[2]!)}`;
}

interface Grant {
  privileges: string[];
  /** `*.*`, or `db.*` / `db.table` with the names unquoted. */
  on: string;
}

/**
 * The session's grants, from SHOW GRANTS: unlike information_schema's privilege tables it lists those of the
 * session's enabled role too.
 */
async function sessionGrants(db: Db): Promise<Grant[]> {
  const rows = await db.query<Record<string, string>>('SHOW GRANTS');
  const grants: Grant[] = [];
  for (const line of rows.map((r) => Object.values(r)[0] ?? '')) {
    const match = /^GRANT (.+?) ON (\S+) TO /.exec(line);
    if (!match) continue;
    grants.push({ privileges: match[1]!.split(/,\s*/).map((p) => p.trim().toUpperCase()), on: match[2]!.replaceAll('`', '') });
  }
  return grants;
}

/**
 * Of the saved triggers of `table`, those a restore still has to create. A restore resumed after it began recreating
 * them finds some there; each is kept only if it is exactly the backup's (a kill right after CREATE TRIGGER leaves
 * one unchecked, possibly made in another context). If one is not, every saved trigger there is dropped and all are
 * created again, so that they fire in the saved order.
 */
export async function triggersToCreate(
  db: Db,
  table: string,
  saved: readonly BackupTrigger[],
  log: (line: string) => void,
): Promise<readonly BackupTrigger[]> {
  const rows = await db.query<{ TRIGGER_NAME: string }>(
    'SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?',
    [db.database, table],
  );
  const present = saved.filter((t) => rows.some((r) => r.TRIGGER_NAME === t.name));
  for (const trigger of present.filter(hasContext)) {
    const differing = await differingFields(db, trigger);
    if (differing.length === 0) continue;
    for (const t of present) await db.execute(`DROP TRIGGER ${quoteId(t.name)}`);
    log(
      `Trigger ${trigger.name} on ${table} was not as the backup has it ` +
        `(its ${differing.join(', ')} differ${differing.length > 1 ? '' : 's'}): ` +
        `the triggers of ${table} were dropped and created again.`,
    );
    return saved;
  }
  return saved.filter((t) => !present.includes(t));
}

const contextFields = ['sqlMode', 'statementBytes', 'characterSetClient', 'collationConnection', 'databaseCollation', 'created'] as const;

/** The fields of a trigger's SHOW CREATE TRIGGER that differ from what the backup recorded, with their values now. */
async function differingFields(db: Db, expected: Required<BackupTrigger>): Promise<Array<(typeof contextFields)[number]>> {
  const actual = await readTrigger(db, expected.name);
  return contextFields.filter((f) => actual[f] !== expected[f]);
}

/** Reads a recreated trigger back and throws if SHOW CREATE TRIGGER differs from what the backup recorded. */
async function checkTrigger(db: Db, table: string, expected: Required<BackupTrigger>): Promise<void> {
  const actual = await readTrigger(db, expected.name);
  const differing = contextFields.filter((f) => actual[f] !== expected[f]);
  if (differing.length > 0) {
    throw new EventshiftError(
      'internal',
      `Trigger ${expected.name} on table ${table} was recreated but its ${differing.join(', ')} differ from the backup's ` +
        `(${differing.map((f) => `${f}: ${JSON.stringify(actual[f])} instead of ${JSON.stringify(expected[f])}`).join('; ')}).`,
      { subject: table, details: { trigger: expected.name, differing } },
    );
  }
}
