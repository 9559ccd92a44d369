/**
 * The events of a `POST /track` body: decoded, validated and completed with
 * their defaults, as the messages the log will hold.
 *
 * An event is a JSON object:
 * - `event_id`: a non-empty string (at most `event_id_length_max` characters),
 *   required; the message key;
 * - `value`: a finite number, default 1;
 * - `timestamp`: event time, ISO-8601 or epoch milliseconds, checked with
 *   the rule the stream jobs read it with (`parseEventTime`), default the time
 *   the request was received, written as ISO-8601 UTC;
 * - any other field, kept as it is;
 * - as a message (key and completed JSON), at most `event_bytes_max` bytes.
 *
 * The message value is the event's JSON with the defaults filled in, so the
 * stream job sees exactly what the API accepted. A body is all or nothing:
 * one invalid event makes the whole body invalid, and every invalid event is
 * named with its reason (up to `invalid_listed_max` of them).
 *
 * @module
 */

import { parseEventTime } from "../core/time.ts";
import type { LogMessage } from "../ports.ts";
import { messageBytes } from "./message_bytes.ts";

/** How the body is framed, from its content type. */
export type BodyFraming = "json" | "ndjson";

/** Options of {@linkcode parseTrackBody}. */
export interface ParseTrackOptions {
  /** Processing time the request was received: the default `timestamp`. */
  received_ms: number;
  /** Longest `event_id`, in UTF-16 code units. Default: 256. */
  event_id_length_max?: number;
  /** Most invalid events listed in an answer (all are counted). Default: 100. */
  invalid_listed_max?: number;
  /**
   * Largest message one event may become (see `messageBytes`): larger
   * events are invalid. Default: 262144 (256 KiB).
   */
  event_bytes_max?: number;
}

/** An invalid event and why. */
export interface InvalidEvent {
  /** Position of the event in the body, from 0 (NDJSON: among its non-blank lines). */
  index: number;
  /** Line of the body, from 1 (NDJSON only). */
  line?: number;
  /** The rule it breaks, with the value. */
  reason: string;
}

/** The outcome of {@linkcode parseTrackBody}. */
export type TrackBody =
  /** Every event is valid: the messages to produce, in body order. */
  | { ok: true; messages: LogMessage[] }
  | {
    ok: false;
    /** What is wrong with the body as a whole. */
    error: string;
    /** The invalid events, up to `invalid_listed_max`. */
    invalid: InvalidEvent[];
    /** How many events are invalid. */
    invalid_total: number;
  };

const DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Parses and validates a body framed as `framing`. */
export function parseTrackBody(
  bytes: Uint8Array,
  framing: BodyFraming,
  options: ParseTrackOptions,
): TrackBody {
  let text: string;
  try {
    text = DECODER.decode(bytes);
  } catch {
    return bodyError("the body is not valid UTF-8");
  }
  const checker = new EventChecker(options);
  if (framing === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return bodyError(
        `the body is not valid JSON: ${(error as Error).message}`,
      );
    }
    if (Array.isArray(parsed)) {
      parsed.forEach((event, index) => checker.check(event, index));
    } else if (isObject(parsed)) {
      checker.check(parsed, 0);
    } else {
      return bodyError(
        `the body must be a JSON object or an array of objects: current value is ${
          show(parsed)
        }`,
      );
    }
  } else {
    let index = 0;
    const lines = text.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n] as string;
      if (line.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        checker.invalid(
          index++,
          `not valid JSON: ${(error as Error).message}`,
          n + 1,
        );
        continue;
      }
      checker.check(parsed, index++, n + 1);
    }
  }
  return checker.result();
}

function bodyError(error: string): TrackBody {
  return { ok: false, error, invalid: [], invalid_total: 0 };
}

class EventChecker {
  readonly #received: string;
  readonly #id_max: number;
  readonly #listed_max: number;
  readonly #bytes_max: number;
  readonly #messages: LogMessage[] = [];
  readonly #invalid: InvalidEvent[] = [];
  #invalid_total = 0;
  #count = 0;

  constructor(options: ParseTrackOptions) {
    this.#received = new Date(options.received_ms).toISOString();
    this.#id_max = options.event_id_length_max ?? 256;
    this.#listed_max = options.invalid_listed_max ?? 100;
    this.#bytes_max = options.event_bytes_max ?? 262_144;
  }

  check(event: unknown, index: number, line?: number): void {
    const reason = this.#reasonAgainst(event);
    if (reason !== null) {
      this.invalid(index, reason, line);
      return;
    }
    const fields = event as Record<string, unknown>;
    const completed = { ...fields };
    if (!("value" in fields)) completed.value = 1;
    if (!("timestamp" in fields)) completed.timestamp = this.#received;
    const message = {
      key: fields.event_id as string,
      value: JSON.stringify(completed),
    };
    const bytes = messageBytes(message);
    if (bytes > this.#bytes_max) {
      this.invalid(
        index,
        `an event must be at most ${this.#bytes_max} bytes as a message: current size is ${bytes}`,
        line,
      );
      return;
    }
    this.#count++;
    // Once one event is invalid nothing is written: stop keeping messages.
    if (this.#invalid_total === 0) this.#messages.push(message);
  }

  invalid(index: number, reason: string, line?: number): void {
    this.#count++;
    this.#invalid_total++;
    if (this.#invalid.length < this.#listed_max) {
      this.#invalid.push(
        line === undefined ? { index, reason } : { index, line, reason },
      );
    }
  }

  result(): TrackBody {
    if (this.#invalid_total > 0) {
      return {
        ok: false,
        error:
          `${this.#invalid_total} of ${this.#count} events are invalid: nothing was accepted`,
        invalid: this.#invalid,
        invalid_total: this.#invalid_total,
      };
    }
    if (this.#count === 0) return bodyError("the body holds no event");
    return { ok: true, messages: this.#messages };
  }

  #reasonAgainst(event: unknown): string | null {
    if (!isObject(event)) {
      return `an event must be a JSON object: current value is ${show(event)}`;
    }
    const id = event.event_id;
    if (!("event_id" in event)) return "'event_id' is required";
    if (typeof id !== "string") {
      return `'event_id' must be a string: current value is ${show(id)}`;
    }
    if (id.length === 0) return "'event_id' must not be empty";
    if (id.length > this.#id_max) {
      return `'event_id' must be at most ${this.#id_max} characters: current length is ${id.length}`;
    }
    if ("value" in event) {
      const value = event.value;
      if (typeof value !== "number" || !Number.isFinite(value)) {
        return `'value' must be a finite number: current value is ${
          show(value)
        }`;
      }
    }
    if ("timestamp" in event && parseEventTime(event.timestamp) === undefined) {
      return `'timestamp' must be ISO-8601 date and time (2024-05-01T12:00:00Z; without a zone, UTC) or epoch milliseconds (a non-negative integer): current value is ${
        show(event.timestamp)
      }`;
    }
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as JSON, cut to a length that keeps answers small. */
function show(value: unknown): string {
  // JSON reads 1e999 as Infinity, which JSON.stringify would print as null.
  const text = value === undefined ||
      (typeof value === "number" && !Number.isFinite(value))
    ? String(value)
    : JSON.stringify(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}
