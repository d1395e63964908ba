import { basename } from 'node:path';
import { insertBudget, type Db } from '../db/connection.ts';
import type { ColumnInfo, TableInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { databaseError, usageError } from '../errors.ts';
import type { BadRow, CsvFileFacts } from './csv-plan.ts';
import type { CsvSourceDefinition } from './declaration.ts';
import { encodeRaw, encodingName, firstInvalidByte, hasInvalidBytes, type TextEncoding } from './decode.ts';
import { detectDelimiter, detectEncoding, readSample, type Detected } from './detect.ts';
import { newFileStats, quotedFields, readCsvRecords, type CsvDialect, type CsvRecord } from './read.ts';
import { describeStaging, dropStaging, stagingTableSql } from './staging.ts';
import { BadValue, columnReader, type ColumnReader, type FieldValue } from './values.ts';
import { ZoneClock } from './zone-time.ts';
import { formatCount } from '../format.ts';

export interface CsvLoadResult {
  files: CsvFileFacts[];
  records: number;
  accepted: number;
  bad: number;
  /** The first bad rows, in file and line order. */
  badRows: BadRow[];
  /** The staging table as it was created. */
  table: TableInfo;
}

export interface LoadCsvOptions {
  alias: string;
  definition: CsvSourceDefinition;
  /** The files, in the order they are read. */
  files: readonly string[];
  staging: string;
  temporary: boolean;
  /** Written as the staging table's COMMENT: who it belongs to. */
  comment: string;
  /** Per file, the encoding and delimiter a plan fixed (so a run reads exactly as its plan did); detected when absent. */
  dialects?: ReadonlyArray<{ encoding: Detected<TextEncoding>; delimiter: Detected<string> }>;
  /** How many bad rows to keep in the result (all are passed to `onBadRow`); default 20. */
  badRowLimit?: number;
  /** Every bad row, with the bytes of its record as they are in the file. */
  onBadRow?: (row: BadRow, raw: Buffer) => Promise<void>;
  /** After each batch of rows is committed, with the rows loaded so far (a fault point, progress). */
  onBatch?: (accepted: number) => void;
  /** Rows per INSERT (default 2000). */
  batchRows?: number;
}

const defaultBatchRows = 2000;

/**
 * Loads a CSV source into its staging table, streaming, in multi-row INSERT batches with one batch in flight while the
 * next is parsed: memory stays bounded by a batch and the first bad rows, whatever the file's size. The table is
 * dropped and created first, so a load is always from scratch. Rows are typed by the declaration; those that cannot be
 * loaded are never dropped silently: each goes to `onBadRow` and is counted. A batch the server refuses (a duplicate
 * key, a value too long for its column) is split in halves until the rows it refuses are found, so the first of two
 * rows with the same key is the one kept.
 */
export async function loadCsvSource(db: Db, options: LoadCsvOptions): Promise<CsvLoadResult> {
  const { definition } = options;
  const limit = options.badRowLimit ?? 20;
  const { table, declared, columns } = await createStaging(db, options);
  const tableZone = new ZoneClock(definition.tableZone ?? 'UTC');
  const context = {
    fileZone: new ZoneClock(definition.zone ?? definition.tableZone ?? 'UTC'),
    tableZone,
    nulls: new Set(definition.nulls ?? []),
  };
  const readers: ColumnReader[] = declared.map((name) => columnReader(name, definition.columns[name]!, context));

  const result: CsvLoadResult = { files: [], records: 0, accepted: 0, bad: 0, badRows: [], table };
  const badByFile = new Map<string, number>();
  const reportBad = async (row: BadRow, raw: Buffer) => {
    result.bad++;
    badByFile.set(row.file, (badByFile.get(row.file) ?? 0) + 1);
    result.badRows.push(row);
    if (result.badRows.length > limit * 2) trimBadRows(result.badRows, options.files, limit);
    await options.onBadRow?.(row, raw);
  };
  const writer = new BatchWriter(db, {
    table: options.staging,
    columnNames: declared,
    columns,
    key: definition.key,
    bad: reportBad,
    committed: options.onBatch,
  });
  const batchBytes = insertBudget(db, 2_000_000);
  const load: CsvLoad = { options, declared, columns, readers, nulls: context.nulls, writer, batchBytes, reportBad };
  for (const [i, path] of options.files.entries()) {
    const facts = await loadFile(load, i, path);
    result.records += facts.records;
    result.files.push(facts);
  }
  result.accepted = await writer.finish();
  for (const f of result.files) f.bad = badByFile.get(f.path) ?? 0;
  trimBadRows(result.badRows, options.files, limit);
  return result;
}

/**
 * Creates the staging table afresh and describes it; refuses a declaration whose columns or key the table does not
 * have. Returns the declared columns, in order, and the table's description of each.
 */
async function createStaging(db: Db, options: LoadCsvOptions): Promise<{ table: TableInfo; declared: string[]; columns: ColumnInfo[] }> {
  const { definition } = options;
  await dropStaging(db, options.staging, options.temporary);
  await db.execute(stagingTableSql(definition, options.staging, { temporary: options.temporary, comment: options.comment }));
  const table = await describeStaging(db, options.staging);
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const declared = Object.keys(definition.columns);
  for (const name of declared) {
    if (!byName.has(name)) {
      throw usageError(
        `CSV source ${options.alias}: column ${name} is declared, but the table it stands for has no such column ` +
          `(it has ${[...byName.keys()].join(', ')}).`,
        { subject: options.alias },
      );
    }
  }
  if (table.primaryKey.length !== 1 || table.primaryKey[0] !== definition.key) {
    throw usageError(
      `CSV source ${options.alias}: the key ${definition.key} must be the primary key of the table it stands for ` +
        `(which is ${table.primaryKey.join(', ') || 'none'}).`,
      { subject: options.alias },
    );
  }
  return { table, declared, columns: declared.map((name) => byName.get(name)!) };
}

/** What every file of one load shares: the declaration, the readers of its columns, the writer, where bad rows go. */
interface CsvLoad {
  options: LoadCsvOptions;
  declared: string[];
  /** The staging table's description of each declared column. */
  columns: ColumnInfo[];
  readers: ColumnReader[];
  nulls: ReadonlySet<string>;
  writer: BatchWriter;
  /** Bytes of records per INSERT at most: 2 MB, or a quarter of the session's max_allowed_packet if that is less. */
  batchBytes: number;
  reportBad: (row: BadRow, raw: Buffer) => Promise<void>;
}

/** Which field of a file each declared column reads, and how many fields a record must have. */
interface FieldPlan {
  fieldIndex: number[];
  expected: number;
}

/** One file of the load read into the writer, every record typed or reported bad; the file as the plan shows it. */
async function loadFile(load: CsvLoad, i: number, path: string): Promise<CsvFileFacts> {
  const { options, writer } = load;
  const { definition } = options;
  const { encoding, delimiter, quote } = await fileDialect(options, i, path);
  const dialect: CsvDialect = { encoding: encoding.value, delimiter: delimiter.value, quote };
  const stats = newFileStats();
  const declaredHeader = Array.isArray(definition.header) || definition.header === false;
  let fields: FieldPlan | null = null;
  if (declaredHeader) {
    const names = Array.isArray(definition.header) ? definition.header : Object.entries(definition.columns).map(([n, c]) => c.from ?? n);
    fields = fieldPlan(options, names, { path, line: null });
  }
  const batchRows = options.batchRows ?? defaultBatchRows;
  for await (const record of readCsvRecords(path, dialect, stats)) {
    if (fields === null) {
      fields = fieldPlan(
        options,
        record.fields.map((f) => f.trim()),
        { path, line: record.line },
      );
      continue;
    }
    stats.records++;
    const values = recordValues(load, record, dialect, fields);
    if (typeof values === 'string') {
      await load.reportBad({ file: path, line: record.line, reason: values }, encodeRaw(record.raw, dialect.encoding));
      continue;
    }
    writer.add({ values, file: path, line: record.line, raw: record.raw, encoding: dialect.encoding });
    if (writer.pending >= batchRows || writer.pendingBytes >= load.batchBytes) await writer.flush();
  }
  await writer.flush();
  return {
    path,
    bytes: stats.bytes,
    sha256: stats.sha256,
    encoding,
    delimiter,
    quote,
    header: declaredHeader ? 'declared' : 'first line',
    records: stats.records,
    emptyLines: stats.emptyLines,
    bad: 0,
    unreadable: stats.unreadable,
  };
}

/** A file's encoding and delimiter: as its plan fixed them, else as declared, else detected; and its quote. */
async function fileDialect(
  options: LoadCsvOptions,
  i: number,
  path: string,
): Promise<{ encoding: Detected<TextEncoding>; delimiter: Detected<string>; quote: string }> {
  const { definition } = options;
  const encoding =
    options.dialects?.[i]?.encoding ??
    (definition.encoding
      ? { value: declaredEncoding(definition.encoding), detected: false, reason: 'declared' }
      : await detectEncoding(path));
  const quote = definition.quote ?? '"';
  const delimiter =
    options.dialects?.[i]?.delimiter ??
    (definition.delimiter !== undefined
      ? { value: definition.delimiter, detected: false, reason: 'declared' }
      : detectDelimiter(await readSample(path, encoding.value), quote));
  return { encoding, delimiter, quote };
}

/** A record's values, typed by the declaration, or why it is bad. */
function recordValues(load: CsvLoad, record: CsvRecord, dialect: CsvDialect, fields: FieldPlan): FieldValue[] | string {
  const { readers, columns, declared, nulls } = load;
  if (hasInvalidBytes(record.raw)) {
    return `bytes that are not valid ${encodingName(dialect.encoding)} (first: ${firstInvalidByte(record.raw)})`;
  }
  const values = record.fields;
  if (values.length !== fields.expected) return `wrong number of fields: ${values.length} (expected ${fields.expected})`;
  let quoted: boolean[] | null = null;
  const typed: FieldValue[] = new Array(readers.length);
  let reasons: string[] | null = null;
  for (let c = 0; c < readers.length; c++) {
    const at = fields.fieldIndex[c]!;
    const field = values[at]!;
    if (quoted === null && (field === '' || nulls.has(field))) quoted = quotedFields(record.raw, dialect.delimiter, dialect.quote);
    const value = readers[c]!(field, quoted?.[at] ?? false);
    if (value instanceof BadValue) (reasons ??= []).push(value.reason);
    else if (value === null && !columns[c]!.nullable) (reasons ??= []).push(`${declared[c]}: empty, and the column cannot be NULL`);
    else typed[c] = value;
  }
  return reasons ? reasons.join('; ') : typed;
}

const declaredEncoding = (e: NonNullable<CsvSourceDefinition['encoding']>): TextEncoding => (e === 'latin1' ? 'cp1252' : e);

function trimBadRows(rows: BadRow[], files: readonly string[], limit: number): void {
  rows.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line);
  rows.splice(limit);
}

