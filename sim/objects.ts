/**
 * S3 twin: objects in memory, listed in S3's order.
 *
 * @module
 */

import type { ObjectStore } from "../src/ports.ts";
import {
  type FailMode,
  type FailRule,
  FailureInjector,
  injectedFailure,
} from "./errors.ts";
import { compareUtf8 } from "./order.ts";

export { TransientError } from "./errors.ts";

/** Options of {@linkcode ObjectsTwin}. */
export interface ObjectsTwinOptions {
  /**
   * Injects transient failures: called with `"put"`, `"putIfAbsent"`,
   * `"copy"`, `"get"`, `"list"` or `"delete"` before each such call.
   * Default: never.
   */
  fail?: FailRule;
}

/**
 * An {@linkcode ObjectStore} in memory. `list` sorts keys by their UTF-8
 * bytes, as S3 ListObjectsV2 does; `put` and `get` copy the bytes so callers
 * never share a buffer with the store. Every call runs to completion before
 * the next starts, so `putIfAbsent` is atomic as S3's conditional write is.
 */
export class ObjectsTwin implements ObjectStore {
  #objects = new Map<string, Uint8Array>();
  #failures: FailureInjector;

  /** An empty store; `options.fail` injects failures (default: none). */
  constructor(options: ObjectsTwinOptions = {}) {
    this.#failures = new FailureInjector(options.fail);
  }

  /** Makes the next `n` calls throw a `TransientError` (see `FailMode`). */
  failNext(n: number, mode: FailMode = "before"): void {
    this.#failures.failNext(n, mode);
  }

  put(key: string, body: Uint8Array): Promise<void> {
    return this.#call("put", () => {
      checkKey("put an object", "key", key);
      this.#objects.set(key, body.slice());
    });
  }

  putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    return this.#call("putIfAbsent", () => {
      checkKey("put an object", "key", key);
      if (this.#objects.has(key)) return false;
      this.#objects.set(key, body.slice());
      return true;
    });
  }

  copy(from: string, to: string): Promise<void> {
    return this.#call("copy", () => {
      checkKey("copy an object", "from", from);
      checkKey("copy an object", "to", to);
      const body = this.#objects.get(from);
      if (body === undefined) {
        throw new Error(
          `Cannot copy an object as 'from' must exist: current value is '${from}' (to '${to}')`,
        );
      }
      this.#objects.set(to, body.slice());
    });
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.#call("get", () => this.#objects.get(key)?.slice() ?? null);
  }

  list(prefix: string): Promise<string[]> {
    return this.#call(
      "list",
      () =>
        [...this.#objects.keys()].filter((key) => key.startsWith(prefix)).sort(
          compareUtf8,
        ),
    );
  }

  delete(key: string): Promise<void> {
    return this.#call("delete", () => {
      this.#objects.delete(key);
    });
  }

  /** Every object, sorted by key as `list` sorts (the bodies are copies). */
  dump(): Array<{ key: string; body: Uint8Array }> {
    return [...this.#objects.keys()].sort(compareUtf8).map((key) => ({
      key,
      body: (this.#objects.get(key) as Uint8Array).slice(),
    }));
  }

  #call<T>(call: string, body: () => T): Promise<T> {
    const mode = this.#failures.check(call);
    if (mode === "before") {
      return Promise.reject(injectedFailure("ObjectsTwin", call, mode));
    }
    let result: T;
    try {
      result = body();
    } catch (error) {
      return Promise.reject(error);
    }
    if (mode === "after") {
      return Promise.reject(injectedFailure("ObjectsTwin", call, mode));
    }
    return Promise.resolve(result);
  }
}

function checkKey(action: string, name: string, key: string): void {
  if (key.length === 0) {
    throw new TypeError(
      `Cannot ${action} as '${name}' must not be empty: current value is ''`,
    );
  }
}
