/**
 * Redis twin: strings, hashes and sorted sets with TTLs on the virtual clock,
 * and the fenced batches of {@linkcode KeyValue}.
 *
 * @module
 */

import type {
  Clock,
  Fence,
  FencedResult,
  KeyValue,
  KvOp,
  ScoredMember,
} from "../src/ports.ts";
import {
  type FailMode,
  type FailRule,
  FailureInjector,
  injectedFailure,
} from "./errors.ts";
import { compareUtf8 } from "./order.ts";

export { TransientError } from "./errors.ts";

type Value =
  | { type: "string"; value: string }
  | { type: "hash"; value: Map<string, string> }
  | { type: "zset"; value: Map<string, number> };

type Entry = Value & { expire_at_ms: number | null };

/** One key in {@linkcode KvTwin.dump}. */
export type KvDumpEntry =
  & { key: string; expire_at_ms: number | null }
  & (
    | { type: "string"; value: string }
    /** Fields in UTF-8 byte order. */
    | { type: "hash"; value: Record<string, string> }
    /** By score descending, then member ascending. */
    | { type: "zset"; value: ScoredMember[] }
  );

/** Options of {@linkcode KvTwin}. */
export interface KvTwinOptions {
  /** Time source for TTLs. */
  clock: Clock;
  /**
   * Injects transient failures into writes: called with `"apply"`,
   * `"applyFenced"` or `"claimFence"` before each such call. Default: never.
   */
  fail?: FailRule;
  /**
   * Makes `applyFenced` ignore the fence: it applies every batch and answers
   * `"applied"` (a deliberately broken sink, for checker tests). Default: false.
   */
  unfenced?: boolean;
}

const WRONGTYPE =
  "WRONGTYPE Operation against a key holding the wrong kind of value";

/** Redis's rule for strings INCRBY accepts: a canonical decimal integer. */
const INTEGER = /^(0|-?[1-9][0-9]*)$/;

/** What the all-or-nothing check knows of a key while it walks a batch. */
interface KeyModel {
  kind: "none" | "string" | "hash" | "zset";
  /** The string's value as an integer, or null when it is not one. */
  int: number | null;
}

function integerOf(value: string): number | null {
  return INTEGER.test(value) && Number.isSafeInteger(Number(value))
    ? Number(value)
    : null;
}

/** Throws the error `op` would raise on a key modelled by `m`, else updates `m`. */
function checkOp(op: KvOp, m: KeyModel): void {
  switch (op.op) {
    case "incrby": {
      if (!Number.isSafeInteger(op.by)) {
        throw new RangeError(
          `ERR value is not an integer or out of range: INCRBY '${op.key}' by ${op.by}`,
        );
      }
      if (m.kind === "none") {
        m.kind = "string";
        m.int = 0;
      }
      if (m.kind !== "string") throw wrongType(op.key, "string");
      if (m.int === null) {
        throw new RangeError(
          `ERR value is not an integer or out of range: INCRBY '${op.key}' holds a non-integer`,
        );
      }
      m.int += op.by;
      if (!Number.isSafeInteger(m.int)) {
        throw new RangeError(
          `ERR increment or decrement would overflow: INCRBY '${op.key}' gives ${m.int}`,
        );
      }
      return;
    }
    case "zincrby":
    case "zadd": {
      const amount = op.op === "zincrby" ? op.by : op.score;
      if (Number.isNaN(amount)) {
        throw new RangeError(
          `ERR value is not a valid float: ${op.op.toUpperCase()} '${op.key}' with NaN`,
        );
      }
      if (m.kind === "none") m.kind = "zset";
      if (m.kind !== "zset") throw wrongType(op.key, "sorted set");
      return;
    }
    case "set":
      m.kind = "string";
      m.int = integerOf(op.value);
      return;
    case "hset":
      if (m.kind === "none") m.kind = "hash";
      if (m.kind !== "hash") throw wrongType(op.key, "hash");
      return;
    case "del":
      m.kind = "none";
      m.int = null;
      return;
    case "zremrangebyscore":
      if (Number.isNaN(op.min) || Number.isNaN(op.max)) {
        throw new RangeError(
          `ERR min or max is not a float: ZREMRANGEBYSCORE '${op.key}' ${op.min} ${op.max}`,
        );
      }
      // The model does not follow scores: a set this may empty stays a
      // sorted set to the check (see `KeyValue.applyFenced`).
      if (m.kind !== "none" && m.kind !== "zset") {
        throw wrongType(op.key, "sorted set");
      }
      return;
    case "pexpire":
      if (!Number.isSafeInteger(op.ms)) {
        throw new RangeError(
          `ERR value is not an integer or out of range: PEXPIRE '${op.key}' ${op.ms}`,
        );
      }
      if (op.ms <= 0) {
        m.kind = "none";
        m.int = null;
      }
      return;
    default: {
      const unknown: never = op;
      throw new TypeError(
        `Cannot apply the op as 'op' must be a known command: current value is ${
          JSON.stringify(unknown)
        }`,
      );
    }
  }
}

