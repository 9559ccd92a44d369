/**
 * Keyed event-time windows with incremental aggregation, with the semantics
 * of Flink's `WindowOperator` driven by `EventTimeTrigger` and allowed
 * lateness:
 *
 * - a window fires once when the watermark reaches its `maxTimestamp`;
 * - an element is late for a window when `maxTimestamp + allowed_lateness <=
 *   watermark`; it is dropped (and `add` returns false) only when it is late
 *   for every window it belongs to;
 * - an element that is late but within lateness updates its window, which
 *   fires again at once (`update: true` when it had fired before);
 * - window state is purged when the watermark reaches `maxTimestamp +
 *   allowed_lateness`;
 * - session windows merge per key when they overlap or touch, also with
 *   windows that already fired; the merged window fires as an update.
 *
 * Timers live in an index keyed by due time (a bucket per time plus a
 * min-heap of times), so `advance` touches only windows that are due.
 *
 * @module
 */

import {
  compareStrings,
  decodeTime,
  encodeTime,
  NumberHeap,
} from "./timers.ts";
import {
  isWindowLate,
  type TimeWindow,
  type WindowAssigner,
  windowStart,
} from "./windows.ts";
import { assertDuration } from "./time.ts";

/** An incremental aggregation, like Flink's `AggregateFunction`. */
export interface Aggregate<IN, ACC, OUT> {
  create(): ACC;
  /** May mutate and return `acc`. */
  add(acc: ACC, value: IN): ACC;
  /** Combines two accumulators (session windows merge); may mutate and return `a`. */
  merge(a: ACC, b: ACC): ACC;
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
  key: string;
  window: TimeWindow;
  value: OUT;
  /**
   * True when this result replaces one already emitted: a late record within
   * allowed lateness re-fired the window, or a fired session window was
   * merged into this one.
   */
  update: boolean;
}

/** Options of {@linkcode WindowOperator}. */
export interface WindowOperatorOptions<IN, ACC, OUT> {
  /** Which windows an element belongs to. */
  assigner: WindowAssigner;
  /** How elements of one (key, window) are combined. */
  aggregate: Aggregate<IN, ACC, OUT>;
  /** How long after a window fires late elements still update it. Default: 0. */
  allowed_lateness_ms?: number;
}

/** One window of the snapshot. */
export interface WindowStateSnapshot {
  key: string;
  start: number;
  end: number;
  acc: unknown;
  /** A result of this window (or of a session merged into it) was emitted. */
  emitted: boolean;
  /** The window has yet to fire at its maxTimestamp. */
  pending: boolean;
}

/** JSON-compatible state of a {@linkcode WindowOperator}. */
export interface WindowOperatorSnapshot {
  /** The operator's watermark; "-Infinity" before the first one. */
  watermark: number | string;
  /** Ordered by key, then start. */
  windows: WindowStateSnapshot[];
}

interface Entry<ACC> {
  key: string;
  start: number;
  end: number;
  acc: ACC;
  emitted: boolean;
  pending: boolean;
  /** Time of the registered timer: maxTimestamp while pending, else the cleanup time. */
  due: number;
}

interface Alignment {
  size_ms: number;
  slide_ms: number;
  offset_ms: number;
}

/** Keyed event-time windows; see the module documentation for semantics. */
export class WindowOperator<IN, ACC, OUT> {
  readonly #assigner: WindowAssigner;
  readonly #aggregate: Aggregate<IN, ACC, OUT>;
  readonly #lateness_ms: number;
  readonly #alignment: Alignment | undefined;
  // Non-merging windows per key, by start.
  #aligned = new Map<string, Map<number, Entry<ACC>>>();
  // Merging (session) windows per key, disjoint and ordered by start.
  #sessions = new Map<string, Entry<ACC>[]>();
  #timers = new Map<number, Set<Entry<ACC>>>();
  #times = new NumberHeap();
  #watermark = Number.NEGATIVE_INFINITY;
  #size = 0;

  constructor(options: WindowOperatorOptions<IN, ACC, OUT>) {
    this.#assigner = options.assigner;
    this.#aggregate = options.aggregate;
    const lateness_ms = options.allowed_lateness_ms ?? 0;
    assertDuration(
      "create window operator",
      "allowed_lateness_ms",
      lateness_ms,
      {
        allow_zero: true,
      },
    );
    this.#lateness_ms = lateness_ms;
    const { size_ms, slide_ms, offset_ms } = options.assigner;
    this.#alignment = !options.assigner.merging && size_ms !== undefined &&
        slide_ms !== undefined
      ? { size_ms, slide_ms, offset_ms: offset_ms ?? 0 }
      : undefined;
  }

  /** The highest watermark seen by `add` or `advance`. */
  watermark(): number {
    return this.#watermark;
  }

