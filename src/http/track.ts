/**
 * `POST /track`: events in, acknowledged by the log, out to the stream jobs.
 *
 * Answers, in the order they are checked:
 * - `405` for another method;
 * - `401` when a token is configured and the request has none or a wrong one
 *   (`WWW-Authenticate: Bearer`);
 * - `415` unless the content type is `application/json` or
 *   `application/x-ndjson` (or `application/ndjson`), UTF-8;
 * - `413` when `Content-Length` or the bytes read pass `body_limit_bytes`
 *   (reading stops at the first chunk past it);
 * - `503` + `Retry-After` when the log failed recently, or the in-flight
 *   budget (events or bytes) has no room for the request;
 * - `400` when the body or any event in it is invalid, naming each invalid
 *   event and why (see `track_events.ts`);
 * - `503` + `Retry-After` when the log does not acknowledge the events (an
 *   error, or no answer within `produce_timeout_ms`);
 * - `202` with `{"accepted": n}` once the log acknowledged all n events.
 *
 * All or nothing, per request: a request with one invalid event writes
 * nothing. A 202 means every event is in the log (once: the producer is
 * idempotent). A 503 after the body was accepted means "not acknowledged":
 * some of the events may be in the log (a large request spans several
 * partitions and produce calls, and a timed-out call may still land), so a
 * client that retries may write them twice.
 *
 * Every body answers JSON with an `error` field saying the rule and the value.
 * The token never appears in an answer or a log line.
 *
 * @module
 */

import type { Clock, Log } from "../ports.ts";
import { BearerToken } from "./auth.ts";
import {
  BatchingProducer,
  type BatchingProducerOptions,
  LogUnavailableError,
} from "./batching_producer.ts";
import { BodyRefusedError, BodyTooLargeError, readBody } from "./body.ts";
import { InFlightBudget } from "./budget.ts";
import { json } from "./json_response.ts";
import { type BodyFraming, parseTrackBody } from "./track_events.ts";

/** What happened to one request, for metrics. */
export interface TrackOutcome {
  status: number;
  /** Events written (202) or refused after parsing (503). */
  events: number;
  /** Invalid events (400). */
  invalid: number;
}

/** Options of {@linkcode Tracker}. */
export interface TrackerOptions {
  /** Where events go. */
  log: Log;
  /** Processing time: the default event time, timeouts, the backoff. */
  clock: Clock;
  /** Topic the events go to, keyed by `event_id`. Default: `"flink-events"`. */
  topic?: string;
  /** Bearer token required from clients (`TRACK_TOKEN`); none or `""` means none. Default: none. */
  token?: string | null;
  /** Largest request body. Default: 1048576 (1 MiB). */
  body_limit_bytes?: number;
  /** Most events parsed and not yet acknowledged, over all requests. Default: 100000. */
  events_in_flight_max?: number;
  /** Most body bytes held, over all requests. Default: 67108864 (64 MiB). */
  bytes_in_flight_max?: number;
  /** The `Retry-After` of 503 answers, in seconds; also the backoff after a log failure. Default: 1. */
  retry_after_s?: number;
  /** Longest `event_id`. Default: 256. */
  event_id_length_max?: number;
  /** Largest event as a message. Default: 262144 (256 KiB); at most `batch_bytes_max`. */
  event_bytes_max?: number;
  /** Most invalid events named in a 400 answer. Default: 100. */
  invalid_listed_max?: number;
  /** Batching of produce calls; see {@linkcode BatchingProducerOptions}. */
  producer?: Pick<
    BatchingProducerOptions,
    | "produces_in_flight_max"
    | "batch_messages_max"
    | "batch_bytes_max"
    | "produce_timeout_ms"
    | "on_error"
    | "on_produce"
  >;
  /** Told about every answered request. Default: none. */
  on_outcome?: (outcome: TrackOutcome) => void;
}

const FRAMINGS = new Map<string, BodyFraming>([
  ["application/json", "json"],
  ["application/x-ndjson", "ndjson"],
  ["application/ndjson", "ndjson"],
]);

/** The `POST /track` endpoint. */
export class Tracker {
  readonly topic: string;
  readonly budget: InFlightBudget;
  readonly producer: BatchingProducer;
  readonly #clock: Clock;
  readonly #token: BearerToken | null;
  readonly #body_limit_bytes: number;
  readonly #retry_after_s: number;
  readonly #event_id_length_max: number;
  readonly #event_bytes_max: number;
  readonly #invalid_listed_max: number;
  readonly #on_outcome: ((outcome: TrackOutcome) => void) | undefined;

