/** Where new backups go when --backup-dir is not given, and where an unrecorded backup is looked for. */
export const DEFAULT_BACKUP_DIR = './backups';

/** The folder backups are written to: the one given, else DEFAULT_BACKUP_DIR. */
export const backupDirOrDefault = (given: string | undefined): string => given ?? DEFAULT_BACKUP_DIR;
