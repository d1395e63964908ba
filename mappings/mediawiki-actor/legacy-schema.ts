/**
 * MediaWiki's tables as its maintenance/tables.sql defines them before the actor migration, for the fixture and the
 * tests: `user` and the eight tables whose (user id, user name) pairs migrateActors.php (REL1_31 to REL1_34) turns into
 * actors. Taken from tables.sql as stored in the search index (a version from after REL1_31, which still has every
 * legacy column) with what the actor migration added taken out again: the `*_actor` columns, their indexes, the temp
 * tables, and the `DEFAULT ''` the actor patches gave `ar_user_text`, `img_user_text`, `oi_user_text`, `fa_user_text`
 * and `rc_user_text` (patch-recentchanges-rc_actor.sql, for one). The other columns are as that version has them.
 * `/*_*\/` is empty, `/*$wgDBTableOptions*\/` MediaWiki's default, and ENUM members are quoted with single quotes.
 */
const options = 'ENGINE=InnoDB, DEFAULT CHARSET=binary';
const mediaTypes = "ENUM('UNKNOWN', 'BITMAP', 'DRAWING', 'AUDIO', 'VIDEO', 'MULTIMEDIA', 'OFFICE', 'TEXT', 'EXECUTABLE', 'ARCHIVE', '3D')";
const majorMimes = "ENUM('unknown', 'application', 'audio', 'image', 'text', 'video', 'message', 'model', 'multipart', 'chemical')";

