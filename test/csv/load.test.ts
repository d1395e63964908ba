import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { loadCsvSource } from '../../src/csv/load.ts';
import type { BadRow } from '../../src/csv/csv-plan.ts';
import { csvFilesOf } from '../../src/csv/binding.ts';
import { encodeText } from '../../src/csv/decode.ts';
import { csvDefinitionProblems, type CsvSourceDefinition } from '../../src/csv/declaration.ts';
import { EventshiftError } from '../../src/errors.ts';

const cp1252 = (text: string) => encodeText(text, 'cp1252');

let t: TestDatabase;
let dir: string;
beforeAll(async () => {
  t = await freshDatabase('csv_load');
  dir = await mkdtemp(join(tmpdir(), 'es-csv-load-'));
});
afterAll(async () => {
  await t.drop();
  await rm(dir, { recursive: true, force: true });
});

const customers: CsvSourceDefinition = {
  table: `CREATE TABLE customer (
    ID INT UNSIGNED NOT NULL, Name VARCHAR(10) NOT NULL, Balance DECIMAL(8,2) NULL, Active TINYINT(1) NULL, Since DATE NULL,
    PRIMARY KEY (ID)) DEFAULT CHARSET=latin1`,
  key: 'ID',
  columns: {
    ID: { type: 'integer', from: 'Customer No' },
    Name: { type: 'text' },
    Balance: { type: 'decimal', decimalSeparator: ',' },
    Active: { type: 'boolean' },
    Since: { type: 'date', formats: ['dd.MM.yyyy', 'excel'] },
  },
  ignore: ['Remark'],
};

async function load(files: string[], definition = customers) {
  const bad: Array<BadRow & { raw: Buffer }> = [];
  const result = await loadCsvSource(t.db, {
    alias: 'customer',
    definition,
    files,
    staging: 'eventshift_src_customer',
    temporary: true,
    comment: 'test',
    batchRows: 3,
    onBadRow: async (row, raw) => void bad.push({ ...row, raw }),
  });
  const rows = await t.db.query('SELECT * FROM eventshift_src_customer ORDER BY ID');
  return { result, bad, rows };
}

