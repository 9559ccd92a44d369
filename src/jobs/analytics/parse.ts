/**
 * Parsing of `flink-events` messages, as `POST /track` writes them:
 * `{"event_id", "value"?, "timestamp", ...}`, keyed by `event_id`.
 *
 * @module
 */

import {
  eventTime,
  finiteNumber,
  jsonObject,
  nonEmptyString,
  shown,
} from "../../flow/json.ts";
import type { Parsed } from "../../flow/source.ts";
import type { LogRecord } from "../../ports.ts";

/** What the job keeps of an event (other fields are not aggregated). */
export interface AnalyticsEvent {
  event_id: string;
  /** The event's `value`; 1 when absent or null (an event counts 1). */
  value: number;
}

/**
 * Parses one record; never throws. Besides the payload's own checks, the
 * record's key must be its `event_id` when it has a key: every event of an
 * id must reach one partition, or two partitions would write windows of
 * the same id over each other.
 */
export function parseAnalyticsEvent(
  payload: string,
  record?: Pick<LogRecord, "key">,
): Parsed<AnalyticsEvent> {
  const object = jsonObject(payload);
  if (!object.ok) return { error: object.reason };
  const id = nonEmptyString(object.value, "event_id");
  if (!id.ok) return { error: id.reason };
  const value = finiteNumber(object.value, "value", { default: 1 });
  if (!value.ok) return { error: value.reason };
  const time = eventTime(object.value, "timestamp");
  if (!time.ok) return { error: time.reason };
  const key = record?.key;
  if (key !== undefined && key !== null && key !== id.value) {
    return {
      error: `the record's key must be its 'event_id' ${
        shown(id.value)
      } (one partition sees every event of an id): current key is ${
        shown(key)
      }`,
    };
  }
  return {
    value: { event_id: id.value, value: value.value },
    time: time.value,
    key: id.value,
  };
}
