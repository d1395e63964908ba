/**
 * `npm run demo`: builds a demo VbzCart database (deterministic, seed-shaped), then runs plan, migrate and verify
 * on it through the library, printing what a person would see from the CLI and where the backup and report are.
 * DEMO_DATABASE_SERVER overrides the server (default mysql://root@127.0.0.1:3306), DEMO_DATABASE the database
 * (default `eventshift_demo`; made afresh, and one that exists is dropped only when its name starts with
 * eventshift_demo). `npm run demo -- --help` says so.
 */
import { resolve } from 'node:path';
import { connect } from '../src/db/connection.ts';
import { quoteId } from '../src/db/quote.ts';
import { loadMapping } from '../src/mapping/load.ts';
import { plan } from '../src/run/plan-command.ts';
import { migrate } from '../src/run/migrate.ts';
import { verify } from '../src/run/verify-run.ts';
import { renderMigrate, renderPlan, renderVerify } from '../src/cli/render.ts';
import { generateVbzcart } from '../mappings/vbzcart-ord-pull/fixture.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'npm run demo: builds a demo VbzCart database and runs plan, migrate and verify on it.\n' +
      '  DEMO_DATABASE_SERVER  the server (default mysql://root@127.0.0.1:3306)\n' +
      '  DEMO_DATABASE         the database (default eventshift_demo): made afresh; one that exists is dropped\n' +
      '                        only when its name starts with eventshift_demo\n',
  );
  process.exit(0);
}
const server = (process.env.DEMO_DATABASE_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const database = process.env.DEMO_DATABASE ?? 'eventshift_demo';
const databaseUrl = `${server}/${encodeURIComponent(database)}`;
const backupDir = resolve('backups');
const reportDir = resolve('reports', 'demo');
const say = (text: string) => process.stdout.write(`${text}\n`);

const admin = await connect(`${server}/mysql`);
const [existing] = await admin.query<{ n: string | number }>(
  'SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
  [database],
);
if (Number(existing!.n) > 0 && !database.startsWith('eventshift_demo')) {
  // The demo drops its database first: it never drops one it may not have made.
  process.stderr.write(
    `DEMO_DATABASE=${database} exists. The demo drops and makes again only a database named eventshift_demo...; ` +
      'choose a name that does not exist, or drop it yourself.\n',
  );
  process.exit(2);
}
await admin.execute(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
await admin.execute(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
await admin.close();

const db = await connect(databaseUrl);
const fixture = await generateVbzcart(db);
await db.close();
say(
  `Demo database ${database}: ${fixture.counts.pulls} pulls (${fixture.counts.released} released), ` +
    `${fixture.counts.orders} orders, ${fixture.counts.existingEvents} existing events.\n`,
);

const mapping = await loadMapping('vbzcart-ord-pull');
say('$ eventshift plan vbzcart-ord-pull');
const planned = await plan({ databaseUrl, mapping });
say(renderPlan(planned) + '\n');
if (!planned.ok) process.exit(1);

say('$ eventshift migrate vbzcart-ord-pull --yes');
const migrated = await migrate({ databaseUrl, mapping, backupDir, log: (line) => say(`  ${line}`) });
say(renderMigrate(migrated) + '\n');
if (migrated.status !== 'completed') process.exit(1);

say(`$ eventshift verify vbzcart-ord-pull --report ${reportDir}`);
const verified = await verify({ databaseUrl, mapping, backupDir, reportDir });
say(renderVerify(verified) + '\n');

say(`Backup: ${migrated.backup?.dir}`);
say(`Report: ${reportDir}/report.html (and report.md, report.json)`);
say(`Undo it all: npx eventshift restore vbzcart-ord-pull --database-url ${databaseUrl} --yes`);
process.exit(verified.verification.ok ? 0 : 1);
