import { isIP } from 'node:net';
import type { Db } from '../../src/db/connection.ts';
import { createTableSql } from '../../src/db/ddl.ts';
import { quoteId } from '../../src/db/quote.ts';
import { usageError } from '../../src/errors.ts';
import { actor } from './schema.ts';
import { mulberry32 } from '../seeded-random.ts';

/**
 * A deterministic MediaWiki database from before the actor migration (the seven tables with `*_user` and
 * `*_user_text`, the `user` table, and an `actor` table some rows already reached, unless `actorTable: false`), for tests
 * and the demo.
 * Planted: IPv4 and IPv6 anonymous editors, imported `prefix>name` users, names with non-ASCII and with invalid UTF-8
 * bytes, registered-looking names with user id 0, a name with two user ids, a user id with two names, and an existing
 * actor that disagrees with the rows. Everything the mapping should do is also computed here, in JavaScript, from the
 * generated rows, so tests compare the tool with an independent expectation.
 *
 * @example
 * const fixture = await generateMediawiki(db);                      // 2000 revisions and the other six tables
 * const unseen = await generateMediawiki(db, { seed: 99, revisions: 6000 });
 * const older = await generateMediawiki(db, { actorTable: false });  // no actor table: the run creates it
 */
export interface MediawikiFixtureOptions {
  /** PRNG seed, a 32-bit integer; another seed, another database of the same shape. */
  seed?: number;
  /** Rows of `revision` (default 2000); the other tables scale with it. */
  revisions?: number;
  /** Rows per INSERT statement (default 2000). */
  batchRows?: number;
  /**
   * Whether the wiki has an `actor` table already, with actors MediaWiki wrote (default true); false: a wiki from
   * before MediaWiki 1.31, where the run creates the table and every actor.
   */
  actorTable?: boolean;
}

export const defaultMediawikiSeed = 20180417;

/** One of the seven tables as the mapping reads it. */
export const actorTables = [
  { table: 'revision', prefix: 'rev' },
  { table: 'archive', prefix: 'ar' },
  { table: 'image', prefix: 'img' },
  { table: 'oldimage', prefix: 'oi' },
  { table: 'filearchive', prefix: 'fa' },
  { table: 'recentchanges', prefix: 'rc' },
  { table: 'logging', prefix: 'log' },
] as const;

export interface MediawikiFixture {
  seed: number;
  /** Per table: its rows, those to fill, those skipped (registered-looking, user 0) and those whose name is in conflict. */
  tables: Record<string, { rows: number; fill: number; skipped: number; conflicted: number }>;
  /** Distinct names that get an actor, of which `reuse` have one already and `create` are new. */
  keys: number;
  reuse: number;
  create: number;
  existingActors: number;
  /** Registered-looking names with user id 0 (hex of their bytes), and names in conflict (hex), sorted. */
  skippedNames: string[];
  conflictedNames: string[];
  /** A name with invalid UTF-8 bytes that gets an actor (hex). */
  invalidUtf8Name: string;
}

type Who = { user: number; name: Buffer };

