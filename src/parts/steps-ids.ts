import type { Db } from '../db/connection.ts';
import { tableName } from '../db/ddl.ts';
import { alignUp, lowestFreeBlock, type IdBlock } from '../db/id-placement.ts';
import { integerMax } from '../db/introspect.ts';
import { usageError } from '../errors.ts';
import type { IdStrategy, Mapping } from '../mapping/define.ts';
import type { Plan, PlanOverrides, SourcePlan, StepPlan } from '../plan/plan-data.ts';
import type { Describe } from './part.ts';
import { formatCount } from '../format.ts';

/** The steps whose IDs assignIds fixes, and what it reads to fix them. */
export interface IdsToAssign {
  mapping: Mapping;
  steps: StepPlan[];
  sources: readonly SourcePlan[];
  overrides: PlanOverrides;
  describe: Describe;
}

/** A --start that names a step the mapping does not have is a usage error, found before the plan counts anything. */
export function refuseUnknownStarts(mapping: Mapping, overrides: PlanOverrides): void {
  for (const name of Object.keys(overrides.start ?? {})) {
    if (!(name in mapping.steps))
      throw usageError(
        `--start names a step ${name} that mapping ${mapping.name} does not have (steps: ${Object.keys(mapping.steps).join(', ')}).`,
      );
  }
}

/**
 * Fixes each step's IDs: offset steps from their rule (or a --start), dense steps one block after another, the
 * chronological steps one shared block; blocks without a given start go to the lowest free gap that fits them.
 */
export async function assignIds(db: Db, planned: IdsToAssign): Promise<void> {
  const { mapping, steps, overrides } = planned;
  const strategyOf = (name: string): IdStrategy => {
    const o = overrides.ids;
    if (o === 'auto') return 'dense';
    return o ?? mapping.steps[name]!.ids.strategy;
  };
  const taken: IdBlock[] = [];
  for (const step of steps) if (strategyOf(step.name) === 'offset') assignOffset(planned, step, taken);
  const place = placer(db, planned, taken);
  await assignDense(planned, { steps: steps.filter((s) => strategyOf(s.name) === 'dense'), place, taken });
  await assignChronological(planned, { steps: steps.filter((s) => strategyOf(s.name) === 'chronological'), place, taken });
}

/** A step's first ID as the command line (--start) or the mapping gives it; none under `--ids auto`. */
const startOf = ({ mapping, overrides }: IdsToAssign, name: string): number | undefined =>
  overrides.start?.[name] ?? (overrides.ids === 'auto' ? undefined : mapping.steps[name]!.ids.start);

/** An offset step's IDs: its legacy keys plus the offset (the mapping's, or one that makes --start its first ID). */
function assignOffset(planned: IdsToAssign, step: StepPlan, taken: IdBlock[]): void {
  const { mapping } = planned;
  const def = mapping.steps[step.name]!;
  const source = planned.sources.find((s) => s.alias === step.from)!;
  const stats = { rows: source.rows, minKey: source.minKey ?? 0, maxKey: source.maxKey ?? 0 };
  const start = startOf(planned, step.name);
  if (def.ids.offset === undefined && start === undefined) {
    throw usageError(`Step ${step.name} has no ids.offset in mapping ${mapping.name}, so --ids offset needs --start ${step.name}=N.`);
  }
  const offset =
    start !== undefined ? start - stats.minKey : typeof def.ids.offset === 'function' ? def.ids.offset(stats) : def.ids.offset!;
  if (!Number.isSafeInteger(offset))
    throw usageError(`Mapping ${mapping.name}, step ${step.name}: the ID offset ${offset} is not an integer.`);
  step.ids = { strategy: 'offset', offset };
  step.range =
    source.minKey === null || source.maxKey === null
      ? null
      : { table: idTableOf(mapping, step.name), first: source.minKey + offset, last: source.maxKey + offset };
  if (step.range) taken.push(step.range);
}

/** Finds the first ID of a block of `size` for a group of steps: the lowest free gap of their ID table that fits it. */
type Place = (group: StepPlan[], size: number) => Promise<number>;

