import { autoIncrementPart } from './auto-increment.ts';
import { createTablesPart } from './create-tables.ts';
import { finalizePart } from './finalize.ts';
import { lookupsPart } from './lookups.ts';
import type { Part, PartKind, ReportSection } from './part.ts';
import { preRunRowsPart } from './pre-run-rows.ts';
import { projectionsPart } from './projections.ts';
import { renamesPart } from './renames.ts';
import { replaysPart } from './replays.ts';
import { sourcesPart } from './sources.ts';
import { stepsPart } from './steps.ts';

/**
 * Every part of a run, in the order migrate writes them: sources made readable (CSV files loaded), tables created,
 * AUTO_INCREMENT raised, steps written, projections filled (a projection goes after the steps it may be written
 * beside), lookups written; then the cutover's renames (the cutover stage's), finalize's later drops (only planned
 * here), and the parts that only check or compare: the pre-run rows and the replays. Each part does nothing for a run
 * that has none of its kind. Restore asks them in this order too (their own rows, their work tables), and so does the
 * privilege check (the privileges their statements need). A new kind is a
 * module of its own plus its line here, and in planOrder, verifyOrder, undoOrder and reportOrder when it plans,
 * checks, undoes or reports.
 */
export function partsOf(): readonly Part[] {
  return parts;
}

// A tuple, each part with its own type, so that ReportSections can read the parts' report sections' types.
const parts = [
  sourcesPart,
  createTablesPart,
  autoIncrementPart,
  stepsPart,
  projectionsPart,
  lookupsPart,
  renamesPart,
  finalizePart,
  preRunRowsPart,
  replaysPart,
] as const satisfies readonly Part[];

/**
 * The order the parts' planning joins the plan in (each list of the plan, tables backed up, created and altered,
 * findings and refusals, keeps it): the tables the run creates, the steps, the projections, the cutover's renames,
 * finalize's later drops, the lookups.
 */
export const planOrder: readonly PartKind[] = ['create', 'steps', 'projections', 'renames', 'finalize', 'lookups'];

/**
 * The order verify lists the checks in (the report's order): the steps' content and numbering, the CSV sources, the
 * rows around the run's, the projections, the lookups, then the replays.
 */
export const verifyOrder: readonly PartKind[] = ['steps', 'sources', 'preRunRows', 'projections', 'lookups', 'replays'];

/**
 * The order of the parts' sections in the report, which stand between the verdict and the checks (in report.json,
 * between `generatedAt` and `checks`): the steps (source rows, expected, written), then the lookups.
 */
export const reportOrder: readonly PartKind[] = ['steps', 'lookups'];

/** The parts' report sections, in reportOrder. */
export function reportSections(): ReportSection[] {
  return inOrder(parts, reportOrder, (p) => p.report !== undefined).flatMap((p) => (p.report ? [p.report] : []));
}

/**
 * The parts' fields of report.json, each typed as its part's section gives it: `{ steps: ReportStep[]; lookups:
 * ReportLookup[] }`. It reads the parts' own types, so a part that reports is declared `satisfies Part` (typed
 * `: Part`, its section is unknown).
 */
export type ReportSections = { [S in SectionOf<(typeof parts)[number]> as S['field']]: ReturnType<S['data']> };

type SectionOf<P> = P extends { report: infer S extends ReportSection } ? S : never;

/**
 * The order rollback undoes the parts in. It is not the write order reversed: it is the order rollback has always
 * had, kept so that its actions come as they did: renames back, added columns dropped, the steps' rows deleted, the
 * lookups undone, then the pre-run rows compared with the backup, and only then what the run created removed (its
 * tables when empty, AUTO_INCREMENT set back, CSV staging tables dropped).
 */
export const undoOrder: readonly PartKind[] = [
  'renames',
  'projections',
  'steps',
  'lookups',
  'preRunRows',
  'create',
  'autoIncrement',
  'sources',
];

/** `parts` in the order `order` names their kinds; a part that `has` the verb must be named there (a new kind's reminder). */
export function inOrder(parts: readonly Part[], order: readonly PartKind[], has: (part: Part) => boolean): Part[] {
  const missing = parts.filter((p) => has(p) && !order.includes(p.kind));
  if (missing.length > 0) throw new Error(`no place in the order for part(s) ${missing.map((p) => p.kind).join(', ')}`);
  return order.flatMap((kind) => parts.filter((p) => p.kind === kind));
}
