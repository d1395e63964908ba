-- The VbzCart ord_pull migration as a DBA writes it by hand: set-based statements, run with
--   mariadb DATABASE < bench/vbzcart-by-hand.sql
-- No backup, no journal, no checks: the speed eventshift is measured against (npm run bench). bench/migrate.ts checks
-- that it gives the same rows as `eventshift migrate` (content checksums of every target table).
SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';

-- Hold-off events are numbered one span (the highest pull ID rounded up to a hundred) above the hold-on events.
SELECT CEIL(MAX(ID) / 100) * 100 INTO @span FROM ord_pull;

CREATE TABLE `event_vc_ord_hold` (
  `ID_Event` int unsigned NOT NULL,
  `ID_Order` int unsigned NOT NULL,
  `ID_Type` int unsigned NULL,
  `isRelease` tinyint NOT NULL,
  `doHoldRstk` tinyint NULL,
  `doHoldChrg` tinyint NULL,
  `doContact` tinyint NULL,
  `doExamine` tinyint NULL,
  `Notes` text NULL,
  PRIMARY KEY (`ID_Event`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `event_vc_legacy` (
  `ID_Event` int unsigned NOT NULL,
  `WhoAdmin` varchar(127) NULL,
  `WhoSystem` varchar(127) NULL,
  `WhoNetwork` varchar(63) NULL,
  `isError` tinyint NOT NULL,
  `isSevere` tinyint NOT NULL,
  `isDebug` tinyint NOT NULL,
  `EvWhere` varchar(255) NULL,
  PRIMARY KEY (`ID_Event`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Every pull: a hold placed on its order.
INSERT INTO event (ID, WhenStart, ID_Session, ID_Acct, TypeCode, Descrip, Stash)
SELECT p.ID + 1500, p.WhenPulled, NULL, NULL, 'vc.order.hold.on', 'order hold placed (imported from legacy ord_pull)', NULL
  FROM ord_pull AS p;

INSERT INTO event_vc_ord_hold (ID_Event, ID_Order, ID_Type, isRelease, doHoldRstk, doHoldChrg, doContact, doExamine, Notes)
SELECT p.ID + 1500, p.ID_Ord, p.ID_Type, 0, t.doHoldRstk, t.doHoldChrg, t.doContact, t.doExamine, p.NotesPull
  FROM ord_pull AS p LEFT JOIN ord_hold_type AS t ON t.ID = p.ID_Type;

INSERT INTO event_vc_legacy (ID_Event, WhoAdmin, WhoSystem, WhoNetwork, isError, isSevere, isDebug, EvWhere)
SELECT p.ID + 1500, p.VbzUser, p.SysUser, p.Machine, 0, 0, 0, 'ord_pull (legacy import)'
  FROM ord_pull AS p
 WHERE p.VbzUser IS NOT NULL OR p.SysUser IS NOT NULL OR COALESCE(p.Machine, '') <> '';

-- Every pull released on a real date (DAYNAME() is NULL for NULL, zero and partly-zero dates): the hold lifted.
INSERT INTO event (ID, WhenStart, ID_Session, ID_Acct, TypeCode, Descrip, Stash)
SELECT p.ID + 1500 + @span, p.WhenFreed, NULL, NULL, 'vc.order.hold.off', 'order hold released (imported from legacy ord_pull)', NULL
  FROM ord_pull AS p
 WHERE DAYNAME(p.WhenFreed) IS NOT NULL;

INSERT INTO event_vc_ord_hold (ID_Event, ID_Order, ID_Type, isRelease, doHoldRstk, doHoldChrg, doContact, doExamine, Notes)
SELECT p.ID + 1500 + @span, p.ID_Ord, p.ID_Type, 1, 0, 0, 0, 0, p.NotesFree
  FROM ord_pull AS p
 WHERE DAYNAME(p.WhenFreed) IS NOT NULL;

-- orders.WhenHeld: when the order's current hold began, the latest WhenPulled among its unreleased pulls.
ALTER TABLE orders ADD COLUMN WhenHeld DATETIME NULL AFTER WhenNeeded;

UPDATE orders AS o
  LEFT JOIN (SELECT ID_Ord, MAX(WhenPulled) AS v FROM ord_pull WHERE DAYNAME(WhenFreed) IS NULL GROUP BY ID_Ord) AS x ON x.ID_Ord = o.ID
   SET o.WhenHeld = x.v;

-- The legacy pointer and table stay, under names that say they are old.
ALTER TABLE orders RENAME COLUMN ID_Pull TO `ID_Pull OLD`;
RENAME TABLE ord_pull TO `OLD ord_pull`;
