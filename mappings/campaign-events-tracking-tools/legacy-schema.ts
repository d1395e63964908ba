/**
 * The legacy MediaWiki CampaignEvents table the `campaign-events-tracking-tools` mapping reads, as it was before the
 * tracking-tool columns moved out to `ce_tracking_tools`: MediaWiki's style (binary strings, `binary(14)` timestamps in
 * UTC), plus the three tracking-tool columns. `event_tracking_tool_last_sync` is the exception MediaWiki's own
 * timestamps are not: a DATETIME in the wiki's local time (see `legacySyncZone` in index.ts), as the legacy sync job
 * wrote it. The fixture generator creates it from this statement; the docs and tests quote it.
 */
export const campaignEventsDdl = `CREATE TABLE \`campaign_events\` (
  \`event_id\` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  \`event_name\` VARBINARY(255) NOT NULL,
  \`event_page_namespace\` INT UNSIGNED NOT NULL,
  \`event_page_title\` VARBINARY(255) NOT NULL,
  \`event_page_wiki\` VARBINARY(64) NOT NULL,
  \`event_status\` INT UNSIGNED NOT NULL,
  \`event_timezone\` VARBINARY(64) NOT NULL,
  \`event_start_utc\` BINARY(14) NOT NULL,
  \`event_end_utc\` BINARY(14) NOT NULL,
  \`event_tracking_tool_id\` INT UNSIGNED NULL,
  \`event_tracking_tool_event_id\` BLOB NULL,
  \`event_tracking_tool_last_sync\` DATETIME NULL,
  \`event_created_at\` BINARY(14) NOT NULL,
  \`event_deleted_at\` BINARY(14) NULL,
  PRIMARY KEY (\`event_id\`),
  UNIQUE KEY \`event_page\` (\`event_page_wiki\`, \`event_page_namespace\`, \`event_page_title\`)
) ENGINE=InnoDB DEFAULT CHARSET=binary`;
