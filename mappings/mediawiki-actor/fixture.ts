import { isIP } from 'node:net';
import type { Db } from '../../src/db/connection.ts';
import { quoteId } from '../../src/db/quote.ts';
import { usageError } from '../../src/errors.ts';
import { actorDdl, mediawikiDdl } from './legacy-schema.ts';
import { mulberry32 } from '../seeded-random.ts';

/**
 * A deterministic MediaWiki database from before the actor migration: `user` and the eight tables migrateActors.php
 * reads, created from MediaWiki's own definitions (legacy-schema.ts), and an `actor` table some rows already reached,
 * unless `actorTable: false`. Planted: a renamed user (rows carry the old name), rows by a user id missing from
 * `user` (one of them under an IP address), IPv4 and IPv6 editors, imported `prefix>name` editors, registered-looking
 * names with user id 0 that no user has, user id 0 under a user's name, users who did nothing, names with non-ASCII
 * and with invalid UTF-8 bytes, and existing actors that disagree with `user`.
 *
 * What each row must get is computed here in JavaScript, by migrateActors.php's rules as the mapping states them
 * (see README.md), independently of the mapping's SQL: `rows` says, per table and row, the actor (name and user id)
 * or the data problem that leaves it unmigrated.
 *
 * @example
 * const fixture = await generateMediawiki(db);                      // 2000 revisions and the other tables
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

/** The eight tables as the mapping reads them: user id and user name columns, reference, and how a row is named. */
export const actorTables = [
  { table: 'revision', user: 'rev_user', text: 'rev_user_text', reference: 'rev_actor', key: 'rev_id' },
  { table: 'archive', user: 'ar_user', text: 'ar_user_text', reference: 'ar_actor', key: 'ar_id' },
  { table: 'ipblocks', user: 'ipb_by', text: 'ipb_by_text', reference: 'ipb_by_actor', key: 'ipb_id' },
  { table: 'image', user: 'img_user', text: 'img_user_text', reference: 'img_actor', key: 'img_name' },
  { table: 'oldimage', user: 'oi_user', text: 'oi_user_text', reference: 'oi_actor', key: "CONCAT(oi_name, ' @ ', oi_timestamp)" },
  { table: 'filearchive', user: 'fa_user', text: 'fa_user_text', reference: 'fa_actor', key: 'fa_id' },
  { table: 'recentchanges', user: 'rc_user', text: 'rc_user_text', reference: 'rc_actor', key: 'rc_id' },
  { table: 'logging', user: 'log_user', text: 'log_user_text', reference: 'log_actor', key: 'log_id' },
] as const;

/** An actor: its name (bytes) and user id (null for an anonymous one). */
export interface ExpectedActor {
  name: Buffer;
  user: number | null;
}

/** One row of the eight tables and what the mapping must do with it. */
export interface ExpectedRow {
  /** The row's key as the tests and the data problems name it (for oldimage, `oi_name @ oi_timestamp`). */
  key: string;
  user: number;
  text: Buffer;
  /** The actor it must reference, or null when it is left unmigrated (then `problem` or `conflict` says why). */
  actor: ExpectedActor | null;
  problem?: 'unknownUser' | 'unusableName';
  /** Its actor's name is in conflict with an existing actor (reported as actor.conflict.*). */
  conflict?: boolean;
}

export interface MediawikiFixture {
  seed: number;
  /** Per table, every row in key order, and what it must get. */
  rows: Record<string, ExpectedRow[]>;
  /** Per table: rows to fill, rows skipped (a data problem), rows whose name is in conflict. */
  tables: Record<string, { rows: number; fill: number; skipped: number; conflicted: number }>;
  /** Every actor there must be after the run (existing ones included), by hex of its name. */
  actors: Map<string, ExpectedActor>;
  /** Distinct names that get an actor, of which `reuse` have one already and `create` are new. */
  keys: number;
  reuse: number;
  create: number;
  existingActors: number;
  /** Distinct names of skipped rows, and names in conflict (hex of their bytes), sorted. */
  skippedNames: string[];
  conflictedNames: string[];
  /** The planted cases, for tests to look at by name. */
  planted: {
    renamed: { user: number; oldName: Buffer; newName: Buffer };
    missingUser: number;
    missingUserUnderIp: { user: number; name: Buffer };
    registeredNameWithUserZero: { user: number; name: Buffer };
    idleUsers: Array<{ user: number; name: Buffer }>;
    invalidUtf8Name: Buffer;
  };
}

