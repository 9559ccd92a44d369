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
 * - `read()` joins a throwaway consumer group (see `read_range.ts`): meant for
 *   tests and recovery, not the hot path.
 * - Transactions: one transactional producer per transactional id, kept for
 *   the id's next transaction (`producers.ts`); a transaction's states and
 *   failures are described in `transaction.ts`. A `transaction(id)` fences
 *   the id's open transaction, in this process or another: the broker aborts
 *   it, unless its commit already reached the coordinator (then the new
 *   transaction waits for that commit to complete). Kafka answers EndTxn once
 *   the outcome is decided and writes the markers afterwards, so `commit()`
 *   and `abort()` wait until what the transaction wrote is readable: records
 *   past the last stable offset, sent offsets answered by the group (bounded
 *   by `txn_visible_wait_ms`, see `visibility.ts`).
 * - Reads (`consumer()`, `read()`) are read_committed, with kafkajs's
 *   filter of aborted transactions corrected (`read_committed.ts`).
 * - `committedOffsets()` reads the group's offsets with kafkajs's
 *   `admin.fetchOffsets`, metadata included. kafkajs answers empty metadata
 *   as `null`, so an empty string sent comes back `null`.
 *
 * @module
 */

import {
  type Admin,
  ConfigResourceTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import type { RetryOptions } from "kafkajs";
import type {
  CommittedOffset,
  ConsumerOptions,
  Log,
  LogConsumer,
  LogMessage,
  LogRecord,
  LogTransaction,
  TransactionalProducer,
} from "../../ports.ts";
import {
  BATCH_OVERHEAD_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  splitBySize,
} from "./batches.ts";
import { registerCompressionCodecs } from "./codecs.ts";
import {
  kafkaLogCreator,
  type KafkaLogSink,
  toKafkaMessage,
} from "./common.ts";
import { KafkaConsumer, type KafkaConsumerOptions } from "./consumer.ts";
import { kafkaErrorType } from "./errors.ts";
import { TransactionalProducers } from "./producers.ts";
import { readRange } from "./read_range.ts";
import { fixReadCommitted } from "./read_committed.ts";
import { stopIdlePolling } from "./request_queue.ts";
import { awaitWritesVisible } from "./visibility.ts";

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
   * Longest time a transaction's `commit()`/`abort()` waits for what it wrote
   * to become readable (see the module doc); 0 skips the wait. Default: 2000.
   */
  txn_visible_wait_ms?: number;
  /**
   * How long the broker lets a transaction stay open before aborting it
   * (kafkajs's `transactionTimeout`; at most the broker's
   * `max.transaction.timeout.ms`, 15 minutes by default). Set it above the
   * checkpoint interval plus expected stalls: a transaction the broker
   * aborted on its timeout fails like a fenced one. Default: 60000.
   */
  transaction_timeout_ms?: number;
  /**
   * kafkajs retries for every request. Producers get a bound too (kafkajs's
   * own default for idempotent producers is to retry forever). Default:
   * 100 ms initial delay, 8 retries.
   */
  retry?: RetryOptions;
  /**
   * Largest record batch the topics accept (Kafka's `max.message.bytes`):
   * `produce()` splits its requests under it. Default: asked of the broker
   * per topic, or 1,000,000 when it does not answer.
   */
  max_message_bytes?: number;
  /** Default: `"warn"`. */
  log_level?: "error" | "warn" | "nothing";
  /** Where kafkajs's log lines go. Default: the console. */
  log_sink?: KafkaLogSink;
}

/** A {@linkcode Log} on a Kafka cluster. */
export class KafkaLog implements Log {
  readonly #kafka: Kafka;
  readonly #options: KafkaLogOptions;
  readonly #retry: RetryOptions;
  #admin: { admin: Admin; connected: Promise<void> } | null = null;
  #producer: { producer: Producer; connected: Promise<void> } | null = null;
  readonly #max_message_bytes = new Map<string, Promise<number>>();
  readonly #transactional: TransactionalProducers;
  readonly #consumers = new Set<LogConsumer>();

