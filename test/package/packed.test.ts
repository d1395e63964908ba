import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSakila } from '../support/public-data.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { snapshot, snapshotDifferences, type Snapshot } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';

/**
 * eventshift as a user gets it: `npm pack` (which builds build/ through prepack), installed with drizzle-orm into a
 * new project that has no "type": "module", and run with `npx eventshift` on mappings that live in that project and
 * nowhere else: one in TypeScript, one in plain JavaScript (importing a CommonJS helper of the project), each with no
 * package.json or tsconfig of its own. The
 * mapping is the Sakila rentals (the public sample database in ../shared/data), written as the README says.
 */

const ws = testWorkspace('packed');
const repo = join(import.meta.dirname, '..', '..');
let project: string;
let t: TestDatabase;
let original: Snapshot;

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Runs the installed CLI as a user does, in the project. */
function eventshift(args: string[]) {
  const r = spawnSync('npx', ['--no-install', 'eventshift', ...args], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: t.url, EVENTSHIFT_TYPESCRIPT: undefined },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const schema = (lang: 'ts' | 'js') => `import { datetime, int, mediumint, mysqlTable, smallint, varchar } from 'drizzle-orm/mysql-core';
import { col, defineMapping, id, lit } from 'eventshift';
${lang === 'js' ? "import labels from './labels.js';\n" : ''}
const event = mysqlTable('event', {
  ID: int('ID', { unsigned: true }).autoincrement().primaryKey(),
  WhenStart: datetime('WhenStart', { mode: 'string' }).notNull(),
  TypeCode: varchar('TypeCode', { length: 63 }).notNull(),
});
const eventRental = mysqlTable('event_rental', {
  ID_Event: int('ID_Event', { unsigned: true }).primaryKey(),
  ID_Inventory: mediumint('ID_Inventory', { unsigned: true }).notNull(),
  ID_Customer: smallint('ID_Customer', { unsigned: true }).notNull(),
});

export default defineMapping({
  name: 'rentals-${lang}',
  description: 'Sakila rentals -> rental events',
  sources: { rental: 'rental' },
  targets: { event, rentalEvent: eventRental },
  steps: {
    rented: {
      from: 'rental',
      ids: { table: 'event', strategy: 'offset', offset: 0 },
      rows: {
        event: { ID: id, WhenStart: col('rental.rental_date'), TypeCode: lit(${lang === 'js' ? 'labels.out' : "'sakila.rental.out'"}) },
        rentalEvent: { ID_Event: id, ID_Inventory: col('rental.inventory_id'), ID_Customer: col('rental.customer_id') },
      },
    },
  },
});
`;

beforeAll(async () => {
  const packed = npm(['pack', '--silent', '--pack-destination', ws.dir], repo).trim().split('\n').pop()!;
  project = ws.path('project');
  await mkdir(join(project, 'mappings', 'rentals-ts'), { recursive: true });
  await mkdir(join(project, 'mappings', 'rentals-js'), { recursive: true });
  // A project as `npm init` makes it: CommonJS by default, no tsconfig.
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'a-shop', version: '1.0.0', private: true }));
  npm(['install', '--no-audit', '--no-fund', join(ws.dir, packed), 'drizzle-orm'], project);
  await writeFile(join(project, 'mappings', 'rentals-ts', 'index.ts'), schema('ts'));
  await writeFile(join(project, 'mappings', 'rentals-js', 'index.js'), schema('js'));
  // A CommonJS helper the JavaScript mapping imports: it stays CommonJS.
  await writeFile(join(project, 'mappings', 'rentals-js', 'labels.js'), "module.exports = { out: 'sakila.rental.out' };\n");
  t = await ws.database('packed');
  await loadSakila(serverUrl, t.name);
  original = await snapshot(t.db);
}, 300_000);

describe('the packed package, installed into a new project', () => {
  it('ships compiled JavaScript and type declarations, and no tests', async () => {
    const installed = join(project, 'node_modules', 'eventshift');
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { version: string };
    expect(await readFile(join(installed, 'build', 'index.d.ts'), 'utf8')).toMatch(
      /export \{ defineMapping.*from '\.\/mapping\/define\.js'/,
    );
    expect(spawnSync('ls', [join(installed, 'test')]).status).not.toBe(0);
    const v = eventshift(['--version']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(manifest.version);
  });

  it('plans a JavaScript mapping that lives in the project', () => {
    const r = eventshift(['plan', './mappings/rentals-js']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/OK: migrate can go ahead/);
  });

  it('plans, migrates, verifies and restores a TypeScript mapping that lives in the project', async () => {
    const plan = eventshift(['plan', './mappings/rentals-ts']);
    expect(plan.code, plan.stderr + plan.stdout).toBe(0);
    const migrate = eventshift(['migrate', './mappings/rentals-ts', '--yes', '--quiet']);
    expect(migrate.code, migrate.stderr + migrate.stdout).toBe(0);
    const [events] = await t.db.query<{ n: string }>("SELECT COUNT(*) AS n FROM event WHERE TypeCode = 'sakila.rental.out'");
    const [rentals] = await t.db.query<{ n: string }>('SELECT COUNT(*) AS n FROM rental');
    expect(Number(events!.n)).toBe(Number(rentals!.n));
    const verify = eventshift(['verify', './mappings/rentals-ts', '--quiet']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    const restore = eventshift(['restore', './mappings/rentals-ts', '--yes', '--quiet']);
    expect(restore.code, restore.stderr + restore.stdout).toBe(0);
    const after = await snapshot(t.db);
    // eventshift's own bookkeeping tables stay after a restore (README); everything else is as it was.
    const own = Object.keys(after).filter((table) => table.startsWith('eventshift_'));
    for (const table of own) delete after[table];
    expect(snapshotDifferences(original, after)).toEqual([]);
  });
});
