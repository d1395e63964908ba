import { bigint, int, mysqlTable, varbinary } from 'drizzle-orm/mysql-core';

/**
 * MediaWiki's `actor` table (1.31+): one row per user name or IP address that did something. Registered users have
 * their user id in `actor_user`; anonymous editors (IP addresses, imported `prefix>name` users) have NULL there.
 * `actor_name` is bytes, as MediaWiki stores names: never re-encoded.
 */
export const actor = mysqlTable('actor', {
  actor_id: bigint('actor_id', { mode: 'bigint', unsigned: true }).autoincrement().primaryKey(),
  actor_user: int('actor_user', { unsigned: true }).unique('actor_user'),
  actor_name: varbinary('actor_name', { length: 255 }).notNull().unique('actor_name'),
});