/** Table name -> its CREATE TABLE and CREATE INDEX statements, in tables.sql order. */
export const mediawikiDdl: Record<string, string[]> = {
  user: [
    `CREATE TABLE user (
  user_id int unsigned NOT NULL PRIMARY KEY AUTO_INCREMENT,
  user_name varchar(255) binary NOT NULL default '',
  user_real_name varchar(255) binary NOT NULL default '',
  user_password tinyblob NOT NULL,
  user_newpassword tinyblob NOT NULL,
  user_newpass_time binary(14),
  user_email tinytext NOT NULL,
  user_touched binary(14) NOT NULL default '',
  user_token binary(32) NOT NULL default '',
  user_email_authenticated binary(14),
  user_email_token binary(32),
  user_email_token_expires binary(14),
  user_registration binary(14),
  user_editcount int,
  user_password_expires varbinary(14) DEFAULT NULL
) ${options}`,
    'CREATE UNIQUE INDEX user_name ON user (user_name)',
    'CREATE INDEX user_email_token ON user (user_email_token)',
    'CREATE INDEX user_email ON user (user_email(50))',
  ],

  revision: [
    `CREATE TABLE revision (
  rev_id int unsigned NOT NULL PRIMARY KEY AUTO_INCREMENT,
  rev_page int unsigned NOT NULL,
  rev_text_id int unsigned NOT NULL default 0,
  rev_comment varbinary(767) NOT NULL default '',
  rev_user int unsigned NOT NULL default 0,
  rev_user_text varchar(255) binary NOT NULL default '',
  rev_timestamp binary(14) NOT NULL default '',
  rev_minor_edit tinyint unsigned NOT NULL default 0,
  rev_deleted tinyint unsigned NOT NULL default 0,
  rev_len int unsigned,
  rev_parent_id int unsigned default NULL,
  rev_sha1 varbinary(32) NOT NULL default '',
  rev_content_model varbinary(32) DEFAULT NULL,
  rev_content_format varbinary(64) DEFAULT NULL
) ${options} MAX_ROWS=10000000 AVG_ROW_LENGTH=1024`,
    'CREATE INDEX rev_page_id ON revision (rev_page, rev_id)',
    'CREATE INDEX rev_timestamp ON revision (rev_timestamp)',
    'CREATE INDEX page_timestamp ON revision (rev_page,rev_timestamp)',
    'CREATE INDEX user_timestamp ON revision (rev_user,rev_timestamp)',
    'CREATE INDEX usertext_timestamp ON revision (rev_user_text,rev_timestamp)',
    'CREATE INDEX page_user_timestamp ON revision (rev_page,rev_user,rev_timestamp)',
  ],

  archive: [
    `CREATE TABLE archive (
  ar_id int unsigned NOT NULL PRIMARY KEY AUTO_INCREMENT,
  ar_namespace int NOT NULL default 0,
  ar_title varchar(255) binary NOT NULL default '',
  ar_comment varbinary(767) NOT NULL default '',
  ar_comment_id bigint unsigned NOT NULL DEFAULT 0,
  ar_user int unsigned NOT NULL default 0,
  ar_user_text varchar(255) binary NOT NULL,
  ar_timestamp binary(14) NOT NULL default '',
  ar_minor_edit tinyint NOT NULL default 0,
  ar_rev_id int unsigned NOT NULL,
  ar_text_id int unsigned NOT NULL DEFAULT 0,
  ar_deleted tinyint unsigned NOT NULL default 0,
  ar_len int unsigned,
  ar_page_id int unsigned,
  ar_parent_id int unsigned default NULL,
  ar_sha1 varbinary(32) NOT NULL default '',
  ar_content_model varbinary(32) DEFAULT NULL,
  ar_content_format varbinary(64) DEFAULT NULL
) ${options}`,
    'CREATE INDEX name_title_timestamp ON archive (ar_namespace,ar_title,ar_timestamp)',
    'CREATE INDEX ar_usertext_timestamp ON archive (ar_user_text,ar_timestamp)',
    'CREATE INDEX ar_revid ON archive (ar_rev_id)',
  ],

  ipblocks: [
    `CREATE TABLE ipblocks (
  ipb_id int NOT NULL PRIMARY KEY AUTO_INCREMENT,
  ipb_address tinyblob NOT NULL,
  ipb_user int unsigned NOT NULL default 0,
  ipb_by int unsigned NOT NULL default 0,
  ipb_by_text varchar(255) binary NOT NULL default '',
  ipb_reason varbinary(767) NOT NULL default '',
  ipb_reason_id bigint unsigned NOT NULL DEFAULT 0,
  ipb_timestamp binary(14) NOT NULL default '',
  ipb_auto bool NOT NULL default 0,
  ipb_anon_only bool NOT NULL default 0,
  ipb_create_account bool NOT NULL default 1,
  ipb_enable_autoblock bool NOT NULL default '1',
  ipb_expiry varbinary(14) NOT NULL default '',
  ipb_range_start tinyblob NOT NULL,
  ipb_range_end tinyblob NOT NULL,
  ipb_deleted bool NOT NULL default 0,
  ipb_block_email bool NOT NULL default 0,
  ipb_allow_usertalk bool NOT NULL default 0,
  ipb_parent_block_id int default NULL
) ${options}`,
    'CREATE UNIQUE INDEX ipb_address ON ipblocks (ipb_address(255), ipb_user, ipb_auto, ipb_anon_only)',
    'CREATE INDEX ipb_user ON ipblocks (ipb_user)',
    'CREATE INDEX ipb_range ON ipblocks (ipb_range_start(8), ipb_range_end(8))',
    'CREATE INDEX ipb_timestamp ON ipblocks (ipb_timestamp)',
    'CREATE INDEX ipb_expiry ON ipblocks (ipb_expiry)',
    'CREATE INDEX ipb_parent_block_id ON ipblocks (ipb_parent_block_id)',
  ],

  image: [
    `CREATE TABLE image (
  img_name varchar(255) binary NOT NULL default '' PRIMARY KEY,
  img_size int unsigned NOT NULL default 0,
  img_width int NOT NULL default 0,
  img_height int NOT NULL default 0,
  img_metadata mediumblob NOT NULL,
  img_bits int NOT NULL default 0,
  img_media_type ${mediaTypes} default NULL,
  img_major_mime ${majorMimes} NOT NULL default 'unknown',
  img_minor_mime varbinary(100) NOT NULL default 'unknown',
  img_description varbinary(767) NOT NULL default '',
  img_description_id bigint unsigned NOT NULL DEFAULT 0,
  img_user int unsigned NOT NULL default 0,
  img_user_text varchar(255) binary NOT NULL,
  img_timestamp varbinary(14) NOT NULL default '',
  img_sha1 varbinary(32) NOT NULL default ''
) ${options}`,
    'CREATE INDEX img_user_timestamp ON image (img_user,img_timestamp)',
    'CREATE INDEX img_usertext_timestamp ON image (img_user_text,img_timestamp)',
    'CREATE INDEX img_size ON image (img_size)',
    'CREATE INDEX img_timestamp ON image (img_timestamp)',
    'CREATE INDEX img_sha1 ON image (img_sha1(10))',
    'CREATE INDEX img_media_mime ON image (img_media_type,img_major_mime,img_minor_mime)',
  ],

  oldimage: [
    `CREATE TABLE oldimage (
  oi_name varchar(255) binary NOT NULL default '',
  oi_archive_name varchar(255) binary NOT NULL default '',
  oi_size int unsigned NOT NULL default 0,
  oi_width int NOT NULL default 0,
  oi_height int NOT NULL default 0,
  oi_bits int NOT NULL default 0,
  oi_description varbinary(767) NOT NULL default '',
  oi_description_id bigint unsigned NOT NULL DEFAULT 0,
  oi_user int unsigned NOT NULL default 0,
  oi_user_text varchar(255) binary NOT NULL,
  oi_timestamp binary(14) NOT NULL default '',
  oi_metadata mediumblob NOT NULL,
  oi_media_type ${mediaTypes} default NULL,
  oi_major_mime ${majorMimes} NOT NULL default 'unknown',
  oi_minor_mime varbinary(100) NOT NULL default 'unknown',
  oi_deleted tinyint unsigned NOT NULL default 0,
  oi_sha1 varbinary(32) NOT NULL default ''
) ${options}`,
    'CREATE INDEX oi_usertext_timestamp ON oldimage (oi_user_text,oi_timestamp)',
    'CREATE INDEX oi_name_timestamp ON oldimage (oi_name,oi_timestamp)',
    'CREATE INDEX oi_name_archive_name ON oldimage (oi_name,oi_archive_name(14))',
    'CREATE INDEX oi_sha1 ON oldimage (oi_sha1(10))',
  ],

  filearchive: [
    `CREATE TABLE filearchive (
  fa_id int NOT NULL PRIMARY KEY AUTO_INCREMENT,
  fa_name varchar(255) binary NOT NULL default '',
  fa_archive_name varchar(255) binary default '',
  fa_storage_group varbinary(16),
  fa_storage_key varbinary(64) default '',
  fa_deleted_user int,
  fa_deleted_timestamp binary(14) default '',
  fa_deleted_reason varbinary(767) default '',
  fa_deleted_reason_id bigint unsigned NOT NULL DEFAULT 0,
  fa_size int unsigned default 0,
  fa_width int default 0,
  fa_height int default 0,
  fa_metadata mediumblob,
  fa_bits int default 0,
  fa_media_type ${mediaTypes} default NULL,
  fa_major_mime ${majorMimes} default 'unknown',
  fa_minor_mime varbinary(100) default 'unknown',
  fa_description varbinary(767) default '',
  fa_description_id bigint unsigned NOT NULL DEFAULT 0,
  fa_user int unsigned default 0,
  fa_user_text varchar(255) binary,
  fa_timestamp binary(14) default '',
  fa_deleted tinyint unsigned NOT NULL default 0,
  fa_sha1 varbinary(32) NOT NULL default ''
) ${options}`,
    'CREATE INDEX fa_name ON filearchive (fa_name, fa_timestamp)',
    'CREATE INDEX fa_storage_group ON filearchive (fa_storage_group, fa_storage_key)',
    'CREATE INDEX fa_deleted_timestamp ON filearchive (fa_deleted_timestamp)',
    'CREATE INDEX fa_user_timestamp ON filearchive (fa_user_text,fa_timestamp)',
    'CREATE INDEX fa_sha1 ON filearchive (fa_sha1(10))',
  ],

  recentchanges: [
    `CREATE TABLE recentchanges (
  rc_id int NOT NULL PRIMARY KEY AUTO_INCREMENT,
  rc_timestamp varbinary(14) NOT NULL default '',
  rc_user int unsigned NOT NULL default 0,
  rc_user_text varchar(255) binary NOT NULL,
  rc_namespace int NOT NULL default 0,
  rc_title varchar(255) binary NOT NULL default '',
  rc_comment varbinary(767) NOT NULL default '',
  rc_comment_id bigint unsigned NOT NULL DEFAULT 0,
  rc_minor tinyint unsigned NOT NULL default 0,
  rc_bot tinyint unsigned NOT NULL default 0,
  rc_new tinyint unsigned NOT NULL default 0,
  rc_cur_id int unsigned NOT NULL default 0,
  rc_this_oldid int unsigned NOT NULL default 0,
  rc_last_oldid int unsigned NOT NULL default 0,
  rc_type tinyint unsigned NOT NULL default 0,
  rc_source varchar(16) binary not null default '',
  rc_patrolled tinyint unsigned NOT NULL default 0,
  rc_ip varbinary(40) NOT NULL default '',
  rc_old_len int,
  rc_new_len int,
  rc_deleted tinyint unsigned NOT NULL default 0,
  rc_logid int unsigned NOT NULL default 0,
  rc_log_type varbinary(255) NULL default NULL,
  rc_log_action varbinary(255) NULL default NULL,
  rc_params blob NULL
) ${options}`,
    'CREATE INDEX rc_timestamp ON recentchanges (rc_timestamp)',
    'CREATE INDEX rc_namespace_title_timestamp ON recentchanges (rc_namespace, rc_title, rc_timestamp)',
    'CREATE INDEX rc_cur_id ON recentchanges (rc_cur_id)',
    'CREATE INDEX new_name_timestamp ON recentchanges (rc_new,rc_namespace,rc_timestamp)',
    'CREATE INDEX rc_ip ON recentchanges (rc_ip)',
    'CREATE INDEX rc_ns_usertext ON recentchanges (rc_namespace, rc_user_text)',
    'CREATE INDEX rc_user_text ON recentchanges (rc_user_text, rc_timestamp)',
    'CREATE INDEX rc_name_type_patrolled_timestamp ON recentchanges (rc_namespace, rc_type, rc_patrolled, rc_timestamp)',
  ],

  logging: [
    `CREATE TABLE logging (
  log_id int unsigned NOT NULL PRIMARY KEY AUTO_INCREMENT,
  log_type varbinary(32) NOT NULL default '',
  log_action varbinary(32) NOT NULL default '',
  log_timestamp binary(14) NOT NULL default '19700101000000',
  log_user int unsigned NOT NULL default 0,
  log_user_text varchar(255) binary NOT NULL default '',
  log_namespace int NOT NULL default 0,
  log_title varchar(255) binary NOT NULL default '',
  log_page int unsigned NULL,
  log_comment varbinary(767) NOT NULL default '',
  log_comment_id bigint unsigned NOT NULL DEFAULT 0,
  log_params blob NOT NULL,
  log_deleted tinyint unsigned NOT NULL default 0
) ${options}`,
    'CREATE INDEX type_time ON logging (log_type, log_timestamp)',
    'CREATE INDEX user_time ON logging (log_user, log_timestamp)',
    'CREATE INDEX page_time ON logging (log_namespace, log_title, log_timestamp)',
    'CREATE INDEX times ON logging (log_timestamp)',
    'CREATE INDEX log_user_type_time ON logging (log_user, log_type, log_timestamp)',
    'CREATE INDEX log_page_id_time ON logging (log_page,log_timestamp)',
    'CREATE INDEX type_action ON logging (log_type, log_action, log_timestamp)',
    'CREATE INDEX log_user_text_type_time ON logging (log_user_text, log_type, log_timestamp)',
    'CREATE INDEX log_user_text_time ON logging (log_user_text, log_timestamp)',
  ],
};

/** The `actor` table as MediaWiki 1.31 created it (for a wiki where it exists already). */
export const actorDdl = [
  `CREATE TABLE actor (
  actor_id bigint unsigned NOT NULL PRIMARY KEY AUTO_INCREMENT,
  actor_user int unsigned,
  actor_name varchar(255) binary NOT NULL
) ${options}`,
  'CREATE UNIQUE INDEX actor_user ON actor (actor_user)',
  'CREATE UNIQUE INDEX actor_name ON actor (actor_name)',
];
