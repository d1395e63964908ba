import { usageError } from '../errors.ts';

/**
 * Table names from the command line. A table name may hold anything but NUL: commas, spaces (leading ones too),
 * quotes, backticks, newlines. Two ways to name one exactly:
 * - `--table NAME`, repeatable: NAME is the table's name, verbatim;
 * - `--tables LIST`: names separated by commas, each either bare (surrounding spaces and tabs trimmed) or quoted in
 *   backticks as in SQL, verbatim, a backtick inside written twice: `--tables 'orders,`a,b`,` lead`'`.
 */
export function parseTableList(list: string): string[] {
  const names: string[] = [];
  let at = 0;
  const blank = (c: string | undefined) => c === ' ' || c === '\t';
  for (;;) {
    while (blank(list[at])) at++;
    let name: string;
    if (list[at] === '`') {
      const start = at;
      name = '';
      for (at++; ; at++) {
        if (at >= list.length)
          throw usageError(
            `--tables: the name quoted at character ${start + 1} has no closing backtick; write a backtick inside a name as two.`,
          );
        if (list[at] === '`' && list[at + 1] === '`') {
          name += '`';
          at++;
        } else if (list[at] === '`') {
          at++;
          break;
        } else {
          name += list[at];
        }
      }
      while (blank(list[at])) at++;
      if (at < list.length && list[at] !== ',') {
        throw usageError(`--tables: the name quoted at character ${start + 1} is followed by ${JSON.stringify(list[at])}, not a comma.`);
      }
    } else {
      const end = list.indexOf(',', at);
      name = list.slice(at, end === -1 ? undefined : end).replace(/[ \t]+$/, '');
      at = end === -1 ? list.length : end;
      if (name.includes('`'))
        throw usageError(
          `--tables: ${JSON.stringify(name)} holds a backtick; quote the whole name in backticks, the backtick written twice.`,
        );
    }
    if (name === '')
      throw usageError('--tables: an empty name in the list; separate names with single commas, or quote a name in backticks.');
    names.push(name);
    if (at >= list.length) return names;
    at++; // the comma
  }
}

/** The tables named by `--tables` (parsed as above) and by each `--table`, in that order, each once. */
export function tablesFromFlags(flags: { tables?: string; table?: string[] }): string[] | undefined {
  if (flags.tables === undefined && (flags.table ?? []).length === 0) return undefined;
  const names = [...(flags.tables === undefined ? [] : parseTableList(flags.tables)), ...(flags.table ?? [])];
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw usageError(`Table ${JSON.stringify(repeated)} is named twice; name each table once.`);
  return names;
}

/** commander's collector for a repeatable option. */
export const collect = (value: string, all: string[] = []): string[] => [...all, value];
