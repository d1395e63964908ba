import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { runCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { sourceTableNames } from '../../src/mapping/compile.ts';
import { loadMapping } from '../../src/mapping/load.ts';
import { plan } from '../../src/run/plan-command.ts';

const root = join(import.meta.dirname, '../..');
let work: string;
const made: TestDatabase[] = [];
beforeAll(async () => {
  await mkdir(join(root, 'test-output'), { recursive: true });
  work = await mkdtemp(join(root, 'test-output', 'aliases-'));
});
afterAll(async () => {
  for (const t of made) await t.drop();
  await rm(work, { recursive: true, force: true });
  await rm(`${work}-vbzcart-renamed`, { recursive: true, force: true });
});

async function database(label: string, seed: number) {
  const t = await freshDatabase(label);
  made.push(t);
  await generateVbzcart(t.db, { seed });
  return t;
}

describe('stable aliases', () => {
  it('eventshift check proves every alias of every shipped mapping against its fixture', async () => {
    const shipped = (await readdir(join(root, 'mappings'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(shipped).toContain('vbzcart-ord-pull');
    expect(shipped).toContain('campaign-events-tracking-tools');
    expect(shipped).toContain('mediawiki-actor');
    for (const name of shipped) {
      // Every shipped mapping ships a fixture generator: fixture.ts exporting one generate...(db, { seed }) function.
      const fixture = (await import(join(root, 'mappings', name, 'fixture.ts'))) as Record<string, unknown>;
      const generators = Object.entries(fixture).filter(([key, value]) => key.startsWith('generate') && typeof value === 'function');
      expect(
        generators.map(([key]) => key),
        `mappings/${name}/fixture.ts`,
      ).toHaveLength(1);
      const t = await freshDatabase(`alias_check_${name}`);
      made.push(t);
      await (generators[0]![1] as (db: unknown, options: { seed: number }) => Promise<unknown>)(t.db, { seed: 7100 });
      const file = (await loadMapping(name)).aliases;
      expect(file, `mappings/${name} has an aliases.yaml`).toBeDefined();
      const count = Object.values(file!.aliases).reduce((n, entry) => n + 1 + Object.keys(entry.columns).length, 0);
      const r = runCli(['check', name], { cwd: root, env: { DATABASE_URL: t.url } });
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`version ${file!.version}), ${count} checked.\nEvery alias resolves.`);
      if (name === 'vbzcart-ord-pull') expect(count).toBe(21);
      if (name === 'mediawiki-actor') expect(count).toBe(30);
    }
  });

  it('a renamed legacy column breaks check, naming the alias; updating only aliases.yaml keeps the mapping working', async () => {
    const t = await database('alias_rename', 7200);
    await t.db.execute('ALTER TABLE ord_pull RENAME COLUMN WhenPulled TO `When Pulled`');

    const broken = runCli(['check', 'vbzcart-ord-pull'], { cwd: root, env: { DATABASE_URL: t.url } });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(
      /BROKEN ord_pull\.WhenPulled -> ord_pull\.WhenPulled: no column WhenPulled in ord_pull \(it has: .*When Pulled/,
    );
    expect(broken.stdout.match(/BROKEN/g)).toHaveLength(1);

    // Two levels below the project root, like mappings/<name>, so the copy's relative imports still resolve.
    const copy = `${work}-vbzcart-renamed`;
    await cp(join(root, 'mappings', 'vbzcart-ord-pull'), copy, { recursive: true });
    const aliases = await readFile(join(copy, 'aliases.yaml'), 'utf8');
    await writeFile(
      join(copy, 'aliases.yaml'),
      aliases
        .replace('version: 1', 'version: 2')
        .replace('      WhenPulled: WhenPulled', '      WhenPulled: { 1: WhenPulled, 2: "When Pulled" }'),
    );

    const fixed = runCli(['check', copy], { cwd: root, env: { DATABASE_URL: t.url } });
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const migrated = runCli(
      ['migrate', copy, '--yes', '--quiet', '--backup-dir', join(work, 'backups'), '--report', join(work, 'report')],
      { cwd: root, env: { DATABASE_URL: t.url } },
    );
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/All \d+ checks passed/);
    const wrong = await t.db.query(
      'SELECT e.ID FROM event e JOIN `OLD ord_pull` p ON e.ID = p.ID + 1500 WHERE NOT (e.WhenStart <=> p.`When Pulled`)',
    );
    expect(wrong).toEqual([]);
  });

  it('an unknown alias key throws by default and is used as written, with a warning, in production mode', () => {
    const strict = sourceTableNames(mapping);
    expect(() => strict.column('pull', 'WhenPuled')).toThrow(/column ord_pull\.WhenPuled is not an alias key in .*aliases\.yaml/);
    const production = sourceTableNames(mapping, undefined, { strict: false });
    expect(production.snippet('{{pull.WhenPuled}} IS NULL')).toBe('`pull`.`WhenPuled` IS NULL');
    expect(production.warnings).toEqual([expect.stringMatching(/^column ord_pull\.WhenPuled is not in .*aliases\.yaml; used as written$/)]);
  });

  it('plan refuses a mapping whose SQL names an alias key aliases.yaml lacks, naming where', async () => {
    const t = await database('aliases_plan', 3);
    const problem = mapping.problems!.invalidWhenPulled!;
    const misspelt = {
      ...mapping,
      problems: { ...mapping.problems, invalidWhenPulled: { ...problem, where: '{{pull.WhenPuled}} IS NULL' } },
    };
    const planned = await plan({ databaseUrl: t.url, mapping: misspelt });
    expect(planned.ok).toBe(false);
    expect(planned.plan.refusals).toContainEqual(
      expect.stringMatching(/^problem invalidWhenPulled: column ord_pull\.WhenPuled is not an alias key in /),
    );
  });
});
