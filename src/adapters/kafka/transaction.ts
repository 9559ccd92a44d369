/**
 * A {@linkcode LogTransaction} on one kafkajs transaction.
 *
 * States and what each call does in them:
 *
 * | state     | produce / sendOffsets / commit   | abort                        |
 * |-----------|----------------------------------|------------------------------|
 * | open      | does it                          | aborts                       |
 * | failed    | throws (failed earlier)          | aborts, best effort          |
 * | in doubt  | throws (failed earlier)          | resolves, no effect          |
 * | fenced    | throws `FencedError`             | throws `FencedError`         |
 * | committed | throws (ended)                   | throws (ended)               |
 * | aborted   | throws (ended)                   | resolves, no effect          |
 *
 * - `failed`: a produce or sendOffsets failed (other than by fencing). kafkajs
 *   cannot tell what reached the broker (an idempotent producer's sequence
 *   numbers may be off), so the transaction only ends. If its abort fails too,
 *   the transaction stays open on the broker, holding back read_committed
 *   readers of its partitions, until the next `transaction(id)` aborts it (or
 *   the broker does, after `transaction_timeout_ms`).
 * - `in doubt`: commit failed (other than by fencing). EndTxn may have reached
 *   the coordinator or not, and kafkajs leaves the producer stuck in
 *   COMMITTING (tulios/kafkajs#1282), so it is discarded. The next
 *   `transaction(id)` settles the outcome: its InitProducerId waits until a
 *   commit that reached the coordinator is complete, or aborts the
 *   transaction otherwise. Read `committedOffsets` after it to learn which.
 * - `fenced`: a newer `transaction(id)` took over (in this process, or
 *   another: Kafka answers INVALID_PRODUCER_EPOCH). Nothing of this
 *   transaction becomes visible.
 *
 * Each transaction has a producer of its own (see `producers.ts`), which
 * is disconnected once the transaction can do nothing more.
 *
 * @module
 */

import type { Producer } from "kafkajs";
import type { LogMessage, LogTransaction, OffsetCommit } from "../../ports.ts";
import { toKafkaMessage } from "./common.ts";
import { splitBySize } from "./batches.ts";
import { fencedError, isConcurrentTransactions, isFencing } from "./errors.ts";
import {
  noWrites,
  type SentOffset,
  type TransactionWrites,
} from "./visibility.ts";

type KafkajsTransaction = Awaited<ReturnType<Producer["transaction"]>>;

/** A topic's offsets as kafkajs's TxnOffsetCommit request writes them. */
interface KafkajsTopicOffsets {
  topic: string;
  partitions: Array<
    { partition: number; offset: string; metadata: string | null }
  >;
}

/**
 * Longest offset metadata Kafka accepts by default, in UTF-16 code units:
 * the broker's `offset.metadata.max.bytes` (4096) is compared with the Java
 * string's `length()`, so 4096 three-byte characters pass and 4097 ASCII
 * characters do not (OFFSET_METADATA_TOO_LARGE; checked against Kafka 3.9).
 */
export const MAX_OFFSET_METADATA_LENGTH = 4096;

/** Retries of AddOffsetsToTxn refused with CONCURRENT_TRANSACTIONS. */
const CONCURRENT_RETRIES = 10;
const CONCURRENT_FIRST_DELAY_MS = 20;
const CONCURRENT_MAX_DELAY_MS = 500;

/** What a {@linkcode KafkaTransaction} tells the producer pool. */
export interface TransactionHooks {
  /**
   * The transaction can do nothing more. `reusable`: it committed, or
   * aborted without an earlier failure, so its producer may begin another
   * transaction; otherwise (fenced, failed, in doubt) it must be discarded.
   */
  onEnd(reusable: boolean): void;
  /** Waits until what a committed or aborted transaction wrote is readable. */
  awaitVisible(writes: TransactionWrites): Promise<void>;
  /** The topic's `max.message.bytes`, which each produce request stays under. */
  maxMessageBytes(topic: string): Promise<number>;
}

type State =
  | "open"
  | "failed"
  | "in doubt"
  | "fenced"
  | "committed"
  | "aborted";

