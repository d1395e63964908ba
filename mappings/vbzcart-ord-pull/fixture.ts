import type { Db } from '../../src/db/connection.ts';
import { createTableSql } from '../../src/db/ddl.ts';
import { quoteId } from '../../src/db/quote.ts';
import { databaseError, usageError } from '../../src/errors.ts';
import { legacyTablesDdl } from './legacy-schema.ts';
import { event, eventVcLegacy, eventVcOrdHold } from './schema.ts';
import { mulberry32 } from '../seeded-random.ts';

/**
 * A deterministic legacy VbzCart database with the seed's shape, for tests, the demo and benchmarks.
 *
 * @example
 * const fixture = await generateVbzcart(db);                       // the seed's shape: 1665 pulls, max ID 1883
 * const big = await generateVbzcart(db, { pulls: 500_000 });      // benchmark size, same shape scaled
 * const unseen = await generateVbzcart(db, { seed: 7 });           // a database the tests never saw
 * const fatal = await generateVbzcart(db, { plant: { zeroWhenPulled: 2, eventInRange: true } });
 */

/** The shape of the production database the mapping was written for. */
export const seedShape = {
  pulls: 1665,
  maxPullId: 1883,
  released: 528,
  lowEvents: 1229,
  highEventsFirst: 6355,
  highEvents: 360,
} as const;

export const defaultVbzcartSeed = 20091103;

/** The offset the mapping numbers hold-on events from: event ID = pull ID + 1500. */
const holdOnOffset = 1500;
/** Free IDs left between the top of the hold-off range and the existing high block (as in the seed: 6355 - 5300). */
const gapAboveReleases = 1055;
const releasedFractionScaled = 0.3;
const deletedIdFraction = (seedShape.maxPullId - seedShape.pulls) / seedShape.pulls;

export type VbzcartProblemName =
  'unknownHoldType' | 'orphanPull' | 'zeroWhenFreed' | 'pointerToReleasedPull' | 'danglingPullPointer' | 'invalidWhenPulled';

export interface VbzcartPlantOptions {
  /** The default warnings (unknownHoldType, orphanPull, zeroWhenFreed, pointerToReleasedPull, danglingPullPointer); default true. */
  problems?: boolean;
  /** Pulls whose WhenPulled is the zero date (fatal `invalidWhenPulled`); default 0. */
  zeroWhenPulled?: number;
  /** An existing event inside the hold-on range, where the mapping would write (fatal ID conflict); default false. */
  eventInRange?: boolean;
}

export interface VbzcartProgress {
  stage: 'pulls' | 'events';
  done: number;
  total: number;
}

export interface VbzcartFixtureOptions {
  /** How many pulls (default 1665, the seed's). Other sizes keep the shape: ~13% of IDs deleted, 30% released. */
  pulls?: number;
  /** PRNG seed, a 32-bit integer (default `defaultVbzcartSeed`). Another seed: another database of the same shape. */
  seed?: number;
  plant?: VbzcartPlantOptions;
  /** Also create the (empty) target extension tables `event_vc_ord_hold` and `event_vc_legacy`; default false. */
  createTargets?: boolean;
  /** Rows per INSERT statement; default 5000. */
  batchRows?: number;
  /** Called after each batch; the generator prints nothing. */
  onProgress?: (progress: VbzcartProgress) => void;
}

/** A block of existing event IDs: `count` rows, all of first..last. */
export interface EventIdBlock {
  first: number;
  last: number;
  count: number;
}

/** IDs the mapping will write to: first..last of the `from` source's keys plus the step's offset. */
export interface ReservedIdRange {
  first: number;
  last: number;
}

