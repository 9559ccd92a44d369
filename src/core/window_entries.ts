/**
 * The window engine's state for tumbling, session and global windows: one
 * entry per (key, window) holding the window's accumulator, with a timer at
 * its firing time and then at its cleanup time. Semantics are described in
 * `window_operator.ts`.
 *
 * @module
 */

import {
  compareStrings,
  decodeTime,
  encodeTime,
  TimerIndex,
} from "./timers.ts";
import {
  isWindowLate,
  type TimeWindow,
  type WindowAssigner,
  windowStart,
} from "./windows.ts";
import type {
  Aggregate,
  WindowResult,
  WindowState,
} from "./window_operator.ts";

/** One window of the snapshot. */
export interface EntrySnapshot {
  key: string;
  /** ±Infinity (global windows) written as strings. */
  start: number | string;
  end: number | string;
  acc: unknown;
  /** A result of this window (or of a session merged into it) was emitted. */
  emitted: boolean;
  /** The window has yet to fire at its maxTimestamp. */
  pending: boolean;
}

/** JSON-compatible state of tumbling, session and global windows. */
export interface EntryWindowsSnapshot {
  kind: "entries";
  /** The operator's watermark; "-Infinity" before the first one. */
  watermark: number | string;
  /** Ordered by key, then start. */
  windows: EntrySnapshot[];
}

interface Entry<ACC> {
  key: string;
  start: number;
  end: number;
  acc: ACC;
  emitted: boolean;
  pending: boolean;
}

/** Windows as entries; see the module documentation. */
export class EntryWindows<IN, ACC, OUT> implements WindowState<IN, OUT> {
  readonly #assigner: WindowAssigner;
  readonly #aggregate: Aggregate<IN, ACC, OUT>;
  readonly #lateness_ms: number;
  readonly #updates: boolean;
  /** Judged by carried watermarks (see the constructor). */
  readonly #carried: boolean;
  /**
   * How much later than their max timestamp (Flink's time) windows fire: 0,
   * or for sessions judged by carried watermarks a gap plus the lateness
   * (see the constructor).
   */
  readonly #fire_delay_ms: number;
  /** Tumbling windows: their size and offset, to skip `assign`'s array. */
  readonly #tumbling: { size_ms: number; offset_ms: number } | undefined;
  // Non-merging windows per key, by start.
  #aligned = new Map<string, Map<number, Entry<ACC>>>();
  // Merging (session) windows per key, disjoint and ordered by start.
  #sessions = new Map<string, Entry<ACC>[]>();
  #timers = new TimerIndex<Entry<ACC>>();
  /** Entries a batch changed (emit "updates"). */
  #changed = new Set<Entry<ACC>>();
  #watermark = Number.NEGATIVE_INFINITY;
  #size = 0;

  constructor(
    assigner: WindowAssigner,
    aggregate: Aggregate<IN, ACC, OUT>,
    lateness_ms: number,
    emit: "close" | "updates",
    carried = false,
  ) {
    this.#assigner = assigner;
    this.#aggregate = aggregate;
    this.#lateness_ms = lateness_ms;
    this.#updates = emit === "updates";
    // With carried watermarks (a stage reading a repartition), the stage's
    // watermark is the minimum over the upstream partitions, at most the
    // watermark an element carries. An element not late by its own window
    // [t, t + gap) carries less than t + gap - 1 + lateness, so a session it
    // touches (ending at t or later) is still alive if sessions fire and
    // are purged only once the watermark reaches end - 1 + gap + lateness:
    // every session then holds, and fires once with, every element that
    // joins it in any interleaving.
    this.#carried = carried;
    this.#fire_delay_ms = carried && assigner.merging
      ? (assigner.gap_ms ?? 0) + lateness_ms
      : 0;
    this.#tumbling = assigner.kind === "tumbling" &&
        assigner.size_ms !== undefined
      ? { size_ms: assigner.size_ms, offset_ms: assigner.offset_ms ?? 0 }
      : undefined;
  }

  watermark(): number {
    return this.#watermark;
  }

  add(
    key: string,
    timestamp: number,
    value: IN,
    out: WindowResult<OUT>[],
    judge: number,
  ): boolean {
    const tumbling = this.#tumbling;
    if (tumbling !== undefined) {
      const start = windowStart(
        timestamp,
        tumbling.offset_ms,
        tumbling.size_ms,
      );
      const end = start + tumbling.size_ms;
      return this.#addWindow(key, start, end, value, out, judge);
    }
    let accepted = false;
    for (const window of this.#assigner.assign(timestamp)) {
      const added = this.#assigner.merging
        ? this.#addMerging(key, window, value, out, judge)
        : this.#addWindow(key, window.start, window.end, value, out, judge);
      accepted ||= added;
    }
    return accepted;
  }

  advance(watermark: number, out: WindowResult<OUT>[]): void {
    this.#watermark = watermark;
    for (;;) {
      const popped = this.#timers.popDue(watermark);
      if (popped === undefined) break;
      let firing: Entry<ACC>[] | undefined;
      for (const entry of popped.items) {
        if (entry.pending) (firing ??= []).push(entry);
        else this.#purge(entry);
      }
      if (firing === undefined) continue;
      if (firing.length > 1) firing.sort(compareEntries);
      for (const entry of firing) {
        this.#fire(entry, out);
        const cleanup = this.#purgeAt(entry);
        if (cleanup <= watermark) this.#purge(entry);
        else this.#timers.schedule(entry, cleanup);
      }
    }
  }