/** Which field of the file each declared column reads, from the header names; a header the declaration does not cover is a usage error. */
function fieldPlan(
  { alias, definition }: Pick<LoadCsvOptions, 'alias' | 'definition'>,
  header: string[],
  { path, line }: { path: string; line: number | null },
): FieldPlan {
  const where = `${basename(path)}${line === null ? '' : ` line ${line}`}`;
  const ignored = new Set(definition.ignore ?? []);
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw usageError(`CSV source ${alias}: ${where} names the column ${name} twice.`, { subject: path });
    seen.add(name);
  }
  const reads = new Map(Object.entries(definition.columns).map(([column, c]) => [c.from ?? column, column]));
  const unknown = header.filter((h) => !reads.has(h) && !ignored.has(h));
  if (unknown.length > 0) {
    throw usageError(
      `CSV source ${alias}: ${where} has the column(s) ${unknown.join(', ')}, which the declaration neither reads nor ignores; ` +
        'declare them (columns) or list them in ignore.',
      { subject: path },
    );
  }
  const fieldIndex = Object.entries(definition.columns).map(([column, c]) => {
    const at = header.indexOf(c.from ?? column);
    if (at < 0)
      throw usageError(`CSV source ${alias}: ${where} has no column ${c.from ?? column} (it has ${header.join(', ')}).`, { subject: path });
    return at;
  });
  return { fieldIndex, expected: header.length };
}

