/**
 * Shares produce calls among concurrent `POST /track` requests (a group
 * commit): while the log works on one call, the messages of the requests that
 * arrive meanwhile queue up and go out together in the next call. At low load
 * each request gets its own call (no added latency); under load calls grow
 * up to `batch_messages_max` / `batch_bytes_max`, so throughput follows the
 * log's, not the request rate.
 *
 * Why two calls at a time by default: kafkajs's idempotent producer once lost
 * sequence numbers under concurrent `send()` calls (tulios/kafkajs#598); 2.2.4
 * serializes idempotent produce requests per broker behind a lock instead, so
 * concurrent calls are safe, and a second one is encoded while the first is on
 * the wire. In the overload test here two calls acknowledged about 1.5 times
 * the events of one; four did no better than two (and made smaller batches).
 *
 * Why batches are cut by bytes: kafkajs does not split a send, and the broker
 * rejects a record batch over `max.message.bytes` (1 MB by default) with
 * MESSAGE_TOO_LARGE, which would fail every request sharing the call. A
 * request larger than a batch is cut into several calls and acknowledged when
 * all of them are.
 *
 * Failure: when a call fails or outlives `produce_timeout_ms`, its requests
 * and every queued one are refused with {@linkcode LogUnavailableError}, and
 * for `backoff_ms` new sends are refused at once, so a dead log costs the
 * clients one fast 503 each, not a timeout each. A timed-out call is still
 * counted in flight (its messages held) until the log answers it.
 *
 * @module
 */

import type { Clock, Log, LogMessage } from "../ports.ts";
import { messageBytes } from "./message_bytes.ts";

/** The log did not acknowledge the messages; they may or may not be written. */
export class LogUnavailableError extends Error {
  override name = "LogUnavailableError";
}

/** What one produce call did, for metrics. */
export interface ProduceReport {
  messages: number;
  bytes: number;
  duration_ms: number;
  ok: boolean;
}

/** Options of {@linkcode BatchingProducer}. */
export interface BatchingProducerOptions {
  log: Log;
  /** Topic every message goes to. */
  topic: string;
  /** Processing time, for timeouts and the backoff. */
  clock: Clock;
  /** Produce calls running at once. Default: 2 (see the module doc). */
  produces_in_flight_max?: number;
  /** Most messages in one produce call. Default: 10000. */
  batch_messages_max?: number;
  /**
   * Most bytes (see `messageBytes`) in one produce call; keep it below the
   * broker's `max.message.bytes`. Default: 524288 (512 KiB).
   */
  batch_bytes_max?: number;
  /** Longest wait for the log to answer one call. Default: 10000. */
  produce_timeout_ms?: number;
  /** How long sends are refused after a failure. Default: 1000. */
  backoff_ms?: number;
  /** Told about each failed call (the error is not shown to clients). Default: none. */
  on_error?: (error: unknown) => void;
  /** Told about each produce call when it ends. Default: none. */
  on_produce?: (report: ProduceReport) => void;
}

/** The answer of {@linkcode BatchingProducer.send}. */
export interface Sending {
  /** Resolves once the log acknowledged every message; rejects with {@linkcode LogUnavailableError}. */
  acked: Promise<void>;
  /** Resolves once no produce call holds any of the messages (never rejects). */
  settled: Promise<void>;
}

interface Chunk {
  messages: LogMessage[];
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
  settle: () => void;
}

interface Call {
  chunks: Chunk[];
  deadline_ms: number;
  timed_out: boolean;
}

/** Produces messages of concurrent senders in shared calls. */
export class BatchingProducer {
  readonly #log: Log;
  readonly #topic: string;
  readonly #clock: Clock;
  readonly #concurrency: number;
  readonly #messages_max: number;
  readonly #bytes_max: number;
  readonly #timeout_ms: number;
  readonly #backoff_ms: number;
  readonly #on_error: ((error: unknown) => void) | undefined;
  readonly #on_produce: ((report: ProduceReport) => void) | undefined;
  readonly #queue: Chunk[] = [];
  readonly #calls = new Set<Call>();
  #unavailable_until_ms = -Infinity;
  #watching = false;

