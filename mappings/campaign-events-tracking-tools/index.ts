import { DateTime } from 'luxon';
import { code, col, defineMapping, dropColumn, id, lit } from '../../src/mapping/define.ts';
import { aliasesBeside } from '../../src/mapping/aliases.ts';
import { ceTrackingTools } from './schema.ts';

/**
 * MediaWiki CampaignEvents: the tracking tool of an event moves out of `campaign_events` into its own table,
 * `ce_tracking_tools`, one row per event whose two tracking-tool columns are both set. `eventshift finalize` later
 * drops the legacy columns. See README.md beside this file.
 */

/** The zone whose wall time `event_tracking_tool_last_sync` holds: the wiki's $wgLocaltimezone. Change it for your wiki. */
export const legacySyncZone = 'Europe/Berlin';

/** TrackingToolUpdater's DB value for TrackingToolAssociation::SYNC_STATUS_UNKNOWN. */
export const syncStatusUnknown = 1;

/**
 * A legacy local DATETIME as a MediaWiki timestamp (`yyyyMMddHHmmss`, UTC); NULL for NULL and for dates that are not
 * real (zero dates). Wall times at DST changes are read as luxon reads them: one the zone skips (the spring-forward
 * hour) as one hour later (`2023-03-26 02:30:00` -> `20230326013000`), one it repeats (the fall-back hour) as its
 * second occurrence, standard time (`2023-10-29 02:30:00` -> `20231029013000`). The legacy column cannot say which was
 * meant; the mapping's tests pin this rule.
 */
export function mediawikiTimestamp(local: unknown): string | null {
  if (typeof local !== 'string') return null;
  const time = DateTime.fromSQL(local, { zone: legacySyncZone });
  return time.isValid ? time.toUTC().toFormat('yyyyMMddHHmmss') : null;
}

const bothSet = '{{ev.event_tracking_tool_id}} IS NOT NULL AND {{ev.event_tracking_tool_event_id}} IS NOT NULL';

export default defineMapping({
  name: 'campaign-events-tracking-tools',
  description: 'CampaignEvents tracking-tool columns of campaign_events -> ce_tracking_tools (last sync via luxon)',
  sources: { ev: 'campaign_events' },
  aliases: aliasesBeside(import.meta.url),
  targets: { tools: ceTrackingTools },
  steps: {
    trackingTools: {
      description: 'every event with a tracking tool and its event id: its ce_tracking_tools row',
      from: 'ev',
      where: bothSet,
      // cett_id = event_id: one row per event at most, so the event's own key is free to reuse, and the lineage is the rule.
      ids: { table: 'tools', strategy: 'offset', offset: 0 },
      rows: {
        tools: {
          cett_id: id,
          cett_event: col('ev.event_id'),
          cett_tool_id: col('ev.event_tracking_tool_id'),
          cett_tool_event_id: col('ev.event_tracking_tool_event_id'),
          cett_sync_status: lit(syncStatusUnknown),
          cett_last_sync: code({
            description: `wiki-local DATETIME (${legacySyncZone}) -> MediaWiki timestamp in UTC, by luxon`,
            inputs: { local: col('ev.event_tracking_tool_last_sync') },
            fn: ({ local }) => mediawikiTimestamp(local),
          }),
        },
      },
    },
  },
  problems: {
    toolWithoutEventId: {
      description: 'event with a tracking tool but no tool event id',
      severity: 'warning',
      from: 'ev',
      where: '{{ev.event_tracking_tool_id}} IS NOT NULL AND {{ev.event_tracking_tool_event_id}} IS NULL',
      consequence: 'no ce_tracking_tools row (its tool event id cannot be NULL); the tool id stays in the backup after finalize',
    },
    eventIdWithoutTool: {
      description: 'event with a tool event id but no tracking tool',
      severity: 'warning',
      from: 'ev',
      where: '{{ev.event_tracking_tool_id}} IS NULL AND {{ev.event_tracking_tool_event_id}} IS NOT NULL',
      consequence: 'no ce_tracking_tools row (no tool to file it under); the value stays in the backup after finalize',
    },
    invalidLastSync: {
      description: 'tracking tool whose last sync time is not a real date (zero date)',
      severity: 'warning',
      from: 'ev',
      where: `${bothSet} AND {{ev.event_tracking_tool_last_sync}} IS NOT NULL AND DAYNAME({{ev.event_tracking_tool_last_sync}}) IS NULL`,
      consequence: 'cett_last_sync is NULL (never synced, as far as MediaWiki can tell)',
    },
    emptyToolEventId: {
      description: 'tracking tool whose tool event id is empty',
      severity: 'warning',
      from: 'ev',
      where: `${bothSet} AND LENGTH({{ev.event_tracking_tool_event_id}}) = 0`,
      consequence: 'migrated as it is: an empty cett_tool_event_id',
    },
  },
  finalize: [
    dropColumn('campaign_events', 'event_tracking_tool_id'),
    dropColumn('campaign_events', 'event_tracking_tool_event_id'),
    dropColumn('campaign_events', 'event_tracking_tool_last_sync'),
  ],
});