  flush(out: WindowResult<OUT>[]): void {
    if (this.#changed.size === 0) return;
    const changed = [...this.#changed].sort((a, b) =>
      a.end - b.end || compareEntries(a, b)
    );
    this.#changed.clear();
    for (const entry of changed) this.#fire(entry, out);
  }

  nextTimer(): number | undefined {
    return this.#timers.next();
  }

  size(): number {
    return this.#size;
  }

  snapshot(): EntryWindowsSnapshot {
    const entries: Entry<ACC>[] = [];
    for (const windows of this.#aligned.values()) {
      entries.push(...windows.values());
    }
    for (const windows of this.#sessions.values()) entries.push(...windows);
    entries.sort((a, b) => compareStrings(a.key, b.key) || a.start - b.start);
    return {
      kind: "entries",
      watermark: encodeTime(this.#watermark),
      windows: entries.map((e) => ({
        key: e.key,
        start: encodeTime(e.start),
        end: encodeTime(e.end),
        acc: this.#aggregate.encode(e.acc),
        emitted: e.emitted,
        pending: e.pending,
      })),
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<EntryWindowsSnapshot> | null;
    if (s === null || typeof s !== "object" || !Array.isArray(s.windows)) {
      throw new TypeError(
        `Cannot restore window operator as the snapshot must have a 'windows' array: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#aligned = new Map();
    this.#sessions = new Map();
    this.#timers.clear();
    this.#changed.clear();
    this.#size = 0;
    this.#watermark = decodeTime(s.watermark);
    const decoded = s.windows.map((w) => {
      let start: number;
      let end: number;
      try {
        start = decodeTime(w.start);
        end = decodeTime(w.end);
      } catch {
        start = end = Number.NaN;
      }
      if (
        typeof w.key !== "string" || Number.isNaN(start) || Number.isNaN(end)
      ) {
        throw new TypeError(
          `Cannot restore window operator as each window needs a string 'key' and a 'start' and 'end' time: current value is ${
            JSON.stringify(w)
          }`,
        );
      }
      return { w, start, end };
    });
    decoded.sort((a, b) =>
      compareStrings(a.w.key, b.w.key) || a.start - b.start
    );
    for (const { w, start, end } of decoded) {
      const entry: Entry<ACC> = {
        key: w.key,
        start,
        end,
        acc: this.#aggregate.decode(w.acc),
        emitted: w.emitted === true,
        pending: w.pending === true,
      };
      this.#insert(entry);
      this.#timers.schedule(
        entry,
        entry.pending ? this.#fireAt(entry) : this.#purgeAt(entry),
      );
    }
  }

  #addWindow(
    key: string,
    start: number,
    end: number,
    value: IN,
    out: WindowResult<OUT>[],
    judge: number,
  ): boolean {
    if (isWindowLate(end, this.#lateness_ms, judge)) return false;
    let windows = this.#aligned.get(key);
    if (windows === undefined) {
      windows = new Map();
      this.#aligned.set(key, windows);
    }
    let entry = windows.get(start);
    if (entry === undefined) {
      entry = newEntry(key, start, end, this.#aggregate.create());
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
    judge: number,
  ): boolean {
    // Judged by the watermark it carries, an element is late by its own
    // window alone: whether a session it touches is still alive depends on
    // how the upstream partitions interleave.
    if (this.#carried && isWindowLate(window.end, this.#lateness_ms, judge)) {
      return false;
    }
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
      if (isWindowLate(window.end, this.#lateness_ms, judge)) {
        return false;
      }
      entry = newEntry(key, window.start, window.end, this.#aggregate.create());
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
        this.#timers.unschedule(other);
        this.#changed.delete(other);
        this.#size--;
      }
      if (hi > lo) sessions.splice(lo + 1, hi - lo);
      entry.end = end;
    }
    entry.acc = this.#aggregate.add(entry.acc, value);
    this.#settle(entry, out);
    return true;
  }

  // After an element was added. Emit "close": fire at once if the watermark
  // has passed the window (EventTimeTrigger.onElement answers FIRE), else
  // wait for it. Emit "updates": the batch's flush emits it; only the
  // cleanup timer is kept.
  #settle(entry: Entry<ACC>, out: WindowResult<OUT>[]): void {
    if (this.#updates) {
      this.#changed.add(entry);
      this.#timers.schedule(entry, this.#purgeAt(entry));
    } else if (this.#fireAt(entry) <= this.#watermark) {
      this.#fire(entry, out);
      this.#timers.schedule(entry, this.#purgeAt(entry));
    } else {
      entry.pending = true;
      this.#timers.schedule(entry, this.#fireAt(entry));
    }
  }

  /** When a window fires: its max timestamp, later by the fire delay. */
  #fireAt(entry: Entry<ACC>): number {
    return entry.end - 1 + this.#fire_delay_ms;
  }

  /** When a window's state goes: lateness after its max timestamp, and never before it fires. */
  #purgeAt(entry: Entry<ACC>): number {
    return Math.max(this.#fireAt(entry), entry.end - 1 + this.#lateness_ms);
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
    if (!this.#assigner.merging) {
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
    // A window purged before its batch's flush (emit "updates" with
    // lateness 0 and a late-closing batch) still emits its last change.
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
}

function newEntry<ACC>(
  key: string,
  start: number,
  end: number,
  acc: ACC,
): Entry<ACC> {
  return { key, start, end, acc, emitted: false, pending: false };
}

function compareEntries<ACC>(a: Entry<ACC>, b: Entry<ACC>): number {
  return a.start - b.start || compareStrings(a.key, b.key);
}
