/**
 * A row fingerprint recipe (described in src/db/checksum.ts, at checksumRecipes); declared here, at the bottom of the
 * imports, so both can name it, and imported from here.
 */
export type ChecksumRecipe = 'md5' | 'crc32c' | 'crc32c-bytes';

/**
 * A node of a Galera cluster (MariaDB Galera, Percona XtraDB Cluster): the write-set limits every transaction of a
 * run must stay under, and the node's name, by which a lock holder is named.
 */
export interface GaleraNode {
  /** wsrep_node_name (or @@hostname when it is empty). */
  readonly node: string;
  /** wsrep_max_ws_rows: the most rows one transaction may change; 0 means no limit. */
  readonly maxWriteSetRows: number;
  /** wsrep_max_ws_size: the most bytes one transaction's write-set may hold. */
  readonly maxWriteSetBytes: number;
}

/**
 * Engine differences, detected once at connect time from VERSION() and the wsrep variables; checked nowhere else.
 */
export interface Capabilities {
  readonly engine: 'mariadb' | 'mysql';
  readonly version: string;
  /** `ALTER TABLE t RENAME COLUMN a TO b` (MariaDB 10.5+, MySQL 8.0+); otherwise `CHANGE` with the full definition. */
  readonly renameColumn: boolean;
  /** DDL is never transactional on MySQL-family servers: every DDL step must check whether it already happened. */
  readonly transactionalDdl: false;
  /**
   * The row fingerprint new checksums use (src/db/checksum.ts): `crc32c` where the server has CRC32C() (MariaDB
   * 10.8+), a quarter to a third cheaper than `md5`, which every server can compute. A stored checksum is always
   * recomputed with its own recipe, so backups taken on one server stay checkable on another that can compute it.
   */
  readonly checksumRecipe: ChecksumRecipe;
  /** The recipes this server can compute. */
  readonly checksumRecipes: readonly ChecksumRecipe[];
  /**
   * REGEXP matches a binary string byte by byte, with `\xHH` escapes (MariaDB's PCRE). MySQL 8's ICU engine refuses
   * binary strings, so there a pattern over HEX() of the bytes does the same, several times slower.
   */
  readonly regexpOnBytes: boolean;
  /**
   * `check_constraint_checks` (MariaDB 10.2+): a restore turns it off for its session, so rows that predate a CHECK
   * constraint they violate load as they were. MySQL 8 has no such switch.
   */
  readonly checkConstraintChecks: boolean;
  /**
   * `system_versioning_insert_history` (MariaDB 10.11+): a session may write a system-versioned table's row start and
   * end, so a restore can put its history rows back.
   */
  readonly insertHistory: boolean;
  /**
   * `EXECUTE IMMEDIATE` (MariaDB 10.2+), which a restore uses to send a trigger's statement as its own bytes, whatever
   * character set it was written in. Elsewhere only a statement written in UTF-8 can be sent exactly.
   */
  readonly executeImmediate: boolean;
  /**
   * Set when the server is a Galera node: `wsrep_on` ON with a provider loaded. Null on MySQL (which has no such
   * variable), on MariaDB without Galera (`wsrep_on` OFF, provider `none`), and on a node whose wsrep is off. A run on
   * a Galera node holds its lock as a replicated lease (run/lock.ts), keeps chunks under the write-set limits and
   * retries certification conflicts (engine/chunks.ts), and plan refuses what Galera does not replicate
   * (plan/galera.ts).
   */
  readonly galera: GaleraNode | null;
}

/** The server variables galeraNodeOf reads (SHOW GLOBAL VARIABLES names them; a server without Galera lacks some). */
export const galeraVariables = ['wsrep_on', 'wsrep_provider', 'wsrep_node_name', 'wsrep_max_ws_rows', 'wsrep_max_ws_size', 'hostname'];

/** The Galera node that `variables` (name -> value, from SHOW GLOBAL VARIABLES) describe, or null when they do not. */
export function galeraNodeOf(variables: ReadonlyMap<string, string>): GaleraNode | null {
  const on = variables.get('wsrep_on')?.toUpperCase();
  const provider = variables.get('wsrep_provider') ?? '';
  if ((on !== 'ON' && on !== '1') || provider === '' || provider.toLowerCase() === 'none') return null;
  return {
    node: variables.get('wsrep_node_name') || variables.get('hostname') || 'unknown',
    maxWriteSetRows: Number(variables.get('wsrep_max_ws_rows') ?? 0),
    maxWriteSetBytes: Number(variables.get('wsrep_max_ws_size') ?? 2 ** 31 - 1),
  };
}

export function detectCapabilities(version: string, variables: ReadonlyMap<string, string> = new Map()): Capabilities {
  const engine = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  const atLeast = (m: number, n: number) => major > m || (major === m && minor >= n);
  const renameColumn = engine === 'mariadb' ? atLeast(10, 5) : major >= 8;
  const crc32c = engine === 'mariadb' && atLeast(10, 8);
  return {
    engine,
    version,
    renameColumn,
    transactionalDdl: false,
    regexpOnBytes: engine === 'mariadb',
    checkConstraintChecks: engine === 'mariadb' && atLeast(10, 2),
    insertHistory: engine === 'mariadb' && atLeast(10, 11),
    executeImmediate: engine === 'mariadb' && atLeast(10, 2),
    checksumRecipe: crc32c ? 'crc32c' : 'md5',
    checksumRecipes: crc32c ? ['md5', 'crc32c', 'crc32c-bytes'] : ['md5'],
    galera: galeraNodeOf(variables),
  };
}
