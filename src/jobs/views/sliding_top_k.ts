/**
 * Top-K over sliding event-time windows, built on panes.
 *
 * A sliding window of `size_ms` every `slide_ms` is the union of `size/slide`
 * consecutive panes of `slide_ms` (as Flink's window slicing does). Each
 * record updates one pane; a window's counts are kept as a running total that
 * adds the entering pane and subtracts the leaving one, so firing a window
 * costs the panes' sizes plus one Top-K pass, not `size/slide` merges.
 *
 * Lateness is Flink's, per window: a window `[start, end)` fires when the
 * watermark reaches `end - 1`; a record updates the windows that are not
 * late (`end - 1 + allowed_lateness > watermark`), re-firing those already
 * fired as updates; a record late for every window it belongs to is refused.
 *
 * @module
 */

import { assertDuration } from "../../core/time.ts";
import { isWindowLate, windowStart } from "../../core/windows.ts";
import { type Ranked, topK } from "./top_k.ts";

/** A fired window and its Top-K. */
export interface WindowTopK {
  start: number;
  end: number;
  top: Ranked[];
  /** A late record re-fired a window that had fired before. */
  update: boolean;
}

/** Options of {@linkcode SlidingTopK}. */
export interface SlidingTopKOptions {
  size_ms: number;
  /** Must divide `size_ms`. */
  slide_ms: number;
  allowed_lateness_ms: number;
  k: number;
}

type Counts = Map<string, number>;

interface Snapshot {
  panes: Array<[number, Array<[string, number]>]>;
  fired_end: number | null;
  /** Ends of fired windows not late yet, ascending. */
  fired: number[];
}

/** Counts members per sliding window and fires each window's Top-K. */
export class SlidingTopK {
  readonly #size_ms: number;
  readonly #slide_ms: number;
  readonly #lateness_ms: number;
  readonly #k: number;
  #panes = new Map<number, Counts>();
  /** End of the last window fired; windows ending at or before it have fired. */
  #fired_end = -Infinity;
  /** Counts of the window ending at `#fired_end`. */
  #running: Counts = new Map();
  /** Ends of fired windows that are not late yet: a late record may re-fire them. */
  #fired = new Set<number>();

  constructor(options: SlidingTopKOptions) {
    assertDuration("slide window", "size_ms", options.size_ms);
    assertDuration("slide window", "slide_ms", options.slide_ms);
    assertDuration(
      "slide window",
      "allowed_lateness_ms",
      options.allowed_lateness_ms,
      {
        allow_zero: true,
      },
    );
    if (options.size_ms % options.slide_ms !== 0) {
      throw new RangeError(
        `Cannot slide window as 'slide_ms' must divide 'size_ms' (${options.size_ms}): current value is ${options.slide_ms}`,
      );
    }
    if (!Number.isInteger(options.k) || options.k < 1) {
      throw new RangeError(
        `Cannot rank window as 'k' must be a positive integer: current value is ${options.k}`,
      );
    }
    this.#size_ms = options.size_ms;
    this.#slide_ms = options.slide_ms;
    this.#lateness_ms = options.allowed_lateness_ms;
    this.#k = options.k;
  }

