/**
 * The window engine's state for sliding windows: panes.
 *
 * A sliding window of `size` every `slide` is the union of consecutive panes
 * of `gcd(size, slide)` (Flink's window slicing). An element updates one
 * pane; a window's result merges the panes it covers or, when the aggregate
 * can `subtract`, slides a running total from the last window fired: the
 * entering panes are added and the leaving ones subtracted, so firing costs
 * a few panes, not `size / slide` merges.
 *
 * Per key: the panes, a firing timer per window end that holds data (a
 * window fires only if it received elements, as in Flink), the ends already
 * fired and not yet late (a late element within lateness re-fires them as
 * updates), and a purge timer per pane at the cleanup time of the last
 * window that covers it. Semantics are described in `window_operator.ts`.
 *
 * @module
 */

import {
  compareStrings,
  decodeTime,
  encodeTime,
  TimerIndex,
} from "./timers.ts";
import { isWindowLate, type WindowAssigner, windowStart } from "./windows.ts";
import type {
  Aggregate,
  WindowResult,
  WindowState,
} from "./window_operator.ts";

/** JSON-compatible state of sliding windows. */
export interface PaneWindowsSnapshot {
  kind: "panes";
  watermark: number | string;
  /** Ordered by key; panes by start; fired ends ascending. */
  keys: Array<{
    key: string;
    panes: Array<[number, unknown]>;
    fired: number[];
  }>;
}

interface Pane<ACC> {
  start: number;
  acc: ACC;
}

interface KeyPanes<ACC> {
  key: string;
  panes: Map<number, Pane<ACC>>;
  /** Window end → its firing timer, for windows with data not fired yet. */
  pending: Map<number, FireTimer<ACC>>;
  /** Window end → its cleanup timer, for windows fired and not late yet. */
  fired: Map<number, Cleanup<ACC>>;
  /** The running total of the window ending at `end` (with `subtract`). */
  running: { end: number; acc: ACC } | undefined;
}

interface FireTimer<ACC> {
  keyed: KeyPanes<ACC>;
  end: number;
}

type Cleanup<ACC> =
  | { kind: "fired"; keyed: KeyPanes<ACC>; end: number }
  | { kind: "pane"; keyed: KeyPanes<ACC>; pane: Pane<ACC> };

/** Sliding windows as panes; see the module documentation. */
export class PaneWindows<IN, ACC, OUT> implements WindowState<IN, OUT> {
  readonly #aggregate: Aggregate<IN, ACC, OUT>;
  readonly #lateness_ms: number;
  readonly #updates: boolean;
  readonly #size: number;
  readonly #slide: number;
  readonly #offset: number;
  readonly #pane: number;
  #keys = new Map<string, KeyPanes<ACC>>();
  #fires = new TimerIndex<FireTimer<ACC>>();
  #cleanups = new TimerIndex<Cleanup<ACC>>();
  /** Windows a batch changed (emit "updates"), by key then end. */
  #changed = new Map<KeyPanes<ACC>, Set<number>>();
  #watermark = Number.NEGATIVE_INFINITY;
  #pane_count = 0;

