import type { Db } from '../db/connection.ts';
import { createTableSql } from '../db/ddl.ts';
import { quoteId } from '../db/quote.ts';
import { galeraWriteSets } from '../engine/chunks.ts';
import { declaredTable } from '../mapping/lookup.ts';
import type { Mapping } from '../mapping/types.ts';
import type { GaleraPlan, Plan } from './plan-data.ts';
import { allToCome, type StagesToCome } from './server-variables.ts';

/** What a Galera cluster means for a run of a plan: its facts (null off Galera), and refusals. */
export interface GaleraCheck {
  facts: GaleraPlan | null;
  refusals: string[];
}

/** The engines Galera replicates. MariaDB can replicate MyISAM and Aria experimentally (wsrep_mode); not relied on. */
const replicatedEngines = new Set(['innodb']);

/**
 * Checks, read-only, what a Galera cluster means for a run of `plan`; nothing off Galera:
 * - every table the run reads or writes is InnoDB: Galera replicates nothing else, so the rows of a MyISAM, Aria or
 *   MEMORY table are on the node they were written through and nowhere else, and a run through another node (or a
 *   resume there after that node died) would read other rows or none;
 * - every table the run writes (backs up, and so may restore) has a primary key, by which Galera certifies and applies
 *   rows; a table it only reads without one is a warning;
 * - DDL runs in total order (wsrep_OSU_method TOI), so that each CREATE, ALTER and RENAME happens on every node; the
 *   plan lists them with that cluster-wide effect;
 * - a statement the run makes whole (a projection's fill, a step's lineage) fits in one write-set, and a projection's
 *   fill is not refused outright (a node with wsrep_max_ws_rows set refuses a multi-table UPDATE over a derived table).
 */
