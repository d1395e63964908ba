export { createBackup, type CreateBackupOptions } from './create-backup.ts';
export type { BackupProgress } from './progress.ts';
export { checkBackup, type BackupCheck, type BackupCheckStatus, type BackupFileCheck } from './check-backup.ts';
export { listBackups, type BackupSummary } from './list-backups.ts';
export { restoreBackup, type RestoreBackupOptions, type RestoreResult, type RestoredTable } from './restore-backup.ts';
export type { RestoreMethod } from './stage-tables.ts';
export { restoreUnfinished, unfinishedRestores, RESTORE_JOURNAL_TABLE, type RestoreJournal, type RetiredTable } from './restore-journal.ts';
export {
  readManifest,
  parseManifest,
  isBackupId,
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  MANIFEST_FILE,
  ROW_ENCODING,
  type BackupColumn,
  type BackupFile,
  type BackupManifest,
  type BackupTableEntry,
  type BackupTrigger,
  type RowsEncoding,
} from './manifest.ts';
export { encodeRow, decodeRow, decodeStoredLine, type ColumnEncoding } from './row-encoding.ts';
export { dropTableIfExists } from './drop-table.ts';
