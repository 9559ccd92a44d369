/**
 * Errors the twins throw on purpose, so the simulator and the runtime can tell
 * an injected fault from a bug.
 *
 * @module
 */

/**
 * A failure the caller may retry: the call had no effect (unless the twin was
 * told to lose the reply after applying, see `FailMode`).
 */
export class TransientError extends Error {
  override name = "TransientError";
}

/** A newer writer with the same identity took over: the one error type of `src/ports.ts`. */
export { FencedError } from "../src/ports.ts";

/**
 * How an injected failure behaves: `"before"` throws a {@linkcode TransientError}
 * with nothing applied; `"after"` applies the call and then throws it (a
 * lost reply, as when the connection drops after the server wrote).
 */
export type FailMode = "before" | "after";

/**
 * Decides whether a call fails: answers `false` (or nothing) to let it
 * through, `true` or a {@linkcode FailMode} to fail it.
 */
export type FailRule = (call: string) => boolean | FailMode | undefined;

/** Shared bookkeeping of injected failures: a rule plus a "fail the next n" counter. */
export class FailureInjector {
  #rule: FailRule | undefined;
  #failNext = 0;
  #failNextMode: FailMode = "before";

  constructor(rule?: FailRule) {
    this.#rule = rule;
  }

  /** Makes the next `n` fallible calls fail (see {@linkcode FailMode}). */
  failNext(n: number, mode: FailMode = "before"): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `Cannot inject failures as 'n' must be a non-negative integer: current value is ${n}`,
      );
    }
    this.#failNext = n;
    this.#failNextMode = mode;
  }

  /** The failure mode for this call, or `null` when it goes through. */
  check(call: string): FailMode | null {
    if (this.#failNext > 0) {
      this.#failNext--;
      return this.#failNextMode;
    }
    const verdict = this.#rule?.(call);
    if (verdict === true) return "before";
    return verdict === "before" || verdict === "after" ? verdict : null;
  }
}

/** The error thrown for an injected failure of `call`. */
export function injectedFailure(
  twin: string,
  call: string,
  mode: FailMode,
): TransientError {
  return new TransientError(
    mode === "before"
      ? `${twin}.${call} failed (injected transient failure): nothing was applied`
      : `${twin}.${call} failed (injected lost reply): the call was applied`,
  );
}
