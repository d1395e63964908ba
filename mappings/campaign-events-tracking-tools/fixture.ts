import type { Db } from '../../src/db/connection.ts';
import { databaseError, usageError } from '../../src/errors.ts';
import { campaignEventsDdl } from './legacy-schema.ts';
import { mulberry32 } from '../seeded-random.ts';

/**
 * A deterministic legacy CampaignEvents database, for tests and demos: `campaign_events` with its tracking-tool
 * columns, shaped like a wiki's and with the problems real data has.
 *
 * @example
 * const fixture = await generateCampaignEvents(db);                          // 1200 events, the default seed
 * const unseen = await generateCampaignEvents(db, { seed: Date.now() % 2 ** 31 });
 * const big = await generateCampaignEvents(db, { events: 200_000 });
 */

export const defaultCampaignEventsSeed = 20230419;

export interface CampaignEventsFixtureOptions {
  /** How many events (default 1200). About 14% of IDs are gaps (deleted rows). */
  events?: number;
  /** PRNG seed, a 32-bit integer (default `defaultCampaignEventsSeed`). Another seed: another database of the same shape. */
  seed?: number;
  /** Rows per INSERT statement; default 2000. */
  batchRows?: number;
}

/** What was generated, counted while generating: tests compare the run with these. */
export interface CampaignEventsFixture {
  seed: number;
  events: number;
  maxEventId: number;
  /** Both tracking-tool columns set: the rows ce_tracking_tools gets. */
  withTool: number;
  /** Only event_tracking_tool_id set (problem toolWithoutEventId). */
  toolIdOnly: number;
  /** Only event_tracking_tool_event_id set (problem eventIdWithoutTool). */
  toolEventIdOnly: number;
  /** Tool event ids of arbitrary bytes (NUL, 0xFF, invalid UTF-8), among `withTool`. */
  binaryToolEventIds: number;
  /** Empty tool event ids, among `withTool` (problem emptyToolEventId). */
  emptyToolEventIds: number;
  /** Last sync NULL, among `withTool`. */
  nullLastSync: number;
  /** Last sync the zero date, among `withTool` (problem invalidLastSync). */
  zeroLastSync: number;
  /** Last sync a wall time the zone skips or repeats (DST changes), among `withTool`. */
  dstLastSync: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Wall times Europe/Berlin skips (spring forward) and repeats (fall back). */
const dstWallTimes = ['2023-03-26 02:30:00', '2023-10-29 02:30:00', '2024-03-31 02:05:00', '2024-10-27 02:59:59'];

/** Creates `campaign_events` in `db` (which must not have it) and fills it. */
export async function generateCampaignEvents(db: Db, options: CampaignEventsFixtureOptions = {}): Promise<CampaignEventsFixture> {
  const events = options.events ?? 1200;
  const seed = options.seed ?? defaultCampaignEventsSeed;
  if (!Number.isSafeInteger(events) || events < 1) throw usageError(`events must be a positive whole number, not ${events}.`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw usageError(`seed must be a 32-bit unsigned integer, not ${seed}.`);
  const batchRows = options.batchRows ?? 2000;
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const mwTime = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const facts: CampaignEventsFixture = {
    seed, events, maxEventId: 0, withTool: 0, toolIdOnly: 0, toolEventIdOnly: 0, binaryToolEventIds: 0,
    emptyToolEventIds: 0, nullLastSync: 0, zeroLastSync: 0, dstLastSync: 0,
  };

  const toolEventId = (n: number, counted: boolean): Buffer => {
    const r = random();
    if (r < 0.06) {
      if (counted) facts.binaryToolEventIds++;
      // Arbitrary bytes, always with a NUL, a 0xFF and a lone continuation byte: none of it valid UTF-8.
      const bytes = Buffer.from(Array.from({ length: 3 + Math.floor(random() * 12) }, () => Math.floor(random() * 256)));
      return Buffer.concat([bytes, Buffer.from([0x00, 0xff, 0x80])]);
    }
    if (r < 0.075) {
      if (counted) facts.emptyToolEventIds++;
      return Buffer.alloc(0);
    }
    const course = pick(['Edit-a-thon', 'Wiki_Loves_Monuments', 'Kurs_Übung', 'Ателье', 'ویکی‌نویسی', 'Art+Feminism']);
    const text = `${pick(['WMDE', 'Wikimedia_Foundation', 'WikiProject_Women'])}/${course}_${n}${r < 0.1 ? ' ' : ''}`;
    return Buffer.from(text, 'utf8');
  };
  const lastSync = (): string | null => {
    const r = random();
    if (r < 0.2) return (facts.nullLastSync++, null);
    if (r < 0.215) return (facts.zeroLastSync++, '0000-00-00 00:00:00');
    if (r < 0.23) return (facts.dstLastSync++, pick(dstWallTimes));
    const ms = Date.UTC(2022, 0, 1) + Math.floor(random() * 3 * 365 * 86400) * 1000;
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  };

  try {
    await db.execute(campaignEventsDdl);
  } catch (cause) {
    throw databaseError('Creating campaign_events for the CampaignEvents fixture (the database must not have it yet)', cause);
  }
  const columns = ['event_id', 'event_name', 'event_page_namespace', 'event_page_title', 'event_page_wiki', 'event_status', 'event_timezone',
    'event_start_utc', 'event_end_utc', 'event_tracking_tool_id', 'event_tracking_tool_event_id', 'event_tracking_tool_last_sync',
    'event_created_at', 'event_deleted_at'];
  const insert = (n: number) => `INSERT INTO campaign_events (${columns.join(', ')}) VALUES ${Array.from({ length: n }, () => `(${columns.map(() => '?').join(', ')})`).join(', ')}`;
  let batch: unknown[][] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await db.execute(insert(batch.length), batch.flat());
    batch = [];
  };
  let eventId = 0;
  for (let n = 0; n < events; n++) {
    eventId += random() < 0.08 ? 2 + Math.floor(random() * 3) : 1;
    const created = Date.UTC(2021, 6, 1) + Math.floor(random() * 3.5 * 365 * 86400) * 1000;
    const start = created + Math.floor(random() * 60 * 86400) * 1000;
    const r = random();
    let toolId: number | null = null;
    let toolEvent: Buffer | null = null;
    let sync: string | null = null;
    if (r < 0.58) {
      facts.withTool++;
      toolId = random() < 0.9 ? 1 : 2;
      toolEvent = toolEventId(eventId, true);
      sync = lastSync();
    } else if (r < 0.62) {
      facts.toolIdOnly++;
      toolId = 1;
      sync = random() < 0.5 ? null : '2023-06-01 12:00:00';
    } else if (r < 0.65) {
      facts.toolEventIdOnly++;
      toolEvent = toolEventId(eventId, false);
    }
    batch.push([
      eventId, Buffer.from(`Event ${eventId} ${pick(['edit-a-thon', 'workshop', 'photo walk', 'Schreibwerkstatt'])}`, 'utf8'), 1728,
      Buffer.from(`Event:${eventId}_${seed}`, 'utf8'), pick(['metawiki', 'dewiki', 'enwiki']), random() < 0.1 ? 2 : 1,
      pick(['UTC', 'Europe/Berlin', 'America/New_York', '+05:30']), mwTime(start), mwTime(start + 3 * 3600_000), toolId, toolEvent, sync,
      mwTime(created), random() < 0.05 ? mwTime(start + 86400_000) : null,
    ]);
    if (batch.length >= batchRows) await flush();
  }
  await flush();
  facts.maxEventId = eventId;
  return facts;
}
