/**
 * {@linkcode KeyValue} on Redis (ioredis).
 *
 * Fenced batches run as one Lua script (see `redis_scripts.ts`), so a batch is
 * written entirely or not at all and only by the newest owner of its fence.
 * Connection drops: ioredis reconnects and re-sends unanswered commands; a
 * fenced batch whose call still fails with a connection error is sent again
 * here, which is safe because the fence turns a second delivery into
 * `duplicate`. (So after a drop, a batch that was in fact written before the
 * connection broke may answer `duplicate` instead of `applied`; both mean "the
 * batch is stored".) Unfenced {@linkcode RedisKeyValue.apply} is at least once.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import type {
  Fence,
  FencedResult,
  KeyValue,
  KvOp,
  ScoredMember,
} from "../ports.ts";
import { APPLY_FENCED_LUA, CLAIM_FENCE_LUA } from "./redis_scripts.ts";
import { redact } from "./config.ts";
import { logger } from "../logging/setup.ts";

/** Options of {@linkcode RedisKeyValue}. */
export interface RedisKeyValueOptions {
  /**
   * Prepended to every key (including fence keys) and stripped from the
   * results of `keys()`; lets several deployments or tests share one Redis.
   * Must not contain glob characters. Default: `""`.
   */
  keyPrefix?: string;
  /**
   * How many times a fenced batch is sent again after a connection error.
   * Default: 5.
   */
  retries_max?: number;
  /** Pause before each such retry, in ms. Default: 200. */
  retry_delay_ms?: number;
  /** Keys asked per SCAN round trip in `keys()`. Default: 1000. */
  scan_count?: number;
  /** Shown by CLIENT LIST, to find this connection. Default: `"freshet"`. */
  connectionName?: string;
  /**
   * Reconnect attempts a command waits through while Redis is unreachable
   * before it fails (ioredis's `maxRetriesPerRequest`; ioredis waits 50 ms
   * more before each attempt). Callers retry with back-off of their own, so
   * a command fails soon rather than after ioredis's 20 attempts (10 s).
   * Default: 3.
   */
  reconnects_per_command_max?: number;
}

/** A {@linkcode KeyValue} backed by one Redis server. */
export class RedisKeyValue implements KeyValue {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #retries_max: number;
  readonly #retry_delay_ms: number;
  readonly #scan_count: number;
  readonly #applyScript = new LuaScript(APPLY_FENCED_LUA);
  readonly #claimScript = new LuaScript(CLAIM_FENCE_LUA);

