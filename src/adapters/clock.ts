/**
 * The wall clock, for production. Only adapters and the CLI may read real
 * time; everything else receives a {@linkcode Clock}.
 *
 * @module
 */

import type { Clock } from "../ports.ts";

/** A {@linkcode Clock} backed by `Date.now()` and `setTimeout`. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number): Promise<void> {
    if (!(ms > 0)) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
