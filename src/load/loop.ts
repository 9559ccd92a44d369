/**
 * The loader's loop in production: a pass every `interval_ms` until the
 * signal aborts; a failed pass (a service down, a lost connection) is
 * reported and retried at the next interval, never half-applied (each
 * file is one transaction, see `loader.ts`).
 *
 * @module
 */

import type { Clock } from "../ports.ts";
import type { Loader, PassResult } from "./loader.ts";

/** Options of {@linkcode runLoader}. */
export interface LoaderLoopOptions {
  // deno-lint-ignore no-explicit-any
  loader: Loader<any>;
  clock: Clock;
  /** Time between the starts of two passes. Default: 60 000. */
  interval_ms?: number;
  /** Stops the loop after the pass in hand. */
  signal?: AbortSignal;
  /** Called after each pass. Default: ignore. */
  onPass?: (result: PassResult) => void;
  /** Called with each failed pass's error. Default: ignore. */
  onError?: (error: unknown) => void;
}

/** Runs passes until `signal` aborts; see the module documentation. */
export async function runLoader(options: LoaderLoopOptions): Promise<void> {
  const interval_ms = options.interval_ms ?? 60_000;
  if (!Number.isFinite(interval_ms) || interval_ms <= 0) {
    throw new RangeError(
      `Cannot run the loader as 'interval_ms' must be a positive duration: current value is ${interval_ms}`,
    );
  }
  const { clock, signal } = options;
  const stopped = () => signal?.aborted === true;
  while (!stopped()) {
    const started = clock.now();
    try {
      options.onPass?.(await options.loader.pass());
    } catch (error) {
      options.onError?.(error);
    }
    const wait_ms = started + interval_ms - clock.now();
    if (stopped()) break;
    if (wait_ms > 0) await sleepUnlessAborted(clock, wait_ms, signal);
  }
}

/** Sleeps on `clock`, waking early when `signal` aborts. */
async function sleepUnlessAborted(
  clock: Clock,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) return await clock.sleep(ms);
  let wake!: () => void;
  const aborted = new Promise<void>((resolve) => wake = resolve);
  signal.addEventListener("abort", wake, { once: true });
  try {
    await Promise.race([clock.sleep(ms), aborted]);
  } finally {
    signal.removeEventListener("abort", wake);
  }
}