/** A {@linkcode LogTransaction} on one kafkajs transaction (see the module doc). */
export class KafkaTransaction implements LogTransaction {
  readonly #id: string;
  readonly #transaction: KafkajsTransaction;
  readonly #hooks: TransactionHooks;
  readonly #writes: TransactionWrites = noWrites();
  #state: State = "open";
  #failure: Error | null = null;
  /** The call in flight, so a fencing can wait for it before disconnecting. */
  #inflight: Promise<unknown> = Promise.resolve();

  constructor(
    id: string,
    transaction: KafkajsTransaction,
    hooks: TransactionHooks,
  ) {
    this.#id = id;
    this.#transaction = transaction;
    this.#hooks = hooks;
  }

  /**
   * A newer transaction with the same id took over in this process: every
   * later call throws `FencedError`. Resolves once the call in
   * flight (if any) has settled, after which the producer may be
   * disconnected.
   */
  fence(): Promise<void> {
    if (this.#state === "open" || this.#state === "failed") {
      this.#state = "fenced";
    }
    return this.#inflight.then(() => {}, () => {});
  }

  produce(topic: string, messages: LogMessage[]): Promise<void> {
    return this.#run("produce in", async () => {
      if (messages.length === 0) return;
      // As the plain produce: requests under the topic's limit, in order.
      const runs = splitBySize(
        topic,
        messages,
        await this.#hooks.maxMessageBytes(topic),
      );
      for (const run of runs) {
        const written = await this.#transaction.send({
          topic,
          messages: run.map(toKafkaMessage),
          acks: -1,
        });
        for (const { topicName, partition, baseOffset } of written) {
          if (baseOffset === undefined) continue;
          const partitions = this.#writes.records.get(topicName) ??
            new Map<number, number>();
          if (!partitions.has(partition)) {
            partitions.set(partition, Number(baseOffset));
          }
          this.#writes.records.set(topicName, partitions);
        }
      }
    });
  }

  sendOffsets(groupId: string, offsets: OffsetCommit[]): Promise<void> {
    try {
      this.#checkUsable("send offsets in");
    } catch (error) {
      return Promise.reject(error);
    }
    let topics: KafkajsTopicOffsets[];
    try {
      topics = groupOffsets(this.#id, groupId, offsets);
    } catch (error) {
      // Checked before anything is sent: the transaction stays usable.
      return Promise.reject(error);
    }
    return this.#run("send offsets in", async () => {
      if (topics.length === 0) return;
      // kafkajs does not retry AddOffsetsToTxn on CONCURRENT_TRANSACTIONS
      // (tulios/kafkajs#430, #1068): the previous transaction's markers are
      // still being written. Both requests are idempotent within a
      // transaction, so sending again is safe.
      for (let attempt = 0;; attempt++) {
        try {
          await this.#transaction.sendOffsets({
            consumerGroupId: groupId,
            topics,
          });
          break;
        } catch (error) {
          if (
            !isConcurrentTransactions(error) || attempt >= CONCURRENT_RETRIES
          ) {
            throw error;
          }
          await sleep(
            Math.min(
              CONCURRENT_FIRST_DELAY_MS * 2 ** attempt,
              CONCURRENT_MAX_DELAY_MS,
            ),
          );
        }
      }
      const byTopic = this.#writes.offsets.get(groupId) ??
        new Map<string, Map<number, SentOffset>>();
      for (const { topic, partitions } of topics) {
        const sent = byTopic.get(topic) ?? new Map<number, SentOffset>();
        for (const { partition, offset, metadata } of partitions) {
          sent.set(partition, { offset: Number(offset), metadata });
        }
        byTopic.set(topic, sent);
      }
      this.#writes.offsets.set(groupId, byTopic);
    });
  }

  async commit(): Promise<void> {
    this.#checkUsable("commit");
    const call = this.#transaction.commit();
    this.#inflight = call;
    try {
      await call;
    } catch (error) {
      if (isFencing(error) || this.#fenced()) {
        this.#state = "fenced";
        this.#hooks.onEnd(false);
        throw fencedError(this.#id, "commit", error);
      }
      this.#state = "in doubt";
      this.#failure = asError(error);
      this.#hooks.onEnd(false);
      throw new Error(
        `Cannot tell whether transaction '${this.#id}' committed as its commit failed: the next transaction('${this.#id}') settles it (${this.#failure.message})`,
        { cause: error },
      );
    }
    // Committed, even if a newer transaction(id) marked it fenced meanwhile:
    // that one's InitProducerId waited for this commit to complete.
    this.#state = "committed";
    this.#hooks.onEnd(true);
    await this.#hooks.awaitVisible(this.#writes);
  }

  async abort(): Promise<void> {
    switch (this.#state) {
      case "fenced":
        throw fencedError(this.#id, "abort");
      case "committed":
        throw new Error(
          `Cannot abort transaction '${this.#id}' as it has committed`,
        );
      case "aborted":
      case "in doubt":
        return;
    }
    const call = this.#transaction.abort();
    this.#inflight = call;
    try {
      await call;
    } catch (error) {
      if (isFencing(error) || this.#fenced()) {
        this.#state = "fenced";
        this.#hooks.onEnd(false);
        throw fencedError(this.#id, "abort", error);
      }
      // Still open on the broker: the next transaction(id) aborts it.
      this.#state = "aborted";
      this.#hooks.onEnd(false);
      return;
    }
    this.#state = "aborted";
    // After a failed produce the producer's sequence numbers may be off.
    this.#hooks.onEnd(this.#failure === null);
    // Until its markers are written, an aborted transaction holds back
    // plain records produced after it.
    await this.#hooks.awaitVisible({
      records: this.#writes.records,
      offsets: new Map(),
    });
  }

  async #run(action: string, body: () => Promise<void>): Promise<void> {
    this.#checkUsable(action);
    const call = body();
    this.#inflight = call;
    try {
      await call;
    } catch (error) {
      if (isFencing(error) || this.#fenced()) {
        this.#state = "fenced";
        this.#hooks.onEnd(false);
        throw fencedError(this.#id, action, error);
      }
      this.#state = "failed";
      this.#failure = asError(error);
      throw error;
    }
  }

  /** Read through a method: a fencing can happen while a call is awaited. */
  #fenced(): boolean {
    return this.#state === "fenced";
  }

  #checkUsable(action: string): void {
    switch (this.#state) {
      case "open":
        return;
      case "fenced":
        throw fencedError(this.#id, action);
      case "failed":
      case "in doubt":
        throw new Error(
          `Cannot ${action} transaction '${this.#id}' as it failed earlier: ${this.#failure?.message}`,
          { cause: this.#failure },
        );
      default:
        throw new Error(
          `Cannot ${action} transaction '${this.#id}' as it must be open: current state is ${this.#state}`,
        );
    }
  }
}