type Who = { user: number; name: Buffer };
const hex = (b: Buffer) => b.toString('hex').toUpperCase();

/** Creates the tables (the database should have none of them) and fills them. */
export async function generateMediawiki(db: Db, options: MediawikiFixtureOptions = {}): Promise<MediawikiFixture> {
  const seed = options.seed ?? defaultMediawikiSeed;
  const revisions = options.revisions ?? 2000;
  if (!Number.isSafeInteger(revisions) || revisions < 200) throw usageError('revisions must be a whole number of at least 200.');
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const text = (s: string) => Buffer.from(s, 'utf8');

  // Registered users: ids with gaps, names as bytes.
  const users: Who[] = [];
  const given = ['Alice', 'Bob', 'Carol', 'Dmitri', 'Erin', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jules', 'Kofi', 'Lena', 'Mateo', 'Noor'];
  const userCount = Math.max(40, Math.round(revisions / 25));
  let nextUser = 1;
  for (let i = 0; i < userCount; i++) {
    nextUser += 1 + (random() < 0.2 ? Math.floor(random() * 5) : 0);
    users.push({ user: nextUser, name: text(`${pick(given)} ${i + 1}`) });
  }
  // Non-ASCII names, and one with invalid UTF-8 (a latin1 byte from an old wiki): kept as bytes.
  const special = [text('Zoë Ærøskøbing'), text('李雷'), text('Ōkubo Tōru'), Buffer.from('José Latin', 'latin1')].map((name) => ({
    user: (nextUser += 3),
    name,
  }));
  users.push(...special);
  // Users who never did anything: migrateActors.php gives them actors too.
  const idleUsers: Who[] = [1, 2, 3].map((i) => ({ user: (nextUser += 2), name: text(`Lurker ${i}`) }));
  users.push(...idleUsers);
  // A user renamed after some edits: those rows still carry the old name.
  const renamed = users[1]!;
  const renamedOld: Who = { user: renamed.user, name: text(`${renamed.name.toString('utf8')} (before rename)`) };
  // A user whose existing actor disagrees (another user id), and one whose existing actor carries a stale name.
  const disputed: Who = { user: (nextUser += 7), name: text('Disputed') };
  const fresh: Who = { user: (nextUser += 1), name: text('Fresh Name') };
  users.push(disputed, fresh);

  const octet = (from: number, span: number) => from + Math.floor(random() * span);
  const ipv4 = Array.from({ length: 30 }, () => text(`${octet(10, 200)}.${octet(0, 256)}.${octet(0, 256)}.${octet(1, 254)}`));
  const group = (from: number, span: number) => octet(from, span).toString(16).toUpperCase();
  const ipv6 = Array.from({ length: 12 }, () => text(`2001:DB8:${group(0, 65536)}:0:0:0:0:${group(1, 65535)}`));
  const imported = [text('imported>Wikipedian'), text('en>Old Editor')];
  const anonymous: Who[] = [...ipv4, ...ipv6, ...imported].map((name) => ({ user: 0, name }));
  // Planted: registered-looking names with user id 0 that no user has; rows by user ids missing from `user`; user id
  // 0 under a registered user's name.
  const missingUser = nextUser + 1000;
  const missingUserUnderIp: Who = { user: missingUser + 1, name: text('192.0.2.77') };
  const registeredNameWithUserZero: Who = { user: 0, name: users[3]!.name };
  const planted: Who[] = [
    ...[text('Ghost Writer'), text('Ghöst 2'), Buffer.from([0x47, 0x68, 0x6f, 0x73, 0x74, 0xff])].map((name) => ({ user: 0, name })),
    { user: missingUser, name: text('Vanished User') },
    missingUserUnderIp,
    registeredNameWithUserZero,
    renamedOld,
    disputed,
    fresh,
    { user: fresh.user, name: text('Stale Name') },
  ];
  const active = users.filter((u) => !idleUsers.includes(u));
  const who = (): Who => {
    const r = random();
    if (r < 0.015) return pick(planted);
    if (r < 0.2) return pick(anonymous);
    if (r < 0.23) return pick(special);
    return pick(active);
  };
  const people = (n: number, everyPlanted = false) => {
    const list = Array.from({ length: n }, who);
    if (everyPlanted) list.splice(0, planted.length, ...planted);
    return list;
  };

  for (const [table, statements] of Object.entries(mediawikiDdl)) {
    for (const sql of statements) {
      await db.execute(sql).catch((cause) => {
        throw new Error(`Creating ${table} for the MediaWiki fixture: ${cause.message}`);
      });
    }
  }
  const actorTable = options.actorTable ?? true;
  if (actorTable) for (const sql of actorDdl) await db.execute(sql);

  const batch = options.batchRows ?? 2000;
  /** Inserts rows given as column -> value objects (all with the same columns), in batches. */
  const insert = async (table: string, rows: Array<Record<string, unknown>>) => {
    const columns = Object.keys(rows[0] ?? {});
    for (let i = 0; i < rows.length; i += batch) {
      const values = rows.slice(i, i + batch).map((r) => columns.map((c) => r[c]));
      await db.execute(`INSERT INTO ${quoteId(table)} (${columns.map(quoteId).join(', ')}) VALUES ?`, [values]);
    }
  };
  const stamp = () =>
    new Date(Date.UTC(2004, 0, 1) + Math.floor(random() * 15 * 365 * 86400) * 1000).toISOString().replace(/\D/g, '').slice(0, 14);
  const comments = ['typo', 'copyedit', 'Revert vandalism', 'Reverted edits by [[Special:Contributions]]', 'résumé: “quotes”', ''];
  const comment = () => text(pick(comments));
  const sha1 = () => text(Array.from({ length: 31 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)]).join(''));

  await insert(
    'user',
    users.map((u) => ({
      user_id: u.user,
      user_name: u.name,
      user_password: Buffer.alloc(0),
      user_newpassword: Buffer.alloc(0),
      user_email: '',
      user_touched: stamp(),
      user_token: Buffer.alloc(32, 0x61),
      user_registration: stamp(),
      user_editcount: Math.floor(random() * 5000),
    })),
  );

  const count = (share: number) => Math.max(planted.length + 10, Math.round(revisions * share));
  const generated: Record<string, Array<{ key: string; who: Who }>> = {};

  const revs = people(revisions, true);
  const revKeys = revs.map((_, i) => i + 1 + Math.floor(i / 50) * 3);
  generated.revision = revs.map((w, i) => ({ key: String(revKeys[i]), who: w }));
  await insert(
    'revision',
    revs.map((w, i) => ({
      rev_id: revKeys[i],
      rev_page: 1 + Math.floor((random() * revisions) / 8),
      rev_text_id: i + 1,
      rev_comment: comment(),
      rev_user: w.user,
      rev_user_text: w.name,
      rev_timestamp: stamp(),
      rev_minor_edit: random() < 0.3 ? 1 : 0,
      rev_len: Math.floor(random() * 90_000),
      rev_parent_id: i,
      rev_sha1: sha1(),
    })),
  );

  const ar = people(count(0.1), true);
  generated.archive = ar.map((w, i) => ({ key: String(i + 1), who: w }));
  await insert(
    'archive',
    ar.map((w, i) => ({
      ar_id: i + 1,
      ar_namespace: pick([0, 1, 2, 4]),
      ar_title: text(`Deleted_page_${i % 40}`),
      ar_comment: comment(),
      ar_user: w.user,
      ar_user_text: w.name,
      ar_timestamp: stamp(),
      ar_rev_id: 100_000 + i,
      ar_text_id: 200_000 + i,
      ar_len: Math.floor(random() * 5000),
      ar_sha1: sha1(),
    })),
  );

  const blocks = people(count(0.03), true);
  generated.ipblocks = blocks.map((w, i) => ({ key: String(i + 1), who: w }));
  await insert(
    'ipblocks',
    blocks.map((w, i) => ({
      ipb_id: i + 1,
      ipb_address: text(`198.51.100.${i % 250}/${i}`),
      ipb_user: 0,
      ipb_by: w.user,
      ipb_by_text: w.name,
      ipb_reason: comment(),
      ipb_timestamp: stamp(),
      ipb_expiry: text('infinity'),
      ipb_range_start: text(`C6336400${i}`),
      ipb_range_end: text(`C63364FF${i}`),
    })),
  );

  const images = people(count(0.05), true);
  const imageNames = images.map((_, i) => `File_${String(i).padStart(5, '0')}${i % 7 === 0 ? '_Ü' : ''}.jpg`);
  generated.image = images.map((w, i) => ({ key: imageNames[i]!, who: w }));
  await insert(
    'image',
    images.map((w, i) => ({
      img_name: text(imageNames[i]!),
      img_size: Math.floor(random() * 9e6),
      img_width: 800,
      img_height: 600,
      img_metadata: Buffer.alloc(0),
      img_bits: 8,
      img_media_type: 'BITMAP',
      img_major_mime: 'image',
      img_minor_mime: text('jpeg'),
      img_description: comment(),
      img_user: w.user,
      img_user_text: w.name,
      img_timestamp: stamp(),
      img_sha1: sha1(),
    })),
  );

  const old = people(count(0.05), true);
  const oldRows = old.map((w, i) => {
    const ts = stamp();
    const file = imageNames[i % Math.max(1, Math.floor(imageNames.length / 2))]!;
    return { w, file, ts, archive: `${ts}!${i}!${file}` };
  });
  generated.oldimage = oldRows.map((r) => ({ key: `${r.file} @ ${r.ts}`, who: r.w }));
  await insert(
    'oldimage',
    oldRows.map((r) => ({
      oi_name: text(r.file),
      oi_archive_name: text(r.archive),
      oi_size: Math.floor(random() * 9e6),
      oi_width: 640,
      oi_height: 480,
      oi_bits: 8,
      oi_description: comment(),
      oi_user: r.w.user,
      oi_user_text: r.w.name,
      oi_timestamp: r.ts,
      oi_metadata: Buffer.alloc(0),
      oi_sha1: sha1(),
    })),
  );

  const fa = people(count(0.025), true);
  generated.filearchive = fa.map((w, i) => ({ key: String(i + 1), who: w }));
  await insert(
    'filearchive',
    fa.map((w, i) => ({
      fa_id: i + 1,
      fa_name: text(`Gone_${i}.png`),
      fa_storage_group: text('deleted'),
      fa_storage_key: text(`${i}.png`),
      fa_deleted_user: 1,
      fa_deleted_timestamp: stamp(),
      fa_size: Math.floor(random() * 9e5),
      fa_description: comment(),
      fa_user: w.user,
      fa_user_text: w.name,
      fa_timestamp: stamp(),
      fa_sha1: sha1(),
    })),
  );

  const rc = people(count(0.25), true);
  generated.recentchanges = rc.map((w, i) => ({ key: String(i + 1), who: w }));
  await insert(
    'recentchanges',
    rc.map((w, i) => ({
      rc_id: i + 1,
      rc_timestamp: stamp(),
      rc_user: w.user,
      rc_user_text: w.name,
      rc_namespace: 0,
      rc_title: text(`Page_${i % 97}`),
      rc_comment: comment(),
      rc_cur_id: 1 + (i % 97),
      rc_this_oldid: 10 * i,
      rc_last_oldid: Math.max(0, 10 * i - 1),
      rc_source: text('mw.edit'),
      rc_ip: w.user === 0 && isIP(w.name.toString('latin1')) ? w.name : text('127.0.0.1'),
      rc_old_len: 100,
      rc_new_len: 120,
    })),
  );

  const log = people(count(0.2), true);
  generated.logging = log.map((w, i) => ({ key: String(i + 1), who: w }));
  await insert(
    'logging',
    log.map((w, i) => ({
      log_id: i + 1,
      log_type: text(pick(['delete', 'move', 'upload', 'block', 'patrol'])),
      log_action: text('action'),
      log_timestamp: stamp(),
      log_user: w.user,
      log_user_text: w.name,
      log_namespace: 0,
      log_title: text(`Page_${i % 97}`),
      log_page: i % 97,
      log_comment: comment(),
      log_params: text('a:0:{}'),
    })),
  );

  // Actors MediaWiki wrote already (in the write-both stage), with IDs from 1: some users and IPs as they are, one
  // actor whose name a user has but under another user id, and one whose user id a user has under another name.
  const existing: Array<{ user: number | null; name: Buffer }> = !actorTable
    ? []
    : [
        ...active.filter((u, i) => i % 5 === 0 && u !== disputed && u !== fresh).map((u) => ({ user: u.user, name: u.name })),
        ...ipv4.slice(0, 4).map((name) => ({ user: null, name })),
        { user: missingUser + 500, name: disputed.name },
        { user: fresh.user, name: text('Stale Name') },
      ];
  if (actorTable)
    await insert(
      'actor',
      existing.map((a, i) => ({ actor_id: i + 1, actor_user: a.user, actor_name: a.name })),
    );

  return {
    seed,
    ...expectations(users, generated, existing),
    existingActors: existing.length,
    planted: {
      renamed: { user: renamed.user, oldName: renamedOld.name, newName: renamed.name },
      missingUser,
      missingUserUnderIp,
      registeredNameWithUserZero: { user: users[3]!.user, name: registeredNameWithUserZero.name },
      idleUsers,
      invalidUtf8Name: special[3]!.name,
    },
  };
}

