import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { loadPeerCorpus, loadSakila } from '../support/public-data.ts';
import { runCli } from '../support/cli.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * `eventshift init NAME --from TABLES` scaffolds a mapping folder from the live schema, and what it writes plans (and
 * migrates) as it is: on Sakila (dates, foreign keys) and on peer-corpus tables of unusual types, whose extension
 * tables must come out with exactly the legacy COLUMN_TYPEs. The folders are written under the repository's
 * test-output/, so that their relative imports of src/ resolve as they do for a mapping in this repository.
 */
const root = join(import.meta.dirname, '../..');
const ws = testWorkspace('init');
let out: string;
let sakila: TestDatabase;
let peer: TestDatabase;

const cli = (t: TestDatabase, args: string[]) =>
  runCli([...args, '--database-url', t.url, '--backup-dir', ws.path('backups')], { cwd: root });

/** Peer-corpus tables with types drizzle has no exact builder for (zerofill, SET, blobs, INET6, other charsets) and some it has. */
const peerTables = ['tb_enum_set', 'ty_int', 'ty_decimal', 'ty_float', 'ty_strings', 'ty_inet_uuid', 'ct_sjis'];

beforeAll(async () => {
  await mkdir(join(root, 'test-output'), { recursive: true });
  out = await mkdtemp(join(root, 'test-output', 'init-'));
  sakila = await ws.database('init_sakila');
  await loadSakila(serverUrl, sakila.name);
  // One row for each kind of data check to find: a zero return date, a payment naming a rental that does not exist.
  await sakila.db.execute("UPDATE rental SET return_date = '0000-00-00 00:00:00' WHERE rental_id = 1");
  await sakila.db.execute('SET FOREIGN_KEY_CHECKS = 0');
  await sakila.db.execute('UPDATE payment SET rental_id = 999999 WHERE payment_id = 2');
  await sakila.db.execute('SET FOREIGN_KEY_CHECKS = 1');
  peer = await ws.database('init_peer');
  await loadPeerCorpus(serverUrl, peer.name);
});

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

interface PlanJson {
  ok: boolean;
  plan: {
    steps: Array<{ name: string; sourceRows: number; writes: Array<{ table: string; rows: number }> }>;
    problems: Array<{ name: string; severity: string; count: number; keys: string[] }>;
  };
}

