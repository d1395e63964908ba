import { bigint, binary, int, mysqlTable, uniqueIndex, varbinary } from 'drizzle-orm/mysql-core';

/** The bytes `cett_tool_event_id` holds (VARBINARY(512)); a longer legacy tool event id is refused by the plan. */
export const toolEventIdBytes = 512;

/**
 * CampaignEvents' `ce_tracking_tools`, as the extension defines it (commit 7ffd7d2e; see legacy-schema.ts): one row
 * per (event, tool, tool event id). Created by the run when missing. `cett_sync_status` holds TrackingToolUpdater's DB
 * values (1 unknown, 2 synced, 3 failed); `cett_last_sync` is a MediaWiki timestamp, or NULL if never synced.
 */
export const ceTrackingTools = mysqlTable(
  'ce_tracking_tools',
  {
    cett_id: bigint('cett_id', { mode: 'bigint', unsigned: true }).autoincrement().primaryKey(),
    cett_event: bigint('cett_event', { mode: 'bigint', unsigned: true }).notNull(),
    cett_tool_id: int('cett_tool_id').notNull(),
    cett_tool_event_id: varbinary('cett_tool_event_id', { length: toolEventIdBytes }).notNull(),
    cett_sync_status: int('cett_sync_status').notNull(),
    cett_last_sync: binary('cett_last_sync', { length: 14 }),
  },
  (t) => [uniqueIndex('cett_event_tool_teid').on(t.cett_event, t.cett_tool_id, t.cett_tool_event_id)],
);
