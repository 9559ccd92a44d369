/**
 * Repartitioning (`keyBy(fn, { repartition: true })`), as Kafka Streams'
 * repartition topics: the stage before it writes each element to an
 * internal topic keyed by the new key, in the same transaction as its other
 * outputs (exactly once, read `read_committed`); the stage after it reads
 * that topic, so one task sees every element of a key.
 *
 * Watermarks travel with the data, as Flink merges input channels: every
 * element carries the watermark its upstream partition had when it was
 * sent, and each upstream task also sends watermark markers to every
 * partition of the internal topic when its watermark moves. Downstream, the
 * watermark is the minimum over all upstream partitions (none counts before
 * every one has reported). It fires windows; a record's lateness is judged
 * against the watermark it carries, which depends on the input alone. With
 * allowed lateness 0, a record late by what it carries is exactly one whose
 * window could already have fired downstream, so which windows hold which
 * records never depends on how the upstream partitions interleave in the
 * internal topic, and replays give the same outputs. Session windows also
 * judge a record by its own window alone and fire a gap (plus lateness)
 * after their end, when no record that may join them can still come
 * (`window_entries.ts`). (With allowed lateness above 0, whether a late
 * record re-fires an aligned window already fired or joins it before it
 * fires can depend on that interleaving.)
 *
 * An upstream partition that never receives a record holds the downstream
 * watermark back (as a Flink source without idleness): give the source
 * `idle_advance_ms`, and keep every input partition fed.
 *
 * Elements crossing a repartition must be JSON values.
 *
 * @module
 */

import { decodeTime, encodeTime } from "../core/timers.ts";

/** An element in the internal topic. */
export interface Envelope {
  /** Upstream partition, and how many the upstream topic has. */
  p: number;
  n: number;
  /** Offset of the element's input record (-1 for outputs of a step). */
  o: number;
  /** The upstream watermark when the element was sent ("-Infinity" encoded). */
  w: number | string;
  /** Event time, key and value. */
  t: number;
  k: string;
  v: unknown;
}

/** A watermark marker in the internal topic. */
export interface Marker {
  m: 1;
  p: number;
  n: number;
  w: number | string;
}

/** What a record of an internal topic holds. */
export type Internal =
  | { kind: "element"; envelope: Envelope; watermark: number }
  | { kind: "marker"; marker: Marker; watermark: number }
  | { kind: "bad"; reason: string };

/** The internal topic of a repartition step. */
export function repartitionTopic(job: string, step: string): string {
  return `${job}-${step}-repartition`;
}

/** The key markers are written under (they go to explicit partitions). */
export const MARKER_KEY = "__freshet_watermark__";

export function encodeElement(
  p: number,
  n: number,
  o: number,
  w: number,
  t: number,
  k: string,
  v: unknown,
): string {
  const envelope: Envelope = { p, n, o, w: encodeTime(w), t, k, v };
  return JSON.stringify(envelope);
}

export function encodeMarker(p: number, n: number, w: number): string {
  const marker: Marker = { m: 1, p, n, w: encodeTime(w) };
  return JSON.stringify(marker);
}

/** Decodes a record of an internal topic; never throws. */
export function decodeInternal(payload: string): Internal {
  let data: Partial<Envelope & Marker> | null;
  try {
    data = JSON.parse(payload);
  } catch {
    return { kind: "bad", reason: "internal record is not JSON" };
  }
  if (
    data === null || typeof data !== "object" ||
    !Number.isSafeInteger(data.p) || !Number.isSafeInteger(data.n) ||
    (data.p as number) < 0 || (data.n as number) <= (data.p as number)
  ) {
    return {
      kind: "bad",
      reason: "internal record lacks its upstream partition",
    };
  }
  let watermark: number;
  try {
    watermark = decodeTime(data.w);
  } catch {
    return { kind: "bad", reason: "internal record lacks its watermark" };
  }
  if (data.m === 1) {
    return { kind: "marker", marker: data as Marker, watermark };
  }
  if (typeof data.k !== "string" || !Number.isSafeInteger(data.t)) {
    return { kind: "bad", reason: "internal record lacks its key or time" };
  }
  return { kind: "element", envelope: data as Envelope, watermark };
}

/** JSON-compatible state of a {@linkcode RepartitionClock}. */
export interface RepartitionClockSnapshot {
  /** Per upstream partition, its watermark; [] before any report. */
  upstream: Array<number | string>;
  max_timestamp: number | null;
}

/** The watermark of a stage reading a repartition; see the module doc. */
export class RepartitionClock {
  #upstream: number[] = [];
  #max_timestamp = Number.NEGATIVE_INFINITY;

  /** An upstream partition reported `watermark` (it never goes back). */
  report(partition: number, partitions: number, watermark: number): void {
    if (this.#upstream.length < partitions) {
      for (let p = this.#upstream.length; p < partitions; p++) {
        this.#upstream.push(Number.NEGATIVE_INFINITY);
      }
    }
    if (watermark > (this.#upstream[partition] ?? Number.NEGATIVE_INFINITY)) {
      this.#upstream[partition] = watermark;
    }
  }

  /** The minimum over upstream partitions; -Infinity before every one reported. */
  current(): number {
    if (this.#upstream.length === 0) return Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const w of this.#upstream) if (w < min) min = w;
    return min;
  }

  maxTimestamp(): number {
    return this.#max_timestamp;
  }

  observe(timestamp: number): void {
    if (timestamp > this.#max_timestamp) this.#max_timestamp = timestamp;
  }

  snapshot(): RepartitionClockSnapshot {
    return {
      upstream: this.#upstream.map(encodeTime),
      max_timestamp: Number.isFinite(this.#max_timestamp)
        ? this.#max_timestamp
        : null,
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<RepartitionClockSnapshot> | null;
    if (s === null || typeof s !== "object" || !Array.isArray(s.upstream)) {
      throw new TypeError(
        `Cannot restore a repartition clock as its snapshot must have an 'upstream' array: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#upstream = s.upstream.map(decodeTime);
    this.#max_timestamp = s.max_timestamp ?? Number.NEGATIVE_INFINITY;
  }
}
