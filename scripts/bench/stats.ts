/**
 * Small statistics and timing helpers for the benchmarks.
 *
 * @module
 */

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) {
    throw new RangeError(
      "Cannot take the median as 'values' must not be empty: current value is []",
    );
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The `p`-th percentile (0..100) of `values`, nearest-rank: the smallest
 * value with at least p% of the values at or below it.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    throw new RangeError(
      "Cannot take a percentile as 'values' must not be empty: current value is []",
    );
  }
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(
      `Cannot take a percentile as 'p' must be in 0..100: current value is ${p}`,
    );
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Rate in units per second of `count` units done in `elapsed_ms`. */
export function perSecond(count: number, elapsed_ms: number): number {
  return elapsed_ms > 0
    ? (count * 1000) / elapsed_ms
    : Number.POSITIVE_INFINITY;
}

/** A number with thousands separators and at most `digits` decimals. */
export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** Milliseconds since `started_ms` (a `performance.now()` reading). */
export function since(started_ms: number): number {
  return performance.now() - started_ms;
}

/** Resolves after `ms` of wall time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
