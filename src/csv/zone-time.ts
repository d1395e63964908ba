import { FixedOffsetZone, IANAZone, type Zone } from 'luxon';

/**
 * Local wall times in one IANA zone, for a stream of values: which instant a local time is, whether it does not exist
 * (the hour clocks skip when they spring forward) or happened twice (the hour repeated when they fall back), and the
 * local time of an instant. Offsets come from luxon's zone data; they are cached per day in which they do not change,
 * so a file of a million rows asks luxon a few thousand times, not a million.
 *
 * Times are handled as milliseconds: an instant as UTC epoch ms, a wall time as the epoch ms it would be in UTC
 * (`Date.UTC(year, month - 1, day, hour, minute, second)`).
 */
export type LocalTimeResolution = { kind: 'ok'; instant: number } | { kind: 'gap' } | { kind: 'ambiguous'; instants: [number, number] };

const hour = 3_600_000;
const day = 24 * hour;

export class ZoneClock {
  readonly name: string;
  private readonly zone: Zone;
  private readonly cache = new Map<number, number>();

  constructor(name: string) {
    this.name = name;
    this.zone = /^(utc|etc\/utc|z)$/i.test(name) ? FixedOffsetZone.utcInstance : IANAZone.create(name);
    if (!this.zone.isValid) throw new Error(`'${name}' is not an IANA time zone`);
  }

  /** The zone's offset from UTC at an instant, in minutes. */
  offsetAt(instant: number): number {
    // Cached per UTC day whose offset is the same at its first and last millisecond; a day with a change (a couple a
    // year) is asked about every time.
    const bucket = Math.floor(instant / day);
    const cached = this.cache.get(bucket);
    if (cached !== undefined) return cached;
    const start = this.zone.offset(bucket * day);
    if (this.zone.offset(bucket * day + day - 1) !== start) return this.zone.offset(instant);
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(bucket, start);
    return start;
  }

  /** The local wall time of an instant. */
  wallOf(instant: number): number {
    return instant + this.offsetAt(instant) * 60_000;
  }

  /** Which instant a local wall time is: one, none (a spring-forward gap) or two (a fall-back overlap), earlier first. */
  resolve(wall: number): LocalTimeResolution {
    const before = this.offsetAt(wall - day);
    const after = this.offsetAt(wall + day);
    const offsets = before === after ? [before] : [before, after];
    const instants = offsets.map((o) => wall - o * 60_000).filter((t) => this.offsetAt(t) * 60_000 === wall - t);
    if (instants.length === 0) return { kind: 'gap' };
    if (instants.length === 1) return { kind: 'ok', instant: instants[0]! };
    const [a, b] = instants.sort((x, y) => x - y) as [number, number];
    return a === b ? { kind: 'ok', instant: a } : { kind: 'ambiguous', instants: [a, b] };
  }
}
