import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFileStats, quotedFields, readCsvRecords, type CsvDialect, type CsvRecord } from '../../src/csv/read.ts';
import { detectDelimiter, detectEncoding } from '../../src/csv/detect.ts';
import { encodeText } from '../../src/csv/decode.ts';

const cp1252 = (text: string) => encodeText(text, 'cp1252');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'es-csv-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function records(name: string, bytes: Buffer | string, dialect: Partial<CsvDialect> = {}) {
  const path = join(dir, name);
  await writeFile(path, bytes);
  const stats = newFileStats();
  const out: CsvRecord[] = [];
  for await (const r of readCsvRecords(path, { encoding: 'utf8', delimiter: ',', quote: '"', ...dialect }, stats)) out.push(r);
  return { out, stats };
}

describe('reading records', () => {
  it('counts lines from the file: quoted line breaks (CRLF, LF, CR) move the next record down, empty lines are skipped', async () => {
    const text = 'ID,Note\r\n1,"two\r\nlines"\r\n\r\n2,"three\nlines\rhere"\r\n3,plain\r\n4,last';
    const { out, stats } = await records('lines.csv', text);
    expect(out.map((r) => [r.line, r.fields])).toEqual([
      [1, ['ID', 'Note']],
      [2, ['1', 'two\r\nlines']],
      [5, ['2', 'three\nlines\rhere']],
      [8, ['3', 'plain']],
      [9, ['4', 'last']],
    ]);
    expect(out[1]!.raw).toBe('1,"two\r\nlines"');
    expect(stats.emptyLines).toBe(1);
    expect(stats.bytes).toBe(Buffer.byteLength(text));
    expect(stats.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tells quoted from unquoted fields from the raw text (NULL versus the empty string)', () => {
    expect(quotedFields('1,"",,"a,""b"",c",x', ',', '"')).toEqual([false, true, false, true, false]);
    expect(quotedFields(',', ',', '"')).toEqual([false, false]);
    expect(quotedFields('"x";;"y"', ';', '"')).toEqual([true, false, true]);
  });

  it('stops at a quote that is never closed and says from which line the file cannot be read', async () => {
    const { out, stats } = await records('broken.csv', 'ID,Note\n1,ok\n2,"never closed\n3,swallowed\n');
    expect(out.map((r) => r.line)).toEqual([1, 2]);
    expect(stats.unreadable?.line).toBe(3);
    expect(stats.unreadable?.message).toMatch(/Quote Not Closed/i);
  });

  it('keeps stray quotes as written', async () => {
    const { out } = await records('stray.csv', 'ID,Note\n1,12" vinyl\n2,"half"quoted\n');
    expect(out[1]!.fields).toEqual(['1', '12" vinyl']);
    // Neither a quoted field nor a plain one: kept exactly as written, not guessed at.
    expect(out[2]!.fields).toEqual(['2', '"half"quoted']);
  });
});

describe('detecting the dialect', () => {
  it('detects UTF-8, cp1252 (naming the first byte that is not UTF-8), UTF-16LE and ASCII', async () => {
    const write = async (name: string, bytes: Buffer) => {
      await writeFile(join(dir, name), bytes);
      return detectEncoding(join(dir, name));
    };
    expect(await write('u8.csv', Buffer.from('a,b\n1,Zoë\n'))).toMatchObject({ value: 'utf8', reason: 'valid UTF-8' });
    expect(await write('bom.csv', Buffer.from('\uFEFFa,b\n'))).toMatchObject({ value: 'utf8', reason: 'UTF-8 byte order mark' });
    expect(await write('ascii.csv', Buffer.from('a,b\n1,2\n'))).toMatchObject({ value: 'utf8', reason: 'ASCII only (read as UTF-8)' });
    // A single cp1252 character late in a large file still decides.
    const late = Buffer.concat([Buffer.from('a,b\n'.repeat(400_000)), cp1252('1,12,50 €\n')]);
    expect(await write('cp.csv', late)).toMatchObject({
      value: 'cp1252',
      reason: `not valid UTF-8 (byte 0x80 at offset ${late.length - 2}), read as cp1252`,
    });
    expect(await write('u16.csv', Buffer.concat([Buffer.of(0xff, 0xfe), Buffer.from('a,b\n', 'utf16le')]))).toMatchObject({
      value: 'utf16le',
    });
    expect(await write('u16nobom.csv', Buffer.from('a,b\n1,2\n', 'utf16le'))).toMatchObject({ value: 'utf16le' });
    expect(await write('be.csv', Buffer.of(0xfe, 0xff, 0, 0x61))).toMatchObject({ value: 'utf16be', reason: 'UTF-16BE byte order mark' });
    expect(await write('benobom.csv', Buffer.from('a,b\n1,2\n', 'utf16le').swap16())).toMatchObject({ value: 'utf16be' });
  });

  it('never guesses a legacy code page that Western cp1252 would misread: it asks for the encoding to be declared', async () => {
    const write = async (name: string, text: string, encoding: 'cp1251' | 'koi8-r' | 'shift_jis' | 'gbk' | 'big5' | 'cp1250') => {
      await writeFile(join(dir, name), Buffer.concat([Buffer.from('id,name\n'.repeat(1000)), encodeText(`1,${text}\n`, encoding)]));
      return detectEncoding(join(dir, name));
    };
    // Every byte of these is a cp1252 character, so reading them as cp1252 would load wrong letters without an error.
    await expect(write('ru.csv', 'Иванов', 'cp1251')).rejects.toThrow(
      /three non-ASCII bytes in a row at offset 8002 .*declare its encoding/,
    );
    await expect(write('koi.csv', 'Иванов', 'koi8-r')).rejects.toThrow(/not valid UTF-8 \(byte 0xE9 at offset 8002\)/);
    await expect(write('jp.csv', '日本語', 'shift_jis')).rejects.toThrow(/cannot be told safely/);
    await expect(write('cn.csv', '中文', 'gbk')).rejects.toThrow(/cannot be told safely/);
    await expect(write('tw.csv', '中文字', 'big5')).rejects.toThrow(/declare its encoding/);
    // A byte that cp1252 leaves undefined rules it out at once (0x9D is ť in cp1250).
    await expect(write('cz.csv', 'Šťa', 'cp1250')).rejects.toThrow(/byte 0x9D at offset 8003 is not a cp1252 character/);
    // A Western name with single accented letters is still read as cp1252.
    expect(await write('de.csv', 'Müller', 'cp1250')).toMatchObject({ value: 'cp1252' });
  });

  it('detects the delimiter by its count per line, ignoring quoted ones and a broken line', () => {
    expect(detectDelimiter('a;b;c\n1;"x;y";3\n4;5;6\n')).toMatchObject({
      value: ';',
      reason: "';' 2 time(s) on each of the first 3 line(s)",
    });
    expect(detectDelimiter('a\tb\n1\t"2,3"\n').value).toBe('\t');
    expect(detectDelimiter('a,b,c\n1,2,3\n4,5\n7,8,9\n')).toMatchObject({
      value: ',',
      reason: "',' 2 time(s) on 3 of the first 4 line(s)",
    });
    expect(detectDelimiter('just one column\nvalue\n').value).toBe(',');
  });
});
