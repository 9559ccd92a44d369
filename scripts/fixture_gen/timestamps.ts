/**
 * Text forms of an instant that fixture payloads carry, as producers write
 * them. Every form here names exactly one instant.
 *
 * @module
 */

/** `2024-01-15T10:30:00` (or `…:00.123` with `with_ms`): UTC wall time without a zone. */
export function zoneless(ms: number, with_ms = false): string {
  const iso = new Date(ms).toISOString(); // 2024-01-15T10:30:00.123Z
  return with_ms ? iso.slice(0, 23) : iso.slice(0, 19);
}

/** `2024-01-15T10:30:00.123Z` (or without milliseconds). */
export function utc(ms: number, with_ms = true): string {
  return `${zoneless(ms, with_ms)}Z`;
}

/**
 * `2024-01-15T16:00:00+05:30`: the same instant as wall time at a fixed
 * offset from UTC (whole seconds).
 */
export function withOffset(ms: number, offset_minutes: number): string {
  const sign = offset_minutes < 0 ? "-" : "+";
  const magnitude = Math.abs(offset_minutes);
  const hours = String(Math.floor(magnitude / 60)).padStart(2, "0");
  const minutes = String(magnitude % 60).padStart(2, "0");
  return `${zoneless(ms + offset_minutes * 60_000)}${sign}${hours}:${minutes}`;
}