describe('loading a CSV source into its staging table', () => {
  it('loads typed rows and reports each bad one with its line and why, whichever batch it falls in', async () => {
    const path = join(dir, 'customers.csv');
    await writeFile(
      path,
      cp1252(
        [
          'Customer No;Name;Balance;Active;Since;Remark',
          '1;Müller;12,50;ja?;01.02.2003;x',
          '2;Zoë;-3,00;yes;37653;',
          '3;"";;;;"multi',
          'line remark"',
          '4;Name too long;1,00;no;01.02.2003;',
          '5;Büro;1234567,00;1;01.02.2003;',
          '2;Again;1,00;1;01.02.2003;',
          '6;;1,00;1;01.02.2003;',
          '7;Ok;1,00;0;31.02.2003;',
          '8;Last;0,5;t;01.02.2003;',
        ].join('\r\n') + '\r\n',
      ),
    );
    const { result, bad, rows } = await load([path]);
    expect(result.files[0]).toMatchObject({
      encoding: { value: 'cp1252', detected: true },
      delimiter: { value: ';', detected: true },
      records: 9,
    });
    expect(bad.map((b) => [b.line, b.reason])).toEqual([
      [2, "Active: 'ja?' is not one of 1, true, yes, y, t, 0, false, no, n, f"],
      [9, 'Name: empty, and the column cannot be NULL'],
      [10, "Since: '31.02.2003' has day 31, and 2003-02 has 28 days"],
      [6, 'Name: too long for varchar(10)'],
      [7, 'Balance: out of range for decimal(8,2)'],
      [8, 'duplicate key: ID 2 was loaded from an earlier line'],
    ]);
    expect(result.badRows.map((b) => b.line)).toEqual([2, 6, 7, 8, 9, 10]);
    expect(bad.find((b) => b.line === 8)!.raw.toString('latin1')).toBe('2;Again;1,00;1;01.02.2003;');
    expect([result.records, result.accepted, result.bad]).toEqual([9, 3, 6]);
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { ID: 2, Name: 'Zoë', Balance: '-3.00', Active: 1, Since: '2003-02-01' },
      { ID: 3, Name: '', Balance: null, Active: null, Since: null },
      { ID: 8, Name: 'Last', Balance: '0.50', Active: 1, Since: '2003-02-01' },
    ]);
  });

  it('reads a folder in name order, numbering lines per file, and a key already loaded from an earlier file is a duplicate', async () => {
    const folder = join(dir, 'parts');
    await mkdir(folder);
    await writeFile(join(folder, 'b.csv'), 'Customer No;Name;Balance;Active;Since;Remark\n3;Three;;;;\n1;Again;;;;\n');
    await writeFile(join(folder, 'a.csv'), 'Customer No;Name;Balance;Active;Since;Remark\n1;One;;;;\n2;Two 📦;;;;\n');
    await writeFile(join(folder, 'notes.txt'), 'not a csv');
    const files = csvFilesOf(folder);
    expect(files.map((f) => f.slice(folder.length + 1))).toEqual(['a.csv', 'b.csv']);
    const { result, bad } = await load(files);
    expect(bad.map((b) => [b.file.slice(folder.length + 1), b.line, b.reason])).toEqual([
      ['a.csv', 3, 'Name: has characters that latin1 cannot hold'],
      ['b.csv', 3, 'duplicate key: ID 1 was loaded from an earlier line'],
    ]);
    expect(result.files.map((f) => [f.encoding.value, f.records, f.bad])).toEqual([
      ['utf8', 2, 1],
      ['utf8', 2, 1],
    ]);
  });

  it('refuses, as a usage error, a header that does not match the declaration', async () => {
    const path = join(dir, 'wrong-header.csv');
    await writeFile(path, 'Customer No;Name;Saldo\n1;x;2\n');
    const error = await load([path]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventshiftError);
    expect((error as EventshiftError).kind).toBe('usage');
    expect((error as Error).message).toBe(
      'CSV source customer: wrong-header.csv line 1 has the column(s) Saldo, which the declaration neither reads nor ignores; ' +
        'declare them (columns) or list them in ignore.',
    );
  });

  it('builds the staging table from the column types when no table is declared, and reads a declared header list', async () => {
    const path = join(dir, 'rates.csv');
    await writeFile(path, 'EUR\t1.0\t2011-03-04T10:00:00Z\r\nGBP\t0.8\t2011-03-27T02:30:00\r\nUSD\t1.4\t2011-03-04T11:00:00+01:00\r\n');
    const rates: CsvSourceDefinition = {
      key: 'Code',
      header: ['Code', 'Rate', 'At'],
      tableZone: 'Europe/Berlin',
      columns: { Code: { type: 'text', sql: 'CHAR(3)' }, Rate: { type: 'decimal' }, At: { type: 'datetime', formats: ['iso'] } },
    };
    const result = await loadCsvSource(t.db, {
      alias: 'rates',
      definition: rates,
      files: [path],
      staging: 'eventshift_src_rates',
      temporary: true,
      comment: 'test',
    });
    expect(result.files[0]).toMatchObject({ delimiter: { value: '\t' }, header: 'declared', records: 3 });
    // A local time in Berlin's spring-forward hour: reported with its line, not moved to 03:30.
    expect(result.badRows).toEqual([
      {
        file: path,
        line: 2,
        reason:
          "At: '2011-03-27T02:30:00' does not exist in Europe/Berlin: clocks skipped that hour (spring forward); " +
          'the value is wrong or its zone is',
      },
    ]);
    expect(await t.db.query('SELECT Code, Rate, At FROM eventshift_src_rates ORDER BY Code')).toEqual([
      { Code: 'EUR', Rate: '1.0000000000', At: '2011-03-04 11:00:00' },
      { Code: 'USD', Rate: '1.4000000000', At: '2011-03-04 11:00:00' },
    ]);
  });
});