export interface VbzcartFixture {
  seed: number;
  counts: {
    holdTypes: number;
    pulls: number;
    /** Pulls with WhenFreed a real date: the hold-off events. */
    released: number;
    orders: number;
    /** Orders with at least one unreleased pull: those whose WhenHeld projection is not NULL. */
    ordersHeld: number;
    existingEvents: number;
    /** Rows the mapping writes per target table on this database. */
    eventsByTable: { event: number; event_vc_ord_hold: number; event_vc_legacy: number };
  };
  maxPullId: number;
  /** maxPullId rounded up to a multiple of 100: the distance between a hold-on and its hold-off event ID. */
  span: number;
  /** Keys of the planted data problems, named as in the mapping's `problems` (pull IDs, or order IDs for the pointers). */
  problems: Record<VbzcartProblemName, number[]>;
  eventIds: {
    existingLow: EventIdBlock;
    existingHigh: EventIdBlock;
    holdOn: ReservedIdRange;
    holdOff: ReservedIdRange;
    /** Existing events planted inside holdOn (plant.eventInRange). */
    inReservedRange: number[];
    /** The event table's AUTO_INCREMENT afterwards. */
    nextAutoIncrement: number;
  };
  /** A pull note with cp1252 characters (€ is byte 0x80 in the latin1 column), for encoding checks. */
  latin1Sample: { pullId: number; column: 'NotesPull'; text: string };
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness: mulberry32, one independent stream per concern so one part's changes do not shift another's.

class Random {
  /** A number in [0, 1). */
  readonly next: () => number;
  constructor(seed: number, stream: string) {
    // The stream's own seed: the fixture's seed and the stream's name, hashed (FNV-1a, then a 32-bit finalizer).
    let h = (seed ^ 0x811c9dc5) >>> 0;
    for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    this.next = mulberry32((h ^ (h >>> 16)) >>> 0);
  }
  /** 0..n-1 */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1]![0];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary. Every character of the latin1 tables' text is in cp1252 (MariaDB's latin1), or the insert fails.

const holdTypes: ReadonlyArray<readonly [number, string, string | null, number, number, number, number, number]> = [
  // ID, Name, Descr, doHoldRstk, doHoldChrg, doContact, doExamine, isActive
  [1, 'customer request', 'customer asked us to wait — do not ship or charge', 1, 1, 0, 0, 1],
  [2, 'payment problem', 'card declined or payment short; contact the customer', 0, 1, 1, 0, 1],
  [3, 'stock check', 'verify the items are really on the shelf', 1, 0, 0, 1, 1],
  [4, 'address problem', 'address incomplete or undeliverable ("Straße" missing, etc.)', 0, 0, 1, 0, 1],
  [5, 'fraud check', 'examine before charging: mismatched billing/shipping', 1, 1, 0, 1, 1],
  [6, 'backorder', null, 1, 0, 1, 0, 1],
  [7, 'supplier delay', 'waiting on the supplier (Access era; no longer used)', 1, 0, 0, 0, 0],
  [8, 'other', null, 0, 0, 1, 1, 1],
];
const holdTypeWeights: ReadonlyArray<readonly [number, number]> = [
  [1, 30],
  [2, 20],
  [3, 18],
  [4, 8],
  [5, 5],
  [6, 10],
  [7, 5],
  [8, 4],
];
const unknownHoldTypeIds = [99, 0, 42] as const;

