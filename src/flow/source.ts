/**
 * A stage's source: parsing records into elements, and the partition's
 * watermark.
 *
 * The watermark is Flink's bounded out-of-orderness: the largest event time
 * seen minus the bound minus 1 ms, so an event exactly `bound` behind the
 * largest is on time.
 *
 * **Quiet partitions** (`idle_advance_ms`). Event time moves only with
 * records, so a window of a partition that goes quiet would never close. With
 * `idle_advance_ms`, once a partition has received nothing for that long,
 * event time is taken to move on with processing time: the watermark
 * becomes `max event time + (T − last append time) − bound − 1` at
 * processing time `T`. Processing time here is the log's own clock, so a
 * replay repeats it: the append time of the next record (applied before
 * that record), or, while the partition is caught up, the runner's clock
 * (a processing-time step the runner makes repeatable; see
 * `src/core/runner.ts`). Either way the watermark never goes back.
 *
 * @module
 */

import { decodeTime, encodeTime } from "../core/timers.ts";
import { assertDuration } from "../core/time.ts";
import type { LogRecord } from "../ports.ts";

/** An element parsed from a record, or why the record is not one. */
export type Parsed<T> =
  | {
    value: T;
    /** Event time, epoch ms. */
    time: number;
    /** The element's key; default: the record's key. */
    key?: string | null;
  }
  | { error: string };

/** Options of a source (`Flow.source`). */
export interface SourceOptions<T> {
  /**
   * Parses one record's payload. Must not throw for bad input: answer
   * `{ error: reason }`, and the record goes to `<topic>.dead-letter` with
   * the reason.
   */
  parse(payload: string, record: LogRecord): Parsed<T>;
  /** How far behind the largest event time an event is still on time. */
  out_of_orderness_ms: number;
  /**
   * Processing time without records after which a partition's watermark
   * moves on with processing time (see the module doc). Default: never.
   */
  idle_advance_ms?: number;
  /** Partitions to create the topic with when it is missing. Default: 4. */
  partitions?: number;
  /**
   * How far an event time may be ahead of its record's append time: a record
   * further in the future (a wrong clock, a bad field) goes to the dead
   * letters and never moves the watermark, which would otherwise make every
   * later record late. `Infinity` turns the check off. Default: 3 600 000 (1 h).
   */
  max_ahead_ms?: number;
  /** Event times before this one are bad records. Default: 2000-01-01T00:00:00Z. */
  min_event_time_ms?: number;
  /**
   * The key and event time of a payload as its producer would key it, or
   * null when it is no event: what a replay needs to place raw payloads
   * and to reorder within the bound (`Job.route`). Give it when `parse` is
   * costly (it decodes an image, say). Default: `parse`'s key and time.
   */
  route?(payload: string): { key: string | null; time: number } | null;
}

/** Default of {@linkcode SourceOptions.max_ahead_ms}. */
export const DEFAULT_MAX_AHEAD_MS = 3_600_000;

/** Default of {@linkcode SourceOptions.min_event_time_ms}: 2000-01-01T00:00:00Z. */
export const DEFAULT_MIN_EVENT_TIME_MS = 946_684_800_000;

/** JSON-compatible state of a {@linkcode SourceClock}. */
export interface SourceClockSnapshot {
  /** Largest event time seen, or null before any event. */
  max_timestamp: number | null;
  /** The watermark idle advances reached; "-Infinity" before any. */
  floor: number | string;
  /** Largest append time of a record handled, or null before any. */
  last_append_ms: number | null;
}

/** A partition's event-time clock: watermark with idle advance. */
export class SourceClock {
  readonly #bound_ms: number;
  readonly #idle_ms: number | undefined;
  #max_timestamp = Number.NEGATIVE_INFINITY;
  #floor = Number.NEGATIVE_INFINITY;
  #last_append_ms: number | undefined = undefined;

  constructor(
    options: { out_of_orderness_ms: number; idle_advance_ms?: number },
  ) {
    assertDuration(
      "create source",
      "out_of_orderness_ms",
      options.out_of_orderness_ms,
      { allow_zero: true },
    );
    if (options.idle_advance_ms !== undefined) {
      assertDuration(
        "create source",
        "idle_advance_ms",
        options.idle_advance_ms,
      );
    }
    this.#bound_ms = options.out_of_orderness_ms;
    this.#idle_ms = options.idle_advance_ms;
  }

  /** The watermark: `-Infinity` before any event. */
  current(): number {
    const bounded = this.#max_timestamp === Number.NEGATIVE_INFINITY
      ? Number.NEGATIVE_INFINITY
      : this.#max_timestamp - this.#bound_ms - 1;
    return bounded > this.#floor ? bounded : this.#floor;
  }

  /** Largest event time seen. */
  maxTimestamp(): number {
    return this.#max_timestamp;
  }

  /** An element's event time was seen. */
  observe(timestamp: number): void {
    if (timestamp > this.#max_timestamp) this.#max_timestamp = timestamp;
  }

  /** A record was appended at `append_ms` (called for every record, valid or not). */
  appended(append_ms: number): void {
    if (
      this.#last_append_ms === undefined || append_ms > this.#last_append_ms
    ) {
      this.#last_append_ms = append_ms;
    }
  }

  /**
   * The watermark an idle advance at processing time `now_ms` would give, or
   * undefined when the partition has not been quiet for `idle_advance_ms`.
   */
  idleWatermark(now_ms: number): number | undefined {
    const last = this.#last_append_ms;
    if (
      this.#idle_ms === undefined || last === undefined ||
      this.#max_timestamp === Number.NEGATIVE_INFINITY ||
      now_ms - last < this.#idle_ms
    ) return undefined;
    return this.#max_timestamp + (now_ms - last) - this.#bound_ms - 1;
  }

  /** Applies an idle advance at `now_ms`; answers whether the watermark moved. */
  advanceIdle(now_ms: number): boolean {
    const candidate = this.idleWatermark(now_ms);
    if (candidate === undefined || candidate <= this.current()) return false;
    this.#floor = candidate;
    return true;
  }

  /**
   * The earliest processing time at which an idle advance reaches
   * `watermark`, or undefined when idle advance is off or nothing was seen.
   */
  idleTimeReaching(watermark: number): number | undefined {
    const last = this.#last_append_ms;
    if (
      this.#idle_ms === undefined || last === undefined ||
      this.#max_timestamp === Number.NEGATIVE_INFINITY
    ) return undefined;
    const at = watermark - this.#max_timestamp + this.#bound_ms + 1 + last;
    return Math.max(last + this.#idle_ms, at);
  }

  snapshot(): SourceClockSnapshot {
    return {
      max_timestamp: Number.isFinite(this.#max_timestamp)
        ? this.#max_timestamp
        : null,
      floor: encodeTime(this.#floor),
      last_append_ms: this.#last_append_ms ?? null,
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<SourceClockSnapshot> | null;
    const max = s?.max_timestamp;
    const last = s?.last_append_ms;
    if (
      s === null || typeof s !== "object" ||
      (max !== null && !Number.isFinite(max)) ||
      (last !== null && !Number.isFinite(last))
    ) {
      throw new TypeError(
        `Cannot restore source clock as 'max_timestamp' and 'last_append_ms' must be finite numbers or null: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#max_timestamp = max ?? Number.NEGATIVE_INFINITY;
    this.#floor = decodeTime(s.floor);
    this.#last_append_ms = last ?? undefined;
  }
}
