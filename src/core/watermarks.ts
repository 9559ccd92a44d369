/**
 * Watermarks: the bounded out-of-orderness generator of one source partition
 * and the merger that combines the partitions of a task, both as Flink's
 * (`BoundedOutOfOrdernessWatermarks`, `StatusWatermarkValve` with
 * `WatermarksWithIdleness`).
 *
 * Before any event a watermark is `-Infinity` ({@linkcode NO_WATERMARK}), not
 * Flink's `Long.MIN_VALUE`, so comparisons with any timestamp stay correct; in
 * snapshots it is written as the string "-Infinity".
 *
 * @module
 */

import { assertDuration } from "./time.ts";
import { compareStrings, decodeTime, encodeTime } from "./timers.ts";

/** The watermark at the end of a bounded input: every window fires. */
export const END_OF_INPUT = Number.POSITIVE_INFINITY;

/** The watermark before any event was seen. */
export const NO_WATERMARK = Number.NEGATIVE_INFINITY;

/** Snapshot of a {@linkcode BoundedOutOfOrderness}. */
export interface BoundedOutOfOrdernessSnapshot {
  /** Largest event time seen, or null before any event. */
  max_timestamp: number | null;
}

/**
 * Watermark of one source partition: the largest event time seen minus the
 * bound minus 1 ms, so an event exactly `bound_ms` behind the largest is still
 * on time.
 */
export class BoundedOutOfOrderness {
  readonly #bound_ms: number;
  #max_timestamp = Number.NEGATIVE_INFINITY;

  constructor(options: {
    /** How far behind the largest event time an event may arrive on time. */
    bound_ms: number;
  }) {
    assertDuration("create watermarks", "bound_ms", options.bound_ms, {
      allow_zero: true,
    });
    this.#bound_ms = options.bound_ms;
  }

  /** A generator in the state of `snapshot`. */
  static restore(
    snapshot: unknown,
    options: { bound_ms: number },
  ): BoundedOutOfOrderness {
    const generator = new BoundedOutOfOrderness(options);
    generator.restore(snapshot);
    return generator;
  }

  observe(timestamp: number): void {
    if (timestamp > this.#max_timestamp) this.#max_timestamp = timestamp;
  }

  /** Largest event time seen − bound − 1, or `-Infinity` before any event. */
  current(): number {
    return this.#max_timestamp === Number.NEGATIVE_INFINITY
      ? NO_WATERMARK
      : this.#max_timestamp - this.#bound_ms - 1;
  }

  snapshot(): BoundedOutOfOrdernessSnapshot {
    return {
      max_timestamp: Number.isFinite(this.#max_timestamp)
        ? this.#max_timestamp
        : null,
    };
  }

  restore(snapshot: unknown): void {
    const max = (snapshot as BoundedOutOfOrdernessSnapshot | null)
      ?.max_timestamp;
    if (max !== null && !(typeof max === "number" && Number.isFinite(max))) {
      throw new TypeError(
        `Cannot restore watermarks as 'max_timestamp' must be a finite number or null: current value is ${
          JSON.stringify(max)
        }`,
      );
    }
    this.#max_timestamp = max ?? Number.NEGATIVE_INFINITY;
  }
}

/** Snapshot of a {@linkcode WatermarkMerger}. */
export interface WatermarkMergerSnapshot {
  /** The merged watermark last returned. */
  watermark: number | string;
  /** Per input, ordered by input name. */
  inputs: Array<{ input: string; watermark: number | string }>;
}

interface InputState {
  watermark: number;
  /** Processing time of the last update; undefined until first seen after a restore. */
  last_active_ms: number | undefined;
  /** False from turning idle until the watermark catches up with the merged one. */
  aligned: boolean;
}

/**
 * A task's watermark from the watermarks of its inputs (source partitions),
 * as Flink's `StatusWatermarkValve`:
 *
 * - the merged watermark is the minimum over inputs that are active and
 *   aligned; an input with no update for `idle_timeout_ms` of processing time
 *   is idle and stops holding the watermark back;
 * - when every input is idle, the watermark becomes the maximum of their
 *   watermarks (Flink flushes the maximum when the last input turns idle);
 * - the merged watermark never goes backwards; an input that becomes active
 *   again behind it does not hold it back until it catches up (Flink marks
 *   such a channel unaligned). A new input counts at once, so register every
 *   input (with {@linkcode NO_WATERMARK}) before records of any of them are
 *   judged late;
 * - per-input watermarks never go backwards either.
 *
 * Idleness is measured from `now_ms` passed in; it is not part of snapshots:
 * after a restore every input counts as active from the first call on.
 */
export class WatermarkMerger {
  readonly #idle_timeout_ms: number;
  #inputs = new Map<string, InputState>();
  #watermark = NO_WATERMARK;

  constructor(options: {
    /** Processing time without updates after which an input is idle; `Infinity` = never. */
    idle_timeout_ms: number;
  }) {
    if (options.idle_timeout_ms !== Number.POSITIVE_INFINITY) {
      assertDuration(
        "create watermark merger",
        "idle_timeout_ms",
        options.idle_timeout_ms,
      );
    }
    this.#idle_timeout_ms = options.idle_timeout_ms;
  }

  /** Records `input`'s watermark and marks it active at `now_ms`. */
  update(input: string, watermark: number, now_ms: number): void {
    const state = this.#inputs.get(input);
    if (state === undefined) {
      this.#inputs.set(input, {
        watermark,
        last_active_ms: now_ms,
        aligned: true,
      });
      return;
    }
    if (watermark > state.watermark) state.watermark = watermark;
    state.last_active_ms = now_ms;
  }