/** Server errors that are about one row's values, not about the statement or the connection. */
const rowErrors = new Set([1048, 1062, 1264, 1265, 1292, 1300, 1366, 1367, 1406, 1411, 1690, 3819, 4025]);

interface Entry {
  values: FieldValue[];
  file: string;
  line: number;
  raw: string;
  encoding: TextEncoding;
}

/** Multi-row INSERTs with one in flight; a refused batch is bisected (in a transaction) down to the rows refused. */
class BatchWriter {
  private batch: Entry[] = [];
  private bytes = 0;
  private inflight: Promise<Error | null> | null = null;
  private accepted = 0;
  private readonly sql: string;
  private readonly table: string;
  private readonly columns: ColumnInfo[];
  private readonly key: string;
  private readonly bad: (row: BadRow, raw: Buffer) => Promise<void>;
  private readonly committed?: (accepted: number) => void;

  constructor(
    private readonly db: Db,
    target: {
      table: string;
      columnNames: string[];
      columns: ColumnInfo[];
      key: string;
      /** Each row the server refuses, with the bytes of its record. */
      bad: (row: BadRow, raw: Buffer) => Promise<void>;
      /** After each batch is committed, with the rows loaded so far. */
      committed?: (accepted: number) => void;
    },
  ) {
    this.table = target.table;
    this.columns = target.columns;
    this.key = target.key;
    this.bad = target.bad;
    this.committed = target.committed;
    this.sql = `INSERT INTO ${quoteId(target.table)} (${target.columnNames.map(quoteId).join(', ')}) VALUES ?`;
  }

