/**
 * Event-time windows and the assigners that put a timestamp into them, with
 * Flink's semantics: windows are half-open `[start, end)`, tumbling and
 * sliding windows align to the epoch (plus an optional offset), and session
 * windows `[t, t + gap)` merge when they overlap or touch.
 *
 * @module
 */

import { assertDuration } from "./time.ts";

/** A half-open interval of event time `[start, end)`, in epoch ms. */
export interface TimeWindow {
  /** First instant inside the window, epoch ms (`-Infinity` for the global window). */
  start: number;
  /** First instant after the window, epoch ms (`Infinity` for the global window). */
  end: number;
}

/** The largest timestamp inside the window; it fires when the watermark reaches it. */
export function maxTimestamp(w: TimeWindow): number {
  return w.end - 1;
}

/**
 * Flink's `isWindowLate`: the window ending at `end` (exclusive) takes no
 * more elements once `maxTimestamp + allowed_lateness_ms <= watermark`.
 */
export function isWindowLate(
  end: number,
  allowed_lateness_ms: number,
  watermark: number,
): boolean {
  return end - 1 + allowed_lateness_ms <= watermark;
}

/** Assigns a timestamp to the windows it belongs to. */
export interface WindowAssigner {
  /** Which assigner made it; the window operator picks its engine by it. */
  readonly kind: "tumbling" | "sliding" | "session" | "global";
  /** Whether windows of this assigner merge (session windows). */
  readonly merging: boolean;
  /** The windows `timestamp` belongs to, ordered by start ascending. */
  assign(timestamp: number): TimeWindow[];
  /**
   * For aligned assigners (tumbling, sliding): the window size, slide and
   * offset, which let the window operator enumerate windows without
   * allocating. Absent on merging assigners.
   */
  readonly size_ms?: number;
  /** How far apart consecutive windows start: `size_ms` for tumbling windows. */
  readonly slide_ms?: number;
  /** Shift of the alignment to the epoch, in ms. */
  readonly offset_ms?: number;
  /** For session assigners: the inactivity gap. */
  readonly gap_ms?: number;
}

/**
 * The start of the aligned window of `size_ms` (shifted by `offset_ms`) that
 * contains `timestamp`, as Flink's `TimeWindow.getWindowStartWithOffset`;
 * correct for negative timestamps.
 */
export function windowStart(
  timestamp: number,
  offset_ms: number,
  size_ms: number,
): number {
  const remainder = (timestamp - offset_ms) % size_ms;
  return remainder < 0
    ? timestamp - (remainder + size_ms)
    : timestamp - remainder;
}

/** Tumbling windows of `size_ms`, aligned to the epoch plus `offset_ms`. */
export function tumbling(options: {
  /** Window length. */
  size_ms: number;
  /** Shift of the alignment; `|offset_ms| < size_ms`. Default: 0. */
  offset_ms?: number;
}): WindowAssigner {
  const action = "create tumbling windows";
  const { size_ms } = options;
  assertDuration(action, "size_ms", size_ms);
  const offset_ms = options.offset_ms ?? 0;
  assertOffset(action, offset_ms, size_ms, "size_ms");
  return {
    kind: "tumbling",
    merging: false,
    size_ms,
    slide_ms: size_ms,
    offset_ms,
    assign(timestamp: number): TimeWindow[] {
      const start = windowStart(timestamp, offset_ms, size_ms);
      return [{ start, end: start + size_ms }];
    },
  };
}

/**
 * Sliding windows of `size_ms` starting every `slide_ms`, aligned to the
 * epoch plus `offset_ms`. Unlike Flink, `slide_ms` may not exceed `size_ms`:
 * that would leave timestamps in no window, silently dropping their records.
 */
