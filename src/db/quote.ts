/** Quotes one identifier for MySQL/MariaDB: backticks, with backticks inside doubled. */
export function quoteId(name: string): string {
  if (name.length === 0) throw new Error('empty identifier');
  return '`' + name.replaceAll('`', '``') + '`';
}

/** A character set or collation name as SET, ALTER DATABASE and column definitions take it; throws for anything else. */
export function quoteCharsetName(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`"${name}" is not a character set or collation name.`);
  return name;
}

/** Quotes `a.b` given as parts, e.g. a table alias and a column. */
export function quoteQualified(...parts: string[]): string {
  return parts.map(quoteId).join('.');
}

/** A string literal safe for any sql_mode (NO_BACKSLASH_ESCAPES or not): quotes doubled, backslashes escaped only when needed. */
export function quoteString(value: string): string {
  // Written with doubled quotes and hex for anything outside printable ASCII, so the literal is the same in every mode.
  if (/^[\x20-\x5b\x5d-\x7e]*$/.test(value)) return "'" + value.replaceAll("'", "''") + "'";
  return `CONVERT(X'${Buffer.from(value, 'utf8').toString('hex')}' USING utf8mb4)`;
}

/** `text` as a regular expression that matches exactly it (for names found in SQL text). */
export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