/** Creates the tables (dropping none: the database should be empty) and fills them. */
export async function generateMediawiki(db: Db, options: MediawikiFixtureOptions = {}): Promise<MediawikiFixture> {
  const seed = options.seed ?? defaultMediawikiSeed;
  const revisions = options.revisions ?? 2000;
  if (!Number.isSafeInteger(revisions) || revisions < 200) throw usageError('revisions must be a whole number of at least 200.');
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const text = (s: string) => Buffer.from(s, 'utf8');

  // People. Registered users have ids with gaps; names are bytes.
  const users: Who[] = [];
  const given = ['Alice', 'Bob', 'Carol', 'Dmitri', 'Erin', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jules', 'Kofi', 'Lena', 'Mateo', 'Noor'];
  const userCount = Math.max(40, Math.round(revisions / 25));
  let nextUser = 1;
  for (let i = 0; i < userCount; i++) {
    nextUser += 1 + (random() < 0.2 ? Math.floor(random() * 5) : 0);
    users.push({ user: nextUser, name: text(`${pick(given)} ${i + 1}`) });
  }
  // Non-ASCII names, and one with invalid UTF-8 (a latin1 byte from an old wiki): kept as bytes.
  const special = [text('Zoë Ærøskøbing'), text('李雷'), text('Ōkubo Tōru'), Buffer.from([0x4a, 0x6f, 0x73, 0xe9, 0x20, 0x4c, 0x61, 0x74, 0x69, 0x6e])];
  for (const name of special) users.push({ user: (nextUser += 3), name });
  const invalidUtf8Name = special[3]!;
  const ipv4 = Array.from({ length: 30 }, () => text(`${10 + Math.floor(random() * 200)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`));
  const ipv6 = Array.from({ length: 12 }, () => text(`2001:DB8:${Math.floor(random() * 65536).toString(16).toUpperCase()}:0:0:0:0:${(1 + Math.floor(random() * 65535)).toString(16).toUpperCase()}`));
  const imported = [text('imported>Wikipedian'), text('en>Old Editor')];
  const anonymous: Who[] = [...ipv4, ...ipv6, ...imported].map((name) => ({ user: 0, name }));
  // Planted problems.
  const ghosts: Who[] = [text('Ghost Writer'), text('Ghöst 2'), Buffer.from([0x47, 0x68, 0x6f, 0x73, 0x74, 0xff])].map((name) => ({ user: 0, name }));
  const twinA: Who = { user: (nextUser += 5), name: text('Twin') };
  const twinB: Who = { user: (nextUser += 1), name: text('Twin') };
  const renamed = users[1]!;
  const renamedOld: Who = { user: renamed.user, name: text('Before Rename') };
  const disputed: Who = { user: (nextUser += 7), name: text('Disputed') };
  const planted = [...ghosts, twinA, twinB, renamedOld, disputed];

  const who = (): Who => {
    const r = random();
    if (r < 0.012) return pick(planted);
    if (r < 0.2) return pick(anonymous);
    if (r < 0.23) return pick(users.slice(-special.length));
    return pick(users);
  };

  await db.execute('CREATE TABLE `user` (user_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, user_name VARBINARY(255) NOT NULL, ' +
    'user_registration BINARY(14) NULL, user_editcount INT NULL, UNIQUE KEY user_name (user_name)) ENGINE=InnoDB DEFAULT CHARSET=binary');
  for (const ddl of legacyDdl) await db.execute(ddl);
  const actorTable = options.actorTable ?? true;
  if (actorTable) await db.execute(createTableSql(actor));

  const rowsOf: Record<string, Who[]> = {};
  const batch = options.batchRows ?? 2000;
  const insert = async (table: string, columns: string[], rows: unknown[][]) => {
    for (let i = 0; i < rows.length; i += batch) {
      await db.execute(`INSERT INTO ${quoteId(table)} (${columns.map(quoteId).join(', ')}) VALUES ?`, [rows.slice(i, i + batch)]);
    }
  };
  const stamp = () => {
    const t = Date.UTC(2004, 0, 1) + Math.floor(random() * 15 * 365 * 86400) * 1000;
    return new Date(t).toISOString().replace(/\D/g, '').slice(0, 14);
  };
  const comment = () => text(pick(['typo', 'copyedit', 'Revert vandalism', 'Reverted edits by [[Special:Contributions]]', 'résumé: “quotes”', '']));
  const sha1 = () => text(Array.from({ length: 31 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)]).join(''));

  await insert('user', ['user_id', 'user_name', 'user_registration', 'user_editcount'],
    [...users, twinA, disputed].map((u) => [u.user, u.name, stamp(), Math.floor(random() * 5000)]));

  const count = (share: number) => Math.max(20, Math.round(revisions * share));
  const people = (n: number) => Array.from({ length: n }, who);

  rowsOf.revision = people(revisions);
  await insert('revision', ['rev_id', 'rev_page', 'rev_text_id', 'rev_comment', 'rev_user', 'rev_user_text', 'rev_timestamp', 'rev_minor_edit', 'rev_deleted', 'rev_len', 'rev_parent_id', 'rev_sha1'],
    rowsOf.revision.map((w, i) => [i + 1 + Math.floor(i / 50) * 3, 1 + Math.floor(random() * revisions / 8), i + 1, comment(), w.user, w.name, stamp(), random() < 0.3 ? 1 : 0, 0, Math.floor(random() * 90_000), i, sha1()]));
  rowsOf.archive = people(count(0.1));
  await insert('archive', ['ar_id', 'ar_namespace', 'ar_title', 'ar_comment', 'ar_user', 'ar_user_text', 'ar_timestamp', 'ar_minor_edit', 'ar_rev_id', 'ar_deleted', 'ar_len', 'ar_sha1'],
    rowsOf.archive.map((w, i) => [i + 1, pick([0, 1, 2, 4]), text(`Deleted page ${i % 40}`), comment(), w.user, w.name, stamp(), 0, 100_000 + i, 0, Math.floor(random() * 5000), sha1()]));
  rowsOf.image = people(count(0.05));
  await insert('image', ['img_name', 'img_size', 'img_width', 'img_height', 'img_bits', 'img_media_type', 'img_major_mime', 'img_minor_mime', 'img_description', 'img_user', 'img_user_text', 'img_timestamp', 'img_sha1'],
    rowsOf.image.map((w, i) => [text(`File_${String(i).padStart(5, '0')}${i % 7 === 0 ? '_Ü' : ''}.jpg`), Math.floor(random() * 9e6), 800, 600, 8, 'BITMAP', 'image', text('jpeg'), comment(), w.user, w.name, stamp(), sha1()]));
  rowsOf.oldimage = people(count(0.05));
  await insert('oldimage', ['oi_name', 'oi_archive_name', 'oi_size', 'oi_width', 'oi_height', 'oi_bits', 'oi_description', 'oi_user', 'oi_user_text', 'oi_timestamp', 'oi_sha1', 'oi_deleted'],
    rowsOf.oldimage.map((w, i) => {
      const ts = stamp();
      const file = `File_${String(i % Math.max(1, Math.floor(rowsOf.image!.length / 2))).padStart(5, '0')}.jpg`;
      return [text(file), text(`${ts}!${file}`), Math.floor(random() * 9e6), 640, 480, 8, comment(), w.user, w.name, ts, sha1(), 0];
    }));
  rowsOf.filearchive = people(count(0.025));
  await insert('filearchive', ['fa_id', 'fa_name', 'fa_storage_group', 'fa_storage_key', 'fa_deleted_user', 'fa_deleted_timestamp', 'fa_size', 'fa_description', 'fa_user', 'fa_user_text', 'fa_timestamp', 'fa_deleted', 'fa_sha1'],
    rowsOf.filearchive.map((w, i) => [i + 1, text(`Gone_${i}.png`), text('deleted'), text(`${i}.png`), 1, stamp(), Math.floor(random() * 9e5), comment(), w.user, w.name, stamp(), 0, sha1()]));
  rowsOf.recentchanges = people(count(0.25));
  await insert('recentchanges', ['rc_id', 'rc_timestamp', 'rc_user', 'rc_user_text', 'rc_namespace', 'rc_title', 'rc_comment', 'rc_minor', 'rc_bot', 'rc_new', 'rc_cur_id', 'rc_this_oldid', 'rc_last_oldid', 'rc_type', 'rc_source', 'rc_patrolled', 'rc_ip', 'rc_old_len', 'rc_new_len', 'rc_deleted'],
    rowsOf.recentchanges.map((w, i) => [i + 1, stamp(), w.user, w.name, 0, text(`Page ${i % 97}`), comment(), 0, 0, 0, 1 + (i % 97), 10 * i, Math.max(0, 10 * i - 1), 0, text('mw.edit'), 0, w.user === 0 && isIP(w.name.toString('latin1')) ? w.name : text('127.0.0.1'), 100, 120, 0]));
  rowsOf.logging = people(count(0.2));
  await insert('logging', ['log_id', 'log_type', 'log_action', 'log_timestamp', 'log_user', 'log_user_text', 'log_namespace', 'log_title', 'log_page', 'log_comment', 'log_params', 'log_deleted'],
    rowsOf.logging.map((w, i) => [i + 1, text(pick(['delete', 'move', 'upload', 'block', 'patrol'])), text('action'), stamp(), w.user, w.name, 0, text(`Page ${i % 97}`), i % 97, comment(), text('a:0:{}'), 0]));

  // Actors MediaWiki wrote already (in the write-both stage), with IDs from 1: some users and IPs, and one that
  // disagrees with the rows ('Disputed' is user 901-ish in the rows but has another user id here).
  const existing: Who[] = !actorTable ? [] : [...users.filter((_, i) => i % 5 === 0), ...ipv4.slice(0, 4).map((name) => ({ user: 0, name })),
    { user: disputed.user + 1, name: disputed.name }];
  if (actorTable) await insert('actor', ['actor_id', 'actor_user', 'actor_name'], existing.map((w, i) => [i + 1, w.user === 0 ? null : w.user, w.name]));

  return { seed, ...expectations(rowsOf, existing), existingActors: existing.length, invalidUtf8Name: invalidUtf8Name.toString('hex') };
}

