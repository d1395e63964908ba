CREATE TABLE `eventshift_rollout` (
	`mapping` varchar(128) NOT NULL,
	`stage` varchar(64) NOT NULL,
	`changed_at` datetime(3) NOT NULL,
	`history` json NOT NULL,
	CONSTRAINT `eventshift_rollout_mapping` PRIMARY KEY(`mapping`)
);
