/**
 * The CampaignEvents tables as the extension defines them, for the fixture and the tests: MediaWiki's
 * db_patches/mysql/tables-generated.sql of wikimedia/mediawiki-extensions-CampaignEvents, with `/*_*\/` empty and
 * `/*$wgDBTableOptions*\/` as MediaWiki's default (`ENGINE=InnoDB, DEFAULT CHARSET=binary`).
 *
 * `campaign_events` is the table before the tracking tools moved out (as of commit 7ffd7d2e, 2023-04-06, "Add new
 * ce_tracking_tools table", and its parent): two tracking-tool columns, `event_tracking_tool_id INT DEFAULT NULL` and
 * `event_tracking_tool_event_id BLOB DEFAULT NULL`, which commit 227424a1 (2023-05-25) dropped. It never had a column
 * for the time of a sync.
 */
export const campaignEventsDdl = `CREATE TABLE campaign_events (
  event_id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  event_name VARBINARY(255) NOT NULL,
  event_page_namespace INT UNSIGNED NOT NULL,
  event_page_title VARBINARY(255) NOT NULL,
  event_page_wiki VARBINARY(64) NOT NULL,
  event_page_prefixedtext VARBINARY(512) NOT NULL,
  event_chat_url BLOB NOT NULL,
  event_tracking_tool_id INT DEFAULT NULL,
  event_tracking_tool_event_id BLOB DEFAULT NULL,
  event_status INT NOT NULL,
  event_timezone VARBINARY(64) NOT NULL,
  event_start_local BINARY(14) NOT NULL,
  event_start_utc BINARY(14) NOT NULL,
  event_end_local BINARY(14) NOT NULL,
  event_end_utc BINARY(14) NOT NULL,
  event_type VARBINARY(255) NOT NULL,
  event_meeting_type INT NOT NULL,
  event_meeting_url BLOB NOT NULL,
  event_created_at BINARY(14) NOT NULL,
  event_last_edit BINARY(14) NOT NULL,
  event_deleted_at BINARY(14) DEFAULT NULL,
  UNIQUE INDEX event_page (
    event_page_wiki, event_page_namespace,
    event_page_title
  ),
  INDEX event_id_deleted (event_id, event_deleted_at),
  INDEX event_timezone_id (event_timezone, event_id),
  PRIMARY KEY(event_id)
) ENGINE=InnoDB, DEFAULT CHARSET=binary`;

/** `ce_tracking_tools` as commit 7ffd7d2e added it: what schema.ts declares, for tests that compare the two. */
export const ceTrackingToolsDdl = `CREATE TABLE ce_tracking_tools (
  cett_id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  cett_event BIGINT UNSIGNED NOT NULL,
  cett_tool_id INT NOT NULL,
  cett_tool_event_id VARBINARY(512) NOT NULL,
  cett_sync_status INT NOT NULL,
  cett_last_sync BINARY(14) DEFAULT NULL,
  UNIQUE INDEX cett_event_tool_teid (
    cett_event, cett_tool_id, cett_tool_event_id
  ),
  PRIMARY KEY(cett_id)
) ENGINE=InnoDB, DEFAULT CHARSET=binary`;
