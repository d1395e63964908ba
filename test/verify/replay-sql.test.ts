import { describe, expect, it } from 'vitest';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { defineMapping, id, lit } from '../../src/mapping/define.ts';
import {
  compareIntegerKeys,
  compareKeys,
  explainedKeysSql,
  followColumnRenames,
  mergeByKey,
  replayStreamSql,
  resolveNames,
} from '../../src/parts/replay-checks.ts';
import type { RenameState } from '../../src/mapping/compile.ts';
import { event } from '../../mappings/vbzcart-ord-pull/schema.ts';

const before: RenameState = { tables: new Map(), columns: new Map(), done: false };
const after: RenameState = {
  tables: new Map([['ord_pull', 'OLD ord_pull']]),
  columns: new Map([['orders', new Map([['ID_Pull', 'ID_Pull OLD']])]]),
  done: true,
};

describe('names in replay SQL follow the cutover', () => {
  const sql = 'SELECT orders.ID FROM {{orders}} AS orders JOIN {{pull}} AS pull ON pull.ID = {{orders.ID_Pull}} JOIN {{ hold }} AS h';

  it('before cutover: the legacy names', () => {
    expect(resolveNames(sql, mapping, before)).toBe(
      'SELECT orders.ID FROM `orders` AS orders JOIN `ord_pull` AS pull ON pull.ID = `orders`.`ID_Pull` JOIN `event_vc_ord_hold` AS h',
    );
  });

  it('after cutover: the renamed table and column', () => {
    expect(resolveNames(sql, mapping, after)).toBe(
      'SELECT orders.ID FROM `orders` AS orders JOIN `OLD ord_pull` AS pull ON pull.ID = `orders`.`ID_Pull OLD` ' +
        'JOIN `event_vc_ord_hold` AS h',
    );
  });

  it("a problem's plain alias.column references follow a renamed column, and only whole references", () => {
    expect(
      followColumnRenames('orders.ID_Pull IS NOT NULL AND orders.ID_Pull2 = 1 AND `orders`.`ID_Pull` AND xorders.ID_Pull', mapping, after),
    ).toBe('`orders`.`ID_Pull OLD` IS NOT NULL AND orders.ID_Pull2 = 1 AND `orders`.`ID_Pull` AND xorders.ID_Pull');
    expect(followColumnRenames('orders.ID_Pull IS NULL', mapping, before)).toBe('orders.ID_Pull IS NULL');
  });

  it("explanations re-run the problem's own declaration, under today's names", () => {
    expect(explainedKeysSql(mapping, after, { danglingPullPointer: '{{orders.ID}}', orphanPull: '{{pull.ID_Ord}}' })).toBe(
      'SELECT DISTINCT (`orders`.`ID`) AS k, 1 AS problem FROM `orders` AS `orders` ' +
        'LEFT JOIN `OLD ord_pull` AS `pull` ON (`pull`.`ID` = `orders`.`ID_Pull OLD`) ' +
        'WHERE (`orders`.`ID_Pull OLD` IS NOT NULL AND `orders`.`ID_Pull OLD` <> 0 AND `pull`.`ID` IS NULL)\nUNION ALL\n' +
        'SELECT DISTINCT (`pull`.`ID_Ord`) AS k, 2 AS problem FROM `OLD ord_pull` AS `pull` ' +
        'LEFT JOIN `orders` AS `orders` ON (`orders`.`ID` = `pull`.`ID_Ord`) WHERE (`orders`.`ID` IS NULL)',
    );
    expect(explainedKeysSql(mapping, after, {})).toBeNull();
  });
});

