import type { Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import { maskQuoted } from './create-statement.ts';

/**
 * Column defaults that call a sequence (`DEFAULT nextval(`db`.`s`)`, mysqldump.test MDEV-20070). MariaDB refuses a
 * CREATE TABLE whose default names a sequence that does not exist, and a restore creates every table under a
 * temporary name before any of them, the sequence included, has its real one. So, as with foreign keys, a table is
 * staged without those defaults and they are set once it is in place (`ALTER COLUMN ... SET DEFAULT`, which changes
 * no row), giving SHOW CREATE TABLE back as it was.
 */
export interface SequenceDefault {
  column: string;
  /** The default's expression as SHOW CREATE TABLE writes it, e.g. `nextval(`db`.`s`)` or `(nextval(`db`.`s`) + 1)`. */
  expression: string;
}

/** The end of the balanced parentheses that open at `open` in masked text. */
function closing(masked: string, open: number): number {
  let depth = 0;
  for (let i = open; i < masked.length; i++) {
    if (masked[i] === '(') depth++;
    else if (masked[i] === ')' && --depth === 0) return i + 1;
  }
  throw new Error('unbalanced parentheses in a column default');
}

const sequenceCall = /\b(?:nextval|lastval|setval)\(/i;

/**
 * The statement without the DEFAULT clauses that call a sequence, and those defaults. Only column definitions (lines
 * of the column list that start with a quoted name) are looked at, on the statement with its quoted parts masked.
 */
export function withoutSequenceDefaults(sql: string): { sql: string; defaults: SequenceDefault[] } {
  const masked = maskQuoted(sql);
  const defaults: SequenceDefault[] = [];
  const cuts: Array<[number, number]> = [];
  const line = /\n  `/g;
  for (let m = line.exec(masked); m; m = line.exec(masked)) {
    const nameStart = m.index + 3;
    const nameEnd = masked.indexOf('`', nameStart + 1) + 1;
    const lineEnd = masked.indexOf('\n', nameEnd);
    const definition = masked.slice(nameEnd, lineEnd === -1 ? undefined : lineEnd);
    const at = definition.indexOf(' DEFAULT ');
    if (at === -1) continue;
    const from = nameEnd + at;
    const exprStart = from + ' DEFAULT '.length;
    let exprEnd: number;
    if (masked[exprStart] === '(') exprEnd = closing(masked, exprStart);
    else {
      const call = /^[A-Za-z_][A-Za-z0-9_]*\(/.exec(masked.slice(exprStart));
      if (!call) continue;
      exprEnd = closing(masked, exprStart + call[0].length - 1);
    }
    if (!sequenceCall.test(masked.slice(exprStart, exprEnd))) continue;
    defaults.push({ column: sql.slice(nameStart + 1, nameEnd - 1).replaceAll('``', '`'), expression: sql.slice(exprStart, exprEnd) });
    cuts.push([from, exprEnd]);
  }
  let out = '';
  let from = 0;
  for (const [start, end] of cuts) {
    out += sql.slice(from, start);
    from = end;
  }
  return { sql: out + sql.slice(from), defaults };
}

/** Sets the saved sequence defaults on `table` (in place by now). Setting one that is already there changes nothing. */
export async function setSequenceDefaults(db: Db, table: string, defaults: readonly SequenceDefault[]): Promise<void> {
  if (defaults.length === 0) return;
  const clauses = defaults.map(
    (d) => `ALTER COLUMN ${quoteId(d.column)} SET DEFAULT ${d.expression.startsWith('(') ? d.expression : `(${d.expression})`}`,
  );
  await db.execute(`ALTER TABLE ${quoteId(table)} ${clauses.join(', ')}`);
}
