import type { Db } from '../../src/db/connection.ts';
import { databaseError, usageError } from '../../src/errors.ts';
import { campaignEventsDdl } from './legacy-schema.ts';
import { toolEventIdBytes } from './schema.ts';
import { mulberry32 } from '../seeded-random.ts';

/**
 * A deterministic CampaignEvents database from before the tracking tools moved out: `campaign_events` exactly as the
 * extension defines it (legacy-schema.ts), filled like a wiki's, with the cases the extension's rules decide: tool ids
 * NULL and 0 (no tool, some with a stray tool event id), tool event ids of arbitrary bytes, empty ones and ones of
 * exactly 512 bytes. Bad rows the upstream schema cannot hold are planted only on request (`plant`).
 *
 * @example
 * const fixture = await generateCampaignEvents(db);                         // 1200 events, the default seed
 * const unseen = await generateCampaignEvents(db, { seed: Date.now() % 2 ** 31 });
 * const bad = await generateCampaignEvents(db, { plant: ['toolEventIdTooLong'] });
 */

export const defaultCampaignEventsSeed = 20230406;

/** Rows the mapping must refuse, planted on request: a tool event id over 512 bytes, a tool with a NULL event id. */
export type CampaignEventsPlant = 'toolEventIdTooLong' | 'toolWithoutEventId';

export interface CampaignEventsFixtureOptions {
  /** How many events (default 1200). About 8% of IDs are gaps (deleted rows). */
  events?: number;
  /** PRNG seed, a 32-bit integer (default `defaultCampaignEventsSeed`). Another seed: another database of the same shape. */
  seed?: number;
  /** Rows per INSERT statement; default 2000. */
  batchRows?: number;
  /** Bad rows to plant, two of each kind, among the events. */
  plant?: CampaignEventsPlant[];
}

/** What was generated, counted while generating: tests compare the run with these. */
export interface CampaignEventsFixture {
  seed: number;
  events: number;
  maxEventId: number;
  /** Tool id neither NULL nor 0: the rows ce_tracking_tools gets (planted bad rows included). */
  withTool: number;
  /** Tool id NULL, and tool id 0: no tool. */
  toolIdNull: number;
  toolIdZero: number;
  /** Of those, the ones with a tool event id anyway (warning eventIdWithoutTool), by event id. */
  eventIdWithoutTool: number[];
  /** Among `withTool`: tool event ids of arbitrary bytes (a NUL, 0xFF, invalid UTF-8), empty ones, ones of exactly 512 bytes. */
  binaryToolEventIds: number;
  emptyToolEventIds: number;
  fullLengthToolEventIds: number;
  /** Planted, by event id. */
  toolEventIdTooLong: number[];
  toolWithoutEventId: number[];
}

const mwTime = (ms: number) => new Date(ms).toISOString().replace(/\D/g, '').slice(0, 14);

