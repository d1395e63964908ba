import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { usageError } from '../errors.ts';

/**
 * Stable names for legacy tables and columns (GitLab's placeholder-reference aliases): a mapping refers to an
 * alias key, and `aliases.yaml` beside it says which real table or column the key means. A renamed column then needs
 * only an alias change. Targets are versioned: `WhenPulled: { 1: WhenPulled, 3: "When Pulled" }` means the key meant
 * `WhenPulled` from version 1 and `When Pulled` from version 3, so rows recorded under an older version still resolve.
 *
 * @example
 * version: 1
 * aliases:
 *   ord_pull:
 *     table: ord_pull
 *     columns: { ID: ID, WhenPulled: WhenPulled }
 */
export interface AliasFile {
  /** The version the targets are read at unless a run recorded another. */
  version: number;
  aliases: Record<string, { table: Versioned; columns: Record<string, Versioned> }>;
  /** Where it was read from, for messages. */
  path: string;
}

type Versioned = Record<number, string>;

export function readAliasFile(path: string): AliasFile {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw usageError(`${path} is not valid YAML: ${(cause as Error).message}`, { subject: path, cause });
  }
  const bad = (what: string) => usageError(`${path}: ${what}. See the aliases section of README.md for the format.`, { subject: path });
  if (typeof doc !== 'object' || doc === null) throw bad('expected a mapping with `version` and `aliases`');
  const { version, aliases } = doc as { version?: unknown; aliases?: unknown };
  if (!Number.isInteger(version) || (version as number) < 1) throw bad('`version` must be a whole number from 1');
  if (typeof aliases !== 'object' || aliases === null) throw bad('`aliases` must map alias keys to { table, columns }');
  const out: AliasFile['aliases'] = {};
  for (const [key, entry] of Object.entries(aliases as Record<string, unknown>)) {
    const { table, columns } = (entry ?? {}) as { table?: unknown; columns?: unknown };
    out[key] = { table: versioned(table ?? key, `${key}.table`, bad), columns: {} };
    for (const [column, target] of Object.entries((columns ?? {}) as Record<string, unknown>)) {
      out[key]!.columns[column] = versioned(target, `${key}.columns.${column}`, bad);
    }
  }
  return { version: version as number, aliases: out, path };
}

function versioned(value: unknown, where: string, bad: (what: string) => Error): Versioned {
  if (typeof value === 'string' && value.length > 0) return { 1: value };
  if (typeof value === 'object' && value !== null) {
    const out: Versioned = {};
    for (const [v, target] of Object.entries(value)) {
      if (!/^\d+$/.test(v) || typeof target !== 'string' || target.length === 0) throw bad(`${where}: versions map whole numbers to names`);
      out[Number(v)] = target;
    }
    if (Object.keys(out).length > 0) return out;
  }
  throw bad(`${where} must be a name or { version: name }`);
}

/** The target of a versioned alias at `version`: the one from the highest version not above it. */
export function atVersion(targets: Versioned, version: number): string | undefined {
  const versions = Object.keys(targets)
    .map(Number)
    .filter((v) => v <= version)
    .sort((a, b) => b - a);
  return versions.length ? targets[versions[0]!] : undefined;
}

/** Whether unknown alias keys throw (development, tests: the default) or are warned about and used raw. */
export function strictAliases(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.EVENTSHIFT_ENV !== 'production';
}

/** The `aliases.yaml` next to a mapping module (`aliasesBeside(import.meta.url)`), or undefined when it has none. */
export function aliasesBeside(moduleUrl: string): AliasFile | undefined {
  const path = fileURLToPath(new URL('./aliases.yaml', moduleUrl));
  return existsSync(path) ? readAliasFile(path) : undefined;
}