  constructor(options: KafkaLogOptions) {
    if (options.brokers.length === 0) {
      throw new Error(
        "Cannot connect to Kafka as 'brokers' must not be empty: current value is []",
      );
    }
    const transaction_timeout_ms = options.transaction_timeout_ms ?? 60000;
    if (
      !Number.isInteger(transaction_timeout_ms) || transaction_timeout_ms <= 0
    ) {
      throw new RangeError(
        `Cannot create a Kafka log as 'transaction_timeout_ms' must be a positive integer: current value is ${transaction_timeout_ms}`,
      );
    }
    const max_message_bytes = options.max_message_bytes;
    if (
      max_message_bytes !== undefined &&
      (!Number.isSafeInteger(max_message_bytes) ||
        max_message_bytes <= BATCH_OVERHEAD_BYTES)
    ) {
      throw new RangeError(
        `Cannot create a Kafka log as 'max_message_bytes' must be an integer above ${BATCH_OVERHEAD_BYTES}: current value is ${max_message_bytes}`,
      );
    }
    this.#options = options;
    registerCompressionCodecs();
    stopIdlePolling();
    fixReadCommitted();
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
    this.#transactional = new TransactionalProducers(this.#kafka, {
      retry: this.#retry,
      transaction_timeout_ms,
      awaitVisible: async (writes) =>
        awaitWritesVisible(
          await this.#adminClient(),
          writes,
          this.#options.txn_visible_wait_ms ?? 2000,
        ),
      maxMessageBytes: (topic) => this.#maxMessageBytes(topic),
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

  /**
   * Sends `messages` in requests under the topic's `max.message.bytes` (see
   * `batches.ts`), one after another, so their order holds. A message over
   * the limit on its own is refused with `MessageTooLargeError` before
   * anything is sent.
   */
  async produce(topic: string, messages: LogMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const runs = splitBySize(
      topic,
      messages,
      await this.#maxMessageBytes(topic),
    );
    const producer = await this.#plainProducer();
    for (const run of runs) {
      await producer.send({
        topic,
        messages: run.map(toKafkaMessage),
        acks: -1,
      });
    }
  }

  /**
   * The topic's `max.message.bytes` (the broker's `message.max.bytes` unless
   * the topic overrides it), asked once per topic; the option when given;
   * {@linkcode DEFAULT_MAX_MESSAGE_BYTES} when the broker does not answer.
   */
  #maxMessageBytes(topic: string): Promise<number> {
    const given = this.#options.max_message_bytes;
    if (given !== undefined) return Promise.resolve(given);
    let known = this.#max_message_bytes.get(topic);
    if (known === undefined) {
      known = this.#describeMaxMessageBytes(topic);
      this.#max_message_bytes.set(topic, known);
    }
    return known;
  }

  async #describeMaxMessageBytes(topic: string): Promise<number> {
    try {
      const admin = await this.#adminClient();
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configNames: ["max.message.bytes"],
        }],
      });
      const entry = resources[0]?.configEntries.find((e) =>
        e.configName === "max.message.bytes"
      );
      const bytes = Number(entry?.configValue);
      if (Number.isSafeInteger(bytes) && bytes > BATCH_OVERHEAD_BYTES) {
        return bytes;
      }
    } catch {
      // Not allowed to describe configs, or the topic is missing: asked again next time.
      this.#max_message_bytes.delete(topic);
    }
    return DEFAULT_MAX_MESSAGE_BYTES;
  }

  transaction(transactionalId: string): Promise<LogTransaction> {
    return this.#transactional.begin(transactionalId);
  }

  transactionalProducer(
    transactionalId: string,
  ): Promise<TransactionalProducer> {
    return this.#transactional.claim(transactionalId);
  }

  /**
   * Asks the cluster who its brokers are: an answer means a broker is
   * reachable and talks to us. (A probe of a topic would fail on a broker
   * that is up but new: `__consumer_offsets` exists only once a group has
   * used it.)
   */
  async ping(): Promise<void> {
    const admin = await this.#adminClient();
    await admin.describeCluster();
  }

  async endOffsets(topic: string): Promise<number[]> {
    const admin = await this.#adminClient();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .sort((a, b) => a.partition - b.partition)
      .map(({ offset }) => Number(offset));
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

  /**
   * Disconnects every client this log opened, consumers included. Open
   * transactions are left to the broker: the next `transaction(id)` or the
   * transaction timeout aborts them.
   */
  async close(): Promise<void> {
    const closing: Array<Promise<void>> = [];
    for (const consumer of this.#consumers) closing.push(consumer.close());
    this.#consumers.clear();
    closing.push(this.#transactional.close());
    if (this.#producer !== null) {
      closing.push(this.#producer.producer.disconnect());
    }
    if (this.#admin !== null) closing.push(this.#admin.admin.disconnect());
    this.#producer = null;
    this.#admin = null;
    await Promise.allSettled(closing);
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
}

function isAllAlreadyExists(error: unknown): boolean {
  const errors = (error as { errors?: unknown[] }).errors;
  return Array.isArray(errors) && errors.length > 0 &&
    errors.every((e) => kafkaErrorType(e) === "TOPIC_ALREADY_EXISTS");
}