  /**
   * Connects to `url` (`redis://[user:password@]host:port[/db]`). The
   * connection is made lazily by the first command.
   */
  constructor(url: string, options: RedisKeyValueOptions = {}) {
    const prefix = options.keyPrefix ?? "";
    if (/[*?[\]\\]/.test(prefix)) {
      throw new Error(
        `Cannot use Redis key prefix as 'keyPrefix' must not contain glob characters: current value is ${
          JSON.stringify(prefix)
        }`,
      );
    }
    this.#prefix = prefix;
    this.#retries_max = options.retries_max ?? 5;
    this.#retry_delay_ms = options.retry_delay_ms ?? 200;
    this.#scan_count = options.scan_count ?? 1000;
    this.#redis = new Redis(url, {
      lazyConnect: true,
      connectionName: options.connectionName ?? "freshet",
      maxRetriesPerRequest: options.reconnects_per_command_max ?? 3,
    });
    const shown = redact(url);
    const log = logger("redis");
    let down = false;
    // ioredis emits "error" on every failed reconnect; without a listener it
    // prints the error itself, which may hold the URL. The log's rate limit
    // keeps an outage to a few lines.
    this.#redis.on("error", (error: Error) => {
      if (this.#closing) return;
      down = true;
      log.warn(
        "Redis at {address} is unreachable: {error}; check that it runs and that REDIS_URL points to it (retrying)",
        { address: shown, error: redactMessage(error.message, url) },
      );
    });
    this.#redis.on("ready", () => {
      if (!down) return;
      down = false;
      log.info("Redis at {address} is reachable again", { address: shown });
    });
  }

  #closing = false;

  async claimFence(key: string): Promise<{ epoch: number; offset: number }> {
    const reply = await this.#claimScript.run(
      this.#redis,
      [this.#key(key)],
      [],
    );
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw new Error(
        `Cannot claim fence '${key}': unexpected reply ${
          JSON.stringify(reply)
        }`,
      );
    }
    return { epoch: Number(reply[0]), offset: Number(reply[1]) };
  }

  async applyFenced(fence: Fence, ops: KvOp[]): Promise<FencedResult> {
    checkFence(fence);
    const { keys, args } = encodeOps(ops, (key) => this.#key(key));
    keys.unshift(this.#key(fence.key));
    args.unshift(String(fence.epoch), String(fence.offset));
    for (let attempt = 0;; attempt++) {
      try {
        const reply = await this.#applyScript.run(this.#redis, keys, args);
        if (
          reply === "applied" || reply === "duplicate" || reply === "fenced"
        ) return reply;
        throw new Error(
          `Cannot apply fenced batch: unexpected reply ${
            JSON.stringify(reply)
          }`,
        );
      } catch (error) {
        if (isBatchRejection(error)) {
          throw new Error(
            `Cannot apply fenced batch as an op would fail: ${
              (error as Error).message.replace(/^FRESHET /, "")
            }`,
          );
        }
        if (!isConnectionError(error) || attempt >= this.#retries_max) {
          throw error;
        }
        await sleep(this.#retry_delay_ms);
      }
    }
  }

  async apply(ops: KvOp[]): Promise<void> {
    if (ops.length === 0) return;
    ops.forEach(checkOp);
    const pipeline = this.#redis.pipeline();
    for (const op of ops) {
      const key = this.#key(op.key);
      switch (op.op) {
        case "incrby":
          pipeline.incrby(key, op.by);
          break;
        case "zincrby":
          pipeline.zincrby(key, op.by, op.member);
          break;
        case "zadd":
          pipeline.zadd(key, op.score, op.member);
          break;
        case "set":
          pipeline.set(key, op.value);
          break;
        case "hset":
          pipeline.hset(key, op.field, op.value);
          break;
        case "del":
          pipeline.del(key);
          break;
        case "pexpire":
          pipeline.pexpire(key, op.ms);
          break;
        case "zremrangebyscore":
          pipeline.zremrangebyscore(
            key,
            scoreBound(op.min),
            scoreBound(op.max),
          );
          break;
      }
    }
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed?.[0]) throw failed[0];
  }

  get(key: string): Promise<string | null> {
    return this.#redis.get(this.#key(key));
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#redis.hgetall(this.#key(key));
  }

  async zrevrange(
    key: string,
    start: number,
    stop: number,
  ): Promise<ScoredMember[]> {
    return pairs(
      await this.#redis.zrevrange(this.#key(key), start, stop, "WITHSCORES"),
    );
  }

  async zrange(
    key: string,
    start: number,
    stop: number,
  ): Promise<ScoredMember[]> {
    return pairs(
      await this.#redis.zrange(this.#key(key), start, stop, "WITHSCORES"),
    );
  }

  async zrangeByScore(
    key: string,
    min: number,
    max: number,
  ): Promise<ScoredMember[]> {
    if (Number.isNaN(min) || Number.isNaN(max)) {
      throw new RangeError(
        `Cannot range over '${key}' as 'min' and 'max' must be numbers: current values are ${min} and ${max}`,
      );
    }
    return pairs(
      await this.#redis.zrangebyscore(
        this.#key(key),
        scoreBound(min),
        scoreBound(max),
        "WITHSCORES",
      ),
    );
  }

  pttl(key: string): Promise<number> {
    return this.#redis.pttl(this.#key(key));
  }

  async keys(pattern: string): Promise<string[]> {
    const found = new Set<string>();
    let cursor = "0";
    do {
      const [next, batch] = await this.#redis.scan(
        cursor,
        "MATCH",
        this.#prefix + pattern,
        "COUNT",
        this.#scan_count,
      );
      for (const key of batch) found.add(key.slice(this.#prefix.length));
      cursor = next;
    } while (cursor !== "0");
    return [...found].sort();
  }

  /** Quits the connection (waits for pending replies). */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#redis.status === "wait" || this.#redis.status === "end") {
      this.#redis.disconnect();
      return;
    }
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  #key(key: string): string {
    return this.#prefix + key;
  }
}

/**
 * A Lua script run by EVALSHA, falling back to EVAL (which also caches it) when
 * the server answers NOSCRIPT, e.g. after a restart or SCRIPT FLUSH.
 */