function wrongType(key: string, wanted: string): Error {
  return new Error(`${WRONGTYPE}: key '${key}' is not a ${wanted}`);
}

/** A glob (`*`, `?`, `[...]`, `\` escapes, as Redis KEYS) as a RegExp. */
function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") source += "[\\s\\S]*";
    else if (c === "?") source += "[\\s\\S]";
    else if (c === "\\" && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i] as string);
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close === -1) {
        source += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith("^");
      if (negate) body = body.slice(1);
      source += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = close;
    } else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function byScoreAscMemberAsc(a: ScoredMember, b: ScoredMember): number {
  return a.score - b.score || compareUtf8(a.member, b.member);
}

function byScoreDescMemberDesc(a: ScoredMember, b: ScoredMember): number {
  return b.score - a.score || compareUtf8(b.member, a.member);
}

/**
 * A {@linkcode KeyValue} in memory with Redis's semantics for the commands
 * the jobs use. A key expires once the clock is past its expiry time (as
 * Redis: at exactly the expiry time it still exists with PTTL 0); expired keys
 * are invisible and removed when touched.
 *
 * Atomicity: `applyFenced` checks and applies the whole batch or nothing; a
 * batch with an op that fails (INCRBY on a non-integer, a wrong type) throws
 * with nothing applied and the fence unmoved. (A Redis Lua script is not
 * rolled back on error, so the real adapter validates the batch before
 * writing; both agree on "all or nothing".) `apply` is pipelined like Redis:
 * every op runs, and the first error is thrown after the others applied.
 */
export class KvTwin implements KeyValue {
  #clock: Clock;
  #data = new Map<string, Entry>();
  #failures: FailureInjector;
  #unfenced: boolean;

  /**
   * An empty store whose TTLs run on `options.clock`; see
   * {@linkcode KvTwinOptions} for failures and the unfenced mode.
   */
  constructor(options: KvTwinOptions) {
    this.#clock = options.clock;
    this.#failures = new FailureInjector(options.fail);
    this.#unfenced = options.unfenced ?? false;
  }

  /** Makes the next `n` writes (`apply`, `applyFenced`, `claimFence`) throw a `TransientError`. */
  failNext(n: number, mode: FailMode = "before"): void {
    this.#failures.failNext(n, mode);
  }