export async function checkGalera(db: Db, mapping: Mapping, plan: Plan, still: StagesToCome = allToCome): Promise<GaleraCheck> {
  const node = db.capabilities.galera;
  if (!node) return { facts: null, refusals: [] };
  const [session] = await db.query<{ osu: string; engine: string }>(
    'SELECT @@SESSION.wsrep_OSU_method AS osu, @@SESSION.default_storage_engine AS engine',
  );
  const [size] = await db.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'wsrep\\_cluster\\_size'");
  const facts: GaleraPlan = {
    node: node.node,
    clusterSize: Number(size?.Value ?? 0),
    maxWriteSetRows: node.maxWriteSetRows,
    maxWriteSetBytes: node.maxWriteSetBytes,
    osuMethod: String(session!.osu),
    ddl: ddlLines(plan),
    warnings: [],
  };
  const refusals: string[] = [];
  if (facts.osuMethod.toUpperCase() !== 'TOI') {
    refusals.push(
      `This session's wsrep_OSU_method is ${facts.osuMethod}, not TOI: the run's CREATE, ALTER and RENAME statements would ` +
        'change this node only, and the nodes would no longer have the same tables. Set it back (SET GLOBAL ' +
        'wsrep_OSU_method = TOI, and under [mysqld]), then plan again.',
    );
  }
  const tables = await tablesOf(db, plan);
  for (const t of tables.filter((x) => !replicatedEngines.has(x.engine.toLowerCase())))
    refusals.push(await engineRefusal(db, node.node, t));
  for (const t of tables.filter((x) => !x.primaryKey)) {
    if (t.written && still.writing) refusals.push(primaryKeyRefusal(t.name));
    else
      facts.warnings.push(
        `${quoteId(t.name)} has no primary key; the run only reads it, so it is not refused, but Galera applies other ` +
          "writers' changes to it by scanning it on every node, and cannot apply their DELETEs.",
      );
  }
  for (const table of still.writing ? plan.tables.create : []) {
    if (!/\bPRIMARY KEY \(/.test(createTableSql(declaredTable(mapping, table)))) refusals.push(primaryKeyRefusal(table));
  }
  if (still.writing && plan.tables.create.length > 0 && !replicatedEngines.has(String(session!.engine).toLowerCase())) {
    refusals.push(
      `The tables the run creates (${plan.tables.create.map((t) => quoteId(t)).join(', ')}) would be ${session!.engine}, ` +
        "this session's default_storage_engine, which Galera does not replicate. Set it to InnoDB " +
        '(SET GLOBAL default_storage_engine = InnoDB, and under [mysqld]), then plan again.',
    );
  }
  if (node.maxWriteSetRows > 0 && still.writing) {
    for (const p of plan.projections) {
      refusals.push(
        `Projection ${p.name} fills ${quoteId(p.table)} with a multi-table UPDATE over a grouped derived table, which ` +
          `this node refuses ("Galera replication not supported", error 4165) whenever wsrep_max_ws_rows is set (here ` +
          `${node.maxWriteSetRows}; measured with 1,000,000 and 99 rows). Set wsrep_max_ws_rows = 0 (no limit, the ` +
          'default) for the run, then plan again.',
      );
    }
  }
  const whole = wholeStatements(plan);
  // Projections are refused above whenever there is a row limit.
  for (const w of whole.filter((x) => still.writing && !x.projection && node.maxWriteSetRows > 0 && x.rows > node.maxWriteSetRows)) {
    refusals.push(
      `${w.what} writes ${w.rows} rows in one statement, one write-set over the cluster's wsrep_max_ws_rows of ` +
        `${node.maxWriteSetRows}: the node would refuse it mid-run. Raise wsrep_max_ws_rows to at least ${w.rows} ` +
        '(or 0, no limit) for the run, then plan again.',
    );
  }
  for (const w of whole.filter((x) => x.rows > galeraWriteSets.maxRows && !(node.maxWriteSetRows > 0 && x.rows > node.maxWriteSetRows))) {
    facts.warnings.push(
      `${w.what} writes ${w.rows} rows in one statement: one write-set, which every node certifies and applies whole, ` +
        'holding the writes ordered after it meanwhile.',
    );
  }
  return { facts, refusals };
}

/**
 * The run's DDL, each a line: tables created, columns added, AUTO_INCREMENT raised, renames at cutover, and
 * eventshift's own tables.
 */
function ddlLines(plan: Plan): string[] {
  return [
    ...plan.tables.create.map((t) => `CREATE TABLE ${quoteId(t)}`),
    ...plan.idSpace.flatMap((s) =>
      s.raiseAutoIncrementTo === null ? [] : [`ALTER TABLE ${quoteId(s.table)} AUTO_INCREMENT = ${s.raiseAutoIncrementTo}`],
    ),
    ...plan.tables.alter.map((a) => `ALTER TABLE ${quoteId(a.table)}: ${a.change}`),
    // A column renamed at cutover is among the alterations already.
    ...plan.tables.rename.filter((r) => r.kind === 'table').map((r) => `RENAME TABLE ${quoteId(r.from)} TO ${quoteId(r.to)} (cutover)`),
    "CREATE TABLE of eventshift's own tables where missing (bookkeeping, eventshift_locks, a lookup's work table)",
  ];
}

interface TableFacts {
  name: string;
  engine: string;
  primaryKey: boolean;
  /** The run writes, alters or renames it (it is backed up, and restore may rewrite it). */
  written: boolean;
}

/** The tables the run reads or writes that exist now (not views, not a CSV source's temporary staging table). */
async function tablesOf(db: Db, plan: Plan): Promise<TableFacts[]> {
  const written = new Set(plan.tables.backup);
  const read = [
    ...plan.sources.filter((s) => !s.csv).map((s) => s.table),
    ...plan.lookups.flatMap((l) => [l.table, ...l.sources.map((s) => s.table), ...(l.everyRowOf ?? []).map((e) => e.table)]),
    ...plan.firedTriggers.flatMap((t) => t.names),
  ];
  const names = [...new Set([...written, ...read])];
  if (names.length === 0) return [];
  const rows = await db.query<{ name: string; engine: string | null; pk: number | string }>(
    `SELECT t.TABLE_NAME AS name, t.ENGINE AS engine,
            EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c
                     WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY') AS pk
       FROM information_schema.TABLES t
      WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_NAME IN (?)
      ORDER BY t.TABLE_NAME`,
    [names],
  );
  return rows.map((r) => ({ name: r.name, engine: r.engine ?? '', primaryKey: Number(r.pk) === 1, written: written.has(r.name) }));
}

/**
 * Why a table in an engine Galera does not replicate is refused, and how to convert it. ALTER TABLE ... ENGINE=InnoDB
 * alone runs on every node (TOI) against each node's own copy: the node with the rows gets an InnoDB table with them,
 * the others an empty one (measured on a 3-node cluster). Copying the rows into an InnoDB table on the node that has
 * them replicates them.
 */
async function engineRefusal(db: Db, node: string, t: TableFacts): Promise<string> {
  const [count] = await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${quoteId(t.name)}`);
  const [q, copy, old] = [quoteId(t.name), quoteId(`${t.name}_innodb`), quoteId(`${t.name}_${t.engine.toLowerCase()}`)];
  return (
    `${q} is a ${t.engine} table: Galera replicates only InnoDB, so its rows are on the node they were written through ` +
    `and nowhere else (this node, ${node}, has ${Number(count?.n)} of them), and a run through another node, or resumed ` +
    'there, would read other rows or none. Before anything else, on the node that holds its rows, copy them into an ' +
    `InnoDB table, whose rows the cluster replicates: CREATE TABLE ${copy} LIKE ${q}; ALTER TABLE ${copy} ENGINE=InnoDB; ` +
    `INSERT INTO ${copy} SELECT * FROM ${q}; RENAME TABLE ${q} TO ${old}, ${copy} TO ${q}; DROP TABLE ${old}; ` +
    `(ALTER TABLE ${q} ENGINE=InnoDB alone converts each node's own copy and leaves the other nodes' empty.) ` +
    'Then plan again.'
  );
}

function primaryKeyRefusal(table: string): string {
  return (
    `${quoteId(table)} has no primary key, and the run writes it: Galera certifies and applies each row it changes ` +
    'by its primary key. Without one, the other nodes find each row by scanning the table, its DELETEs (rollback, ' +
    'restore) are not supported, and its rows may differ in order between nodes. Give it a primary key, then plan again.'
  );
}

/** What the run writes in one statement, whole: a projection's fill, a step's lineage; with its rows. */
function wholeStatements(plan: Plan): Array<{ what: string; rows: number; projection: boolean }> {
  return [
    ...plan.projections.map((p) => ({
      what: `Projection ${p.name} (its UPDATE of ${quoteId(p.table)})`,
      rows: p.tableRows,
      projection: true,
    })),
    ...plan.steps
      .filter((s) => s.ids.strategy !== 'offset')
      .map((s) => ({
        what: `Step ${s.name}'s lineage (eventshift_lineage, numbered ${s.ids.strategy})`,
        rows: s.sourceRows,
        projection: false,
      })),
  ];
}