const pullPhrases = [
  'customer called, wants to change the address',
  'Kunde möchte später zahlen',
  'waiting for payment — check again Monday',
  'paid 12,50 € too little',
  'item out of stock: "Glow-in-the-dark Ouija board"',
  "customer's card declined",
  "señor Muñoz asked to hold until he's back",
  '„bitte nicht vor dem 15. versenden“',
  'see C:\\orders\\returns\\2011.xls',
  'Größe falsch, exchange requested',
  'crème brûlée candles back-ordered',
  'Visa™ auth failed twice',
  'pull from shelf B\\3',
  'phone: 555-0142\tcall after 5pm',
  'left voicemail\nno answer',
  'resend invoice\r\n(old Access note)',
  'address: 12 Rue de l’Église, Saint-Étienne',
  'waiting…',
  'gift wrap • rush',
  'Zoë says the ‘deluxe’ set was ordered by mistake',
  'price wrong? check 19,99 € vs 17,99 €',
  'duplicate of earlier order',
  'ship together with next order',
  'PayPal — pending',
  'customer in Zürich, customs form needed',
  '50% deposit received; ½ still due',
  'tracking # 1Z999AA10123456784',
] as const;
const freePhrases = [
  'payment received',
  'customer confirmed — ship',
  'stock arrived',
  'address corrected: Hauptstraße 5',
  'released by woozle',
  'OK to charge now',
  'Zahlung eingegangen (34,00 €)',
  'resolved by phone\r\nsee notes',
  'customer said "go ahead"',
  'fraud check passed',
  'backorder filled',
  'released — see C:\\vbz\\holds.mdb',
] as const;
const orderPhrases = [
  'gift order',
  'repeat customer — discount 10 %',
  'ship to work address',
  'Lieferung nur werktags',
  'customer prefers email: zoë@example.com',
  'crème & café sampler',
  "don't include invoice",
  'Bestellung per Telefon',
] as const;
const vbzUsers = ['woozle', 'pam', 'admin', 'jürgen', 'Zoë', 'shipping'] as const;
const sysUsers = ['VBZ\\woozle', 'Administrator', 'pam@vbz-office', 'SYSTEM', 'VBZ\\jürgen'] as const;
const machines = ['ACCESS-PC', 'woozle-desk', 'CASHBOX', '192.168.1.14', 'vbz-office.local', 'Büro-PC'] as const;

const latin1SampleText = 'Kunde zahlt 12,50 € später — „bitte warten“ (Größe M™, señor Muñoz)';

const eventTypes: ReadonlyArray<readonly [string, number]> = [
  ['vc.cart.create', 30],
  ['vc.cart.add', 25],
  ['vc.order.create', 14],
  ['vc.order.pay', 10],
  ['vc.order.ship', 11],
  ['vc.cust.login', 7],
  ['vc.mail.send', 3],
];
const eventDescriptions: Record<string, readonly string[]> = {
  'vc.cart.create': ['cart created', 'Warenkorb angelegt', 'cart created from São Paulo'],
  'vc.cart.add': ['added “Räucherstäbchen – Sandelholz” ×2', 'added item 1042', 'added crème brûlée candle'],
  'vc.order.create': ['order created', 'order created for Zoë Müller', 'Bestellung für Jürgen angelegt'],
  'vc.order.pay': ['paid 24,90 € by card', 'paid by PayPal', 'payment ¥3,200 converted'],
  'vc.order.ship': ['shipped via DHL → Köln 📦', 'shipped', 'envío a España'],
  'vc.cust.login': ['login', 'login from Zürich', 'login (2FA) 🔐'],
  'vc.mail.send': ['mail sent: “Ihre Bestellung”', 'mail sent: shipping notice'],
};

// ---------------------------------------------------------------------------------------------------------------

const zeroDate = '0000-00-00 00:00:00';
const day = 86_400;
const pullsFrom = Date.UTC(2009, 2, 1) / 1000;
const pullsUntil = Date.UTC(2019, 8, 30) / 1000;

function datetime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

const roundUp = (value: number, step: number) => Math.ceil(value / step) * step;

type PullPlant = 'unknownHoldType' | 'orphanPull' | 'zeroWhenFreed' | 'partlyZeroWhenFreed' | 'invalidWhenPulled';
/** Plants that keep a pull unreleased. */
const unreleasedPlants = new Set<PullPlant>(['zeroWhenFreed', 'partlyZeroWhenFreed', 'invalidWhenPulled']);

interface OpenOrder {
  id: number;
  created: number;
  pulls: number;
  lastActivity: number;
  latestUnreleased: number | null;
  latestReleased: number | null;
}

type SqlValue = string | number | null;

/** Multi-row INSERTs on one connection, one statement in flight while the next batch is built. */
class BulkWriter {
  private inflight: Promise<unknown> | null = null;
  constructor(private readonly db: Db) {}

  async insert(table: string, columns: readonly string[], rows: SqlValue[][]): Promise<void> {
    if (rows.length === 0) return;
    await this.drain();
    const sql = `INSERT INTO ${quoteId(table)} (${columns.map(quoteId).join(', ')}) VALUES ?`;
    // Settled into a value so a failure is reported by the next drain, never as an unhandled rejection.
    this.inflight = this.db.raw.query(sql, [rows]).then(
      () => null,
      (cause: unknown) => databaseError(`Inserting ${rows.length} rows into ${table}`, cause),
    );
  }

