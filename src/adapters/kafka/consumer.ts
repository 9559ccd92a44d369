/**
 * A {@linkcode LogConsumer} on a kafkajs consumer group.
 *
 * kafkajs pushes batches into `eachBatch`; the runner pulls with `poll()`.
 * The bridge hands one batch at a time: `eachBatch` offers it and waits until
 * the runner comes back for the next one (or closes), and only then records
 * the new position and resolves the offset in kafkajs. So kafkajs never
 * fetches ahead of processing (backpressure) and no offset is resolved before
 * its records were handled.
 *
 * Ownership. kafkajs uses eager rebalancing and offers no revoke callback that
 * blocks the rebalance; it reports each new assignment with a `GROUP_JOIN`
 * event. The bridge stores it and applies it at the start of the next
 * `poll()`, in the runner's own flow, never concurrently with its processing:
 * `onRevoke` for partitions no longer assigned, then `onAssign` for new ones,
 * then a seek of each new partition to the offset `onAssign` answered.
 * Partitions kept across a rebalance keep their position, unless some
 * generation in between did not assign them to this member (or it rejoined
 * under a new member id): then they are revoked and assigned again, since
 * another member may have moved them on. A batch whose fetch did not start at
 * the expected position (kafkajs restarts from the group's committed offsets
 * after every rebalance) is dropped and the partition sought to the expected
 * position; kafkajs fetches from there. `close()` revokes everything still
 * owned before leaving the group.
 *
 * From the moment this member learns that the group is rebalancing (kafkajs's
 * `REBALANCING` event, or a heartbeat refused while the runner holds a batch)
 * until the new assignment arrives, `poll()` hands out nothing, and a batch
 * waiting in `eachBatch` is withdrawn so kafkajs can rejoin at once. Since the
 * group only completes a rebalance after every member rejoined, the next owner
 * of a partition cannot start before this member stopped handing it out. The
 * batch the runner holds at that moment may still be in processing while the
 * next owner restores the partition: sinks rely on their fences (epochs) for
 * that overlap, not on the order of the hooks.
 *
 * @module
 */

