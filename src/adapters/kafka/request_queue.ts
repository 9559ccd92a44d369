/**
 * Stops kafkajs 2.2.4's idle polling loop, the cause of the
 * `TimeoutNegativeWarning` printed at every start.
 *
 * Each kafkajs connection has a request queue. After every response it calls
 * `scheduleCheckPendingRequests()`, which sets a timer for
 * `throttledUntil − Date.now()` milliseconds even when no request is
 * pending; `throttledUntil` is -1 until the broker throttles, so the delay is
 * about minus the epoch. Node (and Deno's Node layer) warns about the negative
 * delay and runs the timer after 1 ms, and the timer schedules the next one:
 * every connection wakes about 500 times a second for nothing
 * (tulios/kafkajs#1704, #1751; unfixed in 2.2.4).
 *
 * The fix keeps kafkajs's behaviour where a timer has a job, a request
 * waiting in the queue or a throttle to wait out, and sets none when nothing
 * waits: a request pushed later schedules its own check, and every response
 * checks the queue. It replaces the method on kafkajs's `RequestQueue`
 * prototype, once per process, and only for the kafkajs version it was
 * written against.
 *
 * @module
 */

import RequestQueue from "kafkajs/src/network/requestQueue/index.js";
import kafkajsPackage from "kafkajs/package.json" with { type: "json" };

/** The kafkajs version whose request queue {@linkcode stopIdlePolling} fixes. */
export const PATCHED_KAFKAJS_VERSION = "2.2.4";

interface QueueState {
  pending: unknown[];
  throttledUntil: number;
}

const PATCHED = Symbol.for("freshet.kafkajs.requestQueue.idle");

/**
 * Replaces `RequestQueue.prototype.scheduleCheckPendingRequests` so that an
 * idle connection sets no timer (see the module doc). Answers whether the
 * fix is in place: false for another kafkajs version, which is left as it is.
 */
export function stopIdlePolling(): boolean {
  if (kafkajsPackage.version !== PATCHED_KAFKAJS_VERSION) return false;
  const prototype = RequestQueue.prototype as unknown as Record<
    PropertyKey,
    unknown
  >;
  if (prototype[PATCHED] === true) return true;
  const original = prototype.scheduleCheckPendingRequests;
  if (typeof original !== "function") return false;
  prototype.scheduleCheckPendingRequests = function (
    this: QueueState,
  ): void {
    // Idle: nothing to send later, no throttle to wait out.
    if (this.pending.length === 0 && !(this.throttledUntil > Date.now())) {
      return;
    }
    original.call(this);
  };
  prototype[PATCHED] = true;
  return true;
}
