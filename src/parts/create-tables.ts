import { createTableSql, tableName } from '../db/ddl.ts';
import { tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { declaredTable } from '../mapping/lookup.ts';
import { dropTableSql } from '../mapping/schema-statements.ts';
import { safeStem, type StemmedPatch } from '../export/patch-file.ts';
import { journaled, privilegeNeeds, type Part, type PatchScope } from './part.ts';
import { formatCount } from '../format.ts';

/** The tables the run creates (plan.tables.create): created as declared, dropped on undo unless others wrote to them. */
export const createTablesPart: Part = {
  kind: 'create',
  // Every target is backed up (a table that exists already keeps its rows as they were); those missing are created.
  plan: ({ mapping }) => [
    async (_on, describe) => {
      const targets = Object.values(mapping.targets).map((t) => tableName(t));
      const create: string[] = [];
      for (const table of targets) if (!(await describe(table))) create.push(table);
      return { tables: { backup: targets, create } };
    },
  ],
  async write(w) {
    for (const table of w.plan.tables.create) {
      await journaled(w, `create ${table}`, async () => {
        if (await tableExists(w.db, table)) return;
        await w.db.execute(createTableSql(declaredTable(w.mapping, table)));
      });
    }
  },
  patches: (p) => ({ schema: createTableFiles(p) }),
  privileges: ({ plan }) => [
    ...privilegeNeeds(['CREATE'], plan.tables.create, { for: 'write stage: CREATE TABLE of a target the database lacks', when: 'run' }),
    ...privilegeNeeds(['DROP'], plan.tables.create, { for: 'rollback: DROP TABLE of the tables the run created', when: 'rollback' }),
  ],
  async undo({ db, plan, actions, keptTables }) {
    for (const table of plan.tables.create) {
      if (!(await tableExists(db, table))) continue;
      const [row] = await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quoteId(table)}`);
      const rows = Number(row!.n);
      if (rows === 0) {
        await db.execute(dropTableSql(table));
        actions.push(`dropped ${table}, which the run had created`);
      } else {
        keptTables.push({ table, rows });
        actions.push(`kept ${table}, created by the run: it holds ${formatCount(rows)} row(s) written by others`);
      }
    }
  },
};

function createTableFiles({ mapping, plan }: PatchScope): StemmedPatch[] {
  return plan.tables.create.map((table) => ({
    kind: 'table',
    stem: `patch-${safeStem(table)}`,
    table,
    description: `create ${table}`,
    expectedRows: 0,
    locks: 'none on existing tables',
    statements: [createTableSql(declaredTable(mapping, table))],
    rollback: [dropTableSql(table)],
  }));
}
