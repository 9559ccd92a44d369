/**
 * Keyed event-time timers, deduplicated per (key, timestamp) and popped in
 * (timestamp, key) order, plus the min-heap of numbers they are built on.
 *
 * @module
 */

/** A binary min-heap of numbers. Duplicates are allowed. */
export class NumberHeap {
  #items: number[] = [];

  /** Number of stored numbers (including duplicates). */
  get length(): number {
    return this.#items.length;
  }

  push(value: number): void {
    const items = this.#items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if (p <= value) break;
      items[i] = p;
      i = parent;
    }
    items[i] = value;
  }

  /** The smallest number, without removing it. */
  peek(): number | undefined {
    return this.#items[0];
  }

  /** Removes and returns the smallest number. */
  pop(): number | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = items[left] as number;
      if (right < n && (items[right] as number) < c) {
        child = right;
        c = items[right] as number;
      }
      if (c >= last) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }

  clear(): void {
    this.#items = [];
  }
}

/**
 * Items due at a time, popped in time order: a bucket per time plus a
 * min-heap of times. Each item is due at most once at a time (scheduling it
 * again moves it). The timer index of every event-time operator: the window
 * engine's windows and panes and {@linkcode TimerService}'s keys.
 */
export class TimerIndex<T> {
  // time -> items due then; the heap may hold times whose bucket was emptied
  // by unschedule(), which are skipped when they reach the top.
  #buckets = new Map<number, Set<T>>();
  #due = new Map<T, number>();
  #times = new NumberHeap();

  /** Schedules `item` at `time`, moving it if it was scheduled elsewhere. */
  schedule(item: T, time: number): void {
    if (Number.isNaN(time)) {
      throw new RangeError(
        `Cannot schedule a timer as 'time' must be a number: current value is ${time}`,
      );
    }
    const current = this.#due.get(item);
    if (current === time) return;
    if (current !== undefined) this.#remove(item, current);
    let bucket = this.#buckets.get(time);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(time, bucket);
      this.#times.push(time);
    }
    bucket.add(item);
    this.#due.set(item, time);
  }

  /** Cancels `item`'s timer, if any. */
  unschedule(item: T): void {
    const current = this.#due.get(item);
    if (current !== undefined) this.#remove(item, current);
  }

  /** When `item` is due, or undefined. */
  dueOf(item: T): number | undefined {
    return this.#due.get(item);
  }

  /** The earliest time an item is due at, if any. */
  next(): number | undefined {
    for (;;) {
      const time = this.#times.peek();
      if (time === undefined || this.#buckets.has(time)) return time;
      this.#times.pop();
    }
  }

  /**
   * Removes and returns the items due at the earliest time if that time is
   * at most `time` (in scheduling order), else undefined.
   */
  popDue(time: number): { time: number; items: T[] } | undefined {
    const next = this.next();
    if (next === undefined || next > time) return undefined;
    this.#times.pop();
    const bucket = this.#buckets.get(next) as Set<T>;
    this.#buckets.delete(next);
    for (const item of bucket) this.#due.delete(item);
    return { time: next, items: [...bucket] };
  }

  /** Number of scheduled items. */
  size(): number {
    return this.#due.size;
  }

  /** Every scheduled item with its time, ordered by time. */
  entries(): Array<{ item: T; time: number }> {
    const times = [...this.#buckets.keys()].sort((a, b) => a - b);
    const out: Array<{ item: T; time: number }> = [];
    for (const time of times) {
      for (const item of this.#buckets.get(time) as Set<T>) {
        out.push({ item, time });
      }
    }
    return out;
  }

  clear(): void {
    this.#buckets = new Map();
    this.#due = new Map();
    this.#times.clear();
  }

  #remove(item: T, time: number): void {
    const bucket = this.#buckets.get(time);
    this.#due.delete(item);
    if (bucket === undefined) return;
    bucket.delete(item);
    if (bucket.size === 0) this.#buckets.delete(time);
  }
}

/** A registered timer. */
export interface Timer {
  key: string;
  timestamp: number;
}

