import { col, defineMapping, id, lit, renameColumn, renameTable } from '../../src/mapping/define.ts';
import { aliasesBeside } from '../../src/mapping/aliases.ts';
import { event, eventVcLegacy, eventVcOrdHold } from './schema.ts';
import { ordPullCsv } from './csv-source.ts';

/**
 * VbzCart: legacy order pulls (holds placed on orders, some later released) become EventPlex events.
 * Every pull becomes a "hold on" event; every pull released on a real date also becomes a "hold off" event.
 */

/** A pull is released when WhenFreed is a real date; NULL, zero and partly-zero dates give DAYNAME() NULL. */
const released = 'DAYNAME({{pull.WhenFreed}}) IS NOT NULL';
const unreleased = 'DAYNAME({{pull.WhenFreed}}) IS NULL';
const holdOnOffset = 1500;
/** The highest pull ID rounded up to a multiple of 100: releases are numbered one such span above the holds. */
const span = (maxKey: number) => Math.ceil(maxKey / 100) * 100;

export default defineMapping({
  name: 'vbzcart-ord-pull',
  description: 'VbzCart order pulls (ord_pull) -> EventPlex hold events (event, event_vc_ord_hold, event_vc_legacy)',
  // ord_pull, or its CSV export: `--source pull=ord_pull.csv` (see csv-source.ts).
  sources: { pull: { table: 'ord_pull', csv: ordPullCsv }, holdType: 'ord_hold_type', orders: 'orders' },
  aliases: aliasesBeside(import.meta.url),
  targets: { event, hold: eventVcOrdHold, legacy: eventVcLegacy },
  steps: {
    holdOn: {
      description: 'every pull: a hold placed on its order',
      from: 'pull',
      join: { holdType: '{{holdType.ID}} = {{pull.ID_Type}}' },
      ids: { table: 'event', strategy: 'offset', offset: holdOnOffset },
      rows: {
        event: {
          ID: id,
          WhenStart: col('pull.WhenPulled'),
          ID_Session: lit(null),
          ID_Acct: lit(null),
          TypeCode: lit('vc.order.hold.on'),
          Descrip: lit('order hold placed (imported from legacy ord_pull)'),
          Stash: lit(null),
        },
        hold: {
          ID_Event: id,
          ID_Order: col('pull.ID_Ord'),
          ID_Type: col('pull.ID_Type'),
          isRelease: lit(0),
          doHoldRstk: col('holdType.doHoldRstk'),
          doHoldChrg: col('holdType.doHoldChrg'),
          doContact: col('holdType.doContact'),
          doExamine: col('holdType.doExamine'),
          Notes: col('pull.NotesPull'),
        },
        legacy: {
          when: "{{pull.VbzUser}} IS NOT NULL OR {{pull.SysUser}} IS NOT NULL OR COALESCE({{pull.Machine}}, '') <> ''",
          row: {
            ID_Event: id,
            WhoAdmin: col('pull.VbzUser'),
            WhoSystem: col('pull.SysUser'),
            WhoNetwork: col('pull.Machine'),
            isError: lit(0),
            isSevere: lit(0),
            isDebug: lit(0),
            EvWhere: lit('ord_pull (legacy import)'),
          },
        },
      },
    },
    holdOff: {
      description: 'every pull released on a real date: the hold lifted',
      from: 'pull',
      where: released,
      ids: { table: 'event', strategy: 'offset', offset: (source) => holdOnOffset + span(source.maxKey) },
      rows: {
        event: {
          ID: id,
          WhenStart: col('pull.WhenFreed'),
          ID_Session: lit(null),
          ID_Acct: lit(null),
          TypeCode: lit('vc.order.hold.off'),
          Descrip: lit('order hold released (imported from legacy ord_pull)'),
          Stash: lit(null),
        },
        hold: {
          ID_Event: id,
          ID_Order: col('pull.ID_Ord'),
          ID_Type: col('pull.ID_Type'),
          isRelease: lit(1),
          doHoldRstk: lit(0),
          doHoldChrg: lit(0),
          doContact: lit(0),
          doExamine: lit(0),
          Notes: col('pull.NotesFree'),
        },
      },
    },
  },
  projections: {
    whenHeld: {
      description: "when the order's current hold began: the latest WhenPulled among its unreleased pulls",
      table: 'orders',
      key: 'ID',
      column: { name: 'WhenHeld', definition: 'DATETIME NULL', after: 'WhenNeeded' },
      value: { from: 'pull', where: unreleased, groupBy: '{{pull.ID_Ord}}', aggregate: 'MAX({{pull.WhenPulled}})' },
    },
  },
  // old: the shop reads and writes ord_pull; new: it reads and writes hold events (ord_pull is OLD ord_pull by then).
  rollout: { stages: ['old', 'new'], requires: { new: 'migrated' } },
  cutover: [renameColumn('orders', 'ID_Pull', 'ID_Pull OLD'), renameTable('ord_pull', 'OLD ord_pull')],
  problems: {
    invalidWhenPulled: {
      description: 'pull whose WhenPulled is NULL, zero or not a real date',
      severity: 'fatal',
      from: 'pull',
      where: 'DAYNAME({{pull.WhenPulled}}) IS NULL',
      consequence: 'no event time for the hold: fix these pulls before migrating',
    },
    unknownHoldType: {
      description: 'pull whose ID_Type is not in ord_hold_type',
      severity: 'warning',
      from: 'pull',
      join: { holdType: '{{holdType.ID}} = {{pull.ID_Type}}' },
      where: '{{holdType.ID}} IS NULL',
      consequence: 'hold written with the four do* flags NULL',
    },
    orphanPull: {
      description: 'pull whose order does not exist',
      severity: 'warning',
      from: 'pull',
      join: { orders: '{{orders.ID}} = {{pull.ID_Ord}}' },
      where: '{{orders.ID}} IS NULL',
      consequence: 'events written; the hold names a missing order',
    },
    zeroWhenFreed: {
      description: 'pull whose WhenFreed is a zero or partly-zero date',
      severity: 'warning',
      from: 'pull',
      where: `pull.WhenFreed IS NOT NULL AND ${unreleased}`,
      consequence: 'treated as not released: no hold-off event',
    },
    pointerToReleasedPull: {
      description: 'order whose ID_Pull names a released pull',
      severity: 'warning',
      from: 'orders',
      join: { pull: '{{pull.ID}} = {{orders.ID_Pull}}' },
      where: `{{orders.ID_Pull}} IS NOT NULL AND ${released}`,
      key: '{{orders.ID}}',
      consequence: 'WhenHeld follows the pulls, not the stale pointer',
    },
    danglingPullPointer: {
      description: 'order whose ID_Pull names a pull that does not exist',
      severity: 'warning',
      from: 'orders',
      join: { pull: '{{pull.ID}} = {{orders.ID_Pull}}' },
      where: '{{orders.ID_Pull}} IS NOT NULL AND {{orders.ID_Pull}} <> 0 AND {{pull.ID}} IS NULL',
      key: '{{orders.ID}}',
      consequence: 'kept as it is in ID_Pull OLD',
    },
  },
  replays: {
    orderHolds: {
      description:
        "each order's active holds, replaying its hold on/off events in time order (a hold-on adds a hold, a hold-off lifts one; " +
        'at equal times holds are placed before they are lifted). The events do not say which hold a release lifts, so the ' +
        'replay gives whether and how many holds are active, not which',
      entity: 'order',
      events: `
        SELECT g.k, ${replayState('holds')} AS holds, ${replayState('onHold')} AS onHold,
               CASE WHEN g.lowest < 0 THEN CONCAT('at ', g.firstUnheldRelease)
                    WHEN g.holds > 0 THEN CONCAT('since ', g.heldSince)
                    ELSE CONCAT('last hold lifted ', g.lastEvent) END AS detail
          FROM (SELECT replay.k, SUM(replay.delta) AS holds, MIN(replay.active) AS lowest,
                       MIN(CASE WHEN replay.active < 0 THEN replay.WhenStart END) AS firstUnheldRelease,
                       MAX(CASE WHEN replay.delta = 1 AND replay.active = 1 THEN replay.WhenStart END) AS heldSince,
                       MAX(replay.WhenStart) AS lastEvent
                  FROM (SELECT h.ID_Order AS k, e.WhenStart, IF(h.isRelease = 0, 1, -1) AS delta,
                               SUM(IF(h.isRelease = 0, 1, -1))
                                 OVER (PARTITION BY h.ID_Order ORDER BY e.WhenStart, h.isRelease, e.ID ROWS UNBOUNDED PRECEDING) AS active
                          FROM {{hold}} AS h JOIN {{event}} AS e ON e.ID = h.ID_Event) AS replay
                 GROUP BY replay.k) AS g`,
      compare: {
        'unreleased pulls': {
          description: 'as many active holds as the order has pulls not released on a real date',
          state: 'holds',
          legacy: `
            SELECT {{pull.ID_Ord}} AS k, ${activeHolds(`SUM(${unreleased})`)} AS state,
                   CONCAT(COUNT(*), ' pull(s), ', SUM(${released}), ' released') AS detail
              FROM {{pull}} AS pull GROUP BY {{pull.ID_Ord}}`,
          explainedBy: {},
        },
        'orders.ID_Pull': {
          description: 'the legacy pointer names an unreleased pull of the order exactly when the order is on hold',
          state: 'onHold',
          legacy: `
            SELECT {{orders.ID}} AS k,
                   CASE WHEN {{orders.ID_Pull}} IS NULL OR {{orders.ID_Pull}} = 0 THEN 'not on hold'
                        WHEN {{pull.ID}} IS NULL THEN 'names a pull that does not exist'
                        WHEN {{pull.ID_Ord}} <> {{orders.ID}} THEN 'names a pull of another order'
                        WHEN ${released} THEN 'names a released pull'
                        ELSE 'on hold' END AS state,
                   CASE WHEN {{orders.ID_Pull}} IS NULL THEN 'ID_Pull is NULL'
                        WHEN {{pull.ID}} IS NULL THEN CONCAT('ID_Pull = ', {{orders.ID_Pull}})
                        WHEN ${released} THEN CONCAT('ID_Pull = ', {{orders.ID_Pull}}, ', released ', {{pull.WhenFreed}})
                        ELSE CONCAT('ID_Pull = ', {{orders.ID_Pull}}, ', placed ', {{pull.WhenPulled}}) END AS detail
              FROM {{orders}} AS orders LEFT JOIN {{pull}} AS pull ON {{pull.ID}} = {{orders.ID_Pull}}`,
          absent: { events: 'not on hold' },
          explainedBy: { pointerToReleasedPull: '{{orders.ID}}', danglingPullPointer: '{{orders.ID}}', orphanPull: '{{pull.ID_Ord}}' },
        },
        'orders.WhenHeld': {
          description: 'WhenHeld is set exactly when the order is on hold',
          state: 'onHold',
          legacy: `
            SELECT {{orders.ID}} AS k, IF({{orders.WhenHeld}} IS NULL, 'not on hold', 'on hold') AS state,
                   IF({{orders.WhenHeld}} IS NULL, 'WhenHeld is NULL', CONCAT('WhenHeld = ', {{orders.WhenHeld}})) AS detail
              FROM {{orders}} AS orders`,
          absent: { events: 'not on hold' },
          explainedBy: { orphanPull: '{{pull.ID_Ord}}' },
        },
      },
    },
  },
});

/** The replayed state: a release that comes while no hold is active makes the order's events inconsistent. */
function replayState(kind: 'holds' | 'onHold'): string {
  const value = kind === 'holds' ? activeHolds('g.holds') : "IF(g.holds > 0, 'on hold', 'not on hold')";
  return `CASE WHEN g.lowest < 0 THEN 'a hold lifted while none was active' ELSE ${value} END`;
}

/** 'no active hold', '1 active hold', 'N active holds': the same words on both sides of the comparison. */
function activeHolds(count: string): string {
  return `CASE ${count} WHEN 0 THEN 'no active hold' WHEN 1 THEN '1 active hold' ELSE CONCAT(${count}, ' active holds') END`;
}
