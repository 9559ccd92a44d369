/**
 * The Redis keys the `analytics` job writes (`job.ts`) and the query API
 * reads (`src/http/analytics_api.ts`). One module for both sides, so they
 * cannot drift apart:
 *
 * - `analytics:window:<event_id>:<window_start ISO-8601 UTC>`: hash with
 *   fields `event_id, window_start, window_end, count, sum, min, max`
 *   (instants as ISO-8601 UTC, numbers as decimal strings), with a TTL;
 * - `analytics:windows:<event_id>`: sorted set of that event id's windows,
 *   member = the window's start (ISO-8601 UTC, as in the window key), score =
 *   the window's end in epoch ms, for range queries; trimmed of windows
 *   that end a TTL or more before the newest one, and expiring a TTL after
 *   its last write;
 * - `analytics:latest:<event_id>`: hash of the latest closed window (same
 *   fields), expiring a TTL after its last write;
 * - `analytics:keys`: sorted set of event ids, score = the count of their
 *   latest window.
 *
 * @module
 */

/** Key of one window's hash. */
export function windowKey(event_id: string, window_start_ms: number): string {
  return `analytics:window:${event_id}:${
    new Date(window_start_ms).toISOString()
  }`;
}

/** Key of the hash whose member is `window_start` (as stored in {@linkcode windowsKey}). */
export function windowKeyOfMember(event_id: string, member: string): string {
  return `analytics:window:${event_id}:${member}`;
}

/** Key of the sorted set of an event id's windows. */
export function windowsKey(event_id: string): string {
  return `analytics:windows:${event_id}`;
}

/** Key of an event id's latest closed window. */
export function latestKey(event_id: string): string {
  return `analytics:latest:${event_id}`;
}

/** Key of the sorted set of event ids by their latest count. */
export const KEYS_KEY = "analytics:keys";

/** A window as stored, with its numbers read. */
export interface AnalyticsWindow {
  event_id: string;
  /** ISO-8601 UTC. */
  window_start: string;
  /** ISO-8601 UTC. */
  window_end: string;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * A window hash as an {@linkcode AnalyticsWindow}, or `null` when the hash is
 * missing (expired) or lacks a field.
 */
export function readWindow(
  hash: Record<string, string>,
): AnalyticsWindow | null {
  const { event_id, window_start, window_end } = hash;
  if (
    event_id === undefined || window_start === undefined ||
    window_end === undefined
  ) return null;
  const numbers = ["count", "sum", "min", "max"].map((f) => Number(hash[f]));
  if (numbers.some((n) => Number.isNaN(n))) return null;
  const [count, sum, min, max] = numbers as [number, number, number, number];
  return { event_id, window_start, window_end, count, sum, min, max };
}
