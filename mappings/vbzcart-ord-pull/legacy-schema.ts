/**
 * The legacy VbzCart tables the `vbzcart-ord-pull` mapping reads, as they are on a production server: latin1 (which
 * MySQL and MariaDB mean as cp1252), adapted from MS Access, with no foreign keys. The fixture generator creates them
 * from these statements; the docs and tests quote them.
 */

/** Kinds of hold; the four `do*` flags say what a hold of that kind stops or asks for. */
export const ordHoldTypeDdl = `CREATE TABLE \`ord_hold_type\` (
  \`ID\` INT UNSIGNED NOT NULL,
  \`Name\` VARCHAR(63) NOT NULL,
  \`Descr\` VARCHAR(255) NULL,
  \`doHoldRstk\` TINYINT(1) NOT NULL,
  \`doHoldChrg\` TINYINT(1) NOT NULL,
  \`doContact\` TINYINT(1) NOT NULL,
  \`doExamine\` TINYINT(1) NOT NULL,
  \`isActive\` TINYINT(1) NOT NULL,
  PRIMARY KEY (\`ID\`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1`;

/** Orders; `ID_Pull` is the legacy "current hold" pointer: the order's latest unreleased pull, NULL when none. */
export const ordersDdl = `CREATE TABLE \`orders\` (
  \`ID\` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  \`Number\` VARCHAR(15) NOT NULL,
  \`ID_Cust\` INT UNSIGNED NULL,
  \`WhenCreated\` DATETIME NULL,
  \`WhenNeeded\` DATETIME NULL,
  \`ID_Pull\` INT UNSIGNED NULL,
  \`WhenClosed\` DATETIME NULL,
  \`Notes\` TEXT NULL,
  PRIMARY KEY (\`ID\`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1`;

/** Holds ("pulls") placed on orders; a pull is released when `WhenFreed` is a real date. */
export const ordPullDdl = `CREATE TABLE \`ord_pull\` (
  \`ID\` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  \`ID_Ord\` INT UNSIGNED NOT NULL,
  \`ID_Type\` INT UNSIGNED NOT NULL,
  \`WhenPulled\` DATETIME NULL,
  \`NotesPull\` TEXT NULL,
  \`VbzUser\` VARCHAR(127) NULL,
  \`SysUser\` VARCHAR(127) NULL,
  \`Machine\` VARCHAR(63) NULL,
  \`WhenFreed\` DATETIME NULL,
  \`NotesFree\` TEXT NULL,
  PRIMARY KEY (\`ID\`),
  KEY \`ID_Ord\` (\`ID_Ord\`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1`;

/** The legacy tables by name, in creation order. */
export const legacyTablesDdl = {
  ord_hold_type: ordHoldTypeDdl,
  orders: ordersDdl,
  ord_pull: ordPullDdl,
} as const;

export type LegacyTableName = keyof typeof legacyTablesDdl;
