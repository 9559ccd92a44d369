/**
 * {@linkcode Log} on Apache Kafka (kafkajs 2.2.4).
 *
 * - Partitioning: without an explicit partition, kafkajs's default partitioner
 *   (murmur2 of the key, as the Java client) picks one. The simulator's twin
 *   uses FNV-1a, so the same key may land on different partition numbers in
 *   the two worlds; only "one key, one partition" is relied upon.
 * - `endOffsets()` asks with isolation level read_committed (kafkajs's
 *   ListOffsets default), so it answers the last stable offset: the end of
 *   committed data. Transaction commit markers take an offset each, so after a
 *   transaction of n records the end offset moves by n + 1.
 * - `read()` has no manual partition assignment to build on (kafkajs has
 *   none): it joins a throwaway consumer group, seeks, collects, and leaves.
 *   That costs a group join (~100 ms with `group.initial.rebalance.delay.ms=0`);
 *   it is meant for tests and recovery, not the hot path.
 * - Transactions: one transactional producer per transactional id, cached. A
 *   new `transaction(id)` while the cached producer's transaction is open
 *   creates a new producer, whose InitProducerId fences the old one (as a
 *   restarted instance would). Kafka answers EndTxn once the outcome is
 *   decided and writes the commit/abort markers afterwards, so a read right
 *   after `commit()` could still miss the records (and an abort could still
 *   hold back later plain records). `commit()` and `abort()` therefore wait
 *   until the last stable offset of every partition they wrote has passed
 *   the transaction (bounded by `txn_visible_wait_ms`: another producer's open
 *   transaction may hold a partition back for longer).
 *
 * @module
 */

import {
  type Admin,
  Kafka,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
  type RecordMetadata,
  type RetryOptions,
} from "kafkajs";
import {
  type CommittedOffset,
  type ConsumerOptions,
  FencedError,
  type Log,
  type LogConsumer,
  type LogMessage,
  type LogRecord,
  type LogTransaction,
  type OffsetCommit,
} from "../ports.ts";
import { KafkaConsumer, type KafkaConsumerOptions } from "./kafka_consumer.ts";
import {
  kafkaErrorType,
  kafkaLogCreator,
  type KafkaLogSink,
  toLogRecord,
} from "./kafka_common.ts";
import { registerCompressionCodecs } from "./kafka_codecs.ts";

/** Options of {@linkcode KafkaLog}. */
export interface KafkaLogOptions {
  /** `host:port` of the broker listeners (not the KRaft controller listener). */
  brokers: string[];
  /** Default: `"freshet"`. */
  clientId?: string;
  /** Consumer settings applied to every `consumer()`; see {@linkcode KafkaConsumerOptions}. */
  consumer?: Pick<
    KafkaConsumerOptions,
    | "session_timeout_ms"
    | "rebalance_timeout_ms"
    | "heartbeat_ms"
    | "poll_wait_ms"
    | "fetch_wait_ms"
  >;
  /** Longest time `read()` waits to reach the end offset. Default: 30000. */
  read_timeout_ms?: number;
  /**
   * Longest time a transaction's `commit()`/`abort()` waits for its end to
   * become visible (see the module doc); 0 skips the wait. Default: 2000.
   */
  txn_visible_wait_ms?: number;
  /**
   * kafkajs retries for every request. Producers get a bound too (kafkajs's
   * own default for idempotent producers is to retry forever). Default:
   * 100 ms initial delay, 8 retries.
   */
  retry?: RetryOptions;
  /** Default: `"warn"`. */
  log_level?: "error" | "warn" | "nothing";
  /** Where kafkajs's log lines go. Default: the console. */
  log_sink?: KafkaLogSink;
}

interface CachedProducer {
  producer: Producer;
  connected: Promise<void>;
  /** Whether a transaction of this producer is open. */
  busy: boolean;
}

/** A {@linkcode Log} on a Kafka cluster. */
export class KafkaLog implements Log {
  readonly #kafka: Kafka;
  readonly #options: KafkaLogOptions;
  readonly #retry: RetryOptions;
  #admin: { admin: Admin; connected: Promise<void> } | null = null;
  #producer: { producer: Producer; connected: Promise<void> } | null = null;
  readonly #transactional = new Map<string, CachedProducer>();
  readonly #consumers = new Set<LogConsumer>();

