import { datetime, int, mediumint, mysqlTable, smallint, tinyint, varchar } from 'drizzle-orm/mysql-core';
import { col, defineMapping, dropColumn, id, lit, renameTable } from '../../src/mapping/define.ts';

/**
 * A mapping of the public Sakila database (loadSakila in public-data.ts), written the way the README says a new user
 * writes one, with only its documented features: each rental becomes a "rented" event, each returned rental also a
 * "returned" event (event + event_rental, created by the run); two projections add a column to existing tables that
 * have `last_update TIMESTAMP ... ON UPDATE CURRENT_TIMESTAMP` (customer, and film, whose AFTER UPDATE trigger
 * `upd_film` the projection's UPDATE fires); the cutover renames `rental`, which foreign keys (in both directions), a
 * trigger, two views and three stored functions name; finalize drops `rental.return_date`, which the return events
 * replace. What the cutover breaks and the trigger the run fires are declared under `accepts`.
 *
 * Tests derive variants from it, e.g. `defineMapping({ ...sakilaMapping, accepts: undefined })`.
 */

/** The event log the rentals are moved into: created by the run. */
export const event = mysqlTable('event', {
  ID: int('ID', { unsigned: true }).autoincrement().primaryKey(),
  WhenStart: datetime('WhenStart', { mode: 'string' }).notNull(),
  TypeCode: varchar('TypeCode', { length: 63 }).notNull(),
  Descrip: varchar('Descrip', { length: 255 }),
});

/** Extension of `event` for rentals: the copy, the customer and (when renting) the staff member. */
export const eventRental = mysqlTable('event_rental', {
  ID_Event: int('ID_Event', { unsigned: true }).primaryKey(),
  ID_Inventory: mediumint('ID_Inventory', { unsigned: true }).notNull(),
  ID_Customer: smallint('ID_Customer', { unsigned: true }).notNull(),
  ID_Staff: tinyint('ID_Staff', { unsigned: true }),
  isReturn: tinyint('isReturn').notNull(),
});

/** Views and stored functions of Sakila that read `rental` by name: the cutover's rename leaves them broken. */
export const sakilaRentalReaders = {
  views: ['sales_by_film_category', 'sales_by_store'],
  functions: ['get_customer_balance', 'inventory_held_by_customer', 'inventory_in_stock'],
} as const;

/** Return events are numbered one span above the rentals: the highest rental ID rounded up to a multiple of 1000. */
const returnOffset = (maxKey: number) => Math.ceil(maxKey / 1000) * 1000;

export const sakilaMapping = defineMapping({
  name: 'sakila-rentals',
  description: 'Sakila rentals (rental) -> rental events (event, event_rental)',
  sources: { rental: 'rental', customer: 'customer', film: 'film', inventory: 'inventory' },
  targets: { event, rentalEvent: eventRental },
  steps: {
    rented: {
      description: 'every rental: the copy handed out',
      from: 'rental',
      ids: { table: 'event', strategy: 'offset', offset: 0 },
      rows: {
        event: { ID: id, WhenStart: col('rental.rental_date'), TypeCode: lit('sakila.rental.out'), Descrip: lit('imported from rental') },
        rentalEvent: {
          ID_Event: id,
          ID_Inventory: col('rental.inventory_id'),
          ID_Customer: col('rental.customer_id'),
          ID_Staff: col('rental.staff_id'),
          isReturn: lit(0),
        },
      },
    },
    returned: {
      description: 'every rental with a return date: the copy brought back',
      from: 'rental',
      where: '{{rental.return_date}} IS NOT NULL',
      ids: { table: 'event', strategy: 'offset', offset: (source) => returnOffset(source.maxKey) },
      rows: {
        event: {
          ID: id,
          WhenStart: col('rental.return_date'),
          TypeCode: lit('sakila.rental.return'),
          Descrip: lit('imported from rental'),
        },
        rentalEvent: {
          ID_Event: id,
          ID_Inventory: col('rental.inventory_id'),
          ID_Customer: col('rental.customer_id'),
          ID_Staff: lit(null),
          isReturn: lit(1),
        },
      },
    },
  },
  projections: {
    lastRental: {
      description: "the customer's latest rental",
      table: 'customer',
      key: 'customer_id',
      column: { name: 'last_rental_date', definition: 'DATETIME NULL', after: 'create_date' },
      value: { from: 'rental', groupBy: '{{rental.customer_id}}', aggregate: 'MAX({{rental.rental_date}})' },
    },
    copies: {
      description: 'how many copies of the film the stores hold (NULL: none)',
      table: 'film',
      key: 'film_id',
      column: { name: 'copies', definition: 'INT UNSIGNED NULL', after: 'replacement_cost' },
      value: { from: 'inventory', groupBy: '{{inventory.film_id}}', aggregate: 'COUNT(*)' },
    },
  },
  cutover: [renameTable('rental', 'OLD rental')],
  finalize: [dropColumn('rental', 'return_date')],
  accepts: {
    breaking: [...sakilaRentalReaders.views, ...sakilaRentalReaders.functions],
    triggers: ['upd_film'],
  },
});

/** Sakila's district names, one row each: created by the run of sakilaDistrictsMapping. */
export const district = mysqlTable('district', {
  district_id: int('district_id', { unsigned: true }).autoincrement().primaryKey(),
  district_name: varchar('district_name', { length: 20 }).notNull().unique(),
});

/**
 * A lookup on Sakila, written from the README's lookups section: the district names repeated across `address` rows
 * become rows of `district`, and each address gets `district_id`. `address` has `last_update ... ON UPDATE
 * CURRENT_TIMESTAMP`, which the fill must leave as it was.
 */
export const sakilaDistrictsMapping = defineMapping({
  name: 'sakila-districts',
  description: 'Sakila address.district -> district (lookup), address.district_id',
  sources: { address: 'address' },
  targets: {},
  steps: {},
  lookups: {
    district: {
      description: 'one district per name',
      table: district,
      naturalKey: 'district_name',
      from: {
        address: {
          values: { district_name: '{{address.district}}' },
          reference: { name: 'district_id', definition: 'INT UNSIGNED NOT NULL DEFAULT 0', after: 'district' },
        },
      },
    },
  },
});

export default sakilaMapping;
