import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The public test data beside the project (`../shared/data`, see its README files): the Sakila sample database and
 * the peer corpus of tables built from MariaDB's mysql-test and mydumper's test cases. Loaded with the `mariadb`
 * client, as their READMEs say, because both use client syntax (`DELIMITER`) that a driver does not parse.
 */
export const sharedDataDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data');

/**
 * The `mariadb` command-line client's arguments and environment for `database` on the server of `serverUrl` (the
 * tests' server by default, TEST_DATABASE_SERVER included): host, port and user as flags, the password in MYSQL_PWD.
 */
export function mariadbClient(serverUrl: string, database: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const url = new URL(serverUrl);
  return {
    args: [`--host=${url.hostname}`, `--port=${url.port || '3306'}`, `--user=${decodeURIComponent(url.username || 'root')}`, database],
    env: { ...process.env, ...(url.password ? { MYSQL_PWD: decodeURIComponent(url.password) } : {}) },
  };
}

/**
 * Runs a SQL script with the `mariadb` client into `database`; rejects with the client's stderr. A script in another
 * character set than utf8mb4 is given as its bytes, with the character set the client should announce.
 */
export async function runSqlScript(serverUrl: string, database: string, script: string | Buffer, charset = 'utf8mb4'): Promise<void> {
  const client = mariadbClient(serverUrl, database);
  const args = [`--default-character-set=${charset}`, '--batch', ...client.args];
  const env = client.env;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mariadb', args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`mariadb exited ${code} loading into ${database}: ${stderr.trim()}`)),
    );
    child.stdin.end(script);
  });
}

/**
 * Loads Sakila (schema, then data) into an existing, empty `database`. The published files create and select a
 * database named `sakila`, and one view names its tables as `sakila.<table>`; those statements are left out and that
 * qualifier dropped, so everything lands in `database`. Nothing else is changed.
 */
export async function loadSakila(serverUrl: string, database: string): Promise<void> {
  const selectsSakila = /^\s*(DROP SCHEMA IF EXISTS sakila|CREATE SCHEMA sakila|USE sakila)\s*;\s*$/gim;
  for (const file of ['sakila-mv-schema.sql', 'sakila-mv-data.sql']) {
    const script = await readFile(join(sharedDataDir, 'sakila', file), 'utf8');
    await runSqlScript(serverUrl, database, script.replace(selectsSakila, '').replace(/\bsakila\.(?=[a-z_]+\b)/g, ''));
  }
}

/** Loads the peer corpus's 98 tables into an existing, empty `database`. */
export async function loadPeerCorpus(serverUrl: string, database: string): Promise<void> {
  await runSqlScript(serverUrl, database, await readFile(join(sharedDataDir, 'peer-corpus', 'peer-corpus.sql'), 'utf8'));
}
