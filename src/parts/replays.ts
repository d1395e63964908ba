import { connectAgain } from '../db/row-stream.ts';
import { replayChecks } from './replay-checks.ts';
import type { Part } from './part.ts';

/**
 * The mapping's replays: the legacy state computed again from the events and compared with the legacy table. A check
 * only: it writes nothing, exports nothing and has nothing to undo.
 */
export const replaysPart: Part = {
  kind: 'replays',
  checks: ({ db, mapping, renames, limit }) =>
    Object.entries(mapping.replays ?? {}).map(([name, replay]) => ({
      // The longest check (its events query reads every event): started first, on connections of its own.
      weight: Object.keys(replay.compare).length,
      first: true,
      run: () => replayChecks({ connectSide: () => connectAgain(db), mapping, renames, name, replay, limit }),
    })),
};
