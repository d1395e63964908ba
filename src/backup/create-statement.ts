import { quoteId } from '../db/quote.ts';

/**
 * Small, checked edits of a `SHOW CREATE TABLE` statement. Quoted strings and identifiers are masked before any
 * pattern is matched, so a comment, a default value or a column name can never be mistaken for syntax.
 */

/** The statement with every character inside quotes ('...', "...", `...`) replaced by a space; same length. */
export function maskQuoted(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const quote = sql[i]!;
    if (quote !== '`' && quote !== "'" && quote !== '"') {
      out += quote;
      i++;
      continue;
    }
    out += quote;
    i++;
    while (i < sql.length) {
      const c = sql[i]!;
      if (c === '\\' && quote !== '`') {
        const n = Math.min(2, sql.length - i);
        out += ' '.repeat(n);
        i += n;
      } else if (c === quote && sql[i + 1] === quote) {
        out += '  ';
        i += 2;
      } else if (c === quote) {
        break;
      } else {
        out += ' ';
        i++;
      }
    }
    if (i < sql.length) {
      out += quote;
      i++;
    }
  }
  return out;
}

/** The CREATE statement for the same table under another name. Throws if it does not start as SHOW CREATE TABLE prints. */
export function renameCreateStatement(sql: string, from: string, to: string): string {
  const prefix = `CREATE TABLE ${quoteId(from)} (`;
  if (!sql.startsWith(prefix)) {
    throw new Error(`The saved definition of table ${from} does not start with ${prefix}`);
  }
  return `CREATE TABLE ${quoteId(to)} (${sql.slice(prefix.length)}`;
}

/** The table options after the column list, e.g. ` ENGINE=InnoDB AUTO_INCREMENT=8 DEFAULT CHARSET=utf8mb4`, masked. */
function maskedTableOptions(sql: string): string {
  const masked = maskQuoted(sql);
  const open = masked.indexOf('(');
  let depth = 0;
  for (let i = open; i >= 0 && i < masked.length; i++) {
    if (masked[i] === '(') depth++;
    else if (masked[i] === ')' && --depth === 0) return masked.slice(i + 1);
  }
  throw new Error('The CREATE TABLE statement has no complete column list');
}

/** The AUTO_INCREMENT= table option of a CREATE TABLE statement, as a decimal string, or null when it shows none. */
export function autoIncrementOf(sql: string): string | null {
  return /(?:^|\s)AUTO_INCREMENT=(\d+)/.exec(maskedTableOptions(sql))?.[1] ?? null;
}

const maskedId = '`[^`]*`';
const idList = `${maskedId}(?:, ?${maskedId})*`;
const referentialAction = '(?:RESTRICT|CASCADE|SET NULL|NO ACTION|SET DEFAULT)';
const foreignKeyClause = new RegExp(
  `,\\n\\s*CONSTRAINT ${maskedId} FOREIGN KEY \\(${idList}\\) REFERENCES (?:${maskedId}\\.)?${maskedId} \\(${idList}\\)` +
    `(?: ON DELETE ${referentialAction})?(?: ON UPDATE ${referentialAction})?(?=,\\n|\\n\\))`,
  'g',
);

/**
 * The statement without its FOREIGN KEY constraint clauses, how many were removed, and the clauses themselves
 * (`CONSTRAINT ... FOREIGN KEY ...`, as the statement writes them). Used to stage a table under a temporary name:
 * foreign key names are unique per database, so a copy cannot carry them; they are added once it has its own name.
 */
export function withoutForeignKeys(sql: string): { sql: string; removed: number; clauses: string[] } {
  const masked = maskQuoted(sql);
  let out = '';
  let from = 0;
  const clauses: string[] = [];
  for (const match of masked.matchAll(foreignKeyClause)) {
    out += sql.slice(from, match.index);
    from = match.index + match[0].length;
    clauses.push(sql.slice(match.index, from).replace(/^,\n\s*/, ''));
  }
  return { sql: out + sql.slice(from), removed: clauses.length, clauses };
}
