import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { loadSakila } from '../support/public-data.ts';
import { sakilaMapping, sakilaRentalReaders } from '../support/sakila-mapping.ts';
import { testWorkspace } from '../support/workspace.ts';
import { defineMapping, dropColumn, renameColumn, renameTable, type Mapping } from '../../src/mapping/define.ts';
import { plan } from '../../src/run/plan-command.ts';
import { namesIdentifier } from '../../src/plan/dependents.ts';
import type { Dependent } from '../../src/plan/plan-data.ts';
import { migrate } from '../../src/run/migrate.ts';
import { finalize } from '../../src/run/finalize.ts';
import { EventshiftError } from '../../src/errors.ts';
import { quoteId } from '../../src/db/quote.ts';

/**
 * What depends on what the cutover renames and finalize drops, on the public Sakila database: `rental` is named by
 * foreign keys in both directions, a trigger on it, two views and three stored functions (read from its published
 * schema, not from this list: the test states what each object's text says).
 */
const ws = testWorkspace('dependents');
const withoutAccepts = defineMapping({ ...sakilaMapping, accepts: undefined });
const triggersOnly = defineMapping({ ...sakilaMapping, accepts: { triggers: ['upd_film'] } });
const broken = [...sakilaRentalReaders.views.map((v) => `view ${v}`), ...sakilaRentalReaders.functions.map((f) => `function ${f}`)];
const label = (d: Dependent) => `${d.kind} ${d.name}`;

async function sakila(name: string): Promise<TestDatabase> {
  const t = await ws.database(name);
  await loadSakila(serverUrl, t.name);
  return t;
}

/** A mapping module the CLI can load: the Sakila fixture with other `accepts`. */
async function mappingModule(file: string, accepts: Mapping['accepts']): Promise<string> {
  const path = ws.path(file);
  await writeFile(
    path,
    `import { defineMapping } from ${JSON.stringify(`${import.meta.dirname}/../../src/mapping/define.ts`)};
import { sakilaMapping } from ${JSON.stringify(`${import.meta.dirname}/../support/sakila-mapping.ts`)};
export default defineMapping({ ...sakilaMapping, accepts: ${JSON.stringify(accepts)} });\n`,
  );
  return path;
}

