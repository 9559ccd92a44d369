/**
 * Order and lateness of a recorded fixture as a job with bounded
 * out-of-orderness watermarks and tumbling event-time windows would see them:
 * one watermark per input partition, `max event time − bound − 1` over the
 * records before (Flink's `BoundedOutOfOrderness`), and a record late when
 * its window is late by Flink's `isWindowLate`.
 *
 * @module
 */

import { isWindowLate, windowStart } from "../../src/core/windows.ts";

/** Options of {@linkcode LatenessTally}. */
export interface LatenessOptions {
  /** Partitions of the input topic. */
  partitions: number;
  /** Out-of-orderness bound of the watermarks. */
  bound_ms: number;
  /** Size of the tumbling windows. */
  window_size_ms: number;
  /** Allowed lateness of the windows. Default: 0. */
  allowed_lateness_ms?: number;
}

/** What {@linkcode LatenessTally.observe} found about one record. */
export interface Observation {
  /** How far the record is behind the largest event time of its partition so far (0 when ahead). */
  behind_ms: number;
  /** Whether its window was already late when it arrived. */
  late: boolean;
}

/**
 * Tallies valid records in arrival order. Feed it only records that reach the
 * watermark generator (ones with a valid event time).
 */
export class LatenessTally {
  readonly #options: Required<LatenessOptions>;
  readonly #max_ms: number[];
  /** Records behind their partition's maximum so far, by any amount. */
  out_of_order = 0;
  /** Records more than the bound behind their partition's maximum so far. */
  beyond_bound = 0;
  /** Records whose window was late on arrival. */
  late = 0;

  constructor(options: LatenessOptions) {
    this.#options = { allowed_lateness_ms: 0, ...options };
    this.#max_ms = new Array(options.partitions).fill(-Infinity);
  }

  /** Records one valid record of `partition` with event time `event_ms`. */
  observe(partition: number, event_ms: number): Observation {
    const { bound_ms, window_size_ms, allowed_lateness_ms } = this.#options;
    const max_ms = this.#max_ms[partition]!;
    const watermark = max_ms - bound_ms - 1;
    const end = windowStart(event_ms, 0, window_size_ms) + window_size_ms;
    const late = isWindowLate(end, allowed_lateness_ms, watermark);
    const behind_ms = Math.max(0, max_ms - event_ms);
    if (behind_ms > 0) this.out_of_order++;
    if (behind_ms > bound_ms) this.beyond_bound++;
    if (late) this.late++;
    if (event_ms > max_ms) this.#max_ms[partition] = event_ms;
    return { behind_ms, late };
  }
}