describe('the sides of a comparison', () => {
  it('stream each row once, keyed by its utf8mb4 bytes, shortest keys first', () => {
    expect(replayStreamSql('SELECT 1 AS k, 0 AS holds, NULL AS detail', ['holds', 'detail'])).toMatchSnapshot();
    expect(replayStreamSql('SELECT 7 AS k, 1 AS problem', ['problem'], 'problem')).toMatch(/ORDER BY .*, q\.`problem`$/);
  });

  it('order keys as whole numbers do, and any text consistently', () => {
    const keys = ['10', '9', '100', 'b', 'a', 'ab', 'é'].map((k) => Buffer.from(k));
    expect([...keys, null].sort(compareKeys).map((k) => k?.toString() ?? null)).toEqual([null, '9', 'a', 'b', '10', 'ab', 'é', '100']);
  });

  it('order integer keys by value when every side sorts them as numbers', () => {
    const keys = ['10', '-9', '0', '-10', '18446744073709551615', '9', '-1', '9223372036854775807', '-9223372036854775808'];
    const sorted = [...keys.map((k) => Buffer.from(k)), null].sort(compareIntegerKeys).map((k) => k?.toString() ?? null);
    expect(sorted).toEqual([null, ...[...keys].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))]);
    expect(replayStreamSql('SELECT 7 AS k, 1 AS problem', ['problem'], 'problem', 'integer')).toMatch(/ORDER BY q\.k, q\.`problem`$/);
  });
});

/** Sorted sides from arrays: rows of [key, ...values] as the server streams them. */
function side(rows: Array<Array<string | null>>) {
  const raw = rows.map((r) => r.map((v) => (v === null ? null : Buffer.from(v))));
  let at = 0;
  return {
    head: raw[0] ?? null,
    async advance() {
      this.head = raw[++at] ?? null;
    },
  };
}

describe('merging the sides by key', () => {
  it('visits every key any side has once, with how many rows each side has for it', async () => {
    const seen: string[] = [];
    await mergeByKey(
      [
        side([
          ['1', 'x'],
          ['2', 'y'],
          ['2', 'y2'],
          ['10', 'z'],
        ]),
        side([
          ['2', 'a'],
          ['3', 'b'],
        ]),
      ],
      (key, groups) => {
        seen.push(`${key}:${groups.map((g) => `${g.count}${g.row?.[1] ?? '-'}`).join('/')}`);
      },
    );
    expect(seen).toEqual(['1:1x/0-', '2:2y/1a', '3:0-/1b', '10:1z/0-']);
  });

  it('refuses a side that is out of order rather than give a wrong verdict', async () => {
    await expect(
      mergeByKey(
        [
          side([
            ['2', 'x'],
            ['1', 'y'],
          ]),
        ],
        () => undefined,
      ),
    ).rejects.toThrow(/key order/);
  });
});

describe('declaring replays', () => {
  const base = {
    name: 'shop',
    sources: { note: 'legacy_note' },
    targets: { event },
    steps: {
      noted: { from: 'note', ids: { table: 'event', strategy: 'offset', offset: 10 }, rows: { event: { ID: id, TypeCode: lit('x') } } },
    },
    problems: { odd: { description: 'odd', severity: 'warning', from: 'note', where: '1=0' } },
  } as const;

  it('rejects placeholders naming nothing, and explanations by undeclared problems', () => {
    expect(() =>
      defineMapping({
        ...base,
        replays: {
          r: {
            description: 'r',
            entity: 'note',
            events: 'SELECT k FROM {{nope}}',
            compare: { c: { legacy: 'SELECT 1', explainedBy: { missing: 'note.ID' } } },
          },
        },
      }),
    ).toThrow(/\{\{nope\}\} is neither a source nor a target.*explainedBy 'missing' is not a declared problem/);
  });

  it('accepts a well-formed one', () => {
    expect(() =>
      defineMapping({
        ...base,
        replays: {
          r: {
            description: 'r',
            entity: 'note',
            events: 'SELECT k FROM {{event}}',
            compare: { c: { legacy: 'SELECT 1 FROM {{note}}', explainedBy: { odd: 'note.ID' } } },
          },
        },
      }),
    ).not.toThrow();
  });
});