describe('legacy encodings, declared', () => {
  // MariaDB's own character sets write the files, so the codec under test is checked against another implementation.
  const cases = [
    { encoding: 'cp1250', charset: 'cp1250', shown: 'cp1250', names: ['Łódź', 'Příliš žluťoučký kůň', 'Győr'], invalid: [0x81] },
    { encoding: 'cp1251', charset: 'cp1251', shown: 'cp1251', names: ['Съешь же ещё этих мягких', 'Ёлка', 'Київ'], invalid: [0x98] },
    { encoding: 'koi8-r', charset: 'koi8r', shown: 'KOI8-R', names: ['Съешь же ещё этих мягких', 'Ёлка', 'Москва'], invalid: [] },
    { encoding: 'shift_jis', charset: 'cp932', shown: 'Shift_JIS', names: ['日本語のテキスト', 'ｶﾀｶﾅ', '①髙'], invalid: [0xff] },
    { encoding: 'gbk', charset: 'gbk', shown: 'GBK', names: ['中文测试', '北京市', '上海'], invalid: [0xff] },
    { encoding: 'big5', charset: 'big5', shown: 'Big5', names: ['中文測試', '臺北市', '繁體'], invalid: [0xff] },
    { encoding: 'utf16be', charset: 'utf16', shown: 'UTF-16BE', names: ['Zoë', '日本', '📦 box'], invalid: [0xd8, 0x00] },
  ] as const;
  const definition = (encoding: string): CsvSourceDefinition => ({
    key: 'ID',
    encoding: encoding as CsvSourceDefinition['encoding'],
    columns: { ID: { type: 'integer' }, Name: { type: 'text', sql: 'VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL' } },
  });

  for (const { encoding, charset, shown, names, invalid } of cases) {
    it(`${encoding}: a file written by MariaDB's ${charset} loads the same text; an invalid byte is reported with its line`, async () => {
      const encoded = async (text: string) => {
        const [row] = await t.db.query<{ h: string }>(`SELECT HEX(CONVERT(? USING ${charset})) AS h`, [text]);
        return Buffer.from(row!.h, 'hex');
      };
      const lines = [await encoded('ID;Name')];
      for (const [i, name] of names.entries()) lines.push(await encoded(`${i + 1};${name}`));
      // Line 5: bytes that are not a character in the encoding (KOI8-R has a character for every byte).
      const bad = Buffer.concat([await encoded('9;x'), Buffer.from(invalid)]);
      if (invalid.length) lines.push(bad);
      const newline = await encoded('\n');
      const path = join(dir, `legacy-${encoding}.csv`);
      await writeFile(path, Buffer.concat(lines.flatMap((l) => [l, newline])));
      const bads: Array<BadRow & { raw: Buffer }> = [];
      const result = await loadCsvSource(t.db, {
        alias: 'legacy',
        definition: definition(encoding),
        files: [path],
        staging: `eventshift_src_${charset}`,
        temporary: true,
        comment: 'test',
        onBadRow: async (row, raw) => void bads.push({ ...row, raw }),
      });
      expect(result.files[0]).toMatchObject({ encoding: { value: encoding, detected: false, reason: 'declared' } });
      const rows = await t.db.query<{ ID: number; Name: string }>(`SELECT ID, Name FROM eventshift_src_${charset} ORDER BY ID`);
      expect(rows.map((r) => r.Name)).toEqual(names);
      if (invalid.length === 0) return;
      const first = `0x${invalid[0]!.toString(16).toUpperCase().padStart(2, '0')}`;
      expect(bads.map((b) => [b.line, b.reason])).toEqual([[5, `bytes that are not valid ${shown} (first: ${first})`]]);
      // The bad row's bytes go to the quarantine as they were in the file.
      expect(bads[0]!.raw.equals(bad)).toBe(true);
    });
  }

  it('refuses an encoding it does not know, naming those it does', () => {
    expect(csvDefinitionProblems('legacy', { ...definition('ebcdic') })).toEqual([
      "source 'legacy' (csv): encoding 'ebcdic' is not one of utf8, utf16le, utf16be, cp1252, cp1250, cp1251, koi8-r, " +
        'shift_jis, gbk, big5, latin1',
    ]);
  });
});