/** Creates `campaign_events` in `db` (which must not have it) and fills it. */
export async function generateCampaignEvents(db: Db, options: CampaignEventsFixtureOptions = {}): Promise<CampaignEventsFixture> {
  const events = options.events ?? 1200;
  const seed = options.seed ?? defaultCampaignEventsSeed;
  if (!Number.isSafeInteger(events) || events < 20) throw usageError(`events must be a whole number of at least 20, not ${events}.`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw usageError(`seed must be a 32-bit unsigned integer, not ${seed}.`);
  const batchRows = options.batchRows ?? 2000;
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const facts: CampaignEventsFixture = {
    seed,
    events,
    maxEventId: 0,
    withTool: 0,
    toolIdNull: 0,
    toolIdZero: 0,
    eventIdWithoutTool: [],
    binaryToolEventIds: 0,
    emptyToolEventIds: 0,
    fullLengthToolEventIds: 0,
    toolEventIdTooLong: [],
    toolWithoutEventId: [],
  };
  // Which event numbers carry planted bad rows: two of each kind asked for, at places the seed picks.
  const planted = new Map<number, CampaignEventsPlant>();
  for (const kind of options.plant ?? []) {
    for (let i = 0; i < 2; i++) {
      let n: number;
      do n = Math.floor(random() * events);
      while (planted.has(n));
      planted.set(n, kind);
    }
  }

  /** A tool event id; `counted` for those of events with a tool (the facts count what ce_tracking_tools gets). */
  const toolEventId = (eventId: number, counted: boolean): Buffer => {
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
    if (r < 0.085) {
      if (counted) facts.fullLengthToolEventIds++;
      return Buffer.alloc(toolEventIdBytes, `Event-${eventId}-`);
    }
    const course = pick(['Edit-a-thon', 'Wiki_Loves_Monuments', 'Kurs_Übung', 'Ателье', 'ویکی‌نویسی', 'Art+Feminism']);
    return Buffer.from(`${pick(['WMDE', 'Wikimedia_Foundation', 'WikiProject_Women'])}/${course}_${eventId}${r < 0.1 ? ' ' : ''}`, 'utf8');
  };

  try {
    await db.execute(campaignEventsDdl);
  } catch (cause) {
    throw databaseError('Creating campaign_events for the CampaignEvents fixture (the database must not have it yet)', cause);
  }
  const columns = [
    'event_id',
    'event_name',
    'event_page_namespace',
    'event_page_title',
    'event_page_wiki',
    'event_page_prefixedtext',
    'event_chat_url',
    'event_tracking_tool_id',
    'event_tracking_tool_event_id',
    'event_status',
    'event_timezone',
    'event_start_local',
    'event_start_utc',
    'event_end_local',
    'event_end_utc',
    'event_type',
    'event_meeting_type',
    'event_meeting_url',
    'event_created_at',
    'event_last_edit',
    'event_deleted_at',
  ];
  let batch: unknown[][] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await db.execute(`INSERT INTO campaign_events (${columns.join(', ')}) VALUES ?`, [batch]);
    batch = [];
  };
  const zones: Array<[string, number]> = [
    ['UTC', 0],
    ['Europe/Berlin', 1],
    ['America/New_York', -5],
    ['Asia/Kolkata', 5.5],
  ];
  let eventId = 0;
  for (let n = 0; n < events; n++) {
    eventId += random() < 0.08 ? 2 + Math.floor(random() * 3) : 1;
    const created = Date.UTC(2022, 10, 1) + Math.floor(random() * 200 * 86400) * 1000;
    const start = created + Math.floor(random() * 60 * 86400) * 1000;
    const [zone, offset] = pick(zones);
    let toolId: number | null;
    let toolEvent: Buffer | null;
    const plant = planted.get(n);
    if (plant === 'toolEventIdTooLong') {
      facts.withTool++;
      facts.toolEventIdTooLong.push(eventId);
      [toolId, toolEvent] = [1, Buffer.alloc(toolEventIdBytes + 1 + Math.floor(random() * 100), 'x')];
    } else if (plant === 'toolWithoutEventId') {
      facts.withTool++;
      facts.toolWithoutEventId.push(eventId);
      [toolId, toolEvent] = [1, null];
    } else {
      const r = random();
      if (r < 0.55) {
        facts.withTool++;
        toolId = random() < 0.9 ? 1 : 2;
        toolEvent = toolEventId(eventId, true);
      } else {
        // No tool: NULL (the column's default) or 0, either way falsy; a few keep a tool event id anyway.
        toolId = r < 0.8 ? null : 0;
        if (toolId === null) facts.toolIdNull++;
        else facts.toolIdZero++;
        toolEvent = random() < 0.1 ? toolEventId(eventId, false) : null;
        if (toolEvent !== null) facts.eventIdWithoutTool.push(eventId);
      }
    }
    const title = `Event:${pick(['Edit-a-thon', 'Workshop', 'Photo_walk', 'Schreibwerkstatt'])}_${eventId}`;
    const meeting = pick([1, 2, 3]);
    batch.push([
      eventId,
      Buffer.from(title.slice(6).replace(/_/g, ' '), 'utf8'),
      1728,
      Buffer.from(title.slice(6), 'utf8'),
      pick(['metawiki', 'dewiki', 'enwiki']),
      Buffer.from(title, 'utf8'),
      random() < 0.5 ? Buffer.alloc(0) : Buffer.from(`https://chat.example.org/${eventId}`),
      toolId,
      toolEvent,
      pick([1, 1, 1, 2]),
      zone,
      mwTime(start + offset * 3600_000),
      mwTime(start),
      mwTime(start + (offset + 3) * 3600_000),
      mwTime(start + 3 * 3600_000),
      'generic',
      meeting,
      meeting === 1 ? Buffer.alloc(0) : Buffer.from(`https://meet.example.org/${eventId}`),
      mwTime(created),
      mwTime(created + Math.floor(random() * 86400) * 1000),
      random() < 0.05 ? mwTime(start + 86400_000) : null,
    ]);
    if (batch.length >= batchRows) await flush();
  }
  await flush();
  facts.maxEventId = eventId;
  return facts;
}