/** Places blocks in the ID table of a group's first step, avoiding the blocks `taken` so far. */
function placer(db: Db, { mapping, describe }: IdsToAssign, taken: readonly IdBlock[]): Place {
  return async (group, size) => {
    const first = group[0]!;
    const table = idTableOf(mapping, first.name);
    const info = await describe(table);
    const key = first.writes.find((w) => w.table === table)!.keyColumn;
    const keyInfo = info?.columns.find((c) => c.name === key);
    const align = mapping.steps[first.name]!.ids.align ?? 100;
    if (!info) return alignUp(1, align);
    const start = await lowestFreeBlock(
      db,
      { table, key, size },
      {
        align,
        avoid: taken,
        autoIncrement: info.autoIncrement,
        columnMax: keyInfo ? integerMax(keyInfo) : 2n ** 63n - 1n,
      },
    );
    if (start === null)
      throw usageError(
        `No free block of ${formatCount(size)} IDs fits in ${table}.${key} below its maximum; widen the column or free IDs.`,
      );
    return start;
  };
}

/** Steps of one strategy, and how their blocks are placed. */
interface IdGroup {
  steps: StepPlan[];
  place: Place;
  taken: IdBlock[];
}

/** Dense steps: one block after another, each from its --start or where the previous ended, else placed with the rest. */
async function assignDense(planned: IdsToAssign, { steps: dense, place, taken }: IdGroup): Promise<void> {
  let cursor: number | null = null;
  for (const [i, step] of dense.entries()) {
    let start: number | null = startOf(planned, step.name) ?? cursor;
    if (start === null)
      start = await place(
        dense.slice(i),
        dense.slice(i).reduce((n, s) => n + s.sourceRows, 0),
      );
    step.ids = { strategy: 'dense', start };
    step.range =
      step.sourceRows === 0 ? null : { table: idTableOf(planned.mapping, step.name), first: start, last: start + step.sourceRows - 1 };
    if (step.range) taken.push(step.range);
    cursor = start + step.sourceRows;
  }
}

/** The chronological steps: one block they share, from the first --start given, else placed. */
async function assignChronological(planned: IdsToAssign, { steps: chronological, place }: IdGroup): Promise<void> {
  if (chronological.length === 0) return;
  const { mapping } = planned;
  const size = chronological.reduce((n, s) => n + s.sourceRows, 0);
  const given = chronological.map((s) => startOf(planned, s.name)).find((n) => n !== undefined);
  const start = given ?? (size === 0 ? 1 : await place(chronological, size));
  for (const step of chronological) {
    step.ids = { strategy: 'chronological', start, orderBy: mapping.steps[step.name]!.ids.orderBy ?? 'WhenStart' };
    step.range = size === 0 ? null : { table: idTableOf(mapping, step.name), first: start, last: start + size - 1 };
  }
}

/** The lowest free block of the ID table that holds every step's rows, numbered densely one step after another. */
export async function suggestPlacement(db: Db, mapping: Mapping, steps: StepPlan[], describe: Describe): Promise<Plan['suggestion']> {
  const first = steps.find((s) => s.sourceRows > 0);
  if (!first) return null;
  const table = idTableOf(mapping, first.name);
  const info = await describe(table);
  if (!info) return null;
  const key = first.writes.find((w) => w.table === table)!.keyColumn;
  const keyInfo = info.columns.find((c) => c.name === key);
  const size = steps.reduce((n, s) => n + s.sourceRows, 0);
  const start = await lowestFreeBlock(
    db,
    { table, key, size },
    {
      align: mapping.steps[first.name]!.ids.align ?? 100,
      avoid: [],
      autoIncrement: info.autoIncrement,
      columnMax: keyInfo ? integerMax(keyInfo) : 2n ** 63n - 1n,
    },
  );
  if (start === null) return null;
  return { args: `--ids dense --start ${first.name}=${start}`, first: start, last: start + size - 1 };
}

/** The table a step's IDs are reserved in (its `ids.table` target). */
const idTableOf = (mapping: Mapping, step: string) => tableName(mapping.targets[mapping.steps[step]!.ids.table]!);
