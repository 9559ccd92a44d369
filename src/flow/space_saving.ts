/**
 * Space-Saving (Metwally, Agrawal, El Abbadi, 2005): the heavy hitters of a
 * stream in memory bounded by `capacity` counters, however many distinct
 * members the stream holds. Every member whose true count exceeds
 * `total / capacity` is guaranteed to be tracked; a tracked member's estimate
 * overcounts by at most its recorded `error`.
 *
 * Counters live in a min-heap by count, so an increment or an eviction costs
 * O(log capacity).
 *
 * @module
 */

import { type Ranked, topK } from "./aggregates.ts";

interface Counter {
  member: string;
  count: number;
  /** Count the member inherited when it evicted another: the bound on overcounting. */
  error: number;
}

/** A memory-bounded heavy-hitter sketch. */
export class SpaceSaving {
  readonly #capacity: number;
  #heap: Counter[] = [];
  #index = new Map<string, number>();

  /**
   * A sketch of at most `capacity` counters (memory grows with it, not with
   * the number of distinct members). Throws a `RangeError` unless `capacity`
   * is a positive integer.
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot build sketch as 'capacity' must be a positive integer: current value is ${capacity}`,
      );
    }
    this.#capacity = capacity;
  }

  /** Counts `n` occurrences of `member`. */
  add(member: string, n = 1): void {
    const at = this.#index.get(member);
    if (at !== undefined) {
      this.#heap[at]!.count += n;
      this.#down(at);
      return;
    }
    if (this.#heap.length < this.#capacity) {
      this.#heap.push({ member, count: n, error: 0 });
      this.#index.set(member, this.#heap.length - 1);
      this.#up(this.#heap.length - 1);
      return;
    }
    const min = this.#heap[0]!;
    this.#index.delete(min.member);
    this.#heap[0] = { member, count: min.count + n, error: min.count };
    this.#index.set(member, 0);
    this.#down(0);
  }

  /** The `k` largest estimates, ranked (count = estimate). */
  top(k: number): Ranked[] {
    return topK(
      this.#heap.map((c): [string, number] => [c.member, c.count]),
      k,
    );
  }

  /** Estimate and error bound of a member, or undefined when untracked. */
  estimate(member: string): { count: number; error: number } | undefined {
    const at = this.#index.get(member);
    if (at === undefined) return undefined;
    const { count, error } = this.#heap[at]!;
    return { count, error };
  }

  /** The counters as JSON-compatible `[member, count, error]` rows, in heap order. */
  snapshot(): Array<[string, number, number]> {
    return this.#heap.map((c) => [c.member, c.count, c.error]);
  }

  /**
   * Replaces the counters with those of a {@linkcode SpaceSaving.snapshot}
   * of a sketch of the same capacity (rows are trusted, not checked).
   */
  restore(snapshot: unknown): void {
    const rows = snapshot as Array<[string, number, number]>;
    this.#heap = rows.map(([member, count, error]) => ({
      member,
      count,
      error,
    }));
    this.#index = new Map(this.#heap.map((c, i) => [c.member, i]));
  }

  #up(i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && less(heap[left]!, heap[smallest]!)) {
        smallest = left;
      }
      if (right < heap.length && less(heap[right]!, heap[smallest]!)) {
        smallest = right;
      }
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }

  #swap(i: number, j: number): void {
    const heap = this.#heap;
    const a = heap[i]!;
    const b = heap[j]!;
    heap[i] = b;
    heap[j] = a;
    this.#index.set(b.member, i);
    this.#index.set(a.member, j);
  }
}

/** Heap order: smaller count first; ties by member, so eviction is deterministic. */
function less(a: Counter, b: Counter): boolean {
  return a.count < b.count || (a.count === b.count && a.member > b.member);
}
