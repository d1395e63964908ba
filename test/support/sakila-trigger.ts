import type { TestDatabase } from './database.ts';

/**
 * Adds to a Sakila database a second BEFORE INSERT trigger on rental, which the Sakila mapping's cutover renames:
 * `rental_note` fires after rental_date, and was written in latin1 (its text holds an é) under another
 * collation_connection than the session's and another database collation than the database's now.
 */
export async function addLatin1RentalTrigger(t: TestDatabase): Promise<void> {
  const [db] = await t.db.query<{ coll: string }>('SELECT @@collation_database AS coll');
  await t.db.execute(`ALTER DATABASE \`${t.name}\` COLLATE utf8mb4_bin`);
  await t.db.execute('SET SESSION character_set_client = latin1, collation_connection = latin1_german1_ci');
  const note = Buffer.from(
    "CREATE TRIGGER rental_note BEFORE INSERT ON rental FOR EACH ROW FOLLOWS rental_date SET @rental_note = 'é'",
    'latin1',
  );
  await t.db.execute(`EXECUTE IMMEDIATE X'${note.toString('hex')}'`);
  await t.db.execute('SET SESSION character_set_client = utf8mb4, collation_connection = utf8mb4_general_ci');
  await t.db.execute(`ALTER DATABASE \`${t.name}\` COLLATE ${db!.coll}`);
}