describe('plan on Sakila: what depends on the renamed rental table', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await sakila('dep_plan');
  }, 120_000);

  it('lists every dependent with what happens to it, and refuses the breaking ones and the fired trigger, naming them', async () => {
    const r = await plan({ databaseUrl: t.url, mapping: withoutAccepts });
    expect(r.ok).toBe(false);
    const cutover = r.plan.dependents!.filter((d) => d.change === 'rename rental to OLD rental');
    const effect = (e: Dependent['effect']) =>
      cutover
        .filter((d) => d.effect === e)
        .map(label)
        .sort();
    expect(effect('breaks')).toEqual([...broken].sort());
    // Foreign keys both ways, and the trigger on rental, go with the table.
    expect(effect('follows')).toEqual([
      'foreign key fk_payment_rental',
      'foreign key fk_rental_customer',
      'foreign key fk_rental_inventory',
      'foreign key fk_rental_staff',
      'trigger rental_date',
    ]);
    expect(cutover.find((d) => d.name === 'fk_payment_rental')!.detail).toContain('will reference OLD rental');
    expect(cutover.find((d) => d.name === 'fk_rental_staff')!.detail).toContain('stays on the table, now OLD rental');
    expect(cutover.every((d) => d.accepted === undefined)).toBe(true);
    // Nothing reads return_date of OLD rental (its name once finalize drops the column).
    expect(r.plan.dependents!.filter((d) => d.stage === 'finalize')).toEqual([]);
    // upd_film copies titles and descriptions into film_text: what it may write is backed up with the run's tables.
    expect(r.plan.firedTriggers).toEqual([
      { name: 'upd_film', table: 'film', when: 'AFTER UPDATE', by: ['projection copies'], accepted: false, names: ['film_text'] },
    ]);
    expect(r.plan.tables.backup).toContain('film_text');

    const refusal = r.reasons.find((x) => x.startsWith('Cutover would rename rental to OLD rental'))!;
    for (const name of broken) expect(refusal).toContain(name);
    expect(refusal).toContain('accepts.breaking');
    expect(r.reasons.find((x) => x.includes('upd_film'))).toContain('accepts.triggers');
  });

  it('goes ahead when the mapping declares them, and says so', async () => {
    const r = await plan({ databaseUrl: t.url, mapping: sakilaMapping });
    expect(r.reasons).toEqual([]);
    expect(r.plan.dependents!.filter((d) => d.effect === 'breaks').map((d) => d.accepted)).toEqual(broken.map(() => 'mapping'));
    expect(r.plan.firedTriggers![0]!.accepted).toBe(true);
  });

  it('--accept-breaking accepts the breaking ones, not the triggers', async () => {
    const flagged = await plan({ databaseUrl: t.url, mapping: triggersOnly, overrides: { acceptBreaking: true } });
    expect(flagged.reasons).toEqual([]);
    expect(flagged.plan.dependents!.filter((d) => d.effect === 'breaks').map((d) => d.accepted)).toEqual(broken.map(() => 'flag'));
    const neither = await plan({ databaseUrl: t.url, mapping: withoutAccepts, overrides: { acceptBreaking: true } });
    expect(neither.reasons).toEqual([expect.stringContaining('upd_film')]);
  });

  it('the CLI plan shows them and exits 1 without an acceptance, 0 with --accept-breaking', async () => {
    const path = await mappingModule('sakila-triggers-only.mts', { triggers: ['upd_film'] });
    const refused = runCli(['plan', path, '--backup-dir', ws.path('backups')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('cutover: rename rental to OLD rental');
    expect(refused.stdout).toMatch(/view sales_by_store BREAKS: its definition reads rental by name/);
    expect(refused.stdout).toMatch(
      /foreign key fk_payment_rental follows: payment\(rental_id\) -> rental\(rental_id\) will reference OLD rental/,
    );
    expect(refused.stdout).toContain('upd_film (AFTER UPDATE ON film), by projection copies (accepted by the mapping)');
    expect(refused.stdout).toMatch(/REFUSED: Cutover would rename rental to OLD rental, and 5 object\(s\)/);
    const accepted = runCli(['plan', path, '--accept-breaking', '--backup-dir', ws.path('backups')], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    expect(accepted.code, accepted.stdout + accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(/function get_customer_balance BREAKS \(accepted by --accept-breaking\)/);
  });

  it('finalize: a dropped column read by views and triggers breaks them; one a foreign key uses blocks the drop', async () => {
    const description = defineMapping({ ...sakilaMapping, finalize: [dropColumn('film', 'description')] });
    const r = await plan({ databaseUrl: t.url, mapping: description });
    const finalized = r.plan.dependents!.filter((d) => d.stage === 'finalize');
    // film_list and nicer_but_slower_film_list select film.description; ins_film and upd_film copy it into film_text.
    expect(finalized.map(label).sort()).toEqual([
      'trigger ins_film',
      'trigger upd_film',
      'view film_list',
      'view nicer_but_slower_film_list',
    ]);
    expect(finalized.every((d) => d.effect === 'breaks')).toBe(true);
    expect(r.reasons).toEqual([expect.stringMatching(/^Finalize would drop film\.description, and 4 object\(s\)/)]);

    const customer = defineMapping({ ...sakilaMapping, finalize: [dropColumn('rental', 'customer_id')] });
    const blocked = await plan({ databaseUrl: t.url, mapping: customer, overrides: { acceptBreaking: true } });
    expect(blocked.plan.dependents!.find((d) => d.stage === 'finalize' && d.kind === 'foreign key')).toMatchObject({
      name: 'fk_rental_customer',
      effect: 'blocks',
    });
    expect(blocked.reasons).toEqual([
      expect.stringContaining('Finalize cannot drop OLD rental.customer_id: foreign key fk_rental_customer'),
    ]);
  });
});

describe('the CLI migrate and finalize take --accept-breaking', () => {
  it('migrate refuses without it (exit 1, nothing written), goes through with it; finalize likewise', async () => {
    const t = await sakila('dep_cli');
    const path = await mappingModule('sakila-cli.mts', { triggers: ['upd_film'] });
    const cli = (...args: string[]) =>
      runCli([...args, path, '--yes', '--quiet', '--backup-dir', ws.path('cli-backups')], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    const refused = cli('migrate');
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/Cutover would rename rental to OLD rental, and 5 object\(s\).*Nothing was written/);
    expect(await t.db.query("SHOW TABLES LIKE 'eventshift_runs'")).toEqual([]);
    const migrated = cli('migrate', '--accept-breaking');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(await t.db.query("SHOW TABLES LIKE 'OLD rental'")).toHaveLength(1);
    // Finalize drops OLD rental.return_date; a view reading it, made since, needs the flag again.
    await t.db.execute('CREATE VIEW unreturned AS SELECT rental_id FROM `OLD rental` WHERE return_date IS NULL');
    const refusedFinalize = cli('finalize');
    expect(refusedFinalize.code).toBe(1);
    expect(refusedFinalize.stderr).toMatch(
      /dropped nothing: Finalize would drop OLD rental\.return_date, and 1 object\(s\).*view unreturned/,
    );
    const finalized = cli('finalize', '--accept-breaking');
    expect(finalized.code, finalized.stderr).toBe(0);
    expect(finalized.stdout).toContain('dropped OLD rental.return_date');
  }, 180_000);
});

describe('the cutover and finalize read their dependents again when they run', () => {
  it('a view made after the plan stops the cutover before any rename; accepted, migrate goes on', async () => {
    const t = await sakila('dep_cutover');
    const options = { databaseUrl: t.url, mapping: sakilaMapping, backupDir: ws.path('backups'), reportDir: ws.path('r1') };
    const stopped = await migrate({ ...options, until: 'verify' });
    expect(stopped.status).toBe('stopped');
    await t.db.execute('CREATE VIEW late_returns AS SELECT rental_id FROM rental WHERE return_date IS NULL');
    const error = await migrate(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventshiftError);
    expect((error as EventshiftError).message).toMatch(
      /stopped before its cutover, nothing renamed: Cutover would rename rental to OLD rental, and 1 object\(s\) .*late_returns/,
    );
    expect(await t.db.query("SHOW TABLES LIKE 'rental'")).toHaveLength(1);
    const done = await migrate({ ...options, overrides: { acceptBreaking: true } });
    expect(done.status).toBe('completed');
    expect(await t.db.query("SHOW TABLES LIKE 'OLD rental'")).toHaveLength(1);

    // Finalize drops OLD rental.return_date: a view made since that reads it stops it, unless accepted.
    await t.db.execute('CREATE VIEW open_rentals AS SELECT rental_id FROM `OLD rental` WHERE return_date IS NULL');
    const refused = await finalize({ databaseUrl: t.url, mapping: sakilaMapping, backupDir: ws.path('backups') }).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(
      /dropped nothing: Finalize would drop OLD rental\.return_date, and 1 object\(s\).*view open_rentals/,
    );
    expect(await t.db.query("SHOW COLUMNS FROM `OLD rental` LIKE 'return_date'")).toHaveLength(1);
    const finalized = await finalize({ databaseUrl: t.url, mapping: sakilaMapping, backupDir: ws.path('backups'), acceptBreaking: true });
    expect(finalized.dropped).toEqual(['OLD rental.return_date']);
  }, 180_000);
});

describe('what names a table or column', () => {
  it('is a whole identifier, bare or quoted, in any case; a longer name or another word is not', () => {
    expect(namesIdentifier('select `db`.`r`.`rental_id` from `db`.`rental` `r`', 'rental')).toBe(true);
    expect(namesIdentifier('SELECT COUNT(*) FROM Rental WHERE 1', 'rental')).toBe(true);
    expect(namesIdentifier('SET NEW.rental_date = NOW()', 'rental')).toBe(false);
    expect(namesIdentifier('SELECT 1 FROM rentals', 'rental')).toBe(false);
    expect(namesIdentifier('SELECT 1 FROM `OLD rental`', 'OLD rental')).toBe(true);
    expect(namesIdentifier('SELECT 1 FROM OLD rental', 'OLD rental')).toBe(false);
    expect(namesIdentifier('SELECT 1 FROM "rental"', 'rental')).toBe(true);
  });
});

describe('events, objects of other databases, and renamed columns', () => {
  it("lists an event and another database's view that read rental, and the routines a column rename breaks", async () => {
    const t = await sakila('dep_more');
    const other = await ws.database('dep_other');
    await t.db.execute("CREATE EVENT rental_purge ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM rental WHERE rental_date < '2000-01-01'");
    await other.db.execute(`CREATE VIEW rentals_elsewhere AS SELECT rental_id FROM \`${t.name}\`.rental`);
    // A view of the other database that reads a table of the same name there is not ours.
    await other.db.execute('CREATE TABLE rental (rental_id INT PRIMARY KEY)');
    await other.db.execute('CREATE VIEW own_rentals AS SELECT rental_id FROM rental');
    const renamed = defineMapping({
      ...sakilaMapping,
      finalize: undefined,
      cutover: [renameColumn('rental', 'return_date', 'returned_at'), renameTable('rental', 'OLD rental')],
    });
    const r = await plan({ databaseUrl: t.url, mapping: renamed });
    const of = (change: string) =>
      r.plan
        .dependents!.filter((d) => d.change === change && d.effect === 'breaks')
        .map(label)
        .sort();
    expect(of('rename rental to OLD rental')).toEqual([...broken, 'event rental_purge', `view ${other.name}.rentals_elsewhere`].sort());
    // get_customer_balance, inventory_held_by_customer and inventory_in_stock read rental.return_date; the views do not.
    expect(of('rename rental.return_date to returned_at')).toEqual(sakilaRentalReaders.functions.map((f) => `function ${f}`));
    // The mapping accepts the five by name, whichever change breaks them; the event and the other view refuse the plan.
    expect(r.reasons).toEqual([
      'Cutover would rename rental to OLD rental, and 2 object(s) read it by name, so they would fail afterwards: ' +
        `view ${other.name}.rentals_elsewhere, event rental_purge. If that is intended, name them in the mapping's accepts.breaking ` +
        '(or run with --accept-breaking); otherwise change them first.',
    ]);
  }, 120_000);
});

describe('a user who may not read every definition', () => {
  it('has the views and routines it cannot read listed as breaking, so that only a declaration lets the cutover go ahead', async () => {
    const t = await sakila('dep_privileges');
    const user = `es_deps_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    // What a run needs (README's Privileges) and EXECUTE, without SHOW VIEW or SELECT on mysql.proc: the views' and
    // routines' definitions read as empty.
    await t.db.execute(`CREATE USER ${quoteId(user)}@'%' IDENTIFIED BY '${password}'`);
    try {
      const run = 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, TRIGGER';
      await t.db.execute(`GRANT ${run}, EXECUTE ON ${quoteId(t.name)}.* TO ${quoteId(user)}@'%'`);
      const url = new URL(serverUrl);
      const limited = `mysql://${user}:${password}@${url.host}/${t.name}`;
      const r = await plan({ databaseUrl: limited, mapping: sakilaMapping });
      const unreadable = r.plan.dependents!.filter((d) => d.detail.startsWith('its definition cannot be read') && d.stage === 'cutover');
      expect(unreadable.map(label).sort()).toEqual([
        'function get_customer_balance',
        'function inventory_held_by_customer',
        'function inventory_in_stock',
        'procedure film_in_stock',
        'procedure film_not_in_stock',
        'procedure rewards_report',
        'view actor_info',
        'view customer_list',
        'view film_list',
        'view nicer_but_slower_film_list',
        'view sales_by_film_category',
        'view sales_by_store',
        'view staff_list',
      ]);
      // The five the mapping names are accepted; the others refuse the plan, named, for the cutover and for finalize.
      expect(r.reasons).toEqual([
        expect.stringMatching(/^Cutover would rename rental to OLD rental, and 8 object\(s\) read it by name/),
        expect.stringMatching(/^Finalize would drop OLD rental\.return_date, and 8 object\(s\)/),
      ]);
      expect(r.reasons[0]).toContain('procedure rewards_report');
    } finally {
      await t.db.execute(`DROP USER ${quoteId(user)}@'%'`);
    }
  }, 120_000);
});
