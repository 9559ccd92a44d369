/**
 * Count, sum, minimum and maximum of a number per element, with an exact
 * sum: the accumulator keeps the sum as non-overlapping partials
 * (Shewchuk's algorithm, as Python's `math.fsum`), so the result is the
 * double nearest to the exact sum of the values, whatever order they were
 * added or merged in. A running sum of doubles is not: `0.1 + 0.2 + 0.3`
 * and `0.3 + 0.2 + 0.1` differ in the last bit, and a replay that reorders
 * records within the out-of-orderness bound would write a different sum.
 *
 * Exact while every partial sum stays below the largest double (about
 * 1.8e308); past it the sum is ±Infinity (or NaN when both overflow).
 *
 * @module
 */

import type { Aggregate } from "../core/window_operator.ts";

/** A window's statistics. */
export interface WindowStats {
  /** Values in the window. */
  count: number;
  /** The double nearest to the exact sum. */
  sum: number;
  /** Smallest value; `null` when the window is empty. */
  min: number | null;
  /** Largest value; `null` when the window is empty. */
  max: number | null;
}

/** The accumulator: the sum as partials, smallest magnitude first. */
export interface ExactStatsAcc {
  /** Values added so far. */
  count: number;
  /** Non-overlapping partial sums whose exact total is the sum (Shewchuk). */
  partials: number[];
  /** Smallest value, or `null` before the first. */
  min: number | null;
  /** Largest value, or `null` before the first. */
  max: number | null;
}

/** {@linkcode WindowStats} of `value(element)`, with an exact sum. */
export function exactStats<T>(
  value: (element: T) => number,
): Aggregate<T, ExactStatsAcc, WindowStats> {
  return {
    create: () => ({ count: 0, partials: [], min: null, max: null }),
    add: (acc, element) => {
      // -0 counts as 0, as a snapshot (JSON) would turn it into 0 anyway.
      const v = value(element) + 0;
      acc.count++;
      addPartial(acc.partials, v);
      acc.min = acc.min === null || v < acc.min ? v : acc.min;
      acc.max = acc.max === null || v > acc.max ? v : acc.max;
      return acc;
    },
    merge: (a, b) => {
      a.count += b.count;
      for (const p of b.partials) addPartial(a.partials, p);
      if (b.min !== null && (a.min === null || b.min < a.min)) a.min = b.min;
      if (b.max !== null && (a.max === null || b.max > a.max)) a.max = b.max;
      return a;
    },
    result: (acc) => ({
      count: acc.count,
      sum: exactSum(acc.partials),
      min: acc.min,
      max: acc.max,
    }),
    encode: (acc) => acc,
    decode: (data) => {
      const d = data as ExactStatsAcc;
      return {
        count: d.count,
        partials: [...d.partials],
        min: d.min,
        max: d.max,
      };
    },
  };
}

/**
 * Adds `x` to `partials` (non-overlapping, increasing magnitude), keeping
 * them so: their exact sum grows by exactly `x`.
 */
export function addPartial(partials: number[], x: number): void {
  let kept = 0;
  for (let i = 0; i < partials.length; i++) {
    let y = partials[i]!;
    if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) partials[kept++] = lo;
    x = hi;
  }
  partials.length = kept;
  if (!Number.isFinite(x)) {
    // Overflow: the partials no longer add up; keep the infinity alone.
    partials.length = 0;
  }
  partials.push(x);
}

/** The double nearest to the exact sum of `partials` (ties to even). */
export function exactSum(partials: readonly number[]): number {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Round half to even across the partials below: when the rest has the
  // sign of `lo`, the exact sum lies beyond the halfway point.
  if (
    n > 0 && ((lo < 0 && partials[n - 1]! < 0) ||
      (lo > 0 && partials[n - 1]! > 0))
  ) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}
