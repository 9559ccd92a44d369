/**
 * The window engine: keyed event-time windows with incremental aggregation,
 * with the semantics of Flink's `WindowOperator` driven by `EventTimeTrigger`
 * and allowed lateness. Every job's windows run here.
 *
 * - a window fires once when the watermark reaches its `maxTimestamp`
 *   (`end - 1`);
 * - an element is late for a window when `maxTimestamp + allowed_lateness <=
 *   watermark`; it is dropped (and `add` returns false) only when it is late
 *   for every window it belongs to;
 * - an element that is late but within lateness updates its window, which
 *   fires again at once (`update: true` when it had fired before);
 * - window state is purged when the watermark reaches `maxTimestamp +
 *   allowed_lateness`;
 * - session windows merge per key when they overlap or touch, also with
 *   windows that already fired; the merged window fires as an update;
 * - sliding windows are kept as panes (slices of the greatest common divisor
 *   of size and slide), so an element updates one pane, not `size / slide`
 *   windows; a window's result merges its panes, or, when the aggregate can
 *   `subtract`, slides a running total (adds the entering panes, subtracts
 *   the leaving ones);
 * - a global window (`global()`) holds every element of a key and closes at
 *   the end of input.
 *
 * Three ways to emit (`emit`):
 * - `"close"` (default): as above;
 * - `"updates"`: after each batch, the current result of every window the
 *   batch changed (Kafka Streams' emit-on-update with a cache flushed per
 *   commit); nothing at close;
 * - `"deltas"`: after each batch, per window, the aggregate of just that
 *   batch's elements (for outputs written as increments, e.g. `ZINCRBY`);
 *   only for tumbling and global windows. No window state is kept: only
 *   the watermark, to judge lateness.
 *
 * Timers live in a {@linkcode TimerIndex} keyed by due time, so `advance`
 * touches only windows that are due.
 *
 * @module
 */

import { assertDuration } from "./time.ts";
import type { TimeWindow, WindowAssigner } from "./windows.ts";
import { EntryWindows } from "./window_entries.ts";
import { PaneWindows } from "./window_panes.ts";
import { DeltaWindows } from "./window_deltas.ts";

/** An incremental aggregation, like Flink's `AggregateFunction`. */
export interface Aggregate<IN, ACC, OUT> {
  /** A fresh accumulator for an empty window (or pane). */
  create(): ACC;
  /** May mutate and return `acc`. */
  add(acc: ACC, value: IN): ACC;
  /** Combines two accumulators (sessions and panes merge); may mutate and return `a`, never `b`. */
  merge(a: ACC, b: ACC): ACC;
  /**
   * Removes `b`'s contribution from `a` (`b` was merged into `a` before);
   * may mutate and return `a`. Optional: with it, sliding windows keep a
   * running total instead of merging every pane at each firing.
   */
  subtract?(a: ACC, b: ACC): ACC;
  /**
   * The window's result. Called each time the window fires; it must not
   * return `acc` itself when `add` mutates it, or a re-fire would change an
   * already emitted result.
   */
  result(acc: ACC): OUT;
  /** JSON-compatible encode for snapshots. */
  encode(acc: ACC): unknown;
  /** Inverse of `encode`. */
  decode(data: unknown): ACC;
}

/** A fired window. */
export interface WindowResult<OUT> {
  /** The key the window belongs to. */
  key: string;
  /** The window's interval of event time. */
  window: TimeWindow;
  /** The aggregate's result for the window. */
  value: OUT;
  /**
   * True when this result replaces one already emitted: a late record within
   * allowed lateness re-fired the window, a fired session window was merged
   * into this one, or (emit "updates") a later batch changed it again.
   */
  update: boolean;
}

/** When a window's results are emitted; see the module documentation. */
export type EmitMode = "close" | "updates" | "deltas";

/** Options of {@linkcode WindowOperator}. */
export interface WindowOperatorOptions<IN, ACC, OUT> {
  /** Which windows an element belongs to. */
  assigner: WindowAssigner;
  /** How elements of one (key, window) are combined. */
  aggregate: Aggregate<IN, ACC, OUT>;
  /** How long after a window fires late elements still update it. Default: 0. */
  allowed_lateness_ms?: number;
  /** When results are emitted. Default: `"close"`. */
  emit?: EmitMode;
  /**
   * Elements carry the watermark they are judged by, and the operator's
   * watermark is the minimum over several upstream partitions (a stage
   * reading a repartition). Session windows then judge an element by its
   * own window alone and close a gap later, so that what they hold does not
   * depend on how the upstream partitions interleave (`window_entries.ts`).
   * Default: false.
   */
  carried_watermarks?: boolean;
}