  constructor(
    assigner: WindowAssigner,
    aggregate: Aggregate<IN, ACC, OUT>,
    lateness_ms: number,
    emit: "close" | "updates",
  ) {
    this.#aggregate = aggregate;
    this.#lateness_ms = lateness_ms;
    this.#updates = emit === "updates";
    this.#size = assigner.size_ms as number;
    this.#slide = assigner.slide_ms as number;
    this.#offset = assigner.offset_ms ?? 0;
    this.#pane = gcd(this.#size, this.#slide);
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
    const start = windowStart(timestamp, this.#offset, this.#pane);
    const last_end = this.#lastEnd(start);
    // Late for the last window holding it, so for all of them.
    if (isWindowLate(last_end, this.#lateness_ms, judge)) {
      return false;
    }
    let keyed = this.#keys.get(key);
    if (keyed === undefined) {
      keyed = {
        key,
        panes: new Map(),
        pending: new Map(),
        fired: new Map(),
        running: undefined,
      };
      this.#keys.set(key, keyed);
    }
    let pane = keyed.panes.get(start);
    if (pane === undefined) {
      pane = { start, acc: this.#aggregate.create() };
      this.#addPane(keyed, pane);
    }
    pane.acc = this.#aggregate.add(pane.acc, value);
    const running = keyed.running;
    if (
      running !== undefined && start >= running.end - this.#size &&
      start < running.end
    ) {
      running.acc = this.#aggregate.add(running.acc, value);
    }
    const first_end = this.#firstEnd(start);
    if (this.#updates) {
      let ends = this.#changed.get(keyed);
      if (ends === undefined) this.#changed.set(keyed, ends = new Set());
      for (let end = first_end; end <= last_end; end += this.#slide) {
        if (!isWindowLate(end, this.#lateness_ms, judge)) ends.add(end);
      }
      return true;
    }
    // Windows of the element already due fire at once, as Flink's
    // EventTimeTrigger answers FIRE for an element of a passed window; those
    // late for it never see it.
    const due_end = this.#watermark === Number.NEGATIVE_INFINITY
      ? Number.NEGATIVE_INFINITY
      : windowStart(
        this.#watermark - this.#size + 1,
        this.#offset,
        this.#slide,
      ) + this.#size;
    const last_due = Math.min(last_end, due_end);
    for (let end = first_end; end <= last_due; end += this.#slide) {
      if (isWindowLate(end, this.#lateness_ms, judge)) continue;
      this.#fire(keyed, end, out);
    }
    return true;
  }

  advance(watermark: number, out: WindowResult<OUT>[]): void {
    this.#watermark = watermark;
    for (;;) {
      const fire_at = this.#fires.next();
      const cleanup_at = this.#cleanups.next();
      // At one time, windows fire before anything they need is cleaned up.
      if (
        fire_at !== undefined && fire_at <= watermark &&
        (cleanup_at === undefined || fire_at <= cleanup_at)
      ) {
        const { items } = this.#fires.popDue(watermark)!;
        if (items.length > 1) {
          items.sort((a, b) => compareStrings(a.keyed.key, b.keyed.key));
        }
        for (const timer of items) {
          timer.keyed.pending.delete(timer.end);
          this.#fire(timer.keyed, timer.end, out);
        }
        continue;
      }
      if (cleanup_at === undefined || cleanup_at > watermark) break;
      for (const cleanup of this.#cleanups.popDue(watermark)!.items) {
        if (cleanup.kind === "fired") {
          cleanup.keyed.fired.delete(cleanup.end);
        } else this.#purgePane(cleanup.keyed, cleanup.pane);
      }
    }
  }

  flush(out: WindowResult<OUT>[]): void {
    if (this.#changed.size === 0) return;
    const changed: Array<{ keyed: KeyPanes<ACC>; end: number }> = [];
    for (const [keyed, ends] of this.#changed) {
      for (const end of ends) changed.push({ keyed, end });
    }
    this.#changed.clear();
    changed.sort((a, b) =>
      a.end - b.end || compareStrings(a.keyed.key, b.keyed.key)
    );
    for (const { keyed, end } of changed) this.#fire(keyed, end, out);
  }

  nextTimer(): number | undefined {
    const fire = this.#fires.next();
    const cleanup = this.#cleanups.next();
    if (fire === undefined) return cleanup;
    return cleanup === undefined ? fire : Math.min(fire, cleanup);
  }

  size(): number {
    return this.#pane_count;
  }

  snapshot(): PaneWindowsSnapshot {
    const keys = [...this.#keys.values()].sort((a, b) =>
      compareStrings(a.key, b.key)
    );
    return {
      kind: "panes",
      watermark: encodeTime(this.#watermark),
      keys: keys.map((keyed) => ({
        key: keyed.key,
        panes: [...keyed.panes.values()]
          .sort((a, b) => a.start - b.start)
          .map((pane): [number, unknown] => [
            pane.start,
            this.#aggregate.encode(pane.acc),
          ]),
        fired: [...keyed.fired.keys()].sort((a, b) => a - b),
      })),
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<PaneWindowsSnapshot> | null;
    if (s === null || typeof s !== "object" || !Array.isArray(s.keys)) {
      throw new TypeError(
        `Cannot restore sliding windows as the snapshot must have a 'keys' array: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#keys = new Map();
    this.#fires.clear();
    this.#cleanups.clear();
    this.#changed.clear();
    this.#pane_count = 0;
    this.#watermark = decodeTime(s.watermark);
    for (const entry of s.keys) {
      if (
        typeof entry?.key !== "string" || !Array.isArray(entry.panes) ||
        !Array.isArray(entry.fired)
      ) {
        throw new TypeError(
          `Cannot restore sliding windows as each key needs a string 'key' and 'panes' and 'fired' arrays: current value is ${
            JSON.stringify(entry)
          }`,
        );
      }
      const keyed: KeyPanes<ACC> = {
        key: entry.key,
        panes: new Map(),
        pending: new Map(),
        fired: new Map(),
        running: undefined,
      };
      this.#keys.set(entry.key, keyed);
      for (const [start, acc] of entry.panes) {
        if (!Number.isFinite(start)) {
          throw new TypeError(
            `Cannot restore sliding windows as a pane start must be a finite time: current value is ${
              JSON.stringify(start)
            }`,
          );
        }
        this.#addPane(keyed, { start, acc: this.#aggregate.decode(acc) });
      }
      for (const end of entry.fired) this.#markFired(keyed, end);
    }
  }

  // Window starts are aligned to the slide (plus offset); ends are starts
  // plus size, so they need not be.

  /** End of the last window covering the pane starting at `start`. */
  #lastEnd(start: number): number {
    return windowStart(start, this.#offset, this.#slide) + this.#size;
  }

  /** End of the first window covering the pane starting at `start`. */
  #firstEnd(start: number): number {
    return windowStart(
      start + this.#pane - this.#size - 1,
      this.#offset,
      this.#slide,
    ) + this.#slide + this.#size;
  }

  #addPane(keyed: KeyPanes<ACC>, pane: Pane<ACC>): void {
    keyed.panes.set(pane.start, pane);
    this.#pane_count++;
    const last_end = this.#lastEnd(pane.start);
    this.#cleanups.schedule(
      { kind: "pane", keyed, pane },
      last_end - 1 + this.#lateness_ms,
    );
    if (this.#updates) return;
    // Every window of the pane not due yet fires when the watermark reaches it.
    for (
      let end = this.#firstEnd(pane.start);
      end <= last_end;
      end += this.#slide
    ) {
      if (end - 1 <= this.#watermark || keyed.pending.has(end)) continue;
      const timer = { keyed, end };
      keyed.pending.set(end, timer);
      this.#fires.schedule(timer, end - 1);
    }
  }

  #fire(keyed: KeyPanes<ACC>, end: number, out: WindowResult<OUT>[]): void {
    out.push({
      key: keyed.key,
      window: { start: end - this.#size, end },
      value: this.#aggregate.result(this.#windowAcc(keyed, end)),
      update: keyed.fired.has(end),
    });
    this.#markFired(keyed, end);
  }

  #markFired(keyed: KeyPanes<ACC>, end: number): void {
    const cleanup_at = end - 1 + this.#lateness_ms;
    if (cleanup_at <= this.#watermark || keyed.fired.has(end)) return;
    const cleanup: Cleanup<ACC> = { kind: "fired", keyed, end };
    keyed.fired.set(end, cleanup);
    this.#cleanups.schedule(cleanup, cleanup_at);
  }

  /** The accumulator of the window ending at `end`: do not mutate it. */
  #windowAcc(keyed: KeyPanes<ACC>, end: number): ACC {
    const subtract = this.#aggregate.subtract;
    if (subtract === undefined) return this.#merge(keyed, end);
    const running = keyed.running;
    if (running !== undefined && running.end === end) return running.acc;
    if (running !== undefined && end > running.end) {
      if (end - running.end < this.#size) {
        // Slide: add the panes entering, subtract those leaving.
        const agg = this.#aggregate;
        const entering_from = Math.max(running.end, end - this.#size);
        for (let p = entering_from; p < end; p += this.#pane) {
          const pane = keyed.panes.get(p);
          if (pane !== undefined) {
            running.acc = agg.merge(running.acc, pane.acc);
          }
        }
        const leaving_to = Math.min(running.end, end - this.#size);
        for (
          let p = running.end - this.#size;
          p < leaving_to;
          p += this.#pane
        ) {
          const pane = keyed.panes.get(p);
          if (pane !== undefined) {
            running.acc = subtract.call(agg, running.acc, pane.acc);
          }
        }
        running.end = end;
        return running.acc;
      }
    } else if (running !== undefined) {
      // A late update of an older window: computed aside.
      return this.#merge(keyed, end);
    }
    keyed.running = { end, acc: this.#merge(keyed, end) };
    return keyed.running.acc;
  }

  #merge(keyed: KeyPanes<ACC>, end: number): ACC {
    let acc = this.#aggregate.create();
    for (let p = end - this.#size; p < end; p += this.#pane) {
      const pane = keyed.panes.get(p);
      if (pane !== undefined) acc = this.#aggregate.merge(acc, pane.acc);
    }
    return acc;
  }

  #purgePane(keyed: KeyPanes<ACC>, pane: Pane<ACC>): void {
    const running = keyed.running;
    // Every window covering the pane is late now; the running total goes on
    // without it (the slide then finds the pane gone and skips it).
    if (
      running !== undefined && pane.start >= running.end - this.#size &&
      pane.start < running.end
    ) {
      const subtract = this.#aggregate.subtract!;
      running.acc = subtract.call(this.#aggregate, running.acc, pane.acc);
    }
    keyed.panes.delete(pane.start);
    this.#pane_count--;
    if (keyed.panes.size === 0 && keyed.pending.size === 0) {
      for (const cleanup of keyed.fired.values()) {
        this.#cleanups.unschedule(cleanup);
      }
      this.#keys.delete(keyed.key);
      this.#changed.delete(keyed);
    }
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