  async drain(): Promise<void> {
    const pending = this.inflight;
    this.inflight = null;
    const error = await pending;
    if (error) throw error;
  }
}

const pullColumns = ['ID', 'ID_Ord', 'ID_Type', 'WhenPulled', 'NotesPull', 'VbzUser', 'SysUser', 'Machine', 'WhenFreed', 'NotesFree'];
const orderColumns = ['ID', 'Number', 'ID_Cust', 'WhenCreated', 'WhenNeeded', 'ID_Pull', 'WhenClosed', 'Notes'];
const eventColumns = ['ID', 'WhenStart', 'WhenFinish', 'ID_Session', 'ID_Acct', 'TypeCode', 'Descrip', 'Stash'];
const holdTypeColumns = ['ID', 'Name', 'Descr', 'doHoldRstk', 'doHoldChrg', 'doContact', 'doExamine', 'isActive'];
/** Flush a batch early when its text gets this large, well under max_allowed_packet. */
const batchCharLimit = 4_000_000;

/** Creates and fills the legacy VbzCart tables and the `event` table in the connected, empty database. */
export async function generateVbzcart(db: Db, options: VbzcartFixtureOptions = {}): Promise<VbzcartFixture> {
  const n = options.pulls ?? seedShape.pulls;
  const seed = options.seed ?? defaultVbzcartSeed;
  const batchRows = options.batchRows ?? 5000;
  const plantProblems = options.plant?.problems ?? true;
  const zeroWhenPulled = options.plant?.zeroWhenPulled ?? 0;
  if (!Number.isInteger(n) || n < 1 || n > 50_000_000) throw usageError(`pulls must be an integer from 1 to 50,000,000, not ${n}.`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw usageError(`seed must be an integer from 0 to 4294967295, not ${seed}.`);
  if (!Number.isInteger(batchRows) || batchRows < 1) throw usageError(`batchRows must be a positive integer, not ${batchRows}.`);
  if (!Number.isInteger(zeroWhenPulled) || zeroWhenPulled < 0)
    throw usageError(`plant.zeroWhenPulled must be a count, not ${zeroWhenPulled}.`);

  const existing = await db.query<{ TABLE_NAME: string }>(
    `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?, ?, ?, ?, ?)`,
    [db.database, 'ord_hold_type', 'orders', 'ord_pull', 'event', 'event_vc_ord_hold', 'event_vc_legacy'],
  );
  if (existing.length > 0) {
    throw usageError(
      `generateVbzcart fills an empty database, but ${db.database} already has ${existing.map((r) => r.TABLE_NAME).join(', ')}.`,
    );
  }

  // --- Pull IDs: 1..maxPullId with deleted ranges, the last ID always present. ---
  const idRandom = new Random(seed, 'pull-ids');
  const deletedTotal = n === seedShape.pulls ? seedShape.maxPullId - seedShape.pulls : Math.round(n * deletedIdFraction);
  const rangeCount = deletedTotal === 0 ? 0 : Math.min(deletedTotal, n - 1, Math.max(1, Math.round(deletedTotal / 12)));
  const deletedBefore = new Map<number, number>(); // pull index -> IDs deleted just before it
  {
    const positions = sampleDistinct(idRandom, rangeCount, 1, n - 1).sort((a, b) => a - b);
    const cuts = sampleDistinct(idRandom, Math.max(0, rangeCount - 1), 1, deletedTotal - 1).sort((a, b) => a - b);
    const bounds = [0, ...cuts, deletedTotal];
    positions.forEach((position, k) => deletedBefore.set(position, bounds[k + 1]! - bounds[k]!));
  }
  const maxPullId = n + (rangeCount === 0 ? 0 : deletedTotal);
  const span = roundUp(maxPullId, 100);
  const deletedIds: number[] = []; // the first ID of each deleted range, for dangling pointers
  {
    let id = 0;
    for (let i = 0; i < n; i++) {
      const gap = deletedBefore.get(i);
      if (gap) {
        deletedIds.push(id + 1);
        id += gap;
      }
      id++;
    }
  }
  const pullIdAt = (index: number): number => {
    let id = index + 1;
    for (const [position, gap] of deletedBefore) if (position <= index) id += gap;
    return id;
  };

  // --- Where problems go: deterministic pull indices, and thresholds for the order-level ones. ---
  const planRandom = new Random(seed, 'plan');
  const pullPlants = new Map<number, PullPlant>();
  const place = (kind: PullPlant, count: number) => {
    for (let j = 0; j < count && pullPlants.size < n; j++) {
      let index = Math.min(n - 1, Math.floor((n * (j + 0.15 + 0.7 * planRandom.next())) / count));
      while (pullPlants.has(index)) index = (index + 1) % n;
      pullPlants.set(index, kind);
    }
  };
  if (plantProblems) {
    place('unknownHoldType', 3);
    place('orphanPull', 2);
    place('zeroWhenFreed', 2);
    place('partlyZeroWhenFreed', 1);
  }
  place('invalidWhenPulled', zeroWhenPulled);
  const orderPlantThresholds = (count: number) =>
    plantProblems ? Array.from({ length: count }, (_, j) => Math.floor((n * (j + 0.3 + 0.4 * planRandom.next())) / count)) : [];
  const pointerThresholds = orderPlantThresholds(2);
  const danglingThresholds = orderPlantThresholds(2);
  const danglingTargets = danglingThresholds.map((_, j) =>
    deletedIds.length > 0 ? deletedIds[Math.floor((deletedIds.length * (j + 0.5)) / danglingThresholds.length)]! : maxPullId + 1 + j,
  );

  let forcedUnreleased = 0;
  for (const kind of pullPlants.values()) if (unreleasedPlants.has(kind)) forcedUnreleased++;
  const releasedTarget = Math.min(
    n - forcedUnreleased,
    n === seedShape.pulls ? seedShape.released : Math.round(n * releasedFractionScaled),
  );

  const problems: Record<VbzcartProblemName, number[]> = {
    unknownHoldType: [],
    orphanPull: [],
    zeroWhenFreed: [],
    pointerToReleasedPull: [],
    danglingPullPointer: [],
    invalidWhenPulled: [],
  };

  // --- Tables. ---
  const savedMode = (await db.query<{ mode: string }>('SELECT @@SESSION.sql_mode AS mode'))[0]?.mode ?? '';
  // Strict, so a character latin1 cannot hold fails loudly; without NO_ZERO_DATE/NO_ZERO_IN_DATE, so the planted
  // zero dates go in; without NO_BACKSLASH_ESCAPES, which the driver's escaping relies on.
  await db.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'");
  const writer = new BulkWriter(db);
  try {
    for (const ddl of Object.values(legacyTablesDdl)) await db.execute(ddl);
    await db.execute(createTableSql(event));
    if (options.createTargets) {
      await db.execute(createTableSql(eventVcOrdHold));
      await db.execute(createTableSql(eventVcLegacy));
    }
    await writer.insert(
      'ord_hold_type',
      holdTypeColumns,
      holdTypes.map((t) => [...t]),
    );

    // --- Pulls and orders, streamed together. ---
    const pullRandom = new Random(seed, 'pulls');
    const orderRandom = new Random(seed, 'orders');
    const window: OpenOrder[] = [];
    const windowSize = 24;
    let nextOrderId = 1;
    let lastCustomer = 0;
    let ordersWritten = 0;
    let ordersHeld = 0;
    let released = 0;
    let legacyRows = 0;
    let releasedLeft = releasedTarget;
    let eligibleLeft = n - forcedUnreleased;
    let pullBatch: SqlValue[][] = [];
    let pullChars = 0;
    let orderBatch: SqlValue[][] = [];
    let pullProgress = 0;
    const latin1SampleIndex = Math.min(n - 1, 2);
    let latin1SamplePullId = 0;

    const newOrder = (created: number): OpenOrder => ({
      id: nextOrderId++,
      created,
      pulls: 0,
      lastActivity: created,
      latestUnreleased: null,
      latestReleased: null,
    });

    const finishOrder = (order: OpenOrder) => {
      const r = orderRandom;
      let pointer = order.latestUnreleased;
      if (
        problems.pointerToReleasedPull.length < pointerThresholds.length &&
        pullProgress >= pointerThresholds[problems.pointerToReleasedPull.length]! &&
        order.latestReleased !== null
      ) {
        pointer = order.latestReleased;
        problems.pointerToReleasedPull.push(order.id);
      } else if (
        problems.danglingPullPointer.length < danglingThresholds.length &&
        pullProgress >= danglingThresholds[problems.danglingPullPointer.length]!
      ) {
        pointer = danglingTargets[problems.danglingPullPointer.length]!;
        problems.danglingPullPointer.push(order.id);
      }
      if (order.latestUnreleased !== null) ordersHeld++;
      let closed: number | null = null;
      if (order.pulls === 0) {
        if (r.chance(0.75)) closed = order.created + r.between(day, 14 * day);
      } else if (order.latestUnreleased === null) {
        if (r.chance(0.9)) closed = order.lastActivity + r.between(3600, 7 * day);
      } else if (r.chance(0.1)) {
        closed = order.lastActivity + r.between(3600, 3 * day);
      }
      const customer = r.chance(0.04) ? null : r.chance(0.3) && lastCustomer > 0 ? 1 + r.int(lastCustomer) : ++lastCustomer;
      const year = new Date(order.created * 1000).getUTCFullYear();
      const needed = r.chance(0.15) ? Math.floor(order.created / day) * day + r.between(3, 20) * day : null;
      const notesRoll = r.next();
      const notes = notesRoll < 0.2 ? r.pick(orderPhrases) : notesRoll < 0.23 ? '' : null;
      orderBatch.push([
        order.id,
        `${String(year % 100).padStart(2, '0')}-${String(order.id).padStart(5, '0')}`,
        customer,
        datetime(order.created),
        needed === null ? null : datetime(needed),
        pointer,
        closed === null ? null : datetime(closed),
        notes,
      ]);
      ordersWritten++;
    };

    const flush = async (final: boolean) => {
      if (final || pullBatch.length >= batchRows || pullChars >= batchCharLimit) {
        await writer.insert('ord_pull', pullColumns, pullBatch);
        pullBatch = [];
        pullChars = 0;
        options.onProgress?.({ stage: 'pulls', done: pullProgress, total: n });
      }
      if (final || orderBatch.length >= batchRows) {
        await writer.insert('orders', orderColumns, orderBatch);
        orderBatch = [];
      }
    };

    let pullId = 0;
    const range = pullsUntil - pullsFrom;
    for (let i = 0; i < n; i++) {
      pullProgress = i;
      const r = pullRandom;
      pullId += 1 + (deletedBefore.get(i) ?? 0);
      const plant = pullPlants.get(i);
      const instant = pullsFrom + Math.floor(((i + r.next()) * range) / n);
      let whenPulled = Math.floor(instant / day) * day + 8 * 3600 + r.int(11 * 3600);

      // The order: a recent one again (a second hold), or a new one, sometimes after orders that never get a pull.
      let order: OpenOrder | null;
      if (plant === 'orphanPull') {
        order = newOrder(whenPulled - r.between(600, 3 * day)); // deleted later: never written
        problems.orphanPull.push(pullId);
      } else if (window.length > 0 && r.chance(0.3)) {
        order = window[r.int(window.length)]!;
      } else {
        if (r.chance(0.1)) window.push(newOrder(whenPulled - r.between(600, 5 * day)));
        order = newOrder(whenPulled - r.between(600, 3 * day));
        window.push(order);
      }
      while (window.length > windowSize) finishOrder(window.shift()!);
      whenPulled = Math.max(whenPulled, order.created + 300 + r.int(3600));

      let isReleased = false;
      if (plant === undefined || !unreleasedPlants.has(plant)) {
        isReleased = r.next() * eligibleLeft < releasedLeft;
        eligibleLeft--;
        if (isReleased) releasedLeft--;
      }
      let whenFreed: string | null = null;
      let freedAt = whenPulled;
      if (isReleased) {
        const wait = r.next();
        freedAt = whenPulled + 600 + Math.floor(wait * wait * 30 * day);
        whenFreed = datetime(freedAt);
        released++;
      } else if (plant === 'zeroWhenFreed') {
        whenFreed = zeroDate;
        problems.zeroWhenFreed.push(pullId);
      } else if (plant === 'partlyZeroWhenFreed') {
        whenFreed = `${datetime(whenPulled).slice(0, 7)}-00 00:00:00`;
        problems.zeroWhenFreed.push(pullId);
      }

      let holdType = r.weighted(holdTypeWeights);
      if (plant === 'unknownHoldType') {
        holdType = unknownHoldTypeIds[problems.unknownHoldType.length % unknownHoldTypeIds.length]!;
        problems.unknownHoldType.push(pullId);
      }

      const accessEra = i < n * 0.4;
      const vbzUser = r.chance(accessEra ? 0.85 : 0.35) ? r.pick(vbzUsers) : null;
      const sysUser = r.chance(accessEra ? 0.8 : 0.1) ? r.pick(sysUsers) : null;
      const machineRoll = r.next();
      const machine = machineRoll < (accessEra ? 0.75 : 0.2) ? r.pick(machines) : machineRoll < (accessEra ? 0.9 : 0.5) ? '' : null;
      if (vbzUser !== null || sysUser !== null || (machine ?? '') !== '') legacyRows++;

      let notesPull = note(r, pullPhrases, 0.55, 0.08, 0.012);
      if (i === latin1SampleIndex) {
        notesPull = latin1SampleText;
        latin1SamplePullId = pullId;
      }
      const notesFree = isReleased
        ? note(r, freePhrases, 0.6, 0.1, 0.005)
        : whenFreed !== null
          ? 'freed? date lost in the Access import'
          : r.chance(0.03)
            ? r.pick(freePhrases)
            : null;

      let whenPulledText = datetime(whenPulled);
      if (plant === 'invalidWhenPulled') {
        whenPulledText = zeroDate;
        problems.invalidWhenPulled.push(pullId);
      }

      if (plant !== 'orphanPull') {
        order.pulls++;
        order.lastActivity = Math.max(order.lastActivity, freedAt);
        if (isReleased) order.latestReleased = pullId;
        else order.latestUnreleased = pullId;
      }
      pullBatch.push([pullId, order.id, holdType, whenPulledText, notesPull, vbzUser, sysUser, machine, whenFreed, notesFree]);
      pullChars += 120 + (notesPull?.length ?? 0) + (notesFree?.length ?? 0);
      if (pullBatch.length >= batchRows || pullChars >= batchCharLimit || orderBatch.length >= batchRows) await flush(false);
    }
    pullProgress = n;
    while (window.length > 0) finishOrder(window.shift()!);
    await flush(true);

    // --- Existing events: a low block from 1, a high block above the releases' range. ---
    const eventRandom = new Random(seed, 'events');
    const lowCount = n >= seedShape.pulls ? seedShape.lowEvents : Math.max(10, Math.round((seedShape.lowEvents * n) / seedShape.pulls));
    const highCount = n >= seedShape.pulls ? seedShape.highEvents : Math.max(5, Math.round((seedShape.highEvents * n) / seedShape.pulls));
    const highFirst = holdOnOffset + 2 * span + gapAboveReleases;
    const inReservedRange: number[] = [];
    let eventBatch: SqlValue[][] = [];
    const eventsTotal = lowCount + highCount + (options.plant?.eventInRange ? 1 : 0);
    let eventsDone = 0;
    const addEvents = async (first: number, count: number, from: number, until: number) => {
      for (let k = 0; k < count; k++) {
        eventBatch.push(eventRow(eventRandom, first + k, from + Math.floor(((k + eventRandom.next()) * (until - from)) / count)));
        if (eventBatch.length >= batchRows) {
          await writer.insert('event', eventColumns, eventBatch);
          eventsDone += eventBatch.length;
          eventBatch = [];
          options.onProgress?.({ stage: 'events', done: eventsDone, total: eventsTotal });
        }
      }
    };
    await addEvents(1, lowCount, Date.UTC(2018, 0, 8) / 1000, Date.UTC(2019, 3, 1) / 1000);
    if (options.plant?.eventInRange) {
      const id = holdOnOffset + pullIdAt(Math.min(n - 1, 99));
      inReservedRange.push(id);
      await addEvents(id, 1, Date.UTC(2019, 3, 2) / 1000, Date.UTC(2019, 3, 3) / 1000);
    }
    await addEvents(highFirst, highCount, Date.UTC(2019, 9, 1) / 1000, Date.UTC(2019, 11, 20) / 1000);
    await writer.insert('event', eventColumns, eventBatch);
    eventsDone += eventBatch.length;
    await writer.drain();
    options.onProgress?.({ stage: 'events', done: eventsDone, total: eventsTotal });

    return {
      seed,
      counts: {
        holdTypes: holdTypes.length,
        pulls: n,
        released,
        orders: ordersWritten,
        ordersHeld,
        existingEvents: eventsTotal,
        eventsByTable: { event: n + released, event_vc_ord_hold: n + released, event_vc_legacy: legacyRows },
      },
      maxPullId,
      span,
      problems,
      eventIds: {
        existingLow: { first: 1, last: lowCount, count: lowCount },
        existingHigh: { first: highFirst, last: highFirst + highCount - 1, count: highCount },
        holdOn: { first: holdOnOffset + 1, last: holdOnOffset + maxPullId },
        holdOff: { first: holdOnOffset + span + 1, last: holdOnOffset + span + maxPullId },
        inReservedRange,
        nextAutoIncrement: highFirst + highCount,
      },
      latin1Sample: { pullId: latin1SamplePullId, column: 'NotesPull', text: latin1SampleText },
    };
  } finally {
    await writer.drain().catch(() => undefined);
    await db.execute('SET SESSION sql_mode = ?', [savedMode]);
  }
}

/** `count` distinct integers from lo..hi (count far below the range's size, as here). */
function sampleDistinct(random: Random, count: number, lo: number, hi: number): number[] {
  const size = hi - lo + 1;
  if (count <= 0 || size <= 0) return [];
  if (count >= size) return Array.from({ length: size }, (_, k) => lo + k);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(lo + random.int(size));
  return [...chosen];
}

/** A note: text (sometimes long, sometimes several lines), '' or NULL. */
function note(r: Random, phrases: readonly string[], text: number, empty: number, long: number): string | null {
  const roll = r.next();
  if (roll >= text + empty) return null;
  if (roll >= text) return '';
  if (r.chance(long)) {
    const length = r.between(600, 4000);
    let body = r.pick(phrases);
    while (body.length < length) body += r.pick(['\r\n', '; ', '\n', ' — ']) + r.pick(phrases);
    return body;
  }
  const parts = 1 + (r.chance(0.3) ? 1 : 0) + (r.chance(0.1) ? 1 : 0);
  let body = r.pick(phrases);
  for (let k = 1; k < parts; k++) body += r.pick(['; ', '\n', ' / ']) + r.pick(phrases);
  return body;
}

function eventRow(r: Random, id: number, when: number): SqlValue[] {
  const type = r.weighted(eventTypes);
  const descrip = r.chance(0.9) ? r.pick(eventDescriptions[type]!) : null;
  const items = r.between(1, 9);
  const stash = r.chance(0.3) ? `a:2:{s:4:"cart";i:${r.between(1, 90_000)};s:5:"items";i:${items};}` : null;
  return [
    id,
    datetime(when),
    r.chance(0.4) ? datetime(when + r.int(120)) : null,
    r.chance(0.8) ? r.between(1, 50_000) : null,
    r.chance(0.5) ? r.between(1, 5_000) : null,
    type,
    descrip,
    stash,
  ];
}
