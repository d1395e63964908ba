CREATE TABLE `eventshift_backups` (
	`id` varchar(64) NOT NULL,
	`run_id` bigint unsigned,
	`label` varchar(255),
	`dir` varchar(1024) NOT NULL,
	`tables` json NOT NULL,
	`rows_total` bigint unsigned NOT NULL,
	`bytes` bigint unsigned NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `eventshift_backups_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `eventshift_runs` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`mapping` varchar(128) NOT NULL,
	`status` varchar(16) NOT NULL,
	`stage` varchar(16) NOT NULL,
	`plan` json NOT NULL,
	`backup_id` varchar(64),
	`host` varchar(255) NOT NULL,
	`pid` int NOT NULL,
	`lock_connection_id` bigint unsigned,
	`started_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`finished_at` datetime(3),
	`error` longtext,
	`verification` json,
	CONSTRAINT `eventshift_runs_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `eventshift_steps` (
	`run_id` bigint unsigned NOT NULL,
	`stage` varchar(16) NOT NULL,
	`step` varchar(128) NOT NULL,
	`status` varchar(16) NOT NULL,
	`progress_key` bigint,
	`rows_done` bigint unsigned NOT NULL DEFAULT 0,
	`started_at` datetime(3) NOT NULL,
	`finished_at` datetime(3),
	`detail` json,
	CONSTRAINT `eventshift_steps_run_id_stage_step_pk` PRIMARY KEY(`run_id`,`stage`,`step`)
);
--> statement-breakpoint
CREATE INDEX `eventshift_runs_mapping` ON `eventshift_runs` (`mapping`,`id`);