/**
 * What the mapping must do, by migrateActors.php's rules as the mapping states them, computed in JavaScript from the
 * generated rows: every user has an actor; a row with a user id gets that user's actor, or is left (unknownUser) when
 * `user` has no such id; a row with user id 0 gets the actor of its name (the user's, if a user has that name, else an
 * anonymous one when the name is an IP address or an imported name), or is left (unusableName). A name whose actor
 * would disagree with an existing actor (same name, another user id; or same user id, another name) is in conflict:
 * its rows are left too.
 */
function expectations(
  users: Who[],
  generated: Record<string, Array<{ key: string; who: Who }>>,
  existing: Array<{ user: number | null; name: Buffer }>,
) {
  const byId = new Map(users.map((u) => [u.user, u]));
  const byName = new Map(users.map((u) => [hex(u.name), u]));
  const anonymous = (name: Buffer) => {
    const s = name.toString('latin1');
    return isIP(s) !== 0 || s.includes('>');
  };
  const rule = (w: Who): ExpectedActor | 'unknownUser' | 'unusableName' => {
    if (w.user !== 0) {
      const u = byId.get(w.user);
      return u ? { name: u.name, user: u.user } : 'unknownUser';
    }
    const u = byName.get(hex(w.name));
    if (u) return { name: u.name, user: u.user };
    return anonymous(w.name) ? { name: w.name, user: null } : 'unusableName';
  };

  // Every actor the rules ask for: the users', then the rows'.
  const wanted = new Map<string, ExpectedActor>(users.map((u) => [hex(u.name), { name: u.name, user: u.user }]));
  for (const rows of Object.values(generated)) {
    for (const { who } of rows) {
      const a = rule(who);
      if (typeof a !== 'string') wanted.set(hex(a.name), a);
    }
  }
  const conflicted = new Set<string>();
  const existingByName = new Map(existing.map((a) => [hex(a.name), a]));
  const existingByUser = new Map(existing.filter((a) => a.user !== null).map((a) => [a.user!, a]));
  for (const [h, a] of wanted) {
    const sameName = existingByName.get(h);
    if (sameName && sameName.user !== a.user) conflicted.add(h);
    const sameUser = a.user === null ? undefined : existingByUser.get(a.user);
    if (sameUser && hex(sameUser.name) !== h) conflicted.add(h);
  }

  const rows: Record<string, ExpectedRow[]> = {};
  const tables: MediawikiFixture['tables'] = {};
  const skippedNames = new Set<string>();
  for (const [table, list] of Object.entries(generated)) {
    const t = { rows: list.length, fill: 0, skipped: 0, conflicted: 0 };
    rows[table] = list.map(({ key, who }) => {
      const a = rule(who);
      if (typeof a === 'string') {
        t.skipped++;
        // The name the lookup reports a skipped row under: the user's, if its user id has one, else the row's own.
        skippedNames.add(hex(byId.get(who.user)?.name ?? who.name));
        return { key, user: who.user, text: who.name, actor: null, problem: a };
      }
      if (conflicted.has(hex(a.name))) {
        t.conflicted++;
        return { key, user: who.user, text: who.name, actor: null, conflict: true };
      }
      t.fill++;
      return { key, user: who.user, text: who.name, actor: a };
    });
    tables[table] = t;
  }
  const actors = new Map<string, ExpectedActor>(existing.map((a) => [hex(a.name), { name: a.name, user: a.user }]));
  const usable = [...wanted.keys()].filter((h) => !conflicted.has(h));
  const reuse = usable.filter((h) => existingByName.has(h)).length;
  for (const h of usable) if (!actors.has(h)) actors.set(h, wanted.get(h)!);
  return {
    rows,
    tables,
    actors,
    keys: usable.length,
    reuse,
    create: usable.length - reuse,
    skippedNames: [...skippedNames].sort(),
    conflictedNames: [...conflicted].sort(),
  };
}
