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
    const clean = ['Café', 'Größe M™', 'paid 12,50 € too little', '½ still due', '„bitte“ — señor Muñoz', 'l’Église', 'waiting…', 'ÃO', 'Ã', ''];
    const mangled = ['Café', 'it’s', 'Größe', '°C', 'Zoë 😀'];
    await t.db.raw.query('INSERT INTO samples (ID, s) VALUES ?', [clean.map((s, i) => [i + 1, s])]);
    for (const [i, text] of mangled.entries()) await t.db.execute(`INSERT INTO samples (ID, s) VALUES (?, ${doubleEncoded(text)})`, [clean.length + i + 1]);
    const [shown] = await t.db.query<{ s: string }>('SELECT s FROM samples WHERE ID = ?', [clean.length + 1]);
    expect(shown!.s).toBe('CafÃ©');
    const found = await t.db.query<{ ID: number }>(`SELECT ID FROM samples WHERE ${looksDoubleEncodedSql('s')} ORDER BY ID`);
    expect(found.map((r) => Number(r.ID))).toEqual(mangled.map((_, i) => clean.length + i + 1));
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
    const planted = Object.entries(fixture.problems).filter(([, keys]) => keys.length > 0).map(([name]) => name);
    expect(plan.problems.filter((p) => p.count > 0).map((p) => p.name).sort()).toEqual([...planted, ...found.map((p) => p.name)].sort());
  });
});