class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: Redis, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) {
        throw error;
      }
      return await redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

/** Turns ops into distinct keys and flat script arguments (see `redis_scripts.ts`). */
function encodeOps(
  ops: KvOp[],
  keyOf: (key: string) => string,
): { keys: string[]; args: string[] } {
  const keys: string[] = [];
  const indexOf = new Map<string, string>();
  const args: string[] = [];
  for (const op of ops) {
    checkOp(op);
    const key = keyOf(op.key);
    let index = indexOf.get(key);
    if (index === undefined) {
      keys.push(key);
      // +1: KEYS[1] is the fence key.
      index = String(keys.length + 1);
      indexOf.set(key, index);
    }
    switch (op.op) {
      case "incrby":
        args.push("i", index, String(op.by));
        break;
      case "zincrby":
        args.push("z", index, op.member, String(op.by));
        break;
      case "zadd":
        args.push("a", index, op.member, String(op.score));
        break;
      case "set":
        args.push("s", index, op.value);
        break;
      case "hset":
        args.push("h", index, op.field, op.value);
        break;
      case "del":
        args.push("d", index);
        break;
      case "pexpire":
        args.push("e", index, String(op.ms));
        break;
      case "zremrangebyscore":
        args.push("r", index, scoreBound(op.min), scoreBound(op.max));
        break;
    }
  }
  return { keys, args };
}

function checkFence(fence: Fence): void {
  if (!Number.isSafeInteger(fence.epoch) || fence.epoch < 0) {
    throw new Error(
      `Cannot apply fenced batch as 'epoch' must be a non-negative integer: current value is ${fence.epoch}`,
    );
  }
  if (!Number.isFinite(fence.offset)) {
    throw new Error(
      `Cannot apply fenced batch as 'offset' must be a finite input position: current value is ${fence.offset}`,
    );
  }
}

function checkOp(op: KvOp): void {
  switch (op.op) {
    case "incrby":
      if (!Number.isSafeInteger(op.by)) {
        throw opError(op, "by", "a safe integer", op.by);
      }
      break;
    case "zincrby":
      if (!Number.isFinite(op.by)) {
        throw opError(op, "by", "a finite number", op.by);
      }
      break;
    case "zadd":
      if (!Number.isFinite(op.score)) {
        throw opError(op, "score", "a finite number", op.score);
      }
      break;
    case "pexpire":
      if (!Number.isSafeInteger(op.ms)) {
        throw opError(op, "ms", "an integer", op.ms);
      }
      break;
    case "zremrangebyscore":
      if (Number.isNaN(op.min)) {
        throw opError(op, "min", "a number", op.min);
      }
      if (Number.isNaN(op.max)) {
        throw opError(op, "max", "a number", op.max);
      }
      break;
    case "set":
    case "hset":
    case "del":
      break;
    default:
      throw new Error(
        `Cannot apply op as 'op' must be a known Redis command: current value is ${
          JSON.stringify((op as { op: unknown }).op)
        }`,
      );
  }
}

function opError(op: KvOp, field: string, rule: string, value: number): Error {
  return new Error(
    `Cannot apply ${op.op} on '${op.key}' as '${field}' must be ${rule}: current value is ${value}`,
  );
}

/** A WITHSCORES reply (member, score, member, score, ...) as members. */
function pairs(flat: string[]): ScoredMember[] {
  const members: ScoredMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    members.push({ member: flat[i]!, score: parseScore(flat[i + 1]!) });
  }
  return members;
}

/** A score bound as ZRANGEBYSCORE takes it (infinities spelled out). */
function scoreBound(score: number): string {
  if (score === Infinity) return "+inf";
  if (score === -Infinity) return "-inf";
  return String(score);
}

function parseScore(text: string): number {
  if (text === "inf" || text === "+inf") return Infinity;
  if (text === "-inf") return -Infinity;
  return Number(text);
}

function isBatchRejection(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("FRESHET ");
}

/** Errors after which the server may or may not have run the command. */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === "MaxRetriesPerRequestError" ||
    /Connection is closed|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|Stream isn't writeable/
      .test(error.message);
}

function redactMessage(message: string, url: string): string {
  try {
    const password = new URL(url).password;
    if (password) {
      return message.split(decodeURIComponent(password)).join("***");
    }
  } catch {
    // An unparseable URL is shown redacted elsewhere; nothing to strip here.
  }
  return message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
