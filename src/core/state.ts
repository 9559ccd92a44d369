/**
 * Keyed value state with an optional time-to-live, as Flink's `ValueState`
 * with `StateTtlConfig` (update type OnCreateAndWrite, visibility
 * NeverReturnExpired), measured on processing time passed in by the caller
 * (who reads it from the Clock port).
 *
 * @module
 */

import { assertDuration } from "./time.ts";
import { compareStrings } from "./timers.ts";

/** Options of {@linkcode KeyedState}. */
export interface KeyedStateOptions<V> {
  /** Time after the last write at which a value expires. Default: never. */
  ttl_ms?: number;
  /** JSON-compatible encoding of a value for snapshots. Default: the value itself. */
  encode?: (value: V) => unknown;
  /** Inverse of `encode`. Default: the data itself. */
  decode?: (data: unknown) => V;
}

/** Snapshot of a {@linkcode KeyedState}: entries ordered by key. */
export interface KeyedStateSnapshot {
  entries: Array<{ key: string; value: unknown; written_ms: number }>;
}

interface Slot<V> {
  value: V;
  written_ms: number;
}

/** A value per key; expired values are never returned. */
export class KeyedState<V> {
  readonly #ttl_ms: number;
  readonly #encode: (value: V) => unknown;
  readonly #decode: (data: unknown) => V;
  #slots = new Map<string, Slot<V>>();

  constructor(options: KeyedStateOptions<V> = {}) {
    if (options.ttl_ms !== undefined) {
      assertDuration("create keyed state", "ttl_ms", options.ttl_ms);
    }
    this.#ttl_ms = options.ttl_ms ?? Number.POSITIVE_INFINITY;
    this.#encode = options.encode ?? ((value) => value);
    this.#decode = options.decode ?? ((data) => data as V);
  }

  /** The value of `key`, or undefined when absent or expired (an expired value is removed). */
  get(key: string, now_ms: number): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (this.#expired(slot, now_ms)) {
      this.#slots.delete(key);
      return undefined;
    }
    return slot.value;
  }

  /** Writes `value`; the write (re)starts its time-to-live. */
  set(key: string, value: V, now_ms: number): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) this.#slots.set(key, { value, written_ms: now_ms });
    else {
      slot.value = value;
      slot.written_ms = now_ms;
    }
  }

  delete(key: string): void {
    this.#slots.delete(key);
  }

  /**
   * Stored keys in insertion order; with `now_ms`, only those not expired
   * then. Without it, expired values not yet removed are included.
   */
  keys(now_ms?: number): string[] {
    const keys: string[] = [];
    for (const [key, slot] of this.#slots) {
      if (now_ms === undefined || !this.#expired(slot, now_ms)) keys.push(key);
    }
    return keys;
  }

  /** Number of stored values, including expired ones not yet removed. */
  size(): number {
    return this.#slots.size;
  }

  /** Removes every value expired at `now_ms`; returns how many. */
  expire(now_ms: number): number {
    if (this.#ttl_ms === Number.POSITIVE_INFINITY) return 0;
    let removed = 0;
    for (const [key, slot] of this.#slots) {
      if (this.#expired(slot, now_ms)) {
        this.#slots.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /** JSON-compatible; write times are kept, so TTLs survive a restore. */
  snapshot(): KeyedStateSnapshot {
    const keys = [...this.#slots.keys()].sort(compareStrings);
    return {
      entries: keys.map((key) => {
        const slot = this.#slots.get(key) as Slot<V>;
        return {
          key,
          value: this.#encode(slot.value),
          written_ms: slot.written_ms,
        };
      }),
    };
  }

  /** Replaces all values with those of `snapshot`. */
  restore(snapshot: unknown): void {
    const entries = (snapshot as Partial<KeyedStateSnapshot> | null)?.entries;
    if (!Array.isArray(entries)) {
      throw new TypeError(
        `Cannot restore keyed state as the snapshot must have an 'entries' array: current value is ${
          JSON.stringify(snapshot)
        }`,
      );
    }
    this.#slots = new Map();
    for (const { key, value, written_ms } of entries) {
      if (typeof key !== "string" || !Number.isFinite(written_ms)) {
        throw new TypeError(
          `Cannot restore keyed state as each entry needs a string 'key' and a finite 'written_ms': current value is ${
            JSON.stringify({ key, written_ms })
          }`,
        );
      }
      this.#slots.set(key, { value: this.#decode(value), written_ms });
    }
  }

  // Flink's TtlUtils.expired: expired once last write + ttl <= now.
  #expired(slot: Slot<V>, now_ms: number): boolean {
    return slot.written_ms + this.#ttl_ms <= now_ms;
  }
}
