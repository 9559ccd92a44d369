/**
 * Parsing of `viewing-events` messages, a streaming platform's heartbeats:
 * `{"user_id","program_id","session_id","device","event_time"}`
 * (`event_time` ISO-8601, zone-less read as UTC, or epoch milliseconds;
 * other fields are ignored).
 *
 * @module
 */

import { eventTime, jsonObject, nonEmptyString } from "../../flow/json.ts";
import type { Parsed } from "../../flow/source.ts";

/** A valid heartbeat: what crosses the repartition by session (JSON). */
export interface Heartbeat {
  user_id: string;
  program_id: string;
  session_id: string;
  device: string;
  /** Event time, epoch ms. */
  time_ms: number;
}

const IDS = ["user_id", "program_id", "session_id"] as const;

/**
 * Parses one payload; never throws. Bad: not JSON, not an object, a missing
 * or empty id, a missing or empty `device`, a missing or bad `event_time`.
 */
export function parseHeartbeat(payload: string): Parsed<Heartbeat> {
  const object = jsonObject(payload);
  if (!object.ok) return { error: object.reason };
  const ids: Record<string, string> = {};
  for (const field of [...IDS, "device"]) {
    const checked = nonEmptyString(object.value, field);
    if (!checked.ok) return { error: checked.reason };
    ids[field] = checked.value;
  }
  const time = eventTime(object.value, "event_time");
  if (!time.ok) return { error: time.reason };
  return {
    value: {
      user_id: ids.user_id!,
      program_id: ids.program_id!,
      session_id: ids.session_id!,
      device: ids.device!,
      time_ms: time.value,
    },
    time: time.value,
  };
}
