/**
 * Event time: parsing a record's `timestamp` field, formatting time buckets,
 * and validating durations. Pure functions; nothing here reads a clock.
 *
 * @module
 */

// The shape java.time's ISO_OFFSET_DATE_TIME prints: seconds required, an
// optional fraction of up to nine digits, and a zone (Z or ±hh:mm). Date.parse
// is not used because it accepts "2026", "2026-01-01" and local times.
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))?$/;

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

/**
 * Epoch milliseconds of an event's `timestamp` field, or `undefined` when the
 * value is not a valid event time (the record is then a bad record).
 *
 * Accepted: a JSON number that is a non-negative safe integer (epoch ms), or
 * an ISO-8601 string `YYYY-MM-DDTHH:mm:ss(.fraction)?(Z|±hh:mm)?`. A time
 * without a zone is UTC (the producers these jobs model write
 * `2024-01-15T10:30:00`), unless `zoneless` is `"reject"`. The fraction is
 * truncated to milliseconds, as `Instant.toEpochMilli` does. Offsets beyond
 * ±18:00 are rejected, as `java.time.ZoneOffset` does. Event times before the
 * epoch are rejected in both forms, so that both forms accept the same range.
 */
export function parseEventTime(
  value: unknown,
  options: {
    /** A zone-less ISO time: read as UTC, or rejected. Default: `"utc"`. */
    zoneless?: "utc" | "reject";
  } = {},
): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  const match = ISO_DATE_TIME.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, oh, om] = match;
  const zoned = zulu !== undefined || sign !== undefined;
  if (!zoned && options.zoneless === "reject") return undefined;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset_ms = 0;
  if (sign !== undefined) {
    const offset_hours = Number(oh);
    const offset_minutes = Number(om);
    if (offset_minutes > 59 || offset_hours * 60 + offset_minutes > 18 * 60) {
      return undefined;
    }
    offset_ms = (offset_hours * 60 + offset_minutes) * MS_PER_MINUTE *
      (sign === "-" ? -1 : 1);
  }
  const millis = fraction === undefined
    ? 0
    : Number(fraction.padEnd(3, "0").slice(0, 3));
  const epoch_ms = daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset_ms;
  return epoch_ms >= 0 ? epoch_ms : undefined;
}

/**
 * An instant as ISO-8601 UTC with milliseconds only when they are not zero:
 * `2024-10-22T18:00:00Z`, `2024-10-22T18:00:00.250Z` (as `Instant.toString`
 * prints whole seconds without a fraction).
 */
export function formatIso(ts: number): string {
  if (!Number.isSafeInteger(ts)) {
    throw new RangeError(
      `Cannot format time as 'ts' must be a whole number of epoch milliseconds: current value is ${ts}`,
    );
  }
  const days = Math.floor(ts / MS_PER_DAY);
  const ms_of_day = ts - days * MS_PER_DAY;
  const [year, month, day] = civilFromDays(days);
  const seconds = Math.floor(ms_of_day / 1000);
  const millis = ms_of_day % 1000;
  const yyyy = year >= 0 && year <= 9999
    ? pad(year, 4)
    : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 6)}`;
  return `${yyyy}-${pad(month, 2)}-${pad(day, 2)}T${
    pad(Math.floor(seconds / 3600), 2)
  }:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}${
    millis === 0 ? "" : `.${pad(millis, 3)}`
  }Z`;
}

/**
 * The UTC bucket an instant falls in: `yyyyMMddHH` for "hour", `yyyyMMdd` for
 * "day", `yyyyMMddHHmm` for "minute".
 */
export function formatBucket(
  ts: number,
  unit: "hour" | "day" | "minute",
): string {
  if (!Number.isFinite(ts)) {
    throw new RangeError(
      `Cannot format bucket as 'ts' must be a finite epoch time: current value is ${ts}`,
    );
  }
  const days = Math.floor(ts / MS_PER_DAY);
  const minute_of_day = Math.floor((ts - days * MS_PER_DAY) / MS_PER_MINUTE);
  const [year, month, day_of_month] = civilFromDays(days);
  const day = pad(year, 4) + pad(month, 2) + pad(day_of_month, 2);
  if (unit === "day") return day;
  const hour = day + pad(Math.floor(minute_of_day / 60), 2);
  if (unit === "hour") return hour;
  return hour + pad(minute_of_day % 60, 2);
}

/**
 * Throws unless `value` is a whole number of milliseconds, positive (or
 * non-negative when `allow_zero`). `action` completes "Cannot ...".
 */
export function assertDuration(
  action: string,
  name: string,
  value: unknown,
  options: {
    /** Accept 0. Default: false. */
    allow_zero?: boolean;
  } = {},
): asserts value is number {
  const allow_zero = options.allow_zero ?? false;
  const ok = typeof value === "number" && Number.isSafeInteger(value) &&
    (allow_zero ? value >= 0 : value > 0);
  if (!ok) {
    const rule = allow_zero ? "a non-negative duration" : "a positive duration";
    throw new RangeError(
      `Cannot ${action} as '${name}' must be ${rule} in whole milliseconds: current value is ${
        String(value)
      }`,
    );
  }
}

// Inverse of daysFromCivil (Howard Hinnant's civil_from_days); computed
// rather than via Date so that src/core holds no Date at all.
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return [year, month, day];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil); Date.UTC is avoided because it maps years 0-99 to 19xx.
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