/** What the mapping must do with these rows, by its definition, computed in JavaScript. */
function expectations(rowsOf: Record<string, Who[]>, existing: Who[]): Omit<MediawikiFixture, 'seed' | 'existingActors' | 'invalidUtf8Name'> {
  const hex = (b: Buffer) => b.toString('hex').toUpperCase();
  const anonymous = (name: Buffer) => { const s = name.toString('latin1'); return isIP(s) !== 0 || s.includes('>'); };
  const skip = (w: Who) => w.user === 0 && !anonymous(w.name);
  const valuesOf = new Map<string, Set<number>>(); // name -> user ids (0 = NULL)
  const namesOf = new Map<number, Set<string>>(); // user id -> names
  const fromRows = new Set<string>();
  const add = (w: Who) => {
    const h = hex(w.name);
    if (!valuesOf.has(h)) valuesOf.set(h, new Set());
    valuesOf.get(h)!.add(w.user);
    if (w.user !== 0) {
      if (!namesOf.has(w.user)) namesOf.set(w.user, new Set());
      namesOf.get(w.user)!.add(h);
    }
  };
  for (const rows of Object.values(rowsOf)) for (const w of rows) if (!skip(w)) { add(w); fromRows.add(hex(w.name)); }
  for (const w of existing) add(w);
  const conflicted = new Set<string>();
  for (const [h, ids] of valuesOf) if (ids.size > 1 && fromRows.has(h)) conflicted.add(h);
  for (const names of namesOf.values()) if (names.size > 1) for (const h of names) if (fromRows.has(h)) conflicted.add(h);
  const skippedNames = new Set<string>();
  const tables: MediawikiFixture['tables'] = {};
  for (const [table, rows] of Object.entries(rowsOf)) {
    const t = { rows: rows.length, fill: 0, skipped: 0, conflicted: 0 };
    for (const w of rows) {
      if (skip(w)) { t.skipped++; skippedNames.add(hex(w.name)); } else if (conflicted.has(hex(w.name))) t.conflicted++; else t.fill++;
    }
    tables[table] = t;
  }
  const usable = [...fromRows].filter((h) => !conflicted.has(h));
  const existingNames = new Set(existing.map((w) => hex(w.name)));
  const reuse = usable.filter((h) => existingNames.has(h)).length;
  return {
    tables, keys: usable.length, reuse, create: usable.length - reuse,
    skippedNames: [...skippedNames].sort(), conflictedNames: [...conflicted].sort(),
  };
}

