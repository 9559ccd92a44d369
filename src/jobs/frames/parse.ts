/**
 * Parsing of `video_frames` messages:
 *
 * ```json
 * {"frame_id":"frame_123_1705123456789","timestamp":"2024-01-15T10:30:00",
 *  "source":"webcam","frame_data":"<base64 JPEG>","frame_width":1280,
 *  "frame_height":720,"frame_channels":3,"frame_size_bytes":45678,
 *  "metadata":{}}
 * ```
 *
 * Only the message's shape is checked here; whether `frame_data` is a JPEG of
 * the declared size is the analysis's job (`analysis.ts`).
 *
 * @module
 */

import { parseEventTime } from "../../core/time.ts";

/** A well-formed `video_frames` message. */
export interface VideoFrameMessage {
  frame_id: string;
  /** The `timestamp` field as sent (ISO-8601 string or epoch ms). */
  timestamp: string | number;
  /** Event time, epoch ms. */
  timestamp_ms: number;
  source: string;
  /** Base64 JPEG, not yet checked. */
  frame_data: string;
  frame_width: number;
  frame_height: number;
  frame_channels: number;
  frame_size_bytes: number;
  /** The message's `metadata` object; `{}` when absent or null. */
  metadata: Record<string, unknown>;
  /** Every field of the message as given, known or not, in its order. */
  fields: Record<string, unknown>;
}

/** Why a payload is not a `video_frames` message. */
export type ParseFailureKind =
  | "not-json"
  | "not-object"
  | "missing-field"
  | "invalid-field";

/** A message, or why the payload is not one. */
export type ParsedVideoFrame =
  | { ok: true; frame: VideoFrameMessage }
  | { ok: false; kind: ParseFailureKind; reason: string };

/** Fields every message must carry, in the order they are checked. */
export const REQUIRED_FIELDS = [
  "frame_id",
  "timestamp",
  "source",
  "frame_data",
  "frame_width",
  "frame_height",
  "frame_channels",
  "frame_size_bytes",
] as const;

const MAX_SHOWN = 80;

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

// A zone-less ISO time, as Python's datetime.isoformat() writes it.
const ISO_WITHOUT_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$/;

/**
 * Epoch ms of a frame's `timestamp`: what `parseEventTime` accepts (epoch
 * ms, ISO-8601 with a zone), plus ISO-8601 without a zone, read as UTC
 * (producers modelled on the original pipeline send those).
 */
export function frameEventTime(value: unknown): number | undefined {
  if (typeof value === "string" && ISO_WITHOUT_ZONE.test(value)) {
    return parseEventTime(`${value}Z`);
  }
  return parseEventTime(value);
}

function invalid(
  field: string,
  rule: string,
  value: unknown,
): ParsedVideoFrame {
  return {
    ok: false,
    kind: "invalid-field",
    reason: `'${field}' must be ${rule}: current value is ${shown(value)}`,
  };
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

/** Parses one message payload; never throws. */
export function parseVideoFrame(payload: string): ParsedVideoFrame {
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return {
      ok: false,
      kind: "not-json",
      reason: `payload is not valid JSON: ${shown(payload)}`,
    };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return {
      ok: false,
      kind: "not-object",
      reason: `payload must be a JSON object: current value is ${shown(data)}`,
    };
  }
  const fields = data as Record<string, unknown>;
  const missing = REQUIRED_FIELDS.filter((name) =>
    fields[name] === undefined || fields[name] === null
  );
  if (missing.length > 0) {
    return {
      ok: false,
      kind: "missing-field",
      reason: `${missing.map((name) => `'${name}'`).join(", ")} ${
        missing.length === 1 ? "is" : "are"
      } missing`,
    };
  }
  const {
    frame_id,
    timestamp,
    source,
    frame_data,
    frame_width,
    frame_height,
    frame_channels,
    frame_size_bytes,
    metadata,
  } = fields;
  if (typeof frame_id !== "string" || frame_id.trim() === "") {
    return invalid("frame_id", "a non-empty string", frame_id);
  }
  const timestamp_ms = frameEventTime(timestamp);
  if (timestamp_ms === undefined) {
    return invalid(
      "timestamp",
      "ISO-8601 (UTC when it has no zone) or epoch milliseconds",
      timestamp,
    );
  }
  if (typeof source !== "string" || source.trim() === "") {
    return invalid("source", "a non-empty string", source);
  }
  if (typeof frame_data !== "string" || frame_data === "") {
    return invalid("frame_data", "a non-empty base64 string", frame_data);
  }
  if (!isPositiveInteger(frame_width)) {
    return invalid("frame_width", "a positive integer", frame_width);
  }
  if (!isPositiveInteger(frame_height)) {
    return invalid("frame_height", "a positive integer", frame_height);
  }
  if (!isPositiveInteger(frame_channels) || frame_channels > 4) {
    return invalid("frame_channels", "1, 2, 3 or 4", frame_channels);
  }
  if (
    !Number.isSafeInteger(frame_size_bytes) || (frame_size_bytes as number) < 0
  ) {
    return invalid(
      "frame_size_bytes",
      "a non-negative integer",
      frame_size_bytes,
    );
  }
  if (
    metadata !== undefined && metadata !== null &&
    (typeof metadata !== "object" || Array.isArray(metadata))
  ) {
    return invalid("metadata", "a JSON object", metadata);
  }
  return {
    ok: true,
    frame: {
      frame_id,
      timestamp: timestamp as string | number,
      timestamp_ms,
      source,
      frame_data,
      frame_width,
      frame_height,
      frame_channels,
      frame_size_bytes: frame_size_bytes as number,
      metadata: (metadata ?? {}) as Record<string, unknown>,
      fields,
    },
  };
}
