import { col, defineMapping, dropColumn, id, lit } from '../../src/mapping/define.ts';
import { aliasesBeside } from '../../src/mapping/aliases.ts';
import { ceTrackingTools, toolEventIdBytes } from './schema.ts';

/**
 * MediaWiki CampaignEvents: an event's tracking tool moves out of two columns of `campaign_events` into its own table,
 * `ce_tracking_tools`, read as the extension read the old columns while it could read both schemas (EventStore at
 * commit 7ffd7d2e): an event whose `event_tracking_tool_id` is falsy (NULL or 0) has no tool; otherwise its one tool is
 * (`event_tracking_tool_id`, `event_tracking_tool_event_id`), sync status "unknown" and never synced. `eventshift
 * finalize` later drops the two legacy columns. See README.md beside this file.
 */

/** TrackingToolUpdater::syncStatusToDB( TrackingToolAssociation::SYNC_STATUS_UNKNOWN ): the DB value of "unknown". */
export const syncStatusUnknown = 1;

/** PHP's truthiness of the legacy tool id, as EventStore tested it: NULL and 0 are no tool. */
const hasTool = '(COALESCE({{ev.event_tracking_tool_id}}, 0) <> 0)';

export default defineMapping({
  name: 'campaign-events-tracking-tools',
  description: 'CampaignEvents tracking-tool columns of campaign_events -> ce_tracking_tools (sync status unknown, never synced)',
  sources: { ev: 'campaign_events' },
  aliases: aliasesBeside(import.meta.url),
  targets: { tools: ceTrackingTools },
  steps: {
    trackingTools: {
      description: 'every event with a tracking tool (its tool id neither NULL nor 0): its ce_tracking_tools row',
      from: 'ev',
      where: hasTool,
      // cett_id = event_id: one row per event at most, so the event's own key is free to reuse, and the lineage is the rule.
      ids: { table: 'tools', strategy: 'offset', offset: 0 },
      rows: {
        tools: {
          cett_id: id,
          cett_event: col('ev.event_id'),
          cett_tool_id: col('ev.event_tracking_tool_id'),
          cett_tool_event_id: col('ev.event_tracking_tool_event_id'),
          cett_sync_status: lit(syncStatusUnknown),
          // The legacy table records no sync: never synced, as the extension read the old columns.
          cett_last_sync: lit(null),
        },
      },
    },
  },
  problems: {
    toolEventIdTooLong: {
      description: `tracking tool whose tool event id is longer than the ${toolEventIdBytes} bytes cett_tool_event_id holds`,
      severity: 'fatal',
      from: 'ev',
      where: `${hasTool} AND LENGTH({{ev.event_tracking_tool_event_id}}) > ${toolEventIdBytes}`,
      consequence:
        `Nothing is written: it would not fit VARBINARY(${toolEventIdBytes}). Shorten the tool event id in ` +
        "campaign_events, or clear the event's tool, and plan again.",
    },
    toolWithoutEventId: {
      description: 'tracking tool with no tool event id (NULL)',
      severity: 'fatal',
      from: 'ev',
      where: `${hasTool} AND {{ev.event_tracking_tool_event_id}} IS NULL`,
      consequence:
        'Nothing is written: cett_tool_event_id cannot be NULL, and the extension cannot read such an event either. ' +
        'Set its tool event id, or clear its tool id, and plan again.',
    },
    eventIdWithoutTool: {
      description: 'tool event id with no tracking tool (tool id NULL or 0)',
      severity: 'warning',
      from: 'ev',
      where: `NOT ${hasTool} AND {{ev.event_tracking_tool_event_id}} IS NOT NULL`,
      consequence:
        'no ce_tracking_tools row, as the extension read it (no tool); after finalize the value exists only in the ' + "run's backup",
    },
  },
  finalize: [dropColumn('campaign_events', 'event_tracking_tool_id'), dropColumn('campaign_events', 'event_tracking_tool_event_id')],
});