/** The legacy tables as MediaWiki 1.30 defines them (binary strings, its indexes; oldimage has no primary key). */
const legacyDdl = [
  `CREATE TABLE revision (rev_id INT UNSIGNED NOT NULL AUTO_INCREMENT, rev_page INT UNSIGNED NOT NULL, rev_text_id INT UNSIGNED NOT NULL,
    rev_comment VARBINARY(767) NOT NULL, rev_user INT UNSIGNED NOT NULL DEFAULT 0, rev_user_text VARBINARY(255) NOT NULL DEFAULT '',
    rev_timestamp BINARY(14) NOT NULL DEFAULT '', rev_minor_edit TINYINT UNSIGNED NOT NULL DEFAULT 0, rev_deleted TINYINT UNSIGNED NOT NULL DEFAULT 0,
    rev_len INT UNSIGNED NULL, rev_parent_id INT UNSIGNED NULL, rev_sha1 VARBINARY(32) NOT NULL DEFAULT '',
    PRIMARY KEY (rev_id), KEY rev_timestamp (rev_timestamp), KEY page_timestamp (rev_page, rev_timestamp),
    KEY user_timestamp (rev_user, rev_timestamp), KEY usertext_timestamp (rev_user_text, rev_timestamp)) ENGINE=InnoDB DEFAULT CHARSET=binary`,
  `CREATE TABLE archive (ar_id INT UNSIGNED NOT NULL AUTO_INCREMENT, ar_namespace INT NOT NULL DEFAULT 0, ar_title VARBINARY(255) NOT NULL DEFAULT '',
    ar_comment VARBINARY(767) NOT NULL, ar_user INT UNSIGNED NOT NULL DEFAULT 0, ar_user_text VARBINARY(255) NOT NULL,
    ar_timestamp BINARY(14) NOT NULL DEFAULT '', ar_minor_edit TINYINT NOT NULL DEFAULT 0, ar_rev_id INT UNSIGNED NULL, ar_deleted TINYINT UNSIGNED NOT NULL DEFAULT 0,
    ar_len INT UNSIGNED NULL, ar_sha1 VARBINARY(32) NOT NULL DEFAULT '',
    PRIMARY KEY (ar_id), KEY name_title_timestamp (ar_namespace, ar_title, ar_timestamp), KEY ar_usertext_timestamp (ar_user_text, ar_timestamp),
    KEY ar_revid (ar_rev_id)) ENGINE=InnoDB DEFAULT CHARSET=binary`,
  `CREATE TABLE image (img_name VARBINARY(255) NOT NULL DEFAULT '', img_size INT UNSIGNED NOT NULL DEFAULT 0, img_width INT NOT NULL DEFAULT 0,
    img_height INT NOT NULL DEFAULT 0, img_bits INT NOT NULL DEFAULT 0,
    img_media_type ENUM('UNKNOWN','BITMAP','DRAWING','AUDIO','VIDEO','MULTIMEDIA','OFFICE','TEXT','EXECUTABLE','ARCHIVE','3D') NULL,
    img_major_mime ENUM('unknown','application','audio','image','text','video','message','model','multipart','chemical') NOT NULL DEFAULT 'unknown',
    img_minor_mime VARBINARY(100) NOT NULL DEFAULT 'unknown', img_description VARBINARY(767) NOT NULL, img_user INT UNSIGNED NOT NULL DEFAULT 0,
    img_user_text VARBINARY(255) NOT NULL, img_timestamp VARBINARY(14) NOT NULL DEFAULT '', img_sha1 VARBINARY(32) NOT NULL DEFAULT '',
    PRIMARY KEY (img_name), KEY img_user_timestamp (img_user, img_timestamp), KEY img_usertext_timestamp (img_user_text, img_timestamp),
    KEY img_size (img_size), KEY img_timestamp (img_timestamp), KEY img_sha1 (img_sha1(10))) ENGINE=InnoDB DEFAULT CHARSET=binary`,
  `CREATE TABLE oldimage (oi_name VARBINARY(255) NOT NULL DEFAULT '', oi_archive_name VARBINARY(255) NOT NULL DEFAULT '',
    oi_size INT UNSIGNED NOT NULL DEFAULT 0, oi_width INT NOT NULL DEFAULT 0, oi_height INT NOT NULL DEFAULT 0, oi_bits INT NOT NULL DEFAULT 0,
    oi_description VARBINARY(767) NOT NULL, oi_user INT UNSIGNED NOT NULL DEFAULT 0, oi_user_text VARBINARY(255) NOT NULL,
    oi_timestamp BINARY(14) NOT NULL DEFAULT '', oi_sha1 VARBINARY(32) NOT NULL DEFAULT '', oi_deleted TINYINT UNSIGNED NOT NULL DEFAULT 0,
    KEY oi_usertext_timestamp (oi_user_text, oi_timestamp), KEY oi_name_timestamp (oi_name, oi_timestamp),
    KEY oi_name_archive_name (oi_name, oi_archive_name(14)), KEY oi_sha1 (oi_sha1(10))) ENGINE=InnoDB DEFAULT CHARSET=binary`,
  `CREATE TABLE filearchive (fa_id INT NOT NULL AUTO_INCREMENT, fa_name VARBINARY(255) NOT NULL DEFAULT '', fa_archive_name VARBINARY(255) NULL DEFAULT '',
    fa_storage_group VARBINARY(16) NULL, fa_storage_key VARBINARY(64) NULL DEFAULT '', fa_deleted_user INT NULL, fa_deleted_timestamp BINARY(14) NULL DEFAULT '',
    fa_size INT UNSIGNED NULL DEFAULT 0, fa_description VARBINARY(767) NULL, fa_user INT UNSIGNED NULL DEFAULT 0, fa_user_text VARBINARY(255) NULL,
    fa_timestamp BINARY(14) NULL DEFAULT '', fa_deleted TINYINT UNSIGNED NOT NULL DEFAULT 0, fa_sha1 VARBINARY(32) NOT NULL DEFAULT '',
    PRIMARY KEY (fa_id), KEY fa_name (fa_name, fa_timestamp), KEY fa_storage_group (fa_storage_group, fa_storage_key),
    KEY fa_deleted_timestamp (fa_deleted_timestamp), KEY fa_user_timestamp (fa_user_text, fa_timestamp), KEY fa_sha1 (fa_sha1(10))) ENGINE=InnoDB DEFAULT CHARSET=binary`,
  `CREATE TABLE recentchanges (rc_id INT NOT NULL AUTO_INCREMENT, rc_timestamp VARBINARY(14) NOT NULL DEFAULT '', rc_user INT UNSIGNED NOT NULL DEFAULT 0,
    rc_user_text VARBINARY(255) NOT NULL, rc_namespace INT NOT NULL DEFAULT 0, rc_title VARBINARY(255) NOT NULL DEFAULT '', rc_comment VARBINARY(767) NOT NULL,
    rc_minor TINYINT UNSIGNED NOT NULL DEFAULT 0, rc_bot TINYINT UNSIGNED NOT NULL DEFAULT 0, rc_new TINYINT UNSIGNED NOT NULL DEFAULT 0,
    rc_cur_id INT UNSIGNED NOT NULL DEFAULT 0, rc_this_oldid INT UNSIGNED NOT NULL DEFAULT 0, rc_last_oldid INT UNSIGNED NOT NULL DEFAULT 0,
    rc_type TINYINT UNSIGNED NOT NULL DEFAULT 0, rc_source VARBINARY(16) NOT NULL DEFAULT '', rc_patrolled TINYINT UNSIGNED NOT NULL DEFAULT 0,
    rc_ip VARBINARY(40) NOT NULL DEFAULT '', rc_old_len INT NULL, rc_new_len INT NULL, rc_deleted TINYINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (rc_id), KEY rc_timestamp (rc_timestamp), KEY rc_namespace_title (rc_namespace, rc_title), KEY rc_cur_id (rc_cur_id),
    KEY rc_ip (rc_ip), KEY rc_ns_usertext (rc_namespace, rc_user_text), KEY rc_user_text (rc_user_text, rc_timestamp)) ENGINE=InnoDB DEFAULT CHARSET=binary`,
  `CREATE TABLE logging (log_id INT UNSIGNED NOT NULL AUTO_INCREMENT, log_type VARBINARY(32) NOT NULL DEFAULT '', log_action VARBINARY(32) NOT NULL DEFAULT '',
    log_timestamp BINARY(14) NOT NULL DEFAULT '19700101000000', log_user INT UNSIGNED NOT NULL DEFAULT 0, log_user_text VARBINARY(255) NOT NULL DEFAULT '',
    log_namespace INT NOT NULL DEFAULT 0, log_title VARBINARY(255) NOT NULL DEFAULT '', log_page INT UNSIGNED NULL, log_comment VARBINARY(767) NOT NULL DEFAULT '',
    log_params BLOB NOT NULL, log_deleted TINYINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (log_id), KEY type_time (log_type, log_timestamp), KEY user_time (log_user, log_timestamp), KEY page_time (log_namespace, log_title, log_timestamp),
    KEY times (log_timestamp), KEY log_user_text_time (log_user_text, log_timestamp)) ENGINE=InnoDB DEFAULT CHARSET=binary`,
];

