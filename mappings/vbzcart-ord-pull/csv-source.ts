import type { CsvColumn, CsvSourceDefinition } from '../../src/csv/declaration.ts';
import { ordPullDdl } from './legacy-schema.ts';

/**
 * How VbzCart's `ord_pull` reads from a CSV export (`--source pull=export.csv`), so that the mapping gives the same
 * events from the export as from the table.
 *
 * Time convention: VbzCart's legacy DATETIME columns hold the shop's local wall time (America/New_York), as PHP's
 * date() wrote it; the events keep that convention (event.WhenStart is copied from them). So every date-time of an
 * export is converted to New York wall time: a value with an offset (`2011-03-04T15:15:22Z`) is that instant in New
 * York; a value without one is local time of `zone` (New York unless the export says otherwise, e.g. `zone: 'UTC'`).
 * A local time that does not exist in New York (the spring-forward hour) is a bad row; one that happened twice (the
 * fall-back hour) is stored as written when no conversion is needed, and is a bad row when it must be converted.
 * MySQL zero dates (`0000-00-00 00:00:00`, `2011-03-00 ...`) are kept as they are: the mapping's own checks treat them
 * as in the table (a pull with such a WhenFreed is not released).
 */
export const shopZone = 'America/New_York';

/** US exports (Excel, Access), MySQL's own text, ISO 8601 and Excel serial numbers, tried in this order. */
export const ordPullDateFormats = [
  'M/d/yyyy h:mm:ss a',
  'M/d/yyyy h:mm a',
  'M/d/yyyy H:mm:ss',
  'M/d/yyyy H:mm',
  'yyyy-MM-dd HH:mm:ss',
  'iso',
  'excel',
];

const whenever: CsvColumn = { type: 'datetime', formats: ordPullDateFormats, zeroDates: true };

export const ordPullCsv: CsvSourceDefinition = {
  table: ordPullDdl,
  key: 'ID',
  zone: shopZone,
  tableZone: shopZone,
  columns: {
    ID: { type: 'integer' },
    ID_Ord: { type: 'integer' },
    ID_Type: { type: 'integer' },
    WhenPulled: whenever,
    NotesPull: { type: 'text' },
    VbzUser: { type: 'text' },
    SysUser: { type: 'text' },
    Machine: { type: 'text' },
    WhenFreed: whenever,
    NotesFree: { type: 'text' },
  },
};