  constructor(options: KafkaLogOptions) {
    if (options.brokers.length === 0) {
      throw new Error(
        "Cannot connect to Kafka as 'brokers' must not be empty: current value is []",
      );
    }
    this.#options = options;
    registerCompressionCodecs();
    this.#retry = options.retry ?? { initialRetryTime: 100, retries: 8 };
    const level = options.log_level ?? "warn";
    this.#kafka = new Kafka({
      clientId: options.clientId ?? "freshet",
      brokers: options.brokers,
      retry: this.#retry,
      logLevel: level === "error"
        ? logLevel.ERROR
        : level === "nothing"
        ? logLevel.NOTHING
        : logLevel.WARN,
      logCreator: kafkaLogCreator(options.log_sink),
    });
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new Error(
        `Cannot create topic '${topic}' as 'partitions' must be a positive integer: current value is ${partitions}`,
      );
    }
    const admin = await this.#adminClient();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions }],
        waitForLeaders: true,
      });
    } catch (error) {
      if (
        kafkaErrorType(error) !== "TOPIC_ALREADY_EXISTS" &&
        !isAllAlreadyExists(error)
      ) {
        throw error;
      }
    }
  }

  async partitionCount(topic: string): Promise<number> {
    const admin = await this.#adminClient();
    // Without this check kafkajs retries an unknown topic for seconds.
    if (!(await admin.listTopics()).includes(topic)) {
      throw new Error(
        `Cannot count partitions as topic '${topic}' does not exist`,
      );
    }
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const metadata = topics.find((t) => t.name === topic);
    if (metadata === undefined) {
      throw new Error(
        `Cannot count partitions as topic '${topic}' does not exist`,
      );
    }
    return metadata.partitions.length;
  }

  async produce(topic: string, messages: LogMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = await this.#plainProducer();
    await producer.send({
      topic,
      messages: messages.map(toKafkaMessage),
      acks: -1,
    });
  }

  async transaction(transactionalId: string): Promise<LogTransaction> {
    let cached = this.#transactional.get(transactionalId);
    if (cached === undefined || cached.busy) {
      // A second open transaction of one id: a new producer fences the first.
      cached = this.#newTransactionalProducer(transactionalId);
      this.#transactional.set(transactionalId, cached);
    }
    const entry = cached;
    entry.busy = true;
    try {
      await entry.connected;
      const transaction = await entry.producer.transaction();
      return new KafkaTransaction(transactionalId, transaction, {
        onEnd: () => entry.busy = false,
        onFailure: () => this.#dropTransactional(transactionalId, entry),
        awaitEnd: (first) => this.#awaitStable(first),
      });
    } catch (error) {
      await this.#dropTransactional(transactionalId, entry);
      throw error;
    }
  }

  async committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<CommittedOffset[]> {
    const admin = await this.#adminClient();
    const answer = await admin.fetchOffsets({ groupId, topics: [topic] });
    const partitions = answer.find((t) => t.topic === topic)?.partitions ?? [];
    return partitions
      .map(({ partition, offset, metadata }) => ({
        partition,
        offset: Number(offset),
        metadata: metadata || null,
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  async endOffsets(topic: string): Promise<number[]> {
    const admin = await this.#adminClient();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .sort((a, b) => a.partition - b.partition)
      .map(({ offset }) => Number(offset));
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    max: number,
  ): Promise<LogRecord[]> {
    if (max <= 0) return [];
    const end = (await this.endOffsets(topic))[partition];
    if (end === undefined) {
      throw new Error(
        `Cannot read topic '${topic}' as 'partition' must be one of its partitions: current value is ${partition}`,
      );
    }
    if (offset >= end) return [];
    return await readRange(this.#kafka, {
      topic,
      partition,
      from: Math.max(0, offset),
      end,
      max,
      timeout_ms: this.#options.read_timeout_ms ?? 30000,
    });
  }

  consumer(options: ConsumerOptions): LogConsumer {
    const consumer = new KafkaConsumer(this.#kafka, {
      ...this.#options.consumer,
      ...options,
    });
    this.#consumers.add(consumer);
    return {
      poll: () => consumer.poll(),
      commit: (offsets) => consumer.commit(offsets),
      close: async () => {
        this.#consumers.delete(consumer);
        await consumer.close();
      },
    };
  }

  /** Disconnects every client this log opened, consumers included. */
  async close(): Promise<void> {
    const closing: Array<Promise<void>> = [];
    for (const consumer of this.#consumers) closing.push(consumer.close());
    this.#consumers.clear();
    for (const [id, entry] of this.#transactional) {
      closing.push(this.#dropTransactional(id, entry));
    }
    if (this.#producer !== null) {
      closing.push(this.#producer.producer.disconnect());
    }
    if (this.#admin !== null) closing.push(this.#admin.admin.disconnect());
    this.#producer = null;
    this.#admin = null;
    await Promise.allSettled(closing);
  }

  /** Waits until each partition's last stable offset passes `first` (bounded). */
  async #awaitStable(first: Map<string, Map<number, number>>): Promise<void> {
    const wait_ms = this.#options.txn_visible_wait_ms ?? 2000;
    if (wait_ms <= 0 || first.size === 0) return;
    const deadline = Date.now() + wait_ms;
    const admin = await this.#adminClient();
    for (const [topic, partitions] of first) {
      while (Date.now() < deadline) {
        const stable = await admin.fetchTopicOffsets(topic);
        const passed = [...partitions].every(([partition, offset]) =>
          Number(stable.find((s) => s.partition === partition)?.offset ?? -1) >
            offset
        );
        if (passed) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  async #adminClient(): Promise<Admin> {
    if (this.#admin === null) {
      const admin = this.#kafka.admin();
      this.#admin = { admin, connected: admin.connect() };
    }
    const current = this.#admin;
    try {
      await current.connected;
    } catch (error) {
      if (this.#admin === current) this.#admin = null;
      throw error;
    }
    return current.admin;
  }

  async #plainProducer(): Promise<Producer> {
    if (this.#producer === null) {
      const producer = this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 5,
        retry: this.#retry,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      this.#producer = { producer, connected: producer.connect() };
    }
    const current = this.#producer;
    try {
      await current.connected;
    } catch (error) {
      if (this.#producer === current) this.#producer = null;
      throw error;
    }
    return current.producer;
  }

  #newTransactionalProducer(transactionalId: string): CachedProducer {
    const producer = this.#kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      retry: this.#retry,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    return { producer, connected: producer.connect(), busy: false };
  }

  async #dropTransactional(
    transactionalId: string,
    entry: CachedProducer,
  ): Promise<void> {
    if (this.#transactional.get(transactionalId) === entry) {
      this.#transactional.delete(transactionalId);
    }
    await entry.connected.catch(() => {});
    await entry.producer.disconnect().catch(() => {});
  }
}

type KafkajsTransaction = Awaited<ReturnType<Producer["transaction"]>>;

/** A {@linkcode LogTransaction} on one kafkajs transaction. */
class KafkaTransaction implements LogTransaction {
  readonly #id: string;
  readonly #transaction: KafkajsTransaction;
  readonly #onEnd: () => void;
  readonly #onFailure: () => Promise<void>;
  readonly #awaitEnd: (
    first: Map<string, Map<number, number>>,
  ) => Promise<void>;
  /** First offset this transaction wrote, per topic and partition. */
  readonly #first = new Map<string, Map<number, number>>();
  #failed: Error | null = null;
  #ended = false;

  constructor(
    id: string,
    transaction: KafkajsTransaction,
    callbacks: {
      onEnd: () => void;
      onFailure: () => Promise<void>;
      awaitEnd: (first: Map<string, Map<number, number>>) => Promise<void>;
    },
  ) {
    this.#id = id;
    this.#transaction = transaction;
    this.#onEnd = callbacks.onEnd;
    this.#onFailure = callbacks.onFailure;
    this.#awaitEnd = callbacks.awaitEnd;
  }

  async produce(topic: string, messages: LogMessage[]): Promise<void> {
    this.#checkOpen("produce");
    if (messages.length === 0) return;
    let written: RecordMetadata[];
    try {
      written = await this.#transaction.send({
        topic,
        messages: messages.map(toKafkaMessage),
        acks: -1,
      });
    } catch (error) {
      await this.#fail(error);
      throw explainFencing(error, `produce in transaction '${this.#id}'`);
    }
    for (const { topicName, partition, baseOffset } of written) {
      if (baseOffset === undefined) continue;
      const partitions = this.#first.get(topicName) ??
        new Map<number, number>();
      if (!partitions.has(partition)) {
        partitions.set(partition, Number(baseOffset));
      }
      this.#first.set(topicName, partitions);
    }
  }

  async sendOffsets(groupId: string, offsets: OffsetCommit[]): Promise<void> {
    this.#checkOpen("send offsets");
    if (offsets.length === 0) return;
    const topics = new Map<
      string,
      Array<{ partition: number; offset: string; metadata: string | null }>
    >();
    for (const { topic, partition, offset, metadata } of offsets) {
      const partitions = topics.get(topic) ?? [];
      partitions.push({
        partition,
        offset: String(offset),
        metadata: metadata ?? null,
      });
      topics.set(topic, partitions);
    }
    try {
      await this.#transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [...topics].map(([topic, partitions]) => ({
          topic,
          partitions,
        })),
      });
    } catch (error) {
      await this.#fail(error);
      throw explainFencing(error, `send offsets in transaction '${this.#id}'`);
    }
  }

  async commit(): Promise<void> {
    this.#checkOpen("commit");
    try {
      await this.#transaction.commit();
    } catch (error) {
      await this.#fail(error);
      throw explainFencing(error, `commit transaction '${this.#id}'`);
    }
    this.#end();
    await this.#awaitEnd(this.#first);
  }

  async abort(): Promise<void> {
    if (this.#ended) return;
    if (this.#failed) {
      // The broker aborts it (fenced, or on the producer's timeout).
      this.#end();
      return;
    }
    try {
      await this.#transaction.abort();
    } catch (error) {
      await this.#fail(error);
      this.#end();
      return;
    }
    this.#end();
    await this.#awaitEnd(this.#first);
  }

  #checkOpen(action: string): void {
    if (this.#failed) {
      throw new Error(
        `Cannot ${action} in transaction '${this.#id}' as it failed earlier: ${this.#failed.message}`,
      );
    }
    if (this.#ended) {
      throw new Error(
        `Cannot ${action} in transaction '${this.#id}' as it has ended`,
      );
    }
  }

  #end(): void {
    this.#ended = true;
    this.#onEnd();
  }

  /** A fenced or broken producer cannot be reused: drop it from the cache. */
  async #fail(error: unknown): Promise<void> {
    this.#failed = error instanceof Error ? error : new Error(String(error));
    await this.#onFailure();
  }
}

