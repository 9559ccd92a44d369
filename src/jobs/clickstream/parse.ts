/**
 * Parsing and enriching `clickstream` events:
 *
 * ```json
 * {"event_id":"evt_123","user_id":"user_456","session_id":"sess_789",
 *  "event_type":"page_view","page_url":"https://example.com/product/123",
 *  "timestamp":1729630800000,"ip_address":"192.168.1.1","country":"US",
 *  "device_type":"mobile"}
 * ```
 *
 * An event needs `event_id`, `user_id` and `event_type` (non-empty strings)
 * and a `timestamp` (epoch milliseconds, or ISO-8601; zone-less is UTC).
 * Every other field is optional and kept as it is: the output line is the
 * payload's own text with the window fields appended, so numbers, escapes
 * and field order survive byte for byte.
 *
 * @module
 */

import { formatIso } from "../../core/time.ts";
import {
  type Check,
  eventTime,
  jsonObject,
  nonEmptyString,
} from "../../flow/json.ts";

/** A valid clickstream event, as the job keeps it. */
export interface ClickEvent {
  user_id: string;
  /** Event time, epoch ms (from `timestamp`). */
  time_ms: number;
  /** The payload's text, without surrounding white space. */
  text: string;
}

/** Fields the job adds to every event it writes. */
export const ENRICHMENT_FIELDS = [
  "event_timestamp",
  "event_timestamp_start",
  "event_timestamp_end",
] as const;

/** Parses one payload; never throws. */
export function parseClick(payload: string): Check<ClickEvent> {
  const object = jsonObject(payload);
  if (!object.ok) return object;
  for (const field of ["event_id", "user_id", "event_type"]) {
    const checked = nonEmptyString(object.value, field);
    if (!checked.ok) return checked;
  }
  const time = eventTime(object.value, "timestamp");
  if (!time.ok) return time;
  return {
    ok: true,
    value: {
      user_id: object.value.user_id as string,
      time_ms: time.value,
      text: payload.trim(),
    },
  };
}

/**
 * The output line of an event of window `[start_ms, end_ms)`: every field of
 * the payload as given, then `event_timestamp` (the event time),
 * `event_timestamp_start` and `event_timestamp_end` (the window's bounds),
 * ISO-8601 UTC (`2024-10-22T18:00:00Z`, milliseconds only when not zero).
 *
 * The payload's text is extended in place. A payload that spreads over
 * several lines, or that may already hold one of the added fields, is
 * written again from its parsed value instead: one line, the added fields
 * replacing any of the same name.
 */
export function enrich(
  event: { time_ms: number; text: string },
  start_ms: number,
  end_ms: number,
  bounds: { start: string; end: string } = {
    start: formatIso(start_ms),
    end: formatIso(end_ms),
  },
): string {
  const added = `"event_timestamp":"${
    formatIso(event.time_ms)
  }","event_timestamp_start":"${bounds.start}","event_timestamp_end":"${bounds.end}"`;
  const text = event.text;
  if (!/[\n\r]/.test(text) && !text.includes('"event_timestamp')) {
    // A JSON object with the three required fields: never `{}`.
    return `${text.slice(0, -1)},${added}}`;
  }
  const object = JSON.parse(text) as Record<string, unknown>;
  for (const field of ENRICHMENT_FIELDS) delete object[field];
  const body = JSON.stringify(object);
  return `${body.slice(0, -1)},${added}}`;
}
