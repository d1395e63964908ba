import { int, mysqlTable } from 'drizzle-orm/mysql-core';
import { describe, expect, it } from 'vitest';
import { code, col, defineMapping, id, lit, sql, type ColumnExpr } from '../../src/mapping/define.ts';
import { compileStep, insertChunkSql, sourceTableNames } from '../../src/mapping/compile.ts';
import { evaluateStreamedRow, streamedSourceSql } from '../../src/mapping/streamed.ts';

const thing = mysqlTable('thing', { ID: int('ID').primaryKey(), n: int('n') });

function mappingWith(n: ColumnExpr) {
  return defineMapping({
    name: 'code-test',
    sources: { src: 'legacy', other: 'other' },
    targets: { thing },
    steps: { s: { from: 'src', ids: { table: 'thing', strategy: 'offset', offset: 0 }, rows: { thing: { ID: id, n } } } },
  });
}

function compiled(n: ColumnExpr) {
  const m = mappingWith(n);
  return compileStep(m, { name: 's', keyColumn: 'ID', ids: { strategy: 'offset', offset: 0 } }, { names: sourceTableNames(m) });
}

describe('code() columns', () => {
  it('are checked when the mapping is defined', () => {
    expect(() => mappingWith(code({ inputs: {}, fn: () => 1 }))).toThrow(
      /rows\.thing\.n: code\(\) has no inputs; a constant is lit\(value\)/,
    );
    expect(() => mappingWith(code({ inputs: { x: col('other.v') }, fn: () => 1 }))).toThrow(
      /code\(\) input 'x' reads 'other', which is neither 'from' nor joined/,
    );
    expect(() => mappingWith(code({ inputs: { x: code({ inputs: { y: lit(1) }, fn: () => 1 }) }, fn: () => 1 }))).toThrow(
      /input 'x' is itself code\(\)/,
    );
  });

  it('make the step streamed: its inputs are read in SQL, and asking for its SQL INSERT fails loudly', () => {
    const step = compiled(code({ inputs: { v: col('src.v'), w: sql('{{src.v}} + 1') }, fn: ({ v, w }) => Number(v) * Number(w) }));
    expect(step.streamed).toBe(true);
    expect(streamedSourceSql(step)).toBe(
      'SELECT `src`.`ID` AS es_k, (`src`.`ID` + 0) AS es_id, CASE WHEN 1=1 THEN 1 ELSE 0 END AS es_w0, (`src`.`ID` + 0) AS es_v0_0, ' +
        '`src`.`v` AS es_i0_1_0, (`src`.`v` + 1) AS es_i0_1_1\n' +
        'FROM `legacy` AS `src`\nWHERE (1=1) AND `src`.`ID` BETWEEN ? AND ?\nORDER BY `src`.`ID`',
    );
    expect(() => insertChunkSql(step, step.targets[0]!)).toThrow(/Step s: thing\.n is computed in code \(code\(\)\), so it has no SQL/);
    expect(evaluateStreamedRow(step, { es_k: 7, es_id: 7, es_w0: 1, es_v0_0: 7, es_i0_1_0: 3, es_i0_1_1: 4 }).targets).toEqual([[7, 12]]);
    expect(compiled(col('src.v')).streamed).toBe(false);
  });

  it('refuse a value that would not be written as it is, naming the row and the column', () => {
    const row = { es_k: 42, es_id: 42, es_w0: 1, es_v0_0: 42, es_i0_1_0: '2024-01-01 00:00:00' };
    const withFn = (fn: (inputs: Record<string, unknown>) => unknown) => compiled(code({ inputs: { at: col('src.at') }, fn: fn as never }));
    expect(() =>
      evaluateStreamedRow(
        withFn(({ at }) => new Date(String(at))),
        row,
      ),
    ).toThrow(/Step s, legacy src\.ID = 42: the code\(\) column thing\.n returned a Date \(format it/);
    expect(() =>
      evaluateStreamedRow(
        withFn(() => undefined),
        row,
      ),
    ).toThrow(/returned undefined \(return null for NULL\)/);
    expect(() =>
      evaluateStreamedRow(
        withFn(() => {
          throw new Error('bad input');
        }),
        row,
      ),
    ).toThrow(/thing\.n threw: bad input/);
    expect(
      evaluateStreamedRow(
        withFn(() => 2n ** 70n),
        row,
      ).targets[0]![1],
    ).toBe('1180591620717411303424');
  });
});
