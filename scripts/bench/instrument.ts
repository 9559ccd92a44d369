/**
 * Wrappers around the ports that count and time what passes through them,
 * so a benchmark can say where the runner's wall time went (waiting for a
 * batch, writing to Redis, writing checkpoints, or computing) and how many
 * Redis commands each event cost.
 *
 * @module
 */

import type {
  Fence,
  FencedResult,
  KeyValue,
  KvOp,
  Log,
  LogBatch,
  LogConsumer,
  ObjectStore,
} from "../../src/ports.ts";

/** Counters of one wrapped port. */
export interface CallStats {
  calls: number;
  /** Wall time spent awaiting the calls. */
  ms: number;
}

/** What {@linkcode CountingKeyValue} saw. */
export interface KeyValueStats {
  fenced: CallStats;
  /**
   * Part of `fenced.ms` spent before the call returned its promise: encoding
   * the batch and writing it to the socket, which block the event loop.
   */
  fenced_sync_ms: number;
  /** Ops sent in fenced batches. */
  ops: number;
  /** Ops by command name. */
  by_op: Record<string, number>;
  /** Fenced batches answered `applied`. */
  applied: number;
}

/** Called when a fenced batch is stored, with the wall time it was answered. */
export type AppliedHook = (fence: Fence, applied_at_ms: number) => void;

/** A {@linkcode KeyValue} that counts and times fenced batches. */
export class CountingKeyValue implements KeyValue {
  readonly stats: KeyValueStats = {
    fenced: { calls: 0, ms: 0 },
    fenced_sync_ms: 0,
    ops: 0,
    by_op: {},
    applied: 0,
  };
  readonly #inner: KeyValue;
  readonly #onApplied: AppliedHook | null;

  constructor(inner: KeyValue, onApplied: AppliedHook | null = null) {
    this.#inner = inner;
    this.#onApplied = onApplied;
  }

  async applyFenced(fence: Fence, ops: KvOp[]): Promise<FencedResult> {
    const started = performance.now();
    const pending = this.#inner.applyFenced(fence, ops);
    this.stats.fenced_sync_ms += performance.now() - started;
    const result = await pending;
    const stats = this.stats;
    stats.fenced.ms += performance.now() - started;
    stats.fenced.calls++;
    stats.ops += ops.length;
    for (const op of ops) stats.by_op[op.op] = (stats.by_op[op.op] ?? 0) + 1;
    if (result !== "fenced") {
      stats.applied++;
      // Date.now(): comparable with the records' append timestamps.
      this.#onApplied?.(fence, Date.now());
    }
    return result;
  }

  claimFence(key: string) {
    return this.#inner.claimFence(key);
  }
  apply(ops: KvOp[]) {
    return this.#inner.apply(ops);
  }
  get(key: string) {
    return this.#inner.get(key);
  }
  hgetall(key: string) {
    return this.#inner.hgetall(key);
  }
  zrevrange(key: string, start: number, stop: number) {
    return this.#inner.zrevrange(key, start, stop);
  }
  zrange(key: string, start: number, stop: number) {
    return this.#inner.zrange(key, start, stop);
  }
  zrangeByScore(key: string, min: number, max: number) {
    return this.#inner.zrangeByScore(key, min, max);
  }
  pttl(key: string) {
    return this.#inner.pttl(key);
  }
  keys(pattern: string) {
    return this.#inner.keys(pattern);
  }
}

/** What {@linkcode TimedObjectStore} saw. */
export interface ObjectStats {
  puts: CallStats;
  put_bytes: number;
  /** list, get, copy and delete together. */
  other: CallStats;
}

/** An {@linkcode ObjectStore} that counts and times its calls. */
export class TimedObjectStore implements ObjectStore {
  readonly stats: ObjectStats = {
    puts: { calls: 0, ms: 0 },
    put_bytes: 0,
    other: { calls: 0, ms: 0 },
  };
  readonly #inner: ObjectStore;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const started = performance.now();
    await this.#inner.put(key, body);
    this.stats.puts.ms += performance.now() - started;
    this.stats.puts.calls++;
    this.stats.put_bytes += body.byteLength;
  }
  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    const started = performance.now();
    const created = await this.#inner.putIfAbsent(key, body);
    this.stats.puts.ms += performance.now() - started;
    this.stats.puts.calls++;
    this.stats.put_bytes += body.byteLength;
    return created;
  }
  copy(from: string, to: string) {
    return this.#timed(() => this.#inner.copy(from, to));
  }
  get(key: string) {
    return this.#timed(() => this.#inner.get(key));
  }
  list(prefix: string) {
    return this.#timed(() => this.#inner.list(prefix));
  }
  delete(key: string) {
    return this.#timed(() => this.#inner.delete(key));
  }

  async #timed<T>(call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.stats.other.ms += performance.now() - started;
      this.stats.other.calls++;
    }
  }
}

/** What {@linkcode observedLog} saw of its consumers' polls. */
export interface PollStats {
  polls: CallStats;
  /** Polls that returned records. */
  batches: number;
  records: number;
  /** `performance.now()` when the first records arrived; 0 before. */
  first_batch_at: number;
  /** Produce calls (side outputs) and their time. */
  produce: CallStats;
}

/**
 * A {@linkcode Log} whose consumers report every poll: counted and timed in
 * `stats`, and each batch passed to `onBatch` (when given).
 */
export function observedLog(
  inner: Log,
  onBatch: ((batch: LogBatch) => void) | null = null,
): { log: Log; stats: PollStats } {
  const stats: PollStats = {
    polls: { calls: 0, ms: 0 },
    batches: 0,
    records: 0,
    first_batch_at: 0,
    produce: { calls: 0, ms: 0 },
  };
  const log: Log = {
    createTopic: (topic, partitions) => inner.createTopic(topic, partitions),
    partitionCount: (topic) => inner.partitionCount(topic),
    produce: async (topic, messages) => {
      const started = performance.now();
      await inner.produce(topic, messages);
      stats.produce.ms += performance.now() - started;
      stats.produce.calls++;
    },
    transaction: (id) => inner.transaction(id),
    transactionalProducer: (id) => inner.transactionalProducer(id),
    endOffsets: (topic) => inner.endOffsets(topic),
    committedOffsets: (groupId, topic) =>
      inner.committedOffsets(groupId, topic),
    read: (topic, partition, offset, max) =>
      inner.read(topic, partition, offset, max),
    consumer: (options) => {
      const consumer = inner.consumer(options);
      const observed: LogConsumer = {
        poll: async () => {
          const started = performance.now();
          const batch = await consumer.poll();
          stats.polls.ms += performance.now() - started;
          stats.polls.calls++;
          if (batch !== null && batch.records.length > 0) {
            if (stats.batches === 0) stats.first_batch_at = performance.now();
            stats.batches++;
            stats.records += batch.records.length;
            onBatch?.(batch);
          }
          return batch;
        },
        commit: (offsets) => consumer.commit(offsets),
        close: () => consumer.close(),
      };
      return observed;
    },
  };
  return { log, stats };
}
