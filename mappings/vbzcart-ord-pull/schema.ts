import { datetime, int, mysqlTable, text, tinyint, varchar } from 'drizzle-orm/mysql-core';

/** EventPlex's base event table: one row per thing that happened. It exists already in a VbzCart database. */
export const event = mysqlTable('event', {
  ID: int('ID', { unsigned: true }).autoincrement().primaryKey(),
  WhenStart: datetime('WhenStart', { mode: 'string' }).notNull(),
  WhenFinish: datetime('WhenFinish', { mode: 'string' }),
  ID_Session: int('ID_Session', { unsigned: true }),
  ID_Acct: int('ID_Acct', { unsigned: true }),
  TypeCode: varchar('TypeCode', { length: 63 }).notNull(),
  Descrip: varchar('Descrip', { length: 255 }),
  Stash: text('Stash'),
});

/** Extension of `event` for order holds: one row per hold placed on or released from an order. */
export const eventVcOrdHold = mysqlTable('event_vc_ord_hold', {
  ID_Event: int('ID_Event', { unsigned: true }).primaryKey(),
  ID_Order: int('ID_Order', { unsigned: true }).notNull(),
  ID_Type: int('ID_Type', { unsigned: true }),
  isRelease: tinyint('isRelease').notNull(),
  doHoldRstk: tinyint('doHoldRstk'),
  doHoldChrg: tinyint('doHoldChrg'),
  doContact: tinyint('doContact'),
  doExamine: tinyint('doExamine'),
  Notes: text('Notes'),
});

/** Extension of `event` for facts only legacy records carry: who did it, from where. */
export const eventVcLegacy = mysqlTable('event_vc_legacy', {
  ID_Event: int('ID_Event', { unsigned: true }).primaryKey(),
  WhoAdmin: varchar('WhoAdmin', { length: 127 }),
  WhoSystem: varchar('WhoSystem', { length: 127 }),
  WhoNetwork: varchar('WhoNetwork', { length: 63 }),
  isError: tinyint('isError').notNull(),
  isSevere: tinyint('isSevere').notNull(),
  isDebug: tinyint('isDebug').notNull(),
  EvWhere: varchar('EvWhere', { length: 255 }),
});
