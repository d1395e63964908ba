/** Engine differences, detected once from VERSION() at connect time; checked nowhere else. */
export interface Capabilities {
  readonly engine: 'mariadb' | 'mysql';
  readonly version: string;
  /** `ALTER TABLE t RENAME COLUMN a TO b` (MariaDB 10.5+, MySQL 8.0+); otherwise `CHANGE` with the full definition. */
  readonly renameColumn: boolean;
  /** DDL is never transactional on MySQL-family servers: every DDL step must check whether it already happened. */
  readonly transactionalDdl: false;
}

export function detectCapabilities(version: string): Capabilities {
  const engine = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  const renameColumn = engine === 'mariadb' ? major > 10 || (major === 10 && minor >= 5) : major >= 8;
  return { engine, version, renameColumn, transactionalDdl: false };
}