  /** Forgets an input (its partition was revoked). */
  remove(input: string): void {
    this.#inputs.delete(input);
  }

  /** The merged watermark at processing time `now_ms`. */
  current(now_ms: number): number {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let counted = false;
    let all_idle = true;
    for (const state of this.#inputs.values()) {
      state.last_active_ms ??= now_ms;
      if (state.watermark > max) max = state.watermark;
      if (now_ms - state.last_active_ms >= this.#idle_timeout_ms) {
        state.aligned = false;
        continue;
      }
      all_idle = false;
      if (!state.aligned && state.watermark >= this.#watermark) {
        state.aligned = true;
      }
      if (state.aligned) {
        counted = true;
        if (state.watermark < min) min = state.watermark;
      }
    }
    if (this.#inputs.size > 0) {
      const candidate = all_idle ? max : counted ? min : this.#watermark;
      if (candidate > this.#watermark) this.#watermark = candidate;
    }
    return this.#watermark;
  }

  /** Whether `input` is idle at `now_ms` (false for unknown inputs). */
  isIdle(input: string, now_ms: number): boolean {
    const state = this.#inputs.get(input);
    if (state === undefined || state.last_active_ms === undefined) return false;
    return now_ms - state.last_active_ms >= this.#idle_timeout_ms;
  }

  snapshot(): WatermarkMergerSnapshot {
    const names = [...this.#inputs.keys()].sort(compareStrings);
    return {
      watermark: encodeTime(this.#watermark),
      inputs: names.map((input) => ({
        input,
        watermark: encodeTime(
          (this.#inputs.get(input) as InputState).watermark,
        ),
      })),
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<WatermarkMergerSnapshot> | null;
    if (s === null || typeof s !== "object" || !Array.isArray(s.inputs)) {
      throw new TypeError(
        `Cannot restore watermark merger as the snapshot must have an 'inputs' array: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#watermark = decodeTime(s.watermark);
    this.#inputs = new Map();
    for (const { input, watermark } of s.inputs) {
      this.#inputs.set(String(input), {
        watermark: decodeTime(watermark),
        last_active_ms: undefined,
        aligned: true,
      });
    }
  }
}
