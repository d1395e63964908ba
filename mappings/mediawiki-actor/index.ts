import { defineMapping, type LookupSource } from '../../src/mapping/define.ts';
import { aliasesBeside } from '../../src/mapping/aliases.ts';
import { actor } from './schema.ts';

/**
 * MediaWiki's actor migration: the (user id, user name or IP address) pairs repeated in seven tables become one
 * `actor` row each, and every row of those tables gets an `*_actor` reference to it. A mapping with a lookup and no
 * steps: nothing is written with reserved IDs.
 */

/** An anonymous editor's name: an IPv4 or IPv6 address, or an imported user (`prefix>name`), which have no account here. */
const anonymousName = (name: string) => `(IS_IPV4(${name}) OR IS_IPV6(${name}) OR LOCATE('>', ${name}) > 0)`;

/** One of the seven tables: `prefix_user` (0 for anonymous) and `prefix_user_text` name the actor; `prefix_actor` is added. */
function actorSource(alias: string, prefix: string, key?: string): LookupSource {
  const user = `{{${alias}.${prefix}_user}}`;
  const name = `{{${alias}.${prefix}_user_text}}`;
  return {
    values: { actor_name: name, actor_user: `NULLIF(${user}, 0)` },
    reference: { name: `${prefix}_actor`, definition: 'BIGINT UNSIGNED NOT NULL DEFAULT 0', after: `${prefix}_user_text` },
    skip: `${user} = 0 AND NOT ${anonymousName(name)}`,
    ...(key ? { key } : {}),
  };
}

export default defineMapping({
  name: 'mediawiki-actor',
  description: "MediaWiki's actor migration: user id + user name/IP in seven tables -> actor rows and *_actor references",
  sources: {
    revision: 'revision', archive: 'archive', image: 'image', oldimage: 'oldimage',
    filearchive: 'filearchive', recentchanges: 'recentchanges', logging: 'logging',
  },
  aliases: aliasesBeside(import.meta.url),
  targets: {},
  steps: {},
  lookups: {
    actor: {
      description: 'one actor per user name or IP address; registered users keep their user id in actor_user',
      table: actor,
      naturalKey: 'actor_name',
      skip: {
        description: 'looks like a registered user name (not an IP address or imported name) but has user id 0',
        consequence: 'no actor; its rows keep *_actor = 0 until the name is fixed (e.g. by MediaWiki\'s cleanupUsersWithNoId.php)',
      },
      from: {
        revision: actorSource('revision', 'rev'),
        archive: actorSource('archive', 'ar'),
        image: actorSource('image', 'img'),
        // oldimage has no primary key: its fill is chunked by file name (ties stay in one chunk).
        oldimage: actorSource('oldimage', 'oi', 'oi_name'),
        filearchive: actorSource('filearchive', 'fa'),
        recentchanges: actorSource('recentchanges', 'rc'),
        logging: actorSource('logging', 'log'),
      },
    },
  },
  rollout: { stages: ['old', 'write-both', 'write-new', 'new'], requires: { 'write-new': 'migrated', new: 'migrated' } },
});