  get pending(): number {
    return this.batch.length;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  add(entry: Entry): void {
    this.batch.push(entry);
    this.bytes += entry.raw.length + 16;
  }

  /** Sends the pending rows, once the batch in flight is done. */
  async flush(): Promise<void> {
    await this.drain();
    if (this.batch.length === 0) return;
    const entries = this.batch;
    this.batch = [];
    this.bytes = 0;
    this.inflight = this.insert(entries).then(
      () => {
        this.committed?.(this.accepted);
        return null;
      },
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
  }

  /** Everything sent and done; the rows loaded. */
  async finish(): Promise<number> {
    await this.flush();
    await this.drain();
    return this.accepted;
  }

  private async drain(): Promise<void> {
    const pending = this.inflight;
    this.inflight = null;
    const error = await pending;
    if (error) throw error;
  }

  private async insert(entries: Entry[]): Promise<void> {
    try {
      this.accepted += await this.send(entries);
      return;
    } catch (error) {
      if (!isRowError(error)) throw databaseError(`Loading ${formatCount(entries.length)} rows into ${this.table}`, error);
    }
    const half = Math.ceil(entries.length / 2);
    await this.db.transaction(async () => {
      await this.bisect(entries.slice(0, half));
      await this.bisect(entries.slice(half));
    });
  }

  private async bisect(entries: Entry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      this.accepted += await this.send(entries);
    } catch (error) {
      if (!isRowError(error)) throw databaseError(`Loading ${formatCount(entries.length)} rows into ${this.table}`, error);
      if (entries.length === 1) {
        const e = entries[0]!;
        await this.bad(
          { file: e.file, line: e.line, reason: rowErrorReason(error, this.columns, this.key, e) },
          encodeRaw(e.raw, e.encoding),
        );
        return;
      }
      const half = Math.ceil(entries.length / 2);
      await this.bisect(entries.slice(0, half));
      await this.bisect(entries.slice(half));
    }
  }

  private async send(entries: Entry[]): Promise<number> {
    const [result] = await this.db.raw.query(this.sql, [entries.map((e) => e.values)]);
    return (result as { affectedRows: number }).affectedRows;
  }
}

function isRowError(error: unknown): boolean {
  return rowErrors.has(Number((error as { errno?: unknown }).errno));
}

/** The server's refusal of one row, in the words of the rest of the report. */
function rowErrorReason(error: unknown, columns: ColumnInfo[], key: string, entry: Entry): string {
  const errno = Number((error as { errno?: unknown }).errno);
  const message = String((error as { sqlMessage?: unknown; message?: unknown }).sqlMessage ?? (error as Error).message).replace(
    / at row \d+$/,
    '',
  );
  const name = /column [`']?(?:[^`'.]*[`']?\.[`']?)*([^`'.]+)[`']?/i.exec(message)?.[1];
  const column = columns.find((c) => c.name === name);
  switch (errno) {
    case 1062: {
      const keyIndex = columns.findIndex((c) => c.name === key);
      return /for key '?(`?)PRIMARY/i.test(message)
        ? `duplicate key: ${key} ${entry.values[keyIndex] ?? ''} was loaded from an earlier line`
        : `duplicate value in a unique key (${message})`;
    }
    case 1406:
      return `${name}: too long for ${column?.columnType ?? 'its column'}`;
    case 1264:
    case 1690:
      return `${name}: out of range for ${column?.columnType ?? 'its column'}`;
    case 1366:
      return /Incorrect string value/i.test(message)
        ? `${name}: has characters that ${column?.charset ?? "the column's character set"} cannot hold`
        : `${name}: not a valid ${column?.columnType ?? 'value'} (${message})`;
    case 1048:
      return `${name}: empty, and the column cannot be NULL`;
    default:
      return message;
  }
}
