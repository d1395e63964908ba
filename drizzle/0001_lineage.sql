CREATE TABLE `eventshift_lineage` (
	`run_id` bigint unsigned NOT NULL,
	`step` varchar(128) NOT NULL,
	`legacy_key` bigint NOT NULL,
	`event_id` bigint unsigned NOT NULL,
	CONSTRAINT `eventshift_lineage_run_id_step_legacy_key_pk` PRIMARY KEY(`run_id`,`step`,`legacy_key`),
	CONSTRAINT `eventshift_lineage_event` UNIQUE(`run_id`,`event_id`)
);