export function sliding(options: {
  /** Window length. */
  size_ms: number;
  /** Distance between window starts; at most `size_ms`. */
  slide_ms: number;
  /** Shift of the alignment; `|offset_ms| < slide_ms`. Default: 0. */
  offset_ms?: number;
}): WindowAssigner {
  const action = "create sliding windows";
  const { size_ms, slide_ms } = options;
  assertDuration(action, "size_ms", size_ms);
  assertDuration(action, "slide_ms", slide_ms);
  if (slide_ms > size_ms) {
    throw new RangeError(
      `Cannot ${action} as 'slide_ms' must not exceed 'size_ms' (${size_ms}): current value is ${slide_ms}`,
    );
  }
  const offset_ms = options.offset_ms ?? 0;
  assertOffset(action, offset_ms, slide_ms, "slide_ms");
  return {
    kind: "sliding",
    merging: false,
    size_ms,
    slide_ms,
    offset_ms,
    assign(timestamp: number): TimeWindow[] {
      const last = windowStart(timestamp, offset_ms, slide_ms);
      let first = last;
      while (first - slide_ms > timestamp - size_ms) first -= slide_ms;
      const windows: TimeWindow[] = [];
      for (let start = first; start <= last; start += slide_ms) {
        windows.push({ start, end: start + size_ms });
      }
      return windows;
    },
  };
}

/**
 * Session windows: each timestamp `t` gets `[t, t + gap_ms)`, and windows of
 * one key merge when they overlap or touch, so two events exactly `gap_ms`
 * apart belong to one session (as Flink's `TimeWindow.intersects`).
 */
export function session(options: {
  /** Inactivity that closes a session. */
  gap_ms: number;
}): WindowAssigner {
  const { gap_ms } = options;
  assertDuration("create session windows", "gap_ms", gap_ms);
  return {
    kind: "session",
    merging: true,
    gap_ms,
    assign(timestamp: number): TimeWindow[] {
      return [{ start: timestamp, end: timestamp + gap_ms }];
    },
  };
}

/** The one window of {@linkcode global}: all of event time. */
export const GLOBAL_WINDOW: TimeWindow = Object.freeze({
  start: Number.NEGATIVE_INFINITY,
  end: Number.POSITIVE_INFINITY,
});

/**
 * One window per key holding every element, as Flink's `GlobalWindows`: it
 * never closes before the end of input (its end is +∞), so it suits running
 * totals emitted as updates or deltas per batch.
 */
export function global(): WindowAssigner {
  return {
    kind: "global",
    merging: false,
    assign(): TimeWindow[] {
      return [GLOBAL_WINDOW];
    },
  };
}

/** Whether two windows overlap or touch (Flink's `TimeWindow.intersects`). */
export function intersects(a: TimeWindow, b: TimeWindow): boolean {
  return a.start <= b.end && a.end >= b.start;
}

/** The smallest window covering both. */
export function cover(a: TimeWindow, b: TimeWindow): TimeWindow {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/** A merged session window and the windows it was built from. */
export interface MergedWindow {
  window: TimeWindow;
  /** The input windows covered by `window`, ordered by start. */
  members: TimeWindow[];
}

/**
 * Merges overlapping or touching windows, as Flink's
 * `TimeWindow.mergeWindows`: sort by start, then fold each window into the
 * current group while it intersects it. Groups come out ordered by start.
 */
export function mergeSessions(windows: TimeWindow[]): MergedWindow[] {
  const sorted = [...windows].sort((a, b) =>
    a.start - b.start || a.end - b.end
  );
  const merged: MergedWindow[] = [];
  let current: MergedWindow | undefined;
  for (const w of sorted) {
    if (current !== undefined && intersects(current.window, w)) {
      current.window = cover(current.window, w);
      current.members.push(w);
    } else {
      current = { window: { start: w.start, end: w.end }, members: [w] };
      merged.push(current);
    }
  }
  return merged;
}

function assertOffset(
  action: string,
  offset_ms: number,
  limit_ms: number,
  limit_name: string,
): void {
  if (!Number.isSafeInteger(offset_ms) || Math.abs(offset_ms) >= limit_ms) {
    throw new RangeError(
      `Cannot ${action} as 'offset_ms' must be a whole number of milliseconds with |offset_ms| < '${limit_name}' (${limit_ms}): current value is ${offset_ms}`,
    );
  }
}
