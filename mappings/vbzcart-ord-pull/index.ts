import { col, defineMapping, id, lit, renameColumn, renameTable } from '../../src/mapping/define.ts';
import { event, eventVcLegacy, eventVcOrdHold } from './schema.ts';

/**
 * VbzCart: legacy order pulls (holds placed on orders, some later released) become EventPlex events.
 * Every pull becomes a "hold on" event; every pull released on a real date also becomes a "hold off" event.
 */

/** A pull is released when WhenFreed is a real date; NULL, zero and partly-zero dates give DAYNAME() NULL. */
const released = 'DAYNAME(pull.WhenFreed) IS NOT NULL';
const unreleased = 'DAYNAME(pull.WhenFreed) IS NULL';
const holdOnOffset = 1500;
/** The highest pull ID rounded up to a multiple of 100: releases are numbered one such span above the holds. */
const span = (maxKey: number) => Math.ceil(maxKey / 100) * 100;

export default defineMapping({
  name: 'vbzcart-ord-pull',
  description: 'VbzCart order pulls (ord_pull) -> EventPlex hold events (event, event_vc_ord_hold, event_vc_legacy)',
  sources: { pull: 'ord_pull', holdType: 'ord_hold_type', orders: 'orders' },
  targets: { event, hold: eventVcOrdHold, legacy: eventVcLegacy },
  steps: {
    holdOn: {
      description: 'every pull: a hold placed on its order',
      from: 'pull',
      join: { holdType: 'holdType.ID = pull.ID_Type' },
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
          when: "pull.VbzUser IS NOT NULL OR pull.SysUser IS NOT NULL OR COALESCE(pull.Machine, '') <> ''",
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
      value: { from: 'pull', where: unreleased, groupBy: 'pull.ID_Ord', aggregate: 'MAX(pull.WhenPulled)' },
    },
  },
  cutover: [renameColumn('orders', 'ID_Pull', 'ID_Pull OLD'), renameTable('ord_pull', 'OLD ord_pull')],
  problems: {
    invalidWhenPulled: {
      description: 'pull whose WhenPulled is NULL, zero or not a real date',
      severity: 'fatal',
      from: 'pull',
      where: 'DAYNAME(pull.WhenPulled) IS NULL',
      consequence: 'no event time for the hold: fix these pulls before migrating',
    },
    unknownHoldType: {
      description: 'pull whose ID_Type is not in ord_hold_type',
      severity: 'warning',
      from: 'pull',
      join: { holdType: 'holdType.ID = pull.ID_Type' },
      where: 'holdType.ID IS NULL',
      consequence: 'hold written with the four do* flags NULL',
    },
    orphanPull: {
      description: 'pull whose order does not exist',
      severity: 'warning',
      from: 'pull',
      join: { orders: 'orders.ID = pull.ID_Ord' },
      where: 'orders.ID IS NULL',
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
      join: { pull: 'pull.ID = orders.ID_Pull' },
      where: `orders.ID_Pull IS NOT NULL AND ${released}`,
      key: 'orders.ID',
      consequence: 'WhenHeld follows the pulls, not the stale pointer',
    },
    danglingPullPointer: {
      description: 'order whose ID_Pull names a pull that does not exist',
      severity: 'warning',
      from: 'orders',
      join: { pull: 'pull.ID = orders.ID_Pull' },
      where: 'orders.ID_Pull IS NOT NULL AND orders.ID_Pull <> 0 AND pull.ID IS NULL',
      key: 'orders.ID',
      consequence: 'kept as it is in ID_Pull OLD',
    },
  },
});
