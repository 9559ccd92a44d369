/**
 * The simulator's processing time: a clock that moves only when told to.
 *
 * @module
 */

import type { Clock } from "../src/ports.ts";

interface Timer {
  due_ms: number;
  seq: number;
  resolve: () => void;
}

/**
 * A {@linkcode Clock} whose time moves only through
 * {@linkcode VirtualClock.advanceTo} / {@linkcode VirtualClock.advanceBy}.
 * `sleep` registers a timer that resolves when the clock reaches its due time.
 *
 * Time never goes backwards: advancing to an earlier time throws a
 * `RangeError`; advancing to the current time is allowed and releases timers
 * due now (such as those of `sleep(0)`).
 *
 * Promise continuations run after `advanceTo` returns, so every sleeper it
 * released observes the target time. To let each sleeper observe its own due
 * time, advance to {@linkcode VirtualClock.nextTimer} one step at a time.
 */
export class VirtualClock implements Clock {
  #now_ms: number;
  #seq = 0;
  /** Sorted by (due_ms, seq): registration order breaks ties. */
  #timers: Timer[] = [];

  /**
   * A clock reading `start_ms` (milliseconds, default 0). Throws a
   * `RangeError` unless `start_ms` is a finite number.
   */
  constructor(start_ms = 0) {
    if (!Number.isFinite(start_ms)) {
      throw new RangeError(
        `Cannot create a clock as 'start_ms' must be a finite number: current value is ${start_ms}`,
      );
    }
    this.#now_ms = start_ms;
  }

  now(): number {
    return this.#now_ms;
  }

  /** Resolves when the clock reaches `now() + ms` (a negative `ms` counts as 0). */
  sleep(ms: number): Promise<void> {
    if (Number.isNaN(ms)) {
      throw new RangeError(
        "Cannot sleep as 'ms' must be a number: current value is NaN",
      );
    }
    const due_ms = this.#now_ms + Math.max(0, ms);
    return new Promise((resolve) => {
      const timer = { due_ms, seq: this.#seq++, resolve };
      let lo = 0;
      let hi = this.#timers.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((this.#timers[mid] as Timer).due_ms <= due_ms) lo = mid + 1;
        else hi = mid;
      }
      this.#timers.splice(lo, 0, timer);
    });
  }

  /** Moves time to `ms` and resolves every timer due by then, in (due, registration) order. */
  advanceTo(ms: number): void {
    if (Number.isNaN(ms) || ms < this.#now_ms) {
      throw new RangeError(
        `Cannot move the clock back as 'ms' must be at least the current time ${this.#now_ms}: current value is ${ms}`,
      );
    }
    this.#now_ms = ms;
    let due = 0;
    while (
      due < this.#timers.length && (this.#timers[due] as Timer).due_ms <= ms
    ) due++;
    for (const timer of this.#timers.splice(0, due)) timer.resolve();
  }

  /** Moves time forward by `ms` (must be >= 0). */
  advanceBy(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(
        `Cannot advance the clock as 'ms' must be a non-negative duration: current value is ${ms}`,
      );
    }
    this.advanceTo(this.#now_ms + ms);
  }

  /** Due time of the earliest pending timer, or `undefined` when none. */
  nextTimer(): number | undefined {
    return this.#timers[0]?.due_ms;
  }

  /** Number of sleepers not yet released. */
  pendingTimers(): number {
    return this.#timers.length;
  }
}