describe('eventshift init', () => {
  it('Sakila rental,payment: writes the three files into an empty folder, and they plan and migrate as generated', async () => {
    const dir = join(out, 'sakila');
    await mkdir(dir); // an existing empty folder is fine
    const init = cli(sakila, ['init', 'sakila-init', '--from', 'rental,payment', '--dir', dir]);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain(join(dir, 'index.ts'));
    expect(init.stdout).toContain(join(dir, 'schema.ts'));
    expect(init.stdout).toContain(join(dir, 'aliases.yaml'));
    expect(init.stdout).toMatch(/Next: eventshift plan \.\/test-output\/init-\w+\/sakila/);

    const index = await readFile(join(dir, 'index.ts'), 'utf8');
    expect(index).toMatch(/relative path: this folder cannot resolve the\n\/\/ package 'eventshift'/);
    expect(index).toContain("from '../../../src/mapping/define.ts'");
    expect(index).toContain('aliases: aliasesBeside(import.meta.url)');
    expect(index).toContain("WhenStart: col('rental.rental_date')");
    expect(index).toContain("TypeCode: lit('sakila-init.payment')");
    const aliases = await readFile(join(dir, 'aliases.yaml'), 'utf8');
    expect(aliases).toMatch(/ {2}rental:\n {4}table: rental\n {4}columns:\n {6}rental_id: rental_id\n {6}rental_date: rental_date/);

    const plan = cli(sakila, ['plan', dir, '--json']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const result = JSON.parse(plan.stdout) as PlanJson;
    expect(result.ok).toBe(true);
    for (const table of ['rental', 'payment']) {
      const [{ n }] = (await sakila.db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table}`)) as [{ n: string }];
      const step = result.plan.steps.find((s) => s.name === table)!;
      expect(step.sourceRows).toBe(Number(n));
      expect(step.writes.map((w) => [w.table, w.rows])).toEqual([
        ['event', Number(n)],
        [`event_${table}`, Number(n)],
      ]);
    }
    const problems = new Map(result.plan.problems.map((p) => [p.name, p]));
    const expected = [
      'rental_rental_date_zero_date',
      'rental_return_date_zero_date',
      'rental_last_update_zero_date',
      'rental_fk_rental_customer_orphan',
      'rental_fk_rental_inventory_orphan',
      'rental_fk_rental_staff_orphan',
      'payment_payment_date_zero_date',
      'payment_last_update_zero_date',
      'payment_fk_payment_customer_orphan',
      'payment_fk_payment_rental_orphan',
      'payment_fk_payment_staff_orphan',
    ];
    expect([...problems.keys()].sort()).toEqual([...expected].sort());
    for (const name of expected) {
      expect(problems.get(name)!.severity).toBe('warning');
      expect(typeof problems.get(name)!.count).toBe('number');
    }
    expect(problems.get('rental_return_date_zero_date')).toMatchObject({ count: 1, keys: ['1'] });
    expect(problems.get('payment_fk_payment_rental_orphan')).toMatchObject({ count: 1, keys: ['2'] });
    expect(problems.get('rental_fk_rental_customer_orphan')!.count).toBe(0);

    const migrate = cli(sakila, ['migrate', dir, '--yes', '--quiet', '--report', ws.path('sakila-report')]);
    expect(migrate.code, migrate.stdout + migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/All \d+ checks passed/);
  });

  it('peer-corpus tables of unusual types: the extension tables have exactly the legacy column types after a migrate', async () => {
    // An event table of the database's own, with rows: schema.ts describes it as it is, and the IDs go around its rows.
    await peer.db.execute(
      'CREATE TABLE event (ID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, WhenStart DATETIME(3) NOT NULL, ' +
        'TypeCode VARCHAR(100) NOT NULL, Note VARCHAR(10) NULL, Kind VARCHAR(8) NOT NULL)',
    );
    await peer.db.execute(
      "INSERT INTO event (ID, WhenStart, TypeCode, Kind) VALUES (1, '2020-01-01', 'x', 'a'), (120, '2020-01-02', 'y', 'b')",
    );
    const dir = join(out, 'peer');
    const init = cli(peer, ['init', 'peer-types', '--from', peerTables.join(','), '--dir', dir]);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain('TODO: tb_enum_set has no NOT NULL date or datetime column');
    expect(init.stdout).toContain('TODO: event.Kind is NOT NULL without a default: replace its placeholder (marked TODO).');
    const schema = await readFile(join(dir, 'schema.ts'), 'utf8');
    expect(schema).toContain("ID: bigint('ID', { mode: 'string', unsigned: true }).autoincrement().primaryKey(),");
    expect(schema).toContain("WhenStart: datetime('WhenStart', { mode: 'string', fsp: 3 }).notNull(),");
    expect(schema).toContain("Note: varchar('Note', { length: 10 }),");
    expect(schema).toContain("e1: mysqlEnum('e1', ['', 'x', 'y']),");
    expect(schema).toContain("iu: legacyType('int(10) unsigned zerofill')('iu'),");
    expect(schema).toContain("f74: float('f74', { precision: 7, scale: 4 }),");
    expect(schema).toContain("u: legacyType('uuid')('u'),");
    const index = await readFile(join(dir, 'index.ts'), 'utf8');
    expect(index).toMatch(
      /\/\/ TODO: tb_enum_set has no NOT NULL date or datetime column[^\n]*\n\s*WhenStart: lit\('2000-01-01 00:00:00'\)/,
    );

    expect(index).toMatch(/\/\/ TODO: event\.Kind is NOT NULL without a default[^\n]*\n\s*Kind: lit\(''\),/);
    const plan = cli(peer, ['plan', dir]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/tb_enum_set: \d+ source rows .*IDs dense from 200/);
    const migrate = cli(peer, ['migrate', dir, '--yes', '--quiet', '--report', ws.path('peer-report')]);
    expect(migrate.code, migrate.stdout + migrate.stderr).toBe(0);

    const types = await peer.db.query<{ t: string; c: string; type: string; collation: string | null }>(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS type, COLLATION_NAME AS collation FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    );
    const of = (table: string) => types.filter((r) => r.t === table).map(({ c, type, collation }) => ({ c, type, collation }));
    for (const table of peerTables) {
      expect(of(table).length).toBeGreaterThan(1);
      expect(of(`event_${table}`)).toEqual([{ c: 'ID_Event', type: 'bigint(20) unsigned', collation: null }, ...of(table)]);
    }
    expect(of('event').map((c) => c.type)).toEqual(['bigint(20) unsigned', 'datetime(3)', 'varchar(100)', 'varchar(10)', 'varchar(8)']);
  });

  it("in a project that has eventshift installed, index.ts imports from 'eventshift' and says so", async () => {
    const project = ws.path('project');
    await mkdir(join(project, 'node_modules', 'eventshift'), { recursive: true });
    const pkg = { name: 'eventshift', type: 'module', exports: { '.': './index.js' } };
    await writeFile(join(project, 'node_modules', 'eventshift', 'package.json'), JSON.stringify(pkg));
    await writeFile(join(project, 'node_modules', 'eventshift', 'index.js'), 'export {};\n');
    const dir = join(project, 'mappings', 'staff-events');
    const init = cli(sakila, ['init', 'staff-events', '--from', 'staff', '--dir', dir]);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain("eventshift imported as the package 'eventshift'");
    const index = await readFile(join(dir, 'index.ts'), 'utf8');
    expect(index).toContain("// eventshift is imported as the package 'eventshift'");
    expect(index).toContain("import { aliasesBeside, col, defineMapping, id, lit } from 'eventshift';");
    expect(index).not.toContain('src/mapping');
  });

  it('refuses a table that does not exist, naming it, and a folder that is not empty; writes nothing', async () => {
    const missing = cli(sakila, ['init', 'nope', '--from', 'rental,no_such_table', '--dir', join(out, 'nope')]);
    expect(missing.code, missing.stdout + missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/No table no_such_table in database/);
    expect(existsSync(join(out, 'nope'))).toBe(false);

    const full = join(out, 'full');
    await mkdir(full);
    await writeFile(join(full, 'notes.txt'), 'mine');
    const refused = cli(sakila, ['init', 'full', '--from', 'rental', '--dir', full]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/exists and is not empty/);
    expect(await readFile(join(full, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(full, 'index.ts'))).toBe(false);
  });

  it('generated outside any project that has drizzle-orm, plan says in one line what to install and where', async () => {
    // Under the system's temp folder, no node_modules above it: the generated schema.ts cannot find drizzle-orm.
    const bare = await mkdtemp(join(tmpdir(), 'es-init-bare-'));
    try {
      const dir = join(bare, 'mappings', 'actors');
      const init = cli(sakila, ['init', 'actors', '--from', 'actor', '--dir', dir]);
      expect(init.code, init.stdout + init.stderr).toBe(0);
      const plan = runCli(['plan', dir, '--database-url', sakila.url], { cwd: bare });
      expect(plan.code).toBe(2);
      expect(plan.stderr.trim().split('\n')).toEqual([
        `eventshift: The mapping ${dir} (${join(dir, 'index.ts')}) could not be loaded: Cannot find package 'drizzle-orm' ` +
          `imported from ${join(dir, 'schema.ts')}. Install it where the mapping can find it: \`npm install drizzle-orm\` in ${dir}.`,
      ]);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });
});
