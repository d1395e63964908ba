/**
 * `npm run demo`: builds a demo VbzCart database (deterministic, seed-shaped), then runs plan, migrate and verify
 * on it through the library, printing what a person would see from the CLI and where the backup and report are.
 * DEMO_DATABASE_SERVER overrides the server (default mysql://root@127.0.0.1:3306); the database is `eventshift_demo`.
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

const server = (process.env.DEMO_DATABASE_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const database = 'eventshift_demo';
const databaseUrl = `${server}/${database}`;
const backupDir = resolve('backups');
const reportDir = resolve('reports', 'demo');
const say = (text: string) => process.stdout.write(`${text}\n`);

const admin = await connect(`${server}/mysql`);
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