/**
 * Checks `offsets` (nothing is sent when one is invalid) and groups them by
 * topic as kafkajs sends them. kafkajs's type omits `metadata`, but its
 * TxnOffsetCommit request writes it (v0 and v1: a nullable string per
 * partition).
 */
function groupOffsets(
  id: string,
  groupId: string,
  offsets: OffsetCommit[],
): KafkajsTopicOffsets[] {
  if (groupId === "") {
    throw new RangeError(
      `Cannot send offsets in transaction '${id}' as 'groupId' must not be empty`,
    );
  }
  const topics = new Map<string, KafkajsTopicOffsets["partitions"]>();
  for (const { topic, partition, offset, metadata } of offsets) {
    const where = `${topic}/${partition} for group '${groupId}'`;
    if (!Number.isInteger(partition) || partition < 0) {
      throw new RangeError(
        `Cannot commit an offset of ${where} as 'partition' must be a non-negative integer: current value is ${partition}`,
      );
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new RangeError(
        `Cannot commit an offset of ${where} as 'offset' must be a non-negative integer: current value is ${offset}`,
      );
    }
    if (
      metadata !== undefined && metadata !== null &&
      metadata.length > MAX_OFFSET_METADATA_LENGTH
    ) {
      throw new RangeError(
        `Cannot commit an offset of ${where} as 'metadata' must be at most ${MAX_OFFSET_METADATA_LENGTH} UTF-16 code units: current length is ${metadata.length}`,
      );
    }
    const partitions = topics.get(topic) ?? [];
    partitions.push({
      partition,
      offset: String(offset),
      metadata: metadata || null,
    });
    topics.set(topic, partitions);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