/** What every strategy of the engine implements (internal). */
export interface WindowState<IN, OUT> {
  watermark(): number;
  /**
   * Adds an element; lateness is judged against `judge` (at least the
   * state's watermark), firing against the state's watermark.
   */
  add(
    key: string,
    timestamp: number,
    value: IN,
    out: WindowResult<OUT>[],
    judge: number,
  ): boolean;
  advance(watermark: number, out: WindowResult<OUT>[]): void;
  flush(out: WindowResult<OUT>[]): void;
  nextTimer(): number | undefined;
  size(): number;
  snapshot(): unknown;
  restore(snapshot: unknown): void;
}

/** Keyed event-time windows; see the module documentation for semantics. */
export class WindowOperator<IN, ACC, OUT> {
  readonly #state: WindowState<IN, OUT>;

  constructor(options: WindowOperatorOptions<IN, ACC, OUT>) {
    const action = "create window operator";
    const lateness_ms = options.allowed_lateness_ms ?? 0;
    assertDuration(action, "allowed_lateness_ms", lateness_ms, {
      allow_zero: true,
    });
    const emit = options.emit ?? "close";
    if (!["close", "updates", "deltas"].includes(emit)) {
      throw new RangeError(
        `Cannot ${action} as 'emit' must be "close", "updates" or "deltas": current value is ${
          JSON.stringify(emit)
        }`,
      );
    }
    const { assigner, aggregate } = options;
    if (emit === "deltas") {
      if (assigner.kind !== "tumbling" && assigner.kind !== "global") {
        throw new RangeError(
          `Cannot ${action} as emit "deltas" needs tumbling or global windows (a delta of overlapping or merging windows has no meaning): current assigner is ${assigner.kind}`,
        );
      }
      this.#state = new DeltaWindows(assigner, aggregate, lateness_ms);
    } else if (assigner.kind === "sliding") {
      this.#state = new PaneWindows(assigner, aggregate, lateness_ms, emit);
    } else {
      this.#state = new EntryWindows(
        assigner,
        aggregate,
        lateness_ms,
        emit,
        options.carried_watermarks ?? false,
      );
    }
  }

  /** The highest watermark seen by `add` or `advance`. */
  watermark(): number {
    return this.#state.watermark();
  }

  /**
   * Adds one element. A `watermark` ahead of the operator's first advances
   * the operator to it (its results go to `out` first), so that lateness is
   * judged as Flink does, against windows that have already fired.
   *
   * Returns false when the element is late for every window it belongs to
   * beyond allowed lateness (the caller routes it to the late side output);
   * windows it still belongs to are updated. Windows re-fired by a late but
   * allowed element are pushed to `out` at once (emit "close").
   *
   * `lateness_watermark` (at least `watermark`) judges lateness without
   * moving the operator's watermark: a stage reading a repartition judges a
   * record against the watermark it was sent with, so its fate does not
   * depend on how the upstream partitions interleave (session windows
   * need `carried_watermarks` for that too).
   */
  add(
    key: string,
    timestamp: number,
    value: IN,
    watermark: number,
    out: WindowResult<OUT>[],
    lateness_watermark?: number,
  ): boolean {
    if (!Number.isFinite(timestamp)) {
      throw new RangeError(
        `Cannot add to window operator as 'timestamp' must be a finite epoch time: current value is ${timestamp}`,
      );
    }
    if (watermark > this.#state.watermark()) this.advance(watermark, out);
    const judge = Math.max(
      this.#state.watermark(),
      lateness_watermark ?? watermark,
    );
    return this.#state.add(key, timestamp, value, out, judge);
  }

  /**
   * Advances event time: every window whose maxTimestamp <= `watermark` and
   * which has not fired yet fires (pushed to `out` ordered by window end,
   * then start, then key); window state is purged once `watermark >=
   * maxTimestamp + allowed_lateness`. `Infinity` flushes everything.
   */
  advance(watermark: number, out: WindowResult<OUT>[]): void {
    if (Number.isNaN(watermark)) {
      throw new RangeError(
        `Cannot advance window operator as 'watermark' must be a number: current value is ${watermark}`,
      );
    }
    if (watermark <= this.#state.watermark()) return;
    this.#state.advance(watermark, out);
  }

  /**
   * The end of a batch: with emit "updates" or "deltas", pushes the results
   * of the windows the batch changed; with "close", nothing.
   */
  flush(out: WindowResult<OUT>[]): void {
    this.#state.flush(out);
  }

  /** The earliest watermark at which `advance` would do something, if any. */
  nextTimer(): number | undefined {
    return this.#state.nextTimer();
  }

  /** JSON-compatible state: every live window (or pane) and the watermark. */
  snapshot(): unknown {
    return this.#state.snapshot();
  }

  /** Replaces all state with that of `snapshot` (from {@linkcode snapshot}). */
  restore(snapshot: unknown): void {
    this.#state.restore(snapshot);
  }

  /** Number of live (key, window) states; (key, pane) for sliding windows. */
  size(): number {
    return this.#state.size();
  }
}
