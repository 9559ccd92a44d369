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
 * Event-time timers per key. Registering the same (key, timestamp) twice
 * keeps one timer, as Flink's timer service does.
 */
export class TimerService {
  // timestamp -> keys due then; the heap may hold timestamps whose bucket was
  // emptied by delete(), which are skipped when they reach the top.
  #buckets = new Map<number, Set<string>>();
  #times = new NumberHeap();
  #size = 0;

  register(key: string, timestamp: number): void {
    if (Number.isNaN(timestamp)) {
      throw new RangeError(
        `Cannot register timer as 'timestamp' must be a number: current value is ${timestamp}`,
      );
    }
    let bucket = this.#buckets.get(timestamp);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(timestamp, bucket);
      this.#times.push(timestamp);
    }
    if (!bucket.has(key)) {
      bucket.add(key);
      this.#size++;
    }
  }

  delete(key: string, timestamp: number): void {
    const bucket = this.#buckets.get(timestamp);
    if (bucket === undefined || !bucket.delete(key)) return;
    this.#size--;
    if (bucket.size === 0) this.#buckets.delete(timestamp);
  }

  /** Removes and returns timers with timestamp <= `time`, ordered by timestamp then key. */
  due(time: number): Timer[] {
    const fired: Timer[] = [];
    for (;;) {
      const timestamp = this.#times.peek();
      if (timestamp === undefined || timestamp > time) break;
      this.#times.pop();
      const bucket = this.#buckets.get(timestamp);
      if (bucket === undefined) continue;
      this.#buckets.delete(timestamp);
      this.#size -= bucket.size;
      for (const key of [...bucket].sort(compareStrings)) {
        fired.push({ key, timestamp });
      }
    }
    return fired;
  }

  /** The earliest timer's timestamp, if any. */
  next(): number | undefined {
    for (;;) {
      const timestamp = this.#times.peek();
      if (timestamp === undefined || this.#buckets.has(timestamp)) {
        return timestamp;
      }
      this.#times.pop();
    }
  }

  size(): number {
    return this.#size;
  }

  /** JSON-compatible; ±Infinity timestamps are written as strings. */
  snapshot(): TimerSnapshot {
    const timestamps = [...this.#buckets.keys()].sort((a, b) => a - b);
    const timers: Timer[] = [];
    for (const timestamp of timestamps) {
      const keys = [...(this.#buckets.get(timestamp) ?? [])].sort(
        compareStrings,
      );
      for (const key of keys) {
        timers.push({ key, timestamp: encodeTime(timestamp) as number });
      }
    }
    return { timers };
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
    this.#buckets = new Map();
    this.#times.clear();
    this.#size = 0;
    for (const timer of timers) {
      this.register(String(timer.key), decodeTime(timer.timestamp));
    }
  }
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
