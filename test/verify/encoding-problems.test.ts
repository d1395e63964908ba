import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { buildPlan } from '../../src/plan/plan.ts';
import { looksDoubleEncodedSql } from '../../src/plan/encoding-problems.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await freshDatabase('encoding');
});
afterAll(async () => {
  await t.drop();
});

/**
 * SQL for what a PHP app on a latin1 connection made of UTF-8 input: its UTF-8 bytes, kept as latin1 (cp1252) characters.
 * Built on the server: Node's own windows-1252 decoding is not MySQL's.
 */
const doubleEncoded = (text: string) => `CONVERT(UNHEX('${Buffer.from(text, 'utf8').toString('hex')}') USING latin1)`;

describe('double-encoded UTF-8 in latin1 columns', () => {
  it('matches UTF-8 byte sequences, and not ordinary cp1252 text', async () => {
    await t.db.execute('CREATE TABLE samples (ID INT PRIMARY KEY, s TEXT) CHARACTER SET latin1');
    const clean = [
      'Café',
      'Größe M™',
      'paid 12,50 € too little',
      '½ still due',
      '„bitte“ — señor Muñoz',
      'l’Église',
      'waiting…',
      'ÃO',
      'Ã',
      '',
    ];
    const mangled = ['Café', 'it’s', 'Größe', '°C', 'Zoë 😀'];
    await t.db.raw.query('INSERT INTO samples (ID, s) VALUES ?', [clean.map((s, i) => [i + 1, s])]);
    for (const [i, text] of mangled.entries())
      await t.db.execute(`INSERT INTO samples (ID, s) VALUES (?, ${doubleEncoded(text)})`, [clean.length + i + 1]);
    const [shown] = await t.db.query<{ s: string }>('SELECT s FROM samples WHERE ID = ?', [clean.length + 1]);
    expect(shown!.s).toBe('CafÃ©');
    for (const onBytes of [false, true]) {
      const found = await t.db.query<{ ID: number }>(`SELECT ID FROM samples WHERE ${looksDoubleEncodedSql('s', onBytes)} ORDER BY ID`);
      expect(
        found.map((r) => Number(r.ID)),
        `regexpOnBytes ${onBytes}`,
      ).toEqual(mangled.map((_, i) => clean.length + i + 1));
    }
  });

  it('the pattern over bytes and the one over HEX() find exactly the well-formed multi-byte UTF-8 sequences', async () => {
    // Every two-byte value, and three- and four-byte values around each boundary of RFC 3629's table; the reference
    // is Node's strict UTF-8 decoder on each window that starts with a lead byte.
    const values: Buffer[] = [];
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) values.push(Buffer.from([a, b]));
    const edges = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0];
    for (let a = 0xe0; a <= 0xf5; a++) {
      for (const b of edges)
        for (const c of edges) {
          values.push(Buffer.from([a, b, c]), Buffer.from([0x41, a, b, c]));
          for (const d of [0x41, 0x80, 0xbf, 0xc0]) values.push(Buffer.from([a, b, c, d]));
        }
    }
    const strict = new TextDecoder('utf-8', { fatal: true });
    const wellFormedAt = (v: Buffer, i: number, n: number) => {
      try {
        return i + n <= v.length && [...strict.decode(v.subarray(i, i + n))].length === 1;
      } catch {
        return false;
      }
    };
    const expected = values.flatMap((v, id) =>
      [...v.keys()].some((i) => v[i]! >= 0xc2 && [2, 3, 4].some((n) => wellFormedAt(v, i, n))) ? [id + 1] : [],
    );
    await t.db.execute('CREATE TABLE byte_samples (ID INT PRIMARY KEY, s VARCHAR(8)) CHARACTER SET latin1');
    for (let i = 0; i < values.length; i += 5000) {
      await t.db.raw.query('INSERT INTO byte_samples (ID, s) VALUES ?', [values.slice(i, i + 5000).map((v, j) => [i + j + 1, v])]);
    }
    expect(expected.length).toBeGreaterThan(2000);
    for (const onBytes of [false, true]) {
      const found = await t.db.query<{ ID: number }>(
        `SELECT ID FROM byte_samples WHERE ${looksDoubleEncodedSql('s', onBytes)} ORDER BY ID`,
      );
      expect(
        found.map((r) => Number(r.ID)),
        `regexpOnBytes ${onBytes}`,
      ).toEqual(expected);
    }
  });

  it('the plan reports them per column as warnings, with keys and an example, and nothing for clean columns', async () => {
    const fixture = await generateVbzcart(t.db, { seed: 4711, pulls: 300 });
    const clean = await buildPlan(t.db, mapping, new Date());
    expect(clean.problems.filter((p) => p.name.startsWith('doubleEncodedUtf8'))).toEqual([]);

    const pulls = (await t.db.query<{ ID: number }>('SELECT ID FROM ord_pull ORDER BY ID LIMIT 3 OFFSET 10')).map((r) => Number(r.ID));
    for (const id of pulls) {
      await t.db.execute(`UPDATE ord_pull SET NotesPull = ${doubleEncoded('Crème brûlée, Straße')} WHERE ID = ?`, [id]);
    }
    await t.db.execute(`UPDATE orders SET Notes = ${doubleEncoded('Zoë’s order')} WHERE ID = 7`);

    const plan = await buildPlan(t.db, mapping, new Date());
    expect(plan.ok).toBe(true);
    const found = plan.problems.filter((p) => p.name.startsWith('doubleEncodedUtf8'));
    expect(found.map((p) => [p.name, p.severity, p.count, p.keys])).toEqual([
      ['doubleEncodedUtf8.ord_pull.NotesPull', 'warning', 3, pulls.map(String)],
      ['doubleEncodedUtf8.orders.Notes', 'warning', 1, ['7']],
    ]);
    expect(found[0]!.example).toBe(`ord_pull ${pulls[0]}: 'CrÃ¨me brÃ»lÃ©e, StraÃŸe' reads 'Crème brûlée, Straße' as UTF-8`);
    // The planted problems are still all there, and nothing else.
    const planted = Object.entries(fixture.problems)
      .filter(([, keys]) => keys.length > 0)
      .map(([name]) => name);
    expect(
      plan.problems
        .filter((p) => p.count > 0)
        .map((p) => p.name)
        .sort(),
    ).toEqual([...planted, ...found.map((p) => p.name)].sort());
  });
});