interface ReadRange {
  topic: string;
  partition: number;
  from: number;
  end: number;
  max: number;
  timeout_ms: number;
}

/** Reads `[from, end)` of one partition (at most `max` records) with a throwaway group. */
async function readRange(kafka: Kafka, range: ReadRange): Promise<LogRecord[]> {
  const { topic, partition, from, end, max, timeout_ms } = range;
  const consumer = kafka.consumer({
    groupId: `freshet-read-${crypto.randomUUID()}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    readUncommitted: false,
  });
  const records: LogRecord[] = [];
  let position = from;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const advance = (last_offset: number) => {
    position = Math.max(position, last_offset + 1);
    if (records.length >= max || position >= end) finish();
  };
  const { GROUP_JOIN, END_BATCH_PROCESS } = consumer.events;
  consumer.on(
    GROUP_JOIN,
    () => consumer.seek({ topic, partition, offset: String(position) }),
  );
  // Batches of only control or aborted records never reach eachBatch.
  consumer.on(END_BATCH_PROCESS, ({ payload }) => {
    if (
      payload.topic === topic && payload.partition === partition &&
      payload.batchSize === 0
    ) {
      advance(Number(payload.lastOffset));
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: ({ batch, pause, isStale }) => {
        if (batch.partition !== partition) {
          pause();
          return Promise.resolve();
        }
        if (isStale()) return Promise.resolve();
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset >= position && records.length < max) {
            records.push(toLogRecord(topic, partition, message));
          }
        }
        advance(Number(batch.lastOffset()));
        return Promise.resolve();
      },
    });
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout_ms);
    });
    if (await Promise.race([finished, timeout]) === "timeout") {
      throw new Error(
        `Cannot read ${topic}:${partition} from ${from} as the end offset ${end} was not reached within ${timeout_ms} ms (reached ${position})`,
      );
    }
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  return records.slice(0, max);
}

/**
 * Kafka reports fencing as PRODUCER_FENCED or (to kafkajs's older protocol
 * versions) INVALID_PRODUCER_EPOCH, whose message never says "fenced".
 */
function explainFencing(error: unknown, action: string): unknown {
  const type = kafkaErrorType(error);
  if (type !== "PRODUCER_FENCED" && type !== "INVALID_PRODUCER_EPOCH") {
    return error;
  }
  return new FencedError(
    `Cannot ${action} as a newer producer with the same transactional id fenced it (${type})`,
    { cause: error },
  );
}

function toKafkaMessage(message: LogMessage): Message {
  return {
    key: message.key,
    value: message.value,
    ...(message.partition === undefined
      ? {}
      : { partition: message.partition }),
    ...(message.timestamp === undefined
      ? {}
      : { timestamp: String(message.timestamp) }),
  };
}

function isAllAlreadyExists(error: unknown): boolean {
  const errors = (error as { errors?: unknown[] }).errors;
  return Array.isArray(errors) && errors.length > 0 &&
    errors.every((e) => kafkaErrorType(e) === "TOPIC_ALREADY_EXISTS");
}
