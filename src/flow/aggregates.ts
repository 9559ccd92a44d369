/**
 * Aggregates for window steps (`KeyedStream.window`): incremental, with a
 * `merge` (sessions and sliding panes combine accumulators) and, where the
 * arithmetic allows, a `subtract` (sliding windows then keep a running
 * total). Each has a JSON encoding for snapshots.
 *
 * @module
 */

import type { Aggregate } from "../core/window_operator.ts";
import { SpaceSaving } from "./space_saving.ts";
import {
  addPartial,
  exactStats,
  type ExactStatsAcc,
  exactSum,
  type WindowStats,
} from "./exact_stats.ts";

/** The number of elements. */
export function count<T = unknown>(): Aggregate<T, number, number> {
  return {
    create: () => 0,
    add: (acc) => acc + 1,
    merge: (a, b) => a + b,
    subtract: (a, b) => a - b,
    result: (acc) => acc,
    encode: (acc) => acc,
    decode: (data) => data as number,
  };
}

/**
 * The sum of `value(element)`, exact: kept as non-overlapping partials
 * (`exact_stats.ts`), so the result is the double nearest to the true sum
 * whatever order elements were added or merged in — a plain running sum of
 * doubles would change in its last bit when a replay reorders records.
 */
export function sum<T>(
  value: (element: T) => number,
): Aggregate<T, number[], number> {
  return {
    create: () => [],
    add: (acc, element) => {
      addPartial(acc, value(element) + 0);
      return acc;
    },
    merge: (a, b) => {
      for (const p of b) addPartial(a, p);
      return a;
    },
    subtract: (a, b) => {
      for (const p of b) addPartial(a, -p);
      return a;
    },
    result: (acc) => exactSum(acc),
    encode: (acc) => acc,
    decode: (data) => [...(data as number[])],
  };
}

/** Count, exact sum, minimum and maximum of a number per element. */
export type Stats = WindowStats;

/**
 * {@linkcode Stats} of `value(element)`, the sum exact (see {@linkcode sum}).
 * Min and max cannot be subtracted, so sliding windows merge their panes.
 */
export function stats<T>(
  value: (element: T) => number,
): Aggregate<T, ExactStatsAcc, Stats> {
  return exactStats(value);
}

/**
 * A custom aggregate from a fold: `initial`, `add` and `merge` over a
 * JSON-compatible accumulator (immutable: return a new value).
 */
export function reduce<T, ACC>(options: {
  initial: () => ACC;
  add: (acc: ACC, element: T) => ACC;
  merge: (a: ACC, b: ACC) => ACC;
}): Aggregate<T, ACC, ACC> {
  return {
    create: options.initial,
    add: options.add,
    merge: options.merge,
    result: (acc) => acc,
    encode: (acc) => acc,
    decode: (data) => data as ACC,
  };
}

/** A member and its count. */
export interface Ranked {
  /** The member (a video id, a user id, ...). */
  member: string;
  /** Its count, or its estimate for {@linkcode heavyHitters}. */
  count: number;
}

/** Ranking order: higher count first, then member ascending (UTF-16 order). */
export function byRank(a: Ranked, b: Ranked): number {
  return b.count - a.count ||
    (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);
}

/**
 * The `k` highest counts, ranked. Keeps a sorted buffer of at most `k`
 * entries, so most entries cost one comparison.
 */
export function topK(counts: Iterable<[string, number]>, k: number): Ranked[] {
  const best: Ranked[] = [];
  if (k <= 0) return best;
  for (const [member, count] of counts) {
    if (count <= 0) continue;
    const candidate = { member, count };
    if (best.length === k) {
      if (byRank(candidate, best[k - 1]!) >= 0) continue;
      best.pop();
    }
    // Insertion into the sorted buffer: k is small.
    let i = best.length;
    best.push(candidate);
    while (i > 0 && byRank(candidate, best[i - 1]!) < 0) {
      best[i] = best[i - 1]!;
      i--;
    }
    best[i] = candidate;
  }
  return best;
}

function assertK(what: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(
      `Cannot rank ${what} as 'k' must be a positive integer: current value is ${k}`,
    );
  }
}

/**
 * The `k` members with the highest counts (ties: member ascending), exact:
 * the accumulator counts every member. Subtracts, so sliding windows keep
 * one running total.
 */
export function topKMembers<T>(
  k: number,
  member: (element: T) => string,
): Aggregate<T, Map<string, number>, Ranked[]> {
  assertK("members", k);
  const increment = (acc: Map<string, number>, m: string, n: number) => {
    const value = (acc.get(m) ?? 0) + n;
    if (value === 0) acc.delete(m);
    else acc.set(m, value);
  };
  return {
    create: () => new Map(),
    add: (acc, element) => {
      increment(acc, member(element), 1);
      return acc;
    },
    merge: (a, b) => {
      for (const [m, n] of b) increment(a, m, n);
      return a;
    },
    subtract: (a, b) => {
      for (const [m, n] of b) increment(a, m, -n);
      return a;
    },
    result: (acc) => topK(acc, k),
    encode: (acc) => [...acc],
    decode: (data) => new Map(data as Array<[string, number]>),
  };
}

/**
 * Estimated heavy hitters in bounded memory (Space-Saving with `capacity`
 * counters): the top `k` estimates. Estimates depend on arrival order, and
 * sketches do not merge exactly: use it with a global or tumbling window.
 */
export function heavyHitters<T>(
  capacity: number,
  k: number,
  member: (element: T) => string,
): Aggregate<T, SpaceSaving, Ranked[]> {
  assertK("heavy hitters", k);
  return {
    create: () => new SpaceSaving(capacity),
    add: (acc, element) => {
      acc.add(member(element));
      return acc;
    },
    merge: (a, b) => {
      for (const { member, count } of b.top(capacity)) a.add(member, count);
      return a;
    },
    result: (acc) => acc.top(k),
    encode: (acc) => acc.snapshot(),
    decode: (data) => {
      const sketch = new SpaceSaving(capacity);
      sketch.restore(data);
      return sketch;
    },
  };
}
