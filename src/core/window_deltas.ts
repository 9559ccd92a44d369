/**
 * The window engine's emit "deltas" for tumbling and global windows: per
 * batch, per (key, window), the aggregate of that batch's elements only.
 * Nothing but the watermark outlives a batch, so a window of a million keys
 * costs nothing between batches; lateness is judged as for every window.
 *
 * @module
 */

import { decodeTime, encodeTime } from "./timers.ts";
import {
  GLOBAL_WINDOW,
  isWindowLate,
  type WindowAssigner,
  windowStart,
} from "./windows.ts";
import type {
  Aggregate,
  WindowResult,
  WindowState,
} from "./window_operator.ts";

/** JSON-compatible state of delta windows: only the watermark. */
export interface DeltaWindowsSnapshot {
  kind: "deltas";
  watermark: number | string;
}

/** Per-batch deltas; see the module documentation. */
export class DeltaWindows<IN, ACC, OUT> implements WindowState<IN, OUT> {
  readonly #aggregate: Aggregate<IN, ACC, OUT>;
  readonly #lateness_ms: number;
  /** Tumbling size and offset, or undefined for the global window. */
  readonly #tumbling: { size_ms: number; offset_ms: number } | undefined;
  /** This batch's accumulators: window start → key → accumulator. */
  #batch = new Map<number, Map<string, ACC>>();
  #watermark = Number.NEGATIVE_INFINITY;

  constructor(
    assigner: WindowAssigner,
    aggregate: Aggregate<IN, ACC, OUT>,
    lateness_ms: number,
  ) {
    this.#aggregate = aggregate;
    this.#lateness_ms = lateness_ms;
    this.#tumbling = assigner.kind === "tumbling"
      ? {
        size_ms: assigner.size_ms as number,
        offset_ms: assigner.offset_ms ?? 0,
      }
      : undefined;
  }

  watermark(): number {
    return this.#watermark;
  }

  add(
    key: string,
    timestamp: number,
    value: IN,
    _out: WindowResult<OUT>[],
    judge: number,
  ): boolean {
    const tumbling = this.#tumbling;
    let start = GLOBAL_WINDOW.start;
    if (tumbling !== undefined) {
      start = windowStart(timestamp, tumbling.offset_ms, tumbling.size_ms);
      const end = start + tumbling.size_ms;
      if (isWindowLate(end, this.#lateness_ms, judge)) return false;
    }
    let keys = this.#batch.get(start);
    if (keys === undefined) this.#batch.set(start, keys = new Map());
    const acc = keys.get(key) ?? this.#aggregate.create();
    keys.set(key, this.#aggregate.add(acc, value));
    return true;
  }

  advance(watermark: number): void {
    this.#watermark = watermark;
  }

  flush(out: WindowResult<OUT>[]): void {
    if (this.#batch.size === 0) return;
    const size = this.#tumbling?.size_ms;
    for (const [start, keys] of this.#batch) {
      const window = size === undefined
        ? GLOBAL_WINDOW
        : { start, end: start + size };
      for (const [key, acc] of keys) {
        out.push({
          key,
          window,
          value: this.#aggregate.result(acc),
          update: false,
        });
      }
    }
    this.#batch = new Map();
  }

  nextTimer(): number | undefined {
    return undefined;
  }

  size(): number {
    return 0;
  }

  snapshot(): DeltaWindowsSnapshot {
    return { kind: "deltas", watermark: encodeTime(this.#watermark) };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<DeltaWindowsSnapshot> | null;
    if (s === null || typeof s !== "object" || s.kind !== "deltas") {
      throw new TypeError(
        `Cannot restore delta windows as the snapshot must be of kind "deltas": current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#watermark = decodeTime(s.watermark);
    this.#batch = new Map();
  }
}