  constructor(options: TrackerOptions) {
    this.topic = options.topic ?? "flink-events";
    this.#clock = options.clock;
    this.#token = options.token ? new BearerToken(options.token) : null;
    this.#body_limit_bytes = options.body_limit_bytes ?? 1_048_576;
    if (
      !Number.isSafeInteger(this.#body_limit_bytes) ||
      this.#body_limit_bytes < 1
    ) {
      throw new RangeError(
        `Cannot create /track as 'body_limit_bytes' must be a positive integer: current value is ${this.#body_limit_bytes}`,
      );
    }
    this.#retry_after_s = options.retry_after_s ?? 1;
    if (!Number.isSafeInteger(this.#retry_after_s) || this.#retry_after_s < 0) {
      throw new RangeError(
        `Cannot create /track as 'retry_after_s' must be a non-negative integer: current value is ${this.#retry_after_s}`,
      );
    }
    this.budget = new InFlightBudget({
      events_max: options.events_in_flight_max ?? 100_000,
      bytes_max: options.bytes_in_flight_max ?? 67_108_864,
    });
    this.producer = new BatchingProducer({
      ...options.producer,
      log: options.log,
      topic: this.topic,
      clock: options.clock,
      backoff_ms: this.#retry_after_s * 1000,
    });
    this.#event_id_length_max = options.event_id_length_max ?? 256;
    this.#event_bytes_max = options.event_bytes_max ?? 262_144;
    if (this.#event_bytes_max > this.producer.batch_bytes_max) {
      throw new RangeError(
        `Cannot create /track as 'event_bytes_max' must be at most 'batch_bytes_max' (${this.producer.batch_bytes_max}): current value is ${this.#event_bytes_max}`,
      );
    }
    this.#invalid_listed_max = options.invalid_listed_max ?? 100;
    this.#on_outcome = options.on_outcome;
  }

  /** Answers one request (any method; only POST is accepted). */
  async handle(request: Request): Promise<Response> {
    const outcome: TrackOutcome = { status: 0, events: 0, invalid: 0 };
    const response = await this.#handle(request, outcome);
    outcome.status = response.status;
    this.#on_outcome?.(outcome);
    return response;
  }

  async #handle(request: Request, outcome: TrackOutcome): Promise<Response> {
    if (request.method !== "POST") {
      return json(405, {
        error: `/track accepts only POST: current method is ${request.method}`,
      }, { Allow: "POST" });
    }
    if (this.#token !== null) {
      const check = this.#token.check(request.headers.get("authorization"));
      if (check !== "ok") {
        return json(401, {
          error: check === "missing"
            ? "/track needs 'Authorization: Bearer <token>': the request has none"
            : "/track needs the configured bearer token: the request's token is wrong",
        }, { "WWW-Authenticate": 'Bearer realm="freshet"' });
      }
    }
    const framing = framingOf(request.headers.get("content-type"));
    if (framing === null) {
      return json(415, {
        error:
          `the content type must be application/json or application/x-ndjson (UTF-8): current value is ${
            JSON.stringify(request.headers.get("content-type"))
          }`,
      });
    }
    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > this.#body_limit_bytes) {
      return json(413, {
        error:
          `the body must be at most ${this.#body_limit_bytes} bytes: Content-Length is ${declared}`,
      });
    }
    if (!this.producer.available()) {
      return this.#unavailable(
        "the log failed recently: try again after Retry-After",
      );
    }
    let bytes_held = 0;
    let events_held = 0;
    let settled: Promise<void> = Promise.resolve();
    try {
      let body: Uint8Array;
      try {
        body = await readBody(request.body, {
          limit_bytes: this.#body_limit_bytes,
          reserve: (bytes) => {
            if (!this.budget.tryBytes(bytes)) return false;
            bytes_held += bytes;
            return true;
          },
        });
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          return json(413, {
            error:
              `the body must be at most ${this.#body_limit_bytes} bytes: it is larger`,
          });
        }
        if (error instanceof BodyRefusedError) {
          return this.#unavailable(
            `the in-flight budget of ${this.budget.bytes_max} bytes is full: try again after Retry-After`,
          );
        }
        return json(400, {
          error: `the body could not be read: ${(error as Error).message}`,
        });
      }
      const parsed = parseTrackBody(body, framing, {
        received_ms: this.#clock.now(),
        event_id_length_max: this.#event_id_length_max,
        event_bytes_max: this.#event_bytes_max,
        invalid_listed_max: this.#invalid_listed_max,
      });
      if (!parsed.ok) {
        outcome.invalid = parsed.invalid_total;
        return json(400, {
          error: parsed.error,
          invalid: parsed.invalid,
          invalid_total: parsed.invalid_total,
        });
      }
      const count = parsed.messages.length;
      if (!this.budget.tryEvents(count)) {
        outcome.events = count;
        return this.#unavailable(
          `the in-flight budget of ${this.budget.events_max} events has no room for ${count} more: try again after Retry-After`,
        );
      }
      events_held = count;
      const sending = this.producer.send(parsed.messages);
      settled = sending.settled;
      try {
        await sending.acked;
      } catch (error) {
        if (!(error instanceof LogUnavailableError)) throw error;
        outcome.events = count;
        return this.#unavailable(
          `${error.message}: nothing is acknowledged; try again after Retry-After`,
        );
      }
      outcome.events = count;
      return json(202, { accepted: count });
    } finally {
      // The budget is given back once no produce call holds the events,
      // which may be after the answer (a call that timed out).
      const events = events_held;
      const bytes = bytes_held;
      settled.then(() => this.budget.release(events, bytes));
    }
  }

  #unavailable(error: string): Response {
    return json(503, { error }, { "Retry-After": String(this.#retry_after_s) });
  }
}

/** How a body of this `Content-Type` is framed, or `null` when /track does not read it. */
function framingOf(contentType: string | null): BodyFraming | null {
  if (contentType === null) return null;
  const [type = "", ...params] = contentType.split(";");
  const framing = FRAMINGS.get(type.trim().toLowerCase());
  if (framing === undefined) return null;
  for (const param of params) {
    const [name = "", value = ""] = param.split("=");
    if (
      name.trim().toLowerCase() === "charset" &&
      !["utf-8", "utf8"].includes(
        value.trim().replace(/^"|"$/g, "").toLowerCase(),
      )
    ) return null;
  }
  return framing;
}
