/**
 * eventshift as a library: each command is a function returning a typed result; the CLI only renders it.
 */
export { defineMapping, col, lit, sql, id, code, renameTable, renameColumn, dropColumn } from './mapping/define.ts';
export type {
  Mapping,
  MappingDefinition,
  StepDefinition,
  ColumnExpr,
  CodeExpr,
  CodeValue,
  ProjectionDefinition,
  ProblemDefinition,
  CutoverChange,
  FinalizeChange,
  AcceptedEffects,
} from './mapping/define.ts';
export { loadMapping } from './mapping/load.ts';
export { aliasesBeside } from './mapping/aliases.ts';
export { bindCsvSources } from './mapping/bind-sources.ts';
export type { CsvSourceDefinition, CsvColumn, SourceDefinition } from './csv/declaration.ts';
export { plan, type PlanOptions, type PlanResult } from './run/plan-command.ts';
export type { Plan } from './plan/plan-data.ts';
export { migrate, type MigrateOptions, type MigrateResult } from './run/migrate.ts';
export type { Hold } from './run/throttle.ts';
export type { ThrottleSignal } from './run/throttle-signals.ts';
export type { WatchOptions } from './run/run-signals.ts';
export { verify, type VerifyOptions, type VerifyResult } from './run/verify-run.ts';
export { restoreMapping, type RestoreMappingOptions, type RestoreMappingResult } from './run/restore.ts';
export { finalize, type FinalizeOptions, type FinalizeResult } from './run/finalize.ts';
export { createBackup, checkBackup, listBackups, restoreBackup, readManifest } from './backup/index.ts';
export type { Verification, CheckResult } from './verify/verification.ts';
export { EventshiftError, exitCodeFor, type ErrorKind } from './errors.ts';
export { connect, type Db } from './db/connection.ts';
