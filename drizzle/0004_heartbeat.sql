CREATE TABLE `eventshift_heartbeat` (
	`writer` varchar(128) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`written_at` datetime(6) NOT NULL,
	CONSTRAINT `eventshift_heartbeat_writer` PRIMARY KEY(`writer`)
);
