import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { autoIncrementOf, maskQuoted, renameCreateStatement, withoutForeignKeys } from '../../src/backup/create-statement.ts';
import type { BackupColumn } from '../../src/backup/manifest.ts';
import { RESTORE_SQL_MODE } from '../../src/backup/restore-session.ts';
import { loadRowsSql, selectRowsSql, selectStoredRowsSql } from '../../src/backup/row-statements.ts';

const child = [
  'CREATE TABLE `child` (',
  '  `id` int(11) NOT NULL AUTO_INCREMENT,',
  "  `parent_id` int(11) DEFAULT NULL COMMENT 'see CONSTRAINT `x` FOREIGN KEY (`y`) REFERENCES `z` (`w`)',",
  '  `other``s id` int(11) DEFAULT NULL,',
  '  PRIMARY KEY (`id`),',
  '  KEY `fk_parent` (`parent_id`),',
  '  CONSTRAINT `fk_parent` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`) ON DELETE CASCADE,',
  '  CONSTRAINT `fk ``odd``` FOREIGN KEY (`other``s id`, `id`) REFERENCES `other db`.`par``ent` (`a`, `b`) ' +
    'ON DELETE SET NULL ON UPDATE NO ACTION,',
  '  CONSTRAINT `positive` CHECK (`id` > 0)',
  ") ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='AUTO_INCREMENT=7 is not it'",
].join('\n');

const column = (name: string, dataType: string, generated = false, autoIncrement = false): BackupColumn => ({
  name,
  dataType,
  columnType: dataType,
  charset: null,
  generated,
  autoIncrement,
  encoding: generated ? null : dataType.includes('blob') || dataType === 'bit' ? 'hex' : 'text',
});

describe('CREATE statement edits', () => {
  it('masks quoted text without changing positions', () => {
    const sql = "a 'it''s \\\\' `x``y` \"q\" b";
    const masked = maskQuoted(sql);
    expect(masked).toHaveLength(sql.length);
    expect(masked).toBe('a \'        \' `    ` " " b');
  });

  it('reads AUTO_INCREMENT from the table options only', () => {
    expect(autoIncrementOf(child)).toBe('42');
    expect(
      autoIncrementOf(
        "CREATE TABLE `t` (\n  `a` int(11) COMMENT ') ENGINE=InnoDB AUTO_INCREMENT=9'\n) ENGINE=MyISAM DEFAULT CHARSET=latin1",
      ),
    ).toBeNull();
    expect(autoIncrementOf('CREATE TABLE `t` (\n  `a` bigint unsigned\n) ENGINE=InnoDB AUTO_INCREMENT=18446744073709551615')).toBe(
      '18446744073709551615',
    );
  });

  it('removes foreign key clauses, and nothing that only looks like one', () => {
    const { sql, removed } = withoutForeignKeys(child);
    expect(removed).toBe(2);
    expect(sql).toBe(
      child
        .split('\n')
        .filter((line) => !(line.startsWith('  CONSTRAINT') && line.includes('FOREIGN KEY')))
        .join('\n'),
    );
    expect(withoutForeignKeys('CREATE TABLE `p` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB').removed).toBe(0);
  });

  it('renames the table of a CREATE statement, and only a statement that starts as expected', () => {
    expect(renameCreateStatement(child, 'child', '_es_restore_1_abcd1234').split('\n')[0]).toBe('CREATE TABLE `_es_restore_1_abcd1234` (');
    expect(renameCreateStatement('CREATE TABLE `we``ird` (\n  `a` int\n)', 'we`ird', 't')).toBe('CREATE TABLE `t` (\n  `a` int\n)');
    expect(() => renameCreateStatement(child, 'parent', 'x')).toThrow(/does not start with/);
  });
});

describe('row statements', () => {
  const columns = [
    column('id', 'int', false, true),
    column('f', 'float'),
    column('na`me', 'varchar'),
    column('gen', 'int', true),
    column('b', 'blob'),
    column('bits', 'bit'),
    column('u', 'uuid'),
  ];

  it('selects the written columns as stored bytes', () => {
    expect(selectRowsSql('my table', columns)).toBe(
      'SELECT `id`, CAST(`f` AS DOUBLE), CAST(`na``me` AS BINARY), `b`, `bits`, `u` FROM `my table`',
    );
  });

  it('loads hex columns through UNHEX, UUIDs from text, the AUTO_INCREMENT key through a variable, and skips generated ones', () => {
    expect(loadRowsSql('_es_restore_1_abcd1234', columns)).toBe(
      [
        "LOAD DATA LOCAL INFILE 'eventshift-rows' INTO TABLE `_es_restore_1_abcd1234` CHARACTER SET binary",
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'",
        '(@es_0, `f`, `na``me`, @es_3, @es_4, @es_5)',
        'SET `id` = @es_0, `b` = UNHEX(@es_3), `bits` = UNHEX(@es_4), `u` = CONVERT(@es_5 USING utf8mb4)',
      ].join('\n'),
    );
  });

  it('read rows as their stored text and its CRCs, and load that text back, for a sql-quoted/binary file', () => {
    const two = [
      column('id', 'int', false, true),
      column('na`me', 'varchar'),
      column('gen', 'int', true),
      column('b', 'blob'),
      column('u', 'uuid'),
    ];
    const text =
      "CONCAT(IFNULL(`id`, X'5C4E'), ',', QUOTE(CAST(`na``me` AS BINARY)), ',', " +
      "IF(`b` IS NULL, X'5C4E', HEX(`b`)), ',', IFNULL(CONCAT(`u`), X'5C4E'))";
    expect(selectStoredRowsSql('my table', two)).toBe(
      `SELECT CONCAT(CRC32(@eventshift_row := ${text}), ' ', CRC32C(@eventshift_row), ' ', @eventshift_row) FROM \`my table\``,
    );
    expect(loadRowsSql('t', two, 'sql-quoted/binary').split('\n').slice(1)).toEqual([
      "FIELDS TERMINATED BY ',' ENCLOSED BY '\\'' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'",
      '(@es_0, `na``me`, @es_2, @es_3)',
      'SET `id` = @es_0, `b` = UNHEX(@es_2), `u` = CONVERT(@es_3 USING utf8mb4)',
    ]);
  });

  it('are what backups/README.md tells a DBA to run for a restore by hand', async () => {
    const readme = await readFile(new URL('../../backups/README.md', import.meta.url), 'utf8');
    const orders = [column('id', 'int', false, true), column('note', 'varchar'), column('payload', 'blob')];
    expect(readme).toContain(
      `${loadRowsSql('orders', orders, 'sql-quoted/binary').replace("'eventshift-rows'", "'01-orders-1a2b3c4d.rows'")};`,
    );
    expect(readme).toContain(
      `${loadRowsSql('orders', orders, 'load-data-tsv/binary').replace("'eventshift-rows'", "'01-orders-1a2b3c4d.tsv'")};`,
    );
    expect(readme).toContain(
      `SET SESSION sql_mode = '${RESTORE_SQL_MODE}', time_zone = '+00:00', foreign_key_checks = 0, unique_checks = 0;`,
    );
  });
});