  /**
   * Counts one record of `member` at `timestamp`, under the watermark that
   * held before it. Answers false, changing nothing, when the record is late
   * for every window it belongs to.
   *
   * Windows of the record that are due (`end - 1 <= watermark`) fire at
   * once, as Flink's EventTimeTrigger does on such an element: an update if
   * they fired before, a first firing if they were empty until now. Due
   * windows that are late for the record never see it: they are marked
   * fired, so no later call emits them with it.
   */
  add(
    member: string,
    timestamp: number,
    watermark: number,
    out: WindowTopK[],
  ): boolean {
    const slide = this.#slide_ms;
    const pane = windowStart(timestamp, 0, slide);
    // Late for its last window, so for all of them.
    if (isWindowLate(pane + this.#size_ms, this.#lateness_ms, watermark)) {
      return false;
    }
    let counts = this.#panes.get(pane);
    if (counts === undefined) this.#panes.set(pane, counts = new Map());
    counts.set(member, (counts.get(member) ?? 0) + 1);
    if (pane >= this.#fired_end - this.#size_ms && pane < this.#fired_end) {
      increment(this.#running, member, 1);
    }
    // The last window end that is due under this watermark.
    const due_end = watermark === Number.NEGATIVE_INFINITY
      ? Number.NEGATIVE_INFINITY
      : windowStart(watermark + 1, 0, slide);
    const last = Math.min(pane + this.#size_ms, due_end);
    for (let end = pane + slide; end <= last; end += slide) {
      if (isWindowLate(end, this.#lateness_ms, watermark)) continue;
      const counts = end === this.#fired_end ? this.#running : this.#merge(end);
      out.push({
        start: end - this.#size_ms,
        end,
        top: topK(counts, this.#k),
        update: this.#fired.has(end),
      });
      this.#fired.add(end);
    }
    if (due_end > this.#fired_end) {
      // Every due window has fired now, or was empty, or is late.
      this.#fired_end = due_end;
      this.#running = this.#merge(due_end);
    }
    return true;
  }

  /** Fires, in order of end, every window whose end - 1 <= watermark. */
  advance(watermark: number, out: WindowTopK[]): void {
    // Called after every record: most calls cannot fire anything.
    if (watermark < this.#fired_end + this.#slide_ms - 1) return;
    const fired_before = this.#fired_end;
    for (;;) {
      let next = this.#fired_end + this.#slide_ms;
      const pane = this.#firstPaneFrom(next - this.#size_ms);
      if (pane === undefined) break;
      // No pane in the window ending at `next`: the next window with data
      // is the first one holding `pane`.
      if (pane >= next) next = pane + this.#slide_ms;
      if (next - 1 > watermark) break;
      this.#slideTo(next);
      this.#fired.add(next);
      out.push({
        start: next - this.#size_ms,
        end: next,
        top: topK(this.#running, this.#k),
        update: false,
      });
    }
    // Panes and fired marks only expire as windows fire: purge then.
    if (this.#fired_end !== fired_before) this.#purge(watermark);
  }

  /** Panes held, for metrics and tests. */
  panes(): number {
    return this.#panes.size;
  }

  snapshot(): Snapshot {
    const panes = [...this.#panes.entries()]
      .sort((a, b) => a[0] - b[0])
      .map((
        [start, counts],
      ): [number, Array<[string, number]>] => [start, [...counts.entries()]]);
    return {
      panes,
      fired_end: Number.isFinite(this.#fired_end) ? this.#fired_end : null,
      fired: [...this.#fired].sort((a, b) => a - b),
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Snapshot;
    this.#panes = new Map(
      s.panes.map(([start, counts]) => [start, new Map(counts)]),
    );
    this.#fired_end = s.fired_end ?? -Infinity;
    this.#fired = new Set(s.fired);
    this.#running = Number.isFinite(this.#fired_end)
      ? this.#merge(this.#fired_end)
      : new Map();
  }

  /** Moves the running total to the window ending at `end`. */
  #slideTo(end: number): void {
    if (end === this.#fired_end + this.#slide_ms) {
      const entering = this.#panes.get(end - this.#slide_ms);
      if (entering !== undefined) {
        for (const [member, n] of entering) increment(this.#running, member, n);
      }
      const leaving = this.#panes.get(end - this.#slide_ms - this.#size_ms);
      if (leaving !== undefined) {
        for (const [member, n] of leaving) increment(this.#running, member, -n);
      }
    } else {
      this.#running = this.#merge(end);
    }
    this.#fired_end = end;
  }

  /** Counts of the window ending at `end`, from its panes. */
  #merge(end: number): Counts {
    const total: Counts = new Map();
    for (let pane = end - this.#size_ms; pane < end; pane += this.#slide_ms) {
      const counts = this.#panes.get(pane);
      if (counts === undefined) continue;
      for (const [member, n] of counts) increment(total, member, n);
    }
    return total;
  }

  #firstPaneFrom(start: number): number | undefined {
    let first: number | undefined;
    for (const pane of this.#panes.keys()) {
      if (pane >= start && (first === undefined || pane < first)) first = pane;
    }
    return first;
  }

  #purge(watermark: number): void {
    for (const end of this.#fired) {
      if (isWindowLate(end, this.#lateness_ms, watermark)) {
        this.#fired.delete(end);
      }
    }
    const window_start = this.#fired_end - this.#size_ms;
    for (const pane of this.#panes.keys()) {
      // Still needed by the running total, or by a window not yet late.
      if (pane >= window_start) continue;
      if (!isWindowLate(pane + this.#size_ms, this.#lateness_ms, watermark)) {
        continue;
      }
      this.#panes.delete(pane);
    }
  }
}

function increment(counts: Counts, member: string, n: number): void {
  const value = (counts.get(member) ?? 0) + n;
  if (value === 0) counts.delete(member);
  else counts.set(member, value);
}
