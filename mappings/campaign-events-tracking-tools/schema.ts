import { bigint, binary, customType, int, mysqlTable, tinyint, uniqueIndex } from 'drizzle-orm/mysql-core';

const blob = customType<{ data: Buffer }>({ dataType: () => 'blob' });

/**
 * MediaWiki CampaignEvents' tracking tools of an event: one row per (event, tool). Created by the run when missing.
 * `cett_sync_status` holds TrackingToolUpdater's DB values (1 unknown, 2 synced, 3 failed); `cett_last_sync` is a
 * MediaWiki timestamp (`yyyyMMddHHmmss`, UTC) or NULL.
 */
export const ceTrackingTools = mysqlTable(
  'ce_tracking_tools',
  {
    cett_id: bigint('cett_id', { mode: 'bigint', unsigned: true }).autoincrement().primaryKey(),
    cett_event: bigint('cett_event', { mode: 'bigint', unsigned: true }).notNull(),
    cett_tool_id: int('cett_tool_id', { unsigned: true }).notNull(),
    cett_tool_event_id: blob('cett_tool_event_id').notNull(),
    cett_sync_status: tinyint('cett_sync_status', { unsigned: true }).notNull(),
    cett_last_sync: binary('cett_last_sync', { length: 14 }),
  },
  (t) => [uniqueIndex('cett_event_tool').on(t.cett_event, t.cett_tool_id)],
);