  constructor(options: BatchingProducerOptions) {
    this.#log = options.log;
    this.#topic = options.topic;
    this.#clock = options.clock;
    this.#concurrency = positive(
      "produces_in_flight_max",
      options.produces_in_flight_max ?? 2,
    );
    this.#messages_max = positive(
      "batch_messages_max",
      options.batch_messages_max ?? 10_000,
    );
    this.#bytes_max = positive(
      "batch_bytes_max",
      options.batch_bytes_max ?? 524_288,
    );
    this.#timeout_ms = positive(
      "produce_timeout_ms",
      options.produce_timeout_ms ?? 10_000,
    );
    this.#backoff_ms = options.backoff_ms ?? 1000;
    if (!(this.#backoff_ms >= 0)) {
      throw new RangeError(
        `Cannot create the producer as 'backoff_ms' must be a non-negative duration: current value is ${this.#backoff_ms}`,
      );
    }
    this.#on_error = options.on_error;
    this.#on_produce = options.on_produce;
  }

  /** Largest batch in bytes: no single message may be larger. */
  get batch_bytes_max(): number {
    return this.#bytes_max;
  }

  /** False while sends are refused after a failure. */
  available(): boolean {
    return this.#clock.now() >= this.#unavailable_until_ms;
  }

  /** Produce calls running now. */
  get calls_in_flight(): number {
    return this.#calls.size;
  }

  /**
   * Queues `messages` for the log. They are cut into chunks of at most a
   * batch each; a message larger than `batch_bytes_max` is refused with a
   * `RangeError` (the caller validates sizes first).
   */
  send(messages: LogMessage[]): Sending {
    if (!this.available()) {
      return {
        acked: Promise.reject(
          new LogUnavailableError(
            "the log failed recently: not trying again yet",
          ),
        ),
        settled: Promise.resolve(),
      };
    }
    const chunks: Chunk[] = [];
    const acks: Promise<void>[] = [];
    const settles: Promise<void>[] = [];
    let current: LogMessage[] = [];
    let bytes = 0;
    const cut = () => {
      const chunk = {
        messages: current,
        bytes,
        resolve: () => {},
        reject: (_: Error) => {},
        settle: () => {},
      };
      acks.push(
        new Promise<void>((resolve, reject) => {
          chunk.resolve = resolve;
          chunk.reject = reject;
        }),
      );
      settles.push(new Promise<void>((resolve) => chunk.settle = resolve));
      chunks.push(chunk);
      current = [];
      bytes = 0;
    };
    for (const message of messages) {
      const size = messageBytes(message);
      if (size > this.#bytes_max) {
        throw new RangeError(
          `Cannot produce a message as it must be at most 'batch_bytes_max' = ${this.#bytes_max} bytes: current size is ${size}`,
        );
      }
      if (
        current.length === this.#messages_max ||
        bytes + size > this.#bytes_max
      ) cut();
      current.push(message);
      bytes += size;
    }
    if (current.length > 0) cut();
    const acked = Promise.all(acks).then(() => {});
    // A caller that stops listening after the first refusal must not leave
    // the other chunks' refusals unhandled.
    for (const ack of acks) ack.catch(() => {});
    this.#queue.push(...chunks);
    this.#pump();
    return { acked, settled: Promise.all(settles).then(() => {}) };
  }

  #pump(): void {
    while (this.#calls.size < this.#concurrency && this.#queue.length > 0) {
      const chunks: Chunk[] = [];
      let messages = 0;
      let bytes = 0;
      while (this.#queue.length > 0) {
        const next = this.#queue[0] as Chunk;
        if (
          chunks.length > 0 &&
          (messages + next.messages.length > this.#messages_max ||
            bytes + next.bytes > this.#bytes_max)
        ) break;
        this.#queue.shift();
        chunks.push(next);
        messages += next.messages.length;
        bytes += next.bytes;
      }
      this.#start(chunks, messages, bytes);
    }
  }

  #start(chunks: Chunk[], count: number, bytes: number): void {
    const started_ms = this.#clock.now();
    const call: Call = {
      chunks,
      deadline_ms: started_ms + this.#timeout_ms,
      timed_out: false,
    };
    this.#calls.add(call);
    const messages = chunks.length === 1
      ? (chunks[0] as Chunk).messages
      : chunks.flatMap((c) => c.messages);
    let producing: Promise<void>;
    try {
      producing = this.#log.produce(this.#topic, messages);
    } catch (error) {
      producing = Promise.reject(error);
    }
    producing.then(
      () => this.#end(call, null, count, bytes, started_ms),
      (error) =>
        this.#end(
          call,
          error ?? new Error("produce failed"),
          count,
          bytes,
          started_ms,
        ),
    );
    this.#watch();
  }

  #end(
    call: Call,
    error: unknown,
    count: number,
    bytes: number,
    started_ms: number,
  ): void {
    this.#calls.delete(call);
    this.#on_produce?.({
      messages: count,
      bytes,
      duration_ms: this.#clock.now() - started_ms,
      ok: error === null,
    });
    if (!call.timed_out) {
      if (error === null) {
        for (const chunk of call.chunks) chunk.resolve();
      } else {
        this.#on_error?.(error);
        this.#fail(
          call.chunks,
          "the log did not acknowledge the events",
        );
      }
    }
    for (const chunk of call.chunks) chunk.settle();
    this.#pump();
  }

  /** Refuses `chunks`, and everything queued, and starts the backoff. */
  #fail(chunks: Chunk[], reason: string): void {
    this.#unavailable_until_ms = this.#clock.now() + this.#backoff_ms;
    const error = new LogUnavailableError(reason);
    for (const chunk of chunks) chunk.reject(error);
    const queued = this.#queue.splice(0);
    for (const chunk of queued) {
      chunk.reject(error);
      chunk.settle();
    }
  }

  /**
   * One sleeper at a time checks the calls' deadlines: it wakes at the
   * earliest deadline, or after 250 ms of the clock if sooner, and stops when
   * no call is in flight (so no timer outlives the last call by more than
   * 250 ms).
   */
  async #watch(): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    try {
      while (this.#calls.size > 0) {
        let next_ms = Infinity;
        for (const call of this.#calls) {
          if (!call.timed_out) next_ms = Math.min(next_ms, call.deadline_ms);
        }
        await this.#clock.sleep(
          Math.min(250, Math.max(0, next_ms - this.#clock.now())),
        );
        const now = this.#clock.now();
        for (const call of this.#calls) {
          if (!call.timed_out && now >= call.deadline_ms) {
            call.timed_out = true;
            this.#on_error?.(
              new LogUnavailableError(
                `a produce call of ${
                  call.chunks.reduce((n, c) => n + c.messages.length, 0)
                } events got no answer within ${this.#timeout_ms} ms`,
              ),
            );
            this.#fail(
              call.chunks,
              `the log did not answer within ${this.#timeout_ms} ms: the events may or may not be written`,
            );
          }
        }
      }
    } finally {
      this.#watching = false;
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot create the producer as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}
