import { describe, expect, it } from 'vitest';
import { parseTableList, tablesFromFlags } from '../../src/cli/table-list.ts';

describe('table names on the command line', () => {
  it('splits bare names at commas and trims the spaces around them', () => {
    expect(parseTableList('orders,event')).toEqual(['orders', 'event']);
    expect(parseTableList(' orders , event\t')).toEqual(['orders', 'event']);
    expect(parseTableList('t1 test,my.table,a"b,it\'s')).toEqual(['t1 test', 'my.table', 'a"b', "it's"]);
  });

  it('takes a name in backticks verbatim: commas, leading spaces, newlines, a doubled backtick', () => {
    expect(parseTableList('`pb,comma`, ` lead space`,`tab\none`, ```a`')).toEqual(['pb,comma', ' lead space', 'tab\none', '`a']);
    expect(parseTableList('`a`')).toEqual(['a']);
  });

  it('refuses what it cannot read unambiguously, saying how to write it', () => {
    expect(() => parseTableList('`open,x')).toThrow(/quoted at character 1 has no closing backtick/);
    expect(() => parseTableList('`a`b')).toThrow(/quoted at character 1 is followed by "b", not a comma/);
    expect(() => parseTableList('a,,b')).toThrow(/an empty name in the list/);
    expect(() => parseTableList('a`b')).toThrow(/holds a backtick; quote the whole name in backticks/);
    expect(() => parseTableList('')).toThrow(/an empty name/);
  });

  it('adds each --table as given, after --tables, and refuses a table named twice', () => {
    expect(tablesFromFlags({ tables: 'a,`b,c`', table: [' lead', 'x,y'] })).toEqual(['a', 'b,c', ' lead', 'x,y']);
    expect(tablesFromFlags({ table: ['only'] })).toEqual(['only']);
    expect(tablesFromFlags({})).toBeUndefined();
    expect(() => tablesFromFlags({ tables: 'a', table: ['a'] })).toThrow(/Table "a" is named twice/);
  });
});
