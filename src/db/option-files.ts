import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { usageError } from '../errors.ts';

/**
 * The MySQL/MariaDB client option files, read as the mariadb client reads them for a connection: `[client]`,
 * `[client-server]` and `[client-mariadb]` groups, later files and later lines overriding earlier ones, `!include` and
 * `!includedir` followed. Without a --defaults-file, the files are /etc/my.cnf, /etc/mysql/my.cnf and ~/.my.cnf, each
 * when it exists; with one, that file alone (it must exist). Only what a connection needs is kept.
 */
export interface ClientOptions {
  host?: string;
  port?: number;
  socket?: string;
  user?: string;
  password?: string;
  database?: string;
}

/** The groups every MariaDB client program reads its connection options from. */
const clientGroups = new Set(['client', 'client-server', 'client-mariadb']);

/** The option files read when no --defaults-file is given, in the order they are read. */
function defaultOptionFiles(home = homedir()): string[] {
  return ['/etc/my.cnf', '/etc/mysql/my.cnf', join(home, '.my.cnf')];
}

/** Reads the client options from `defaultsFile`, or else from the default files that exist. */
export function readClientOptions(options: { defaultsFile?: string; home?: string } = {}): ClientOptions {
  const found: Record<string, string> = {};
  if (options.defaultsFile !== undefined) {
    const file = resolve(options.defaultsFile);
    if (!existsSync(file)) throw usageError(`--defaults-file ${file} does not exist; give the path of a MySQL/MariaDB option file.`);
    readOptionFile(file, found, []);
  } else {
    for (const file of defaultOptionFiles(options.home)) if (existsSync(file)) readOptionFile(file, found, []);
  }
  const port = found.port === undefined ? undefined : Number(found.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw usageError(`The option files give port=${found.port}, which is not a port number; correct it in the [client] group.`);
  }
  return {
    host: found.host,
    port,
    socket: found.socket,
    user: found.user,
    password: found.password,
    database: found.database,
  };
}

/** Reads one option file into `found` (its client groups' options), following its includes; `seen` stops a loop. */
function readOptionFile(file: string, found: Record<string, string>, seen: string[]): void {
  if (seen.includes(file)) return;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(`The option file ${file} cannot be read: ${(error as Error).message}.`);
  }
  let inClient = false;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const include = /^!(include|includedir)\s+(.+)$/.exec(line);
    if (include) {
      const target = isAbsolute(include[2]!.trim()) ? include[2]!.trim() : join(dirname(file), include[2]!.trim());
      for (const f of include[1] === 'include' ? [target] : configFilesIn(target)) readOptionFile(f, found, [...seen, file]);
      continue;
    }
    const group = /^\[([^\]]+)\]$/.exec(line);
    if (group) {
      inClient = clientGroups.has(group[1]!.trim().toLowerCase());
      continue;
    }
    if (!inClient) continue;
    const option = /^([A-Za-z0-9_-]+)\s*(?:=\s*(.*))?$/.exec(line);
    // The line is not quoted: it may hold a password.
    if (!option) throw usageError(`The option file ${file}, line ${i + 1}, is neither a [group], an option nor a comment.`);
    found[option[1]!.toLowerCase().replaceAll('_', '-')] = optionValue(option[2] ?? '', `${file}, line ${i + 1}`);
  }
}

/** The `.cnf` files of an `!includedir`, in name order (a directory that is missing includes nothing, as the client does). */
function configFilesIn(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cnf'))
    .sort()
    .map((name) => join(dir, name));
}

const escapes: Record<string, string> = { b: '\b', t: '\t', n: '\n', r: '\r', s: ' ', '\\': '\\', '"': '"', "'": "'" };

/**
 * An option's value as the client reads it: in quotes, everything up to the closing quote; unquoted, up to a `#`
 * comment; either way with the escapes \b \t \n \r \s \\ (and an escaped quote) read, and unquoted spaces trimmed.
 */
export function optionValue(text: string, where = 'an option file'): string {
  const quote = text[0] === '"' || text[0] === "'" ? text[0] : undefined;
  let out = '';
  for (let i = quote ? 1 : 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote && c === quote) return out;
    if (!quote && c === '#') break;
    if (c === '\\' && i + 1 < text.length) {
      const next = text[++i]!;
      out += escapes[next] ?? `\\${next}`;
      continue;
    }
    out += c;
  }
  if (quote) throw usageError(`A value in ${where} opens a ${quote} quote and does not close it.`);
  return out.trim();
}

/** Where the MariaDB client looks for the server's socket when an option file names none (Debian's and MariaDB's own). */
const defaultSocket = '/run/mysqld/mysqld.sock';

/**
 * A database URL from the client options and the database to use (the --database flag, else the options' `database`),
 * or null when neither names one. As with the client: the user defaults to the login name, and a host of `localhost`
 * (or none) means the server's socket (the options' `socket`, else the default one when it exists), any other host TCP.
 */
export function databaseUrlFromOptions(options: ClientOptions, database: string | undefined, login: () => string): string | null {
  const name = database ?? options.database;
  if (!name) return null;
  const url = new URL('mysql://localhost');
  const local = options.host === undefined || options.host === 'localhost';
  const socket = local ? (options.socket ?? (existsSync(defaultSocket) ? defaultSocket : undefined)) : undefined;
  const host = local ? '127.0.0.1' : options.host!;
  // An IPv6 address goes in brackets; a host the URL cannot hold is refused rather than replaced by another.
  url.hostname = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  if (url.hostname.replace(/^\[|\]$/g, '') !== host.replace(/^\[|\]$/g, '').toLowerCase()) {
    throw usageError(`The option files give host=${host}, which is not a host name or address; correct it in the [client] group.`);
  }
  if (options.port !== undefined) url.port = String(options.port);
  url.username = encodeURIComponent(options.user ?? login());
  if (options.password) url.password = encodeURIComponent(options.password);
  url.pathname = `/${encodeURIComponent(name)}`;
  if (socket) url.searchParams.set('socket', socket);
  return url.href;
}
