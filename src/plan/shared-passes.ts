import type { Db } from '../db/connection.ts';
import type { AskPass } from '../parts/part.ts';

interface Pass {
  from: string;
  columns: string[];
  /** Each asker's condition; null once one asker reads every row. */
  wheres: string[] | null;
  askers: Array<{ first: number; count: number; resolve: (values: unknown[]) => void; reject: (error: unknown) => void }>;
}

/**
 * The passes of one plan: `ask` while the plan's pieces are made (before any runs), then `pieces()` gives one piece of
 * work per FROM clause, to run before the pieces that wait for their answers (then no piece waits for a pass that has
 * not started, on any number of connections). A pass that fails fails every asker's answer with its error.
 */
export function sharedPasses(): { ask: AskPass; pieces(): Array<(on: Db) => Promise<void>> } {
  const passes = new Map<string, Pass>();
  let closed = false;
  return {
    ask(request) {
      if (closed) throw new Error('A shared pass was asked for after the passes started.');
      let pass = passes.get(request.from);
      if (!pass) passes.set(request.from, (pass = { from: request.from, columns: [], wheres: [], askers: [] }));
      const first = pass.columns.length;
      pass.columns.push(...request.columns);
      if (request.where === undefined) pass.wheres = null;
      else pass.wheres?.push(request.where);
      const answer = new Promise<unknown[]>((resolve, reject) =>
        pass.askers.push({ first, count: request.columns.length, resolve, reject }),
      );
      // An asker that never waits (its piece did not start after another failed) leaves no unhandled rejection.
      answer.catch(() => undefined);
      return answer;
    },
    pieces() {
      closed = true;
      return [...passes.values()].map((pass) => async (on: Db) => {
        try {
          const where = pass.wheres === null ? '' : ` WHERE ${pass.wheres.map((w) => `(${w})`).join(' OR ')}`;
          const select = pass.columns.map((c, i) => `${c} AS es_p${i}`).join(', ');
          const [row = {}] = await on.query<Record<string, unknown>>(`SELECT ${select} FROM ${pass.from}${where}`);
          const values = pass.columns.map((_, i) => row[`es_p${i}`] ?? null);
          for (const a of pass.askers) a.resolve(values.slice(a.first, a.first + a.count));
        } catch (error) {
          for (const a of pass.askers) a.reject(error);
          throw error;
        }
      });
    },
  };
}
