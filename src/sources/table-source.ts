import type { Source } from './source.ts';

/**
 * A source read from its table, as it is: planning counts its rows and key range like any source's, and the run has
 * nothing to prepare, check or undo for it (verification checks the tables the run wrote, and those it backed up).
 */
export class TableSource implements Source {
  readonly staged = false;

  constructor(
    readonly alias: string,
    readonly table: string,
  ) {}
}