  claimFence(key: string): Promise<{ epoch: number; offset: number }> {
    return this.#write("claimFence", () => {
      const stored = this.#readFence(key);
      const claimed = { epoch: stored.epoch + 1, offset: stored.offset };
      this.#writeFence(key, claimed.epoch, claimed.offset);
      return claimed;
    });
  }

  applyFenced(fence: Fence, ops: KvOp[]): Promise<FencedResult> {
    return this.#write("applyFenced", () => {
      if (this.#unfenced) {
        // The broken sink: plain writes, no fence checked or recorded.
        this.#applyAtomically(ops);
        return "applied";
      }
      const stored = this.#readFence(fence.key);
      if (fence.epoch < stored.epoch) return "fenced";
      if (fence.offset <= stored.offset) return "duplicate";
      this.#applyAtomically(ops);
      this.#writeFence(
        fence.key,
        Math.max(fence.epoch, stored.epoch),
        fence.offset,
      );
      return "applied";
    });
  }

  apply(ops: KvOp[]): Promise<void> {
    return this.#write("apply", () => {
      let first: unknown = undefined;
      let failed = false;
      for (const op of ops) {
        try {
          this.#applyOne(op);
        } catch (error) {
          if (!failed) first = error;
          failed = true;
        }
      }
      if (failed) throw first;
    });
  }

  get(key: string): Promise<string | null> {
    return this.#read(() => {
      const entry = this.#live(key);
      if (entry === undefined) return null;
      if (entry.type !== "string") throw wrongType(key, "string");
      return entry.value;
    });
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#read(() => {
      const entry = this.#live(key);
      if (entry === undefined) return {};
      if (entry.type !== "hash") throw wrongType(key, "hash");
      const fields = [...entry.value.keys()].sort(compareUtf8);
      return Object.fromEntries(
        fields.map((f) => [f, entry.value.get(f) as string]),
      );
    });
  }

  zrevrange(key: string, start: number, stop: number): Promise<ScoredMember[]> {
    return this.#read(() => {
      const entry = this.#live(key);
      if (entry === undefined) return [];
      if (entry.type !== "zset") throw wrongType(key, "sorted set");
      const members = [...entry.value].map(([member, score]) => ({
        member,
        score,
      }))
        .sort(byScoreDescMemberDesc);
      const n = members.length;
      let from = start < 0 ? start + n : start;
      let to = stop < 0 ? stop + n : stop;
      if (from < 0) from = 0;
      if (to >= n) to = n - 1;
      if (from > to || from >= n) return [];
      return members.slice(from, to + 1);
    });
  }

  zrange(key: string, start: number, stop: number): Promise<ScoredMember[]> {
    return this.#read(() => {
      const members = this.#zsetMembers(key).sort(byScoreAscMemberAsc);
      const n = members.length;
      let from = start < 0 ? start + n : start;
      let to = stop < 0 ? stop + n : stop;
      if (from < 0) from = 0;
      if (to >= n) to = n - 1;
      if (from > to || from >= n) return [];
      return members.slice(from, to + 1);
    });
  }

  zrangeByScore(
    key: string,
    min: number,
    max: number,
  ): Promise<ScoredMember[]> {
    return this.#read(() => {
      if (Number.isNaN(min) || Number.isNaN(max)) {
        throw new RangeError(
          `ERR min or max is not a float: ZRANGEBYSCORE '${key}' ${min} ${max}`,
        );
      }
      return this.#zsetMembers(key)
        .filter(({ score }) => score >= min && score <= max)
        .sort(byScoreAscMemberAsc);
    });
  }

  pttl(key: string): Promise<number> {
    return this.#read(() => {
      const entry = this.#live(key);
      if (entry === undefined) return -2;
      if (entry.expire_at_ms === null) return -1;
      return Math.max(0, entry.expire_at_ms - this.#clock.now());
    });
  }

  keys(pattern: string): Promise<string[]> {
    return this.#read(() => {
      const re = globToRegExp(pattern);
      return this.#liveKeys().filter((key) => re.test(key));
    });
  }

  /** The members of the sorted set at `key`, unordered; `[]` when missing. */
  #zsetMembers(key: string): ScoredMember[] {
    const entry = this.#live(key);
    if (entry === undefined) return [];
    if (entry.type !== "zset") throw wrongType(key, "sorted set");
    return [...entry.value].map(([member, score]) => ({ member, score }));
  }

  /** Every live key, sorted by key (see {@linkcode KvDumpEntry} for value order). */
  dump(): KvDumpEntry[] {
    return this.#liveKeys().map((key) => {
      const entry = this.#data.get(key) as Entry;
      const base = { key, expire_at_ms: entry.expire_at_ms };
      switch (entry.type) {
        case "string":
          return { ...base, type: "string", value: entry.value };
        case "hash": {
          const fields = [...entry.value.keys()].sort(compareUtf8);
          return {
            ...base,
            type: "hash",
            value: Object.fromEntries(
              fields.map((f) => [f, entry.value.get(f) as string]),
            ),
          };
        }
        case "zset":
          return {
            ...base,
            type: "zset",
            value: [...entry.value].map(([member, score]) => ({
              member,
              score,
            }))
              .sort((a, b) =>
                b.score - a.score || compareUtf8(a.member, b.member)
              ),
          };
      }
    });
  }

  #liveKeys(): string[] {
    return [...this.#data.keys()].filter((key) => this.#live(key) !== undefined)
      .sort(
        compareUtf8,
      );
  }

  /** The entry under `key`, or undefined when missing or expired (then removed). */
  #live(key: string): Entry | undefined {
    const entry = this.#data.get(key);
    if (entry === undefined) return undefined;
    if (entry.expire_at_ms !== null && this.#clock.now() > entry.expire_at_ms) {
      this.#data.delete(key);
      return undefined;
    }
    return entry;
  }

  #read<T>(body: () => T): Promise<T> {
    try {
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #write<T>(call: string, body: () => T): Promise<T> {
    const mode = this.#failures.check(call);
    if (mode === "before") {
      return Promise.reject(injectedFailure("KvTwin", call, mode));
    }
    const result = this.#read(body);
    if (mode === "after") {
      return result.then(() =>
        Promise.reject(injectedFailure("KvTwin", call, mode))
      );
    }
    return result;
  }

  #readFence(key: string): { epoch: number; offset: number } {
    const entry = this.#live(key);
    if (entry === undefined) return { epoch: 0, offset: -1 };
    if (entry.type !== "hash") throw wrongType(key, "fence hash");
    return {
      epoch: Number(entry.value.get("epoch") ?? "0"),
      offset: Number(entry.value.get("offset") ?? "-1"),
    };
  }

  #writeFence(key: string, epoch: number, offset: number): void {
    const entry = this.#live(key);
    const fields = entry?.type === "hash"
      ? entry.value
      : new Map<string, string>();
    fields.set("epoch", String(epoch));
    fields.set("offset", String(offset));
    if (entry === undefined) {
      this.#data.set(key, { type: "hash", value: fields, expire_at_ms: null });
    }
  }

  /**
   * Applies `ops` all or none, as the Redis adapter's script does: a first
   * pass checks every op against a model of the keys the batch touches (type,
   * and the integer value INCRBY needs), then every op is applied. A batch
   * that fails the check changes nothing.
   */
  #applyAtomically(ops: KvOp[]): void {
    const model = new Map<string, KeyModel>();
    for (const op of ops) {
      let m = model.get(op.key);
      if (m === undefined) model.set(op.key, m = this.#modelOf(op.key));
      checkOp(op, m);
    }
    for (const op of ops) this.#mutate(op);
  }

  /** Applies one op, or throws the error Redis would give, changing nothing. */
  #applyOne(op: KvOp): void {
    checkOp(op, this.#modelOf(op.key));
    this.#mutate(op);
  }

  #modelOf(key: string): KeyModel {
    const entry = this.#live(key);
    if (entry === undefined) return { kind: "none", int: null };
    return {
      kind: entry.type,
      int: entry.type === "string" ? integerOf(entry.value) : null,
    };
  }

  /** Carries out an op that {@linkcode checkOp} accepted. */
  #mutate(op: KvOp): void {
    switch (op.op) {
      case "incrby": {
        const entry = this.#live(op.key);
        const next = String(Number(entry?.value ?? "0") + op.by);
        if (entry === undefined) {
          this.#data.set(op.key, {
            type: "string",
            value: next,
            expire_at_ms: null,
          });
        } else entry.value = next;
        return;
      }
      case "zincrby":
      case "zadd": {
        const zset = this.#container(op.key, "zset");
        const score = op.op === "zincrby"
          ? (zset.get(op.member) ?? 0) + op.by
          : op.score;
        // Not modelled by the check (scores are not): +inf plus -inf.
        if (Number.isNaN(score)) {
          throw new RangeError(
            `ERR resulting score is not a number (NaN): ZINCRBY '${op.key}' '${op.member}'`,
          );
        }
        zset.set(op.member, score);
        return;
      }
      case "zremrangebyscore": {
        const entry = this.#live(op.key);
        if (entry === undefined || entry.type !== "zset") return;
        for (const [member, score] of entry.value) {
          if (score >= op.min && score <= op.max) entry.value.delete(member);
        }
        // Redis deletes a sorted set left empty (and its TTL with it).
        if (entry.value.size === 0) this.#data.delete(op.key);
        return;
      }
      case "set":
        // SET replaces any value and clears the TTL, as in Redis.
        this.#data.set(op.key, {
          type: "string",
          value: op.value,
          expire_at_ms: null,
        });
        return;
      case "hset":
        this.#container(op.key, "hash").set(op.field, op.value);
        return;
      case "del":
        this.#data.delete(op.key);
        return;
      case "pexpire": {
        const entry = this.#live(op.key);
        if (entry === undefined) return;
        // Redis deletes a key whose new expiry is not in the future.
        if (op.ms <= 0) this.#data.delete(op.key);
        else entry.expire_at_ms = this.#clock.now() + op.ms;
        return;
      }
    }
  }

  #container(key: string, type: "hash"): Map<string, string>;
  #container(key: string, type: "zset"): Map<string, number>;
  #container(
    key: string,
    type: "hash" | "zset",
  ): Map<string, string> | Map<string, number> {
    const entry = this.#live(key);
    if (entry === undefined) {
      const value = new Map();
      this.#data.set(key, { type, value, expire_at_ms: null } as Entry);
      return value;
    }
    if (entry.type !== type) {
      throw wrongType(key, type === "zset" ? "sorted set" : "hash");
    }
    return entry.value;
  }
}
