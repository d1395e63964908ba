import { defineMapping, type LookupSource, type ProblemDefinition } from '../../src/mapping/define.ts';
import { aliasesBeside } from '../../src/mapping/aliases.ts';
import { actor } from './schema.ts';

/**
 * MediaWiki's actor migration, by the rules of its own maintenance/migrateActors.php (REL1_31 to REL1_34): the
 * (user id, user name or IP address) pairs repeated in eight tables become one `actor` row each, and every row of those
 * tables gets an `*_actor` reference to it. A mapping with a lookup and no steps: nothing is written with reserved IDs.
 *
 * - Every `user` row gets an actor first (actor_user = user_id, actor_name = user_name), whether or not it did anything.
 * - A row with a user id gets the actor of that user: the name is the one in `user` (a renamed user's rows carry the
 *   old name; their actor carries the new one). A user id missing from `user` leaves the row unmigrated (reported).
 * - A row with user id 0 gets the actor of its name: a user's, if a user has that name; else an actor of its own when
 *   the name cannot be a user's (an IP address, or an imported `prefix>name`); else it is left unmigrated (reported).
 */

/** A name that can never be a registered user's: an IPv4 or IPv6 address, or an imported user (`prefix>name`). */
const anonymousName = (name: string) => `(IS_IPV4(${name}) OR IS_IPV6(${name}) OR LOCATE('>', ${name}) > 0)`;

/** One of the eight tables: alias, user id and user name columns, the reference it gets, its chunk key if not its primary key. */
interface ActorColumns {
  alias: string;
  user: string;
  text: string;
  reference: string;
  key?: string;
  rowKey?: string;
}

const actorTables: ActorColumns[] = [
  { alias: 'revision', user: 'rev_user', text: 'rev_user_text', reference: 'rev_actor' },
  { alias: 'archive', user: 'ar_user', text: 'ar_user_text', reference: 'ar_actor' },
  { alias: 'ipblocks', user: 'ipb_by', text: 'ipb_by_text', reference: 'ipb_by_actor' },
  { alias: 'image', user: 'img_user', text: 'img_user_text', reference: 'img_actor', rowKey: '{{image.img_name}}' },
  // oldimage has no primary key: its fill is chunked by file name (ties stay in one chunk); a row is named by name and time.
  {
    alias: 'oldimage',
    user: 'oi_user',
    text: 'oi_user_text',
    reference: 'oi_actor',
    key: 'oi_name',
    rowKey: "CONCAT({{oldimage.oi_name}}, ' @ ', {{oldimage.oi_timestamp}})",
  },
  { alias: 'filearchive', user: 'fa_user', text: 'fa_user_text', reference: 'fa_actor' },
  { alias: 'recentchanges', user: 'rc_user', text: 'rc_user_text', reference: 'rc_actor' },
  { alias: 'logging', user: 'log_user', text: 'log_user_text', reference: 'log_actor' },
];

/** The SQL of one table's rules, shared by its lookup source and its data problems, so they cannot disagree. */
function rules(t: ActorColumns) {
  const uid = `COALESCE({{${t.alias}.${t.user}}}, 0)`;
  const name = `{{${t.alias}.${t.text}}}`;
  const join = {
    // The user of the row's user id; and, for user id 0, the user whose name the row gives.
    user: `{{user.user_id}} = {{${t.alias}.${t.user}}} AND ${uid} <> 0`,
    namedUser: `{{namedUser.user_name}} = ${name} AND ${uid} = 0`,
  };
  const unknownUser = `(${uid} <> 0 AND {{user.user_id}} IS NULL)`;
  const unusableName = `(${uid} = 0 AND {{namedUser.user_id}} IS NULL AND NOT ${anonymousName(name)})`;
  return { name, join, unknownUser, unusableName };
}

function actorSource(t: ActorColumns): LookupSource {
  const { name, join, unknownUser, unusableName } = rules(t);
  return {
    join,
    values: { actor_name: `COALESCE({{user.user_name}}, ${name})`, actor_user: 'COALESCE({{user.user_id}}, {{namedUser.user_id}})' },
    reference: { name: t.reference, definition: 'BIGINT UNSIGNED NOT NULL DEFAULT 0', after: t.text },
    skip: `${unknownUser} OR ${unusableName}`,
    ...(t.key ? { key: t.key } : {}),
  };
}

const leftAs = 'left unmigrated (its *_actor stays 0), as migrateActors.php leaves it';
function actorProblems(t: ActorColumns): Record<string, ProblemDefinition> {
  const { join, unknownUser, unusableName } = rules(t);
  const key = t.rowKey ? { key: t.rowKey } : {};
  return {
    [`unknownUser.${t.alias}`]: {
      description: `${t.alias} rows by a user id that is not in user`,
      severity: 'warning',
      from: t.alias,
      join: { user: join.user },
      where: unknownUser,
      ...key,
      consequence: `${leftAs}; give the rows an existing user id, or user id 0 and a name that can have an actor`,
    },
    [`unusableName.${t.alias}`]: {
      description: `${t.alias} rows by user id 0 under a name no user has that is neither an IP address nor an imported name`,
      severity: 'warning',
      from: t.alias,
      join: { namedUser: join.namedUser },
      where: unusableName,
      ...key,
      consequence: `${leftAs}; MediaWiki's cleanupUsersWithNoId.php is the usual fix`,
    },
  };
}

export default defineMapping({
  name: 'mediawiki-actor',
  description: "MediaWiki's actor migration (migrateActors.php): user id + user name/IP in eight tables -> actors and *_actor references",
  sources: {
    revision: 'revision',
    archive: 'archive',
    ipblocks: 'ipblocks',
    image: 'image',
    oldimage: 'oldimage',
    filearchive: 'filearchive',
    recentchanges: 'recentchanges',
    logging: 'logging',
    user: 'user',
    namedUser: 'user',
  },
  aliases: aliasesBeside(import.meta.url),
  targets: {},
  steps: {},
  lookups: {
    actor: {
      description: 'an actor for every user, and one per name or IP address the rows give; a user id takes the name in user',
      table: actor,
      naturalKey: 'actor_name',
      everyRowOf: { user: { values: { actor_name: '{{user.user_name}}', actor_user: '{{user.user_id}}' } } },
      skip: {
        description:
          'name of rows migrateActors.php leaves unmigrated: by a user id not in user, or by user id 0 under a name ' +
          'no user has that is neither an IP address nor an imported name (the rows, by key: data problems unknownUser.*, unusableName.*)',
        consequence: 'no actor; those rows keep *_actor = 0',
      },
      from: Object.fromEntries(actorTables.map((t) => [t.alias, actorSource(t)])),
    },
  },
  problems: Object.assign({}, ...actorTables.map(actorProblems)),
  rollout: { stages: ['old', 'write-both', 'write-new', 'new'], requires: { 'write-new': 'migrated', new: 'migrated' } },
});