  /**
   * Adds one element. A `watermark` ahead of the operator's first advances
   * the operator to it (its results go to `out` first), so that lateness is
   * judged as Flink does, against windows that have already fired.
   *
   * Returns false when the element is late for every window it belongs to
   * beyond allowed lateness (the caller routes it to the late side output);
   * windows it still belongs to are updated. Windows re-fired by a late but
   * allowed element are pushed to `out` at once.
   */
  add(
    key: string,
    timestamp: number,
    value: IN,
    watermark: number,
    out: WindowResult<OUT>[],
  ): boolean {
    if (!Number.isFinite(timestamp)) {
      throw new RangeError(
        `Cannot add to window operator as 'timestamp' must be a finite epoch time: current value is ${timestamp}`,
      );
    }
    if (watermark > this.#watermark) this.advance(watermark, out);
    const alignment = this.#alignment;
    if (alignment !== undefined) {
      return this.#addAligned(key, timestamp, value, alignment, out);
    }
    let accepted = false;
    for (const window of this.#assigner.assign(timestamp)) {
      const added = this.#assigner.merging
        ? this.#addMerging(key, window, value, out)
        : this.#addWindow(key, window.start, window.end, value, out);
      accepted ||= added;
    }
    return accepted;
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
    if (watermark <= this.#watermark) return;
    this.#watermark = watermark;
    for (;;) {
      const time = this.#times.peek();
      if (time === undefined || time > watermark) break;
      this.#times.pop();
      const bucket = this.#timers.get(time);
      if (bucket === undefined) continue;
      this.#timers.delete(time);
      let firing: Entry<ACC>[] | undefined;
      for (const entry of bucket) {
        if (entry.pending) (firing ??= []).push(entry);
        else this.#purge(entry);
      }
      if (firing === undefined) continue;
      if (firing.length > 1) firing.sort(compareEntries);
      for (const entry of firing) {
        this.#fire(entry, out);
        const cleanup = entry.end - 1 + this.#lateness_ms;
        if (cleanup <= watermark) this.#purge(entry);
        else this.#schedule(entry, cleanup);
      }
    }
  }

  /** JSON-compatible state: every live window and the watermark. */
  snapshot(): WindowOperatorSnapshot {
    const entries: Entry<ACC>[] = [];
    for (const windows of this.#aligned.values()) {
      entries.push(...windows.values());
    }
    for (const windows of this.#sessions.values()) entries.push(...windows);
    entries.sort((a, b) => compareStrings(a.key, b.key) || a.start - b.start);
    return {
      watermark: encodeTime(this.#watermark),
      windows: entries.map((e) => ({
        key: e.key,
        start: e.start,
        end: e.end,
        acc: this.#aggregate.encode(e.acc),
        emitted: e.emitted,
        pending: e.pending,
      })),
    };
  }

  /** Replaces all state with that of `snapshot` (from {@linkcode snapshot}). */
  restore(snapshot: unknown): void {
    const s = snapshot as Partial<WindowOperatorSnapshot> | null;
    if (s === null || typeof s !== "object" || !Array.isArray(s.windows)) {
      throw new TypeError(
        `Cannot restore window operator as the snapshot must have a 'windows' array: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#aligned = new Map();
    this.#sessions = new Map();
    this.#timers = new Map();
    this.#times.clear();
    this.#size = 0;
    this.#watermark = decodeTime(s.watermark);
    const sorted = [...s.windows].sort((a, b) =>
      compareStrings(a.key, b.key) || a.start - b.start
    );
    for (const w of sorted) {
      if (
        typeof w.key !== "string" || !Number.isFinite(w.start) ||
        !Number.isFinite(w.end)
      ) {
        throw new TypeError(
          `Cannot restore window operator as each window needs a string 'key' and finite 'start' and 'end': current value is ${
            JSON.stringify(w)
          }`,
        );
      }
      const entry: Entry<ACC> = {
        key: w.key,
        start: w.start,
        end: w.end,
        acc: this.#aggregate.decode(w.acc),
        emitted: w.emitted === true,
        pending: w.pending === true,
        due: Number.NaN,
      };
      this.#insert(entry);
      this.#schedule(
        entry,
        entry.pending ? entry.end - 1 : entry.end - 1 + this.#lateness_ms,
      );
    }
  }

  /** Number of live (key, window) states. */
  size(): number {
    return this.#size;
  }

  #addAligned(
    key: string,
    timestamp: number,
    value: IN,
    alignment: Alignment,
    out: WindowResult<OUT>[],
  ): boolean {
    const { size_ms, slide_ms, offset_ms } = alignment;
    const last = windowStart(timestamp, offset_ms, slide_ms);
    // Windows containing the timestamp start in (timestamp - size_ms, last].
    const first = last -
      Math.floor((last - (timestamp - size_ms) - 1) / slide_ms) * slide_ms;
    let accepted = false;
    for (let start = first; start <= last; start += slide_ms) {
      accepted = this.#addWindow(key, start, start + size_ms, value, out) ||
        accepted;
    }
    return accepted;
  }

  #addWindow(
    key: string,
    start: number,
    end: number,
    value: IN,
    out: WindowResult<OUT>[],
  ): boolean {
    const watermark = this.#watermark;
    if (isWindowLate(end, this.#lateness_ms, watermark)) return false;
    let windows = this.#aligned.get(key);
    if (windows === undefined) {
      windows = new Map();
      this.#aligned.set(key, windows);
    }
    let entry = windows.get(start);
    if (entry === undefined) {
      entry = this.#newEntry(key, start, end);
      windows.set(start, entry);
      this.#size++;
    }
    entry.acc = this.#aggregate.add(entry.acc, value);
    this.#settle(entry, out);
    return true;
  }

  #addMerging(
    key: string,
    window: TimeWindow,
    value: IN,
    out: WindowResult<OUT>[],
  ): boolean {
    let list = this.#sessions.get(key);
    // The list is disjoint and ordered, so the windows intersecting (or
    // touching) the new one are a contiguous run [lo, hi].
    let lo = -1;
    let hi = -1;
    let insert_at = 0;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as Entry<ACC>;
        if (e.start <= window.end && e.end >= window.start) {
          if (lo < 0) lo = i;
          hi = i;
        } else if (e.end < window.start) {
          insert_at = i + 1;
        } else break;
      }
    }
    let entry: Entry<ACC>;
    if (lo < 0) {
      // A window merging with nothing alive is late exactly when Flink's
      // isWindowLate says so; one merging with a live window never is.
      if (isWindowLate(window.end, this.#lateness_ms, this.#watermark)) {
        return false;
      }
      entry = this.#newEntry(key, window.start, window.end);
      if (list === undefined) {
        list = [];
        this.#sessions.set(key, list);
      }
      list.splice(insert_at, 0, entry);
      this.#size++;
    } else {
      const sessions = list as Entry<ACC>[];
      entry = sessions[lo] as Entry<ACC>;
      entry.start = Math.min(entry.start, window.start);
      let end = Math.max(entry.end, window.end);
      for (let i = lo + 1; i <= hi; i++) {
        const other = sessions[i] as Entry<ACC>;
        entry.acc = this.#aggregate.merge(entry.acc, other.acc);
        entry.emitted ||= other.emitted;
        end = Math.max(end, other.end);
        this.#unschedule(other);
        this.#size--;
      }
      if (hi > lo) sessions.splice(lo + 1, hi - lo);
      entry.end = end;
    }
    entry.acc = this.#aggregate.add(entry.acc, value);
    this.#settle(entry, out);
    return true;
  }

  #newEntry(key: string, start: number, end: number): Entry<ACC> {
    return {
      key,
      start,
      end,
      acc: this.#aggregate.create(),
      emitted: false,
      pending: false,
      due: Number.NaN,
    };
  }

  // After an element was added: fire at once if the watermark has passed the
  // window (EventTimeTrigger.onElement answers FIRE), else wait for it.
  #settle(entry: Entry<ACC>, out: WindowResult<OUT>[]): void {
    const max_ts = entry.end - 1;
    if (max_ts <= this.#watermark) {
      this.#fire(entry, out);
      this.#schedule(entry, max_ts + this.#lateness_ms);
    } else {
      entry.pending = true;
      this.#schedule(entry, max_ts);
    }
  }

  #fire(entry: Entry<ACC>, out: WindowResult<OUT>[]): void {
    out.push({
      key: entry.key,
      window: { start: entry.start, end: entry.end },
      value: this.#aggregate.result(entry.acc),
      update: entry.emitted,
    });
    entry.emitted = true;
    entry.pending = false;
  }

  #insert(entry: Entry<ACC>): void {
    if (this.#alignment !== undefined || !this.#assigner.merging) {
      let windows = this.#aligned.get(entry.key);
      if (windows === undefined) {
        windows = new Map();
        this.#aligned.set(entry.key, windows);
      }
      windows.set(entry.start, entry);
    } else {
      let list = this.#sessions.get(entry.key);
      if (list === undefined) {
        list = [];
        this.#sessions.set(entry.key, list);
      }
      list.push(entry);
    }
    this.#size++;
  }

  #purge(entry: Entry<ACC>): void {
    this.#size--;
    const windows = this.#aligned.get(entry.key);
    if (windows !== undefined) {
      windows.delete(entry.start);
      if (windows.size === 0) this.#aligned.delete(entry.key);
      return;
    }
    const list = this.#sessions.get(entry.key);
    if (list === undefined) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#sessions.delete(entry.key);
  }

  #schedule(entry: Entry<ACC>, due: number): void {
    if (entry.due === due) return;
    this.#unschedule(entry);
    entry.due = due;
    let bucket = this.#timers.get(due);
    if (bucket === undefined) {
      bucket = new Set();
      this.#timers.set(due, bucket);
      this.#times.push(due);
    }
    bucket.add(entry);
  }

  #unschedule(entry: Entry<ACC>): void {
    const bucket = this.#timers.get(entry.due);
    if (bucket === undefined) return;
    bucket.delete(entry);
    if (bucket.size === 0) this.#timers.delete(entry.due);
  }
}

function compareEntries<ACC>(a: Entry<ACC>, b: Entry<ACC>): number {
  return a.start - b.start || compareStrings(a.key, b.key);
}