import type { Batch, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type {
  ConsumerHooks,
  LogBatch,
  LogConsumer,
  TopicPartition,
} from "../../ports.ts";
import { partitionId, Signal, toLogRecord } from "./common.ts";
import { isRebalanceError } from "./errors.ts";

/** Options of {@linkcode KafkaConsumer}; see also `ConsumerOptions` in ports. */
export interface KafkaConsumerOptions {
  groupId: string;
  topics: string[];
  hooks: ConsumerHooks;
  /**
   * Largest batch handed out by one poll. Large batches let sinks aggregate
   * (one Redis command per key and batch) and amortise round trips; kafkajs
   * fetches at most about 1 MB per partition anyway. Default: 5000.
   */
  maxBatchRecords?: number;
  /**
   * A member that sends no heartbeat for this long is removed from the group,
   * and its partitions go to the others. After a crash this is most of the
   * time until the partitions are consumed again (`BENCHMARKS.md`, restart to
   * resume), so the default is the smallest a broker accepts by default
   * (`group.min.session.timeout.ms`, 6 s). Default: 6000.
   */
  session_timeout_ms?: number;
  /** Time members get to rejoin during a rebalance. Default: 20000. */
  rebalance_timeout_ms?: number;
  /** Heartbeat period, also while the runner holds a batch. Default: 1000. */
  heartbeat_ms?: number;
  /** How long `poll()` waits for records before answering null. Default: 200. */
  poll_wait_ms?: number;
  /** Longest time a fetch waits at the broker for new records. Default: 200. */
  fetch_wait_ms?: number;
}

interface PartitionState {
  tp: TopicPartition;
  /** Next offset to hand out. */
  position: number;
}

interface Offer {
  batch: LogBatch;
  state: PartitionState;
  /** Position after the batch, recorded when the runner is done with it. */
  next_position: number;
  /** `true`: processed, `false`: dropped (revoked or closing). */
  release: (processed: boolean) => void;
}

/** Joins `groupId` and delivers batches of the partitions it is assigned. */
export class KafkaConsumer implements LogConsumer {
  readonly #consumer: Consumer;
  readonly #hooks: ConsumerHooks;
  readonly #maxBatchRecords: number;
  readonly #heartbeat_ms: number;
  readonly #poll_wait_ms: number;
  readonly #started: Promise<void>;
  readonly #changed = new Signal();
  /** Partitions whose `onAssign` finished, by `topic:partition`. */
  readonly #owned = new Map<string, PartitionState>();
  /** Latest assignment from the group, not yet applied by `poll()`. */
  #pendingAssignment: TopicPartition[] | null = null;
  /** Owned partitions some generation since the last apply did not assign here. */
  readonly #lost = new Set<string>();
  #memberId: string | null = null;
  #rebalancing = false;
  #offered: Offer | null = null;
  #delivered: Offer | null = null;
  #fatal: Error | null = null;
  #closing = false;

  constructor(kafka: Kafka, options: KafkaConsumerOptions) {
    this.#hooks = options.hooks;
    this.#maxBatchRecords = options.maxBatchRecords ?? 5000;
    if (!Number.isInteger(this.#maxBatchRecords) || this.#maxBatchRecords < 1) {
      throw new Error(
        `Cannot create consumer as 'maxBatchRecords' must be a positive integer: current value is ${this.#maxBatchRecords}`,
      );
    }
    this.#heartbeat_ms = options.heartbeat_ms ?? 1000;
    this.#poll_wait_ms = options.poll_wait_ms ?? 200;
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.session_timeout_ms ?? 6000,
      rebalanceTimeout: options.rebalance_timeout_ms ?? 20000,
      heartbeatInterval: this.#heartbeat_ms,
      maxWaitTimeInMs: options.fetch_wait_ms ?? 200,
      readUncommitted: false,
    });
    const { GROUP_JOIN, CRASH, REBALANCING } = this.#consumer.events;
    this.#consumer.on(REBALANCING, () => {
      this.#rebalancing = true;
    });
    this.#consumer.on(GROUP_JOIN, ({ payload }) => {
      const assignment: TopicPartition[] = [];
      for (
        const [topic, partitions] of Object.entries(payload.memberAssignment)
      ) {
        for (const partition of partitions) {
          assignment.push({ topic, partition });
        }
      }
      const ids = new Set(
        assignment.map(({ topic, partition }) => partitionId(topic, partition)),
      );
      const rejoined = this.#memberId !== null &&
        this.#memberId !== payload.memberId;
      for (const id of this.#owned.keys()) {
        if (rejoined || !ids.has(id)) this.#lost.add(id);
      }
      this.#memberId = payload.memberId;
      this.#pendingAssignment = assignment;
      this.#rebalancing = false;
      this.#changed.notify();
    });
    this.#consumer.on(CRASH, ({ payload }) => {
      // kafkajs restarts itself after retriable errors; anything else is fatal.
      if (!payload.restart && !this.#closing) {
        this.#fatal = payload.error;
        this.#changed.notify();
      }
    });
    this.#started = this.#start(options.topics);
    // poll() reports a failed start; this only keeps it from being unhandled.
    this.#started.catch(() => {});
  }

  async #start(topics: string[]): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics, fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  async poll(): Promise<LogBatch | null> {
    await this.#started;
    this.#finishDelivered(true);
    const deadline = Date.now() + this.#poll_wait_ms;
    while (true) {
      if (this.#fatal) throw this.#fatal;
      if (this.#closing) return null;
      if (this.#pendingAssignment !== null) await this.#applyAssignment();
      const offer = this.#rebalancing ? null : this.#offered;
      if (offer !== null) {
        this.#offered = null;
        const { topic, partition } = offer.batch;
        if (this.#owned.get(partitionId(topic, partition)) === offer.state) {
          this.#delivered = offer;
          return offer.batch;
        }
        offer.release(false);
        continue;
      }
      const left_ms = deadline - Date.now();
      if (left_ms <= 0) return null;
      await this.#changed.wait(left_ms);
    }
  }

  async commit(
    offsets: Array<TopicPartition & { offset: number }>,
  ): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.#consumer.commitOffsets(
        offsets.map(({ topic, partition, offset }) => ({
          topic,
          partition,
          offset: String(offset),
        })),
      );
    } catch (error) {
      // Informational only: a commit refused because the group moved on is harmless.
      if (!isRebalanceError(error)) throw error;
    }
  }

  /**
   * Revokes every owned partition (`onRevoke`), then leaves the group. The
   * batch handed out by the last poll counts as processed.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#finishDelivered(true);
    this.#closing = true;
    this.#offered?.release(false);
    this.#offered = null;
    this.#changed.notify();
    const owned = [...this.#owned.values()].map((state) => state.tp);
    this.#owned.clear();
    try {
      if (owned.length > 0) await this.#hooks.onRevoke(owned);
    } finally {
      await this.#started.catch(() => {});
      await this.#consumer.disconnect();
    }
  }

  /** Marks the batch handed out by the last poll as processed (or dropped). */
  #finishDelivered(processed: boolean): void {
    const delivered = this.#delivered;
    if (delivered === null) return;
    this.#delivered = null;
    if (processed) delivered.state.position = delivered.next_position;
    delivered.release(processed);
  }

  async #applyAssignment(): Promise<void> {
    const assignment = this.#pendingAssignment;
    if (assignment === null) return;
    this.#pendingAssignment = null;
    const next = new Set(
      assignment.map(({ topic, partition }) => partitionId(topic, partition)),
    );
    const revoked: TopicPartition[] = [];
    for (const [id, state] of this.#owned) {
      if (!next.has(id) || this.#lost.has(id)) {
        revoked.push(state.tp);
        this.#owned.delete(id);
      }
    }
    this.#lost.clear();
    const assigned = assignment.filter(({ topic, partition }) =>
      !this.#owned.has(partitionId(topic, partition))
    );
    if (revoked.length > 0) await this.#hooks.onRevoke(revoked);
    if (assigned.length > 0) {
      const offsets = await this.#hooks.onAssign(assigned);
      if (offsets.length !== assigned.length) {
        throw new Error(
          `Cannot assign partitions as onAssign must answer one offset per partition: expected ${assigned.length}, got ${offsets.length}`,
        );
      }
      assigned.forEach((tp, i) => {
        const offset = offsets[i]!;
        if (!Number.isSafeInteger(offset) || offset < 0) {
          throw new Error(
            `Cannot assign ${tp.topic}:${tp.partition} as onAssign must answer a non-negative offset: current value is ${offset}`,
          );
        }
        this.#owned.set(partitionId(tp.topic, tp.partition), {
          tp,
          position: offset,
        });
        this.#seek(tp, offset);
      });
    }
    // Batches held back in eachBatch wait for exactly this.
    this.#changed.notify();
  }

  #seek(tp: TopicPartition, offset: number): void {
    try {
      this.#consumer.seek({
        topic: tp.topic,
        partition: tp.partition,
        offset: String(offset),
      });
    } catch {
      // Before run() has set up the group; eachBatch seeks on its first batch.
    }
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isStale } = payload;
    const id = partitionId(batch.topic, batch.partition);
    let state = await this.#ownerOf(id, payload);
    if (state === null || isStale()) return;

    // kafkajs restarts from the group's committed offset after each rebalance.
    const fetched_offset = Number(
      (batch as Batch & { fetchedOffset: string }).fetchedOffset,
    );
    if (fetched_offset !== state.position) {
      this.#seek(state.tp, state.position);
      return;
    }

    const batch_end = Number(batch.lastOffset()) + 1;
    const messages = batch.messages.filter((m) =>
      Number(m.offset) >= state!.position
    );
    if (messages.length === 0) {
      // Only control records or aborted records: step over them.
      state.position = batch_end;
      payload.resolveOffset(batch.lastOffset());
      return;
    }
    for (
      let start = 0;
      start < messages.length;
      start += this.#maxBatchRecords
    ) {
      if (this.#closing || this.#owned.get(id) !== state) return;
      const chunk = messages.slice(start, start + this.#maxBatchRecords);
      const last = chunk[chunk.length - 1]!;
      const is_final = start + this.#maxBatchRecords >= messages.length;
      const processed = await this.#offer({
        batch: {
          topic: batch.topic,
          partition: batch.partition,
          records: chunk.map((m) =>
            toLogRecord(batch.topic, batch.partition, m)
          ),
        },
        state,
        next_position: is_final ? batch_end : Number(last.offset) + 1,
      }, payload);
      if (!processed) return;
      // Resolving the last record also steps over a trailing commit marker.
      payload.resolveOffset(last.offset);
      state = this.#owned.get(id) ?? state;
    }
    await payload.heartbeat();
  }

  /** Waits until `poll()` applied the assignment covering `id`; null if not ours. */
  async #ownerOf(
    id: string,
    payload: EachBatchPayload,
  ): Promise<PartitionState | null> {
    while (!this.#closing && payload.isRunning()) {
      if (this.#pendingAssignment === null) return this.#owned.get(id) ?? null;
      await this.#changed.wait(this.#heartbeat_ms);
      try {
        await payload.heartbeat();
      } catch (error) {
        if (isRebalanceError(error)) this.#rebalancing = true;
        throw error;
      }
    }
    return null;
  }

  /**
   * Hands `offer` to the runner; answers whether it was processed. Heartbeats
   * while waiting; when one is refused for a rebalance, withdraws the offer
   * (if the runner has not taken it) and throws, so kafkajs rejoins now.
   */
  async #offer(
    offer: Omit<Offer, "release">,
    payload: EachBatchPayload,
  ): Promise<boolean> {
    let processed: boolean | null = null;
    const entry: Offer = { ...offer, release: (p) => processed ??= p };
    this.#offered = entry;
    this.#changed.notify();
    while (processed === null) {
      await this.#released(entry, this.#heartbeat_ms);
      if (processed !== null) break;
      try {
        await payload.heartbeat();
      } catch (error) {
        if (!isRebalanceError(error)) continue;
        this.#rebalancing = true;
        // A batch the runner already holds keeps its place: the next poll
        // records its position.
        if (this.#offered === entry) this.#offered = null;
        throw error;
      }
    }
    return processed;
  }

  /** Resolves when `entry` is released or after `timeout_ms`. */
  #released(entry: Offer, timeout_ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = entry.release;
      const timer = setTimeout(() => {
        entry.release = release;
        resolve();
      }, timeout_ms);
      entry.release = (processed) => {
        clearTimeout(timer);
        entry.release = release;
        release(processed);
        resolve();
      };
    });
  }
}