/** Snapshot of a {@linkcode TimerService}: timers ordered by timestamp, then key. */
export interface TimerSnapshot {
  timers: Timer[];
}

/**
 * Timers per key. Registering the same (key, timestamp) twice keeps one
 * timer, as Flink's timer service does; a key may hold timers at several
 * timestamps. Built on the same {@linkcode TimerIndex} as the window engine.
 */
export class TimerService {
  #index = new TimerIndex<string>();
  /** One entry per (key, timestamp) pair, the index's item. */
  #ids = new Map<string, Map<number, string>>();

  register(key: string, timestamp: number): void {
    if (Number.isNaN(timestamp)) {
      throw new RangeError(
        `Cannot register timer as 'timestamp' must be a number: current value is ${timestamp}`,
      );
    }
    let byTime = this.#ids.get(key);
    if (byTime === undefined) this.#ids.set(key, byTime = new Map());
    if (byTime.has(timestamp)) return;
    const id = timerId(key, timestamp);
    byTime.set(timestamp, id);
    this.#index.schedule(id, timestamp);
  }

  delete(key: string, timestamp: number): void {
    const byTime = this.#ids.get(key);
    const id = byTime?.get(timestamp);
    if (byTime === undefined || id === undefined) return;
    byTime.delete(timestamp);
    if (byTime.size === 0) this.#ids.delete(key);
    this.#index.unschedule(id);
  }

  /** Removes and returns timers with timestamp <= `time`, ordered by timestamp then key. */
  due(time: number): Timer[] {
    const fired: Timer[] = [];
    for (;;) {
      const popped = this.#index.popDue(time);
      if (popped === undefined) break;
      const keys = popped.items.map(keyOfId).sort(compareStrings);
      for (const key of keys) {
        fired.push({ key, timestamp: popped.time });
        const byTime = this.#ids.get(key);
        byTime?.delete(popped.time);
        if (byTime?.size === 0) this.#ids.delete(key);
      }
    }
    return fired;
  }

  /** The earliest timer's timestamp, if any. */
  next(): number | undefined {
    return this.#index.next();
  }

  size(): number {
    return this.#index.size();
  }

  /** JSON-compatible; ±Infinity timestamps are written as strings. */
  snapshot(): TimerSnapshot {
    const timers = this.#index.entries().map(({ item, time }) => ({
      key: keyOfId(item),
      timestamp: time,
    }));
    timers.sort((a, b) =>
      a.timestamp - b.timestamp || compareStrings(a.key, b.key)
    );
    return {
      timers: timers.map((t) => ({
        key: t.key,
        timestamp: encodeTime(t.timestamp) as number,
      })),
    };
  }

  /** Replaces all timers with those of `snapshot`. */
  restore(snapshot: unknown): void {
    const timers = (snapshot as TimerSnapshot | null)?.timers;
    if (!Array.isArray(timers)) {
      throw new TypeError(
        `Cannot restore timers as the snapshot must have a 'timers' array: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#index.clear();
    this.#ids = new Map();
    for (const timer of timers) {
      this.register(String(timer.key), decodeTime(timer.timestamp));
    }
  }
}

// The index item of a (key, timestamp) timer: the key, a NUL, the time.
function timerId(key: string, timestamp: number): string {
  return `${key}\u0000${timestamp}`;
}

function keyOfId(id: string): string {
  return id.slice(0, id.lastIndexOf("\u0000"));
}

/** Orders strings by UTF-16 code units, the same everywhere (unlike localeCompare). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A time as JSON: finite numbers as is, ±Infinity as "Infinity" / "-Infinity". */
export function encodeTime(time: number): number | string {
  return Number.isFinite(time) ? time : String(time);
}

/** Inverse of {@linkcode encodeTime}. */
export function decodeTime(data: unknown): number {
  if (typeof data === "number" && Number.isFinite(data)) return data;
  if (data === "Infinity") return Number.POSITIVE_INFINITY;
  if (data === "-Infinity") return Number.NEGATIVE_INFINITY;
  throw new TypeError(
    `Cannot decode time as it must be a finite number, "Infinity" or "-Infinity": current value is ${
      JSON.stringify(data)
    }`,
  );
}
