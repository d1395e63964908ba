CREATE TABLE `eventshift_quarantine` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`run_id` bigint unsigned NOT NULL,
	`source` varchar(64) NOT NULL,
	`file` varchar(1024) NOT NULL,
	`line` bigint unsigned NOT NULL,
	`reason` text NOT NULL,
	`raw` longblob NOT NULL,
	CONSTRAINT `eventshift_quarantine_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE INDEX `eventshift_quarantine_run` ON `eventshift_quarantine` (`run_id`,`source`,`line`);