import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactUrl } from '../../src/db/connection.ts';
import { databaseUrlFromOptions, optionValue, readClientOptions } from '../../src/db/option-files.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import { serverUrl } from '../support/database.ts';
import { runCli } from '../support/cli.ts';
import { testWorkspace } from '../support/workspace.ts';

const ws = testWorkspace('cnf');

describe('client option files', () => {
  it('reads the client groups as the mariadb client does: later lines and files win, includes followed', async () => {
    await mkdir(ws.path('etc', 'conf.d'), { recursive: true });
    await writeFile(
      ws.path('etc', 'my.cnf'),
      [
        '# the server and other programs have groups of their own',
        '[mysqld]',
        'port = 3307',
        'user = mysql',
        '[client]',
        'host = db1.example',
        'port=3306',
        'user = first',
        '[mysqldump]',
        'user = dumper',
        '!includedir conf.d',
      ].join('\n'),
    );
    await writeFile(ws.path('etc', 'conf.d', '10-a.cnf'), '[client-server]\nuser = second ; not a comment here\n');
    await writeFile(ws.path('etc', 'conf.d', '20-b.cnf'), '[CLIENT-MARIADB]\npassword = "p#ss w\\"rd" # comment\n[mysql]\ndatabase = x\n');
    await writeFile(ws.path('etc', 'conf.d', 'readme.txt'), '[client]\nuser = ignored\n');
    expect(readClientOptions({ defaultsFile: ws.path('etc', 'my.cnf') })).toEqual({
      host: 'db1.example',
      port: 3306,
      socket: undefined,
      user: 'second ; not a comment here',
      password: 'p#ss w"rd',
      database: undefined,
    });
  });

  it('reads values as the client does: quotes, escapes, trailing comments', () => {
    expect(optionValue("'a b' # c")).toBe('a b');
    expect(optionValue('plain # comment')).toBe('plain');
    expect(optionValue('tab\\there\\sand\\\\')).toBe('tab\there and\\');
    expect(() => optionValue('"open')).toThrow(/does not close it/);
  });

  it('refuses what it cannot read, naming the file and line', async () => {
    expect(() => readClientOptions({ defaultsFile: ws.path('missing.cnf') })).toThrow(/missing\.cnf does not exist/);
    await writeFile(ws.path('bad.cnf'), '[client]\nuser = a\nthis is = not = an option ?\n');
    expect(() => readClientOptions({ defaultsFile: ws.path('bad.cnf') })).toThrow(/bad\.cnf, line 3/);
    await writeFile(ws.path('secret.cnf'), '[client]\npassword: s3cret-word\n');
    expect(() => readClientOptions({ defaultsFile: ws.path('secret.cnf') })).toThrow(/^(?!.*s3cret-word).*line 2/);
    await writeFile(ws.path('port.cnf'), '[client]\nport = 99999\n');
    expect(() => readClientOptions({ defaultsFile: ws.path('port.cnf') })).toThrow(/port=99999/);
  });

  it('makes a URL of an IPv6 host, and refuses a host a URL cannot hold', () => {
    expect(parseDatabaseUrl(databaseUrlFromOptions({ host: '2001:db8::5', database: 'shop' }, undefined, () => 'u')!)).toMatchObject({
      host: '2001:db8::5',
      database: 'shop',
    });
    expect(() => databaseUrlFromOptions({ host: 'bad host/x', database: 'shop' }, undefined, () => 'u')).toThrow(/host=bad host\/x/);
  });

  it('makes a URL that keeps the password whole and never shows it', () => {
    const url = databaseUrlFromOptions({ host: 'db.example', port: 3307, user: 'app', password: 'p@ss:w/rd#' }, 'shop', () => 'login')!;
    expect(parseDatabaseUrl(url)).toMatchObject({ host: 'db.example', port: 3307, user: 'app', password: 'p@ss:w/rd#', database: 'shop' });
    expect(redactUrl(url)).not.toContain('p%40ss');
    expect(databaseUrlFromOptions({ user: 'app', socket: '/tmp/my.sock' }, undefined, () => 'login')).toBeNull();
    expect(parseDatabaseUrl(databaseUrlFromOptions({ socket: '/tmp/my.sock', database: 'shop' }, undefined, () => 'login')!)).toMatchObject(
      {
        socketPath: '/tmp/my.sock',
        user: 'login',
      },
    );
  });

  it('connects the CLI from --defaults-file and --database, and refuses them beside a URL', async () => {
    const t = await ws.database('cnf_cli');
    await generateVbzcart(t.db, { pulls: 200, seed: 4242 });
    const user = `es_cnf_${randomBytes(3).toString('hex')}`;
    const password = 'it has # and "quotes"';
    await t.db.execute(`CREATE USER '${user}'@'%' IDENTIFIED BY 'it has # and "quotes"'`);
    try {
      await t.db.execute(`GRANT ALL ON \`${t.name}\`.* TO '${user}'@'%'`);
      const { port, hostname } = new URL(serverUrl);
      const cnf = ws.path('client.cnf');
      await writeFile(cnf, `[client]\nhost=${hostname}\nport=${port || 3306}\nuser=${user}\npassword='${password}'\n`);
      const env = { DATABASE_URL: undefined, HOME: ws.dir };
      const viaFile = runCli(['check', 'vbzcart-ord-pull', '--defaults-file', cnf, '--database', t.name], { cwd: ws.dir, env });
      expect(viaFile.code, viaFile.stderr).toBe(0);
      // The same options as the user's ~/.my.cnf, found without a flag.
      await writeFile(ws.path('.my.cnf'), `[client]\nhost=${hostname}\nport=${port || 3306}\nuser=${user}\npassword='${password}'\n`);
      const viaHome = runCli(['check', 'vbzcart-ord-pull', '--database', t.name], { cwd: ws.dir, env });
      expect(viaHome.code, viaHome.stderr).toBe(0);
      // A wrong password in the file: the connection fails and says so, without the password.
      await writeFile(cnf, `[client]\nhost=${hostname}\nport=${port || 3306}\nuser=${user}\npassword=wrong-one\n`);
      const wrong = runCli(['check', 'vbzcart-ord-pull', '--defaults-file', cnf, '--database', t.name], { cwd: ws.dir, env });
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/Access denied/);
      expect(wrong.stderr).not.toContain('wrong-one');
      // --database-url (or DATABASE_URL) comes first, as it always has.
      // With a URL too (given, or left in the environment), --database and --defaults-file are refused, not ignored.
      const both = runCli(['check', 'vbzcart-ord-pull', '--defaults-file', cnf, '--database-url', t.url], { cwd: ws.dir, env });
      expect(both.code).toBe(2);
      expect(both.stderr).toMatch(/--defaults-file is for a connection read from option files, but --database-url gives one too/);
      const stale = runCli(['check', 'vbzcart-ord-pull', '--database', t.name], { cwd: ws.dir, env: { ...env, DATABASE_URL: t.url } });
      expect(stale.code).toBe(2);
      expect(stale.stderr).toMatch(/unset DATABASE_URL/);
      const url = runCli(['check', 'vbzcart-ord-pull', '--database-url', t.url], { cwd: ws.dir, env });
      expect(url.code, url.stderr).toBe(0);
      const none = runCli(['check', 'vbzcart-ord-pull'], { cwd: ws.dir, env: { ...env, HOME: ws.path('etc') } });
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/No database given.*--database/);
    } finally {
      await t.db.execute(`DROP USER '${user}'@'%'`);
    }
  });
});
