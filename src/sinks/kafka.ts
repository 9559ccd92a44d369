/**
 * The Kafka transactional sink: exactly once through one transaction per
 * input partition and checkpoint interval, the transaction being the only
 * commit point.
 *
 * Protocol (`at-checkpoint`; the sink provides the stage's checkpoint log):
 * - on taking an input partition, the log claims the transactional id
 *   `freshet-<job>-<topic>-<partition>` (a new producer: Kafka fences every
 *   older producer of the id and aborts its open transaction, or waits for a
 *   commit that already reached the coordinator), then reads the committed
 *   offset of the runner's consumer group for that partition: its metadata
 *   names the state object of the last committed checkpoint, which the
 *   runner restores before reading on from that offset;
 * - each batch's messages are produced into the open transaction (begun on
 *   the first write of an interval), invisible to read-committed readers;
 * - at a checkpoint the state is first written to an object of its own
 *   (never overwritten), then the next offset to read is sent with the
 *   transaction (`sendOffsets`, the state object's key as metadata), then
 *   the transaction commits: outputs, progress and state become visible
 *   together, or never;
 * - nothing is ever resumed: after a crash, whatever the dead owner had not
 *   committed is aborted by the claim and computed again from the last
 *   commit. A transaction that fails (an in-doubt commit, a failed produce)
 *   fails the task; the restart's claim settles its outcome.
 *
 * Messages are what `to(kafka, (x, out) => out.send(topic, key, value))`
 * gives. Read the outputs with `isolation.level=read_committed`.
 *
 * @module
 */

import type {
  LogMessage,
  LogTransaction,
  TransactionalProducer,
} from "../ports.ts";
import type {
  CheckpointId,
  CheckpointLog,
  CheckpointStore,
  PartitionCheckpoint,
  PartitionClaim,
} from "../core/checkpoint.ts";
import type {
  CheckpointLogContext,
  Sink,
  SinkContext,
  SinkWriter,
} from "./sink.ts";
import { keyPartition } from "./key_partition.ts";
import { utf8Length } from "../core/utf8.ts";

/**
 * Largest message the sink takes, key and value in UTF-8: what fits one
 * record batch under the Kafka adapter's default `max.message.bytes`
 * (1,000,000, a little under the broker's own 1,048,588) once the batch's
 * overhead (512) and the record's (40) are taken off. A larger message could
 * never be produced: its transaction would fail on every restart. So
 * {@linkcode TopicMessages.send} refuses it at once, and the step that sent
 * it dead-letters its input with the reason, like any failure of a step.
 */
export const MAX_TOPIC_MESSAGE_BYTES = 999_448;

/** Messages of one batch, by topic. */
export class TopicMessages {
  /** Messages by topic, each topic's in the order sent (Kafka keeps that order per partition). */
  readonly byTopic: Map<string, LogMessage[]> = new Map();
  /** Messages for every partition of their topic, written after the others. */
  readonly broadcasts: Array<{ topic: string; key: string; value: string }> =
    [];

  /** Adds a message to every partition of `topic` (watermark markers). */
  broadcast(topic: string, key: string, value: string): void {
    this.broadcasts.push({ topic, key, value });
  }

  /**
   * Adds a message; without `partition`, Kafka picks one from the key.
   * Throws a RangeError for a message over {@linkcode MAX_TOPIC_MESSAGE_BYTES}.
   */
  send(
    topic: string,
    key: string | null,
    value: string,
    partition?: number,
  ): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8: most messages are
    // known to fit without being measured.
    if (((key?.length ?? 0) + value.length) * 3 > MAX_TOPIC_MESSAGE_BYTES) {
      const bytes = utf8Length(key ?? "") + utf8Length(value);
      if (bytes > MAX_TOPIC_MESSAGE_BYTES) {
        throw new RangeError(
          `Cannot send to topic '${topic}' as a message must take at most ${MAX_TOPIC_MESSAGE_BYTES} bytes (key and value in UTF-8): this one takes ${bytes}`,
        );
      }
    }
    let list = this.byTopic.get(topic);
    if (list === undefined) this.byTopic.set(topic, list = []);
    list.push(
      partition === undefined ? { key, value } : { key, value, partition },
    );
  }

  /** Whether nothing was sent or broadcast (the sink then skips the batch). */
  isEmpty(): boolean {
    return this.byTopic.size === 0 && this.broadcasts.length === 0;
  }
}

/** Options of {@linkcode kafkaSink}. */
export interface KafkaSinkOptions {
  /** Unique within the job. Default: `"kafka"`. */
  name?: string;
  /** Topics the job writes to (created when missing). */
  topics: readonly string[];
  /**
   * Deliberately broken, for checker tests only: commits the outputs in one
   * transaction and the offsets and state in a second one, so a crash
   * between the two writes the outputs again. Default: false.
   */
  broken_commit?: boolean;
}

/** The state object's key travels as the committed offset's metadata. */
export interface CommitMetadata {
  v: 1;
  state_key: string;
  epoch: number;
}

const KAFKA_SINK: unique symbol = Symbol("freshet.kafkaSink");

/** Whether `sink` was made by {@linkcode kafkaSink}. */
export function isKafkaSink(sink: Sink<unknown>): boolean {
  return (sink as { [KAFKA_SINK]?: boolean })[KAFKA_SINK] === true;
}

/** The transactional id of a job's input partition. */
export function transactionalId(id: CheckpointId): string {
  return `freshet-${id.job}-${id.topic}-${id.partition}`;
}

/** A Kafka sink; see the module documentation. */
export function kafkaSink(options: KafkaSinkOptions): Sink<TopicMessages> {
  const name = options.name ?? "kafka";
  const claims = new WeakSet<KafkaClaim>();
  const sink: Sink<TopicMessages> & { [KAFKA_SINK]: true } = {
    [KAFKA_SINK]: true,
    name,
    protocol: "at-checkpoint",
    topics: options.topics,
    buffer: () => new TopicMessages(),
    isEmpty: (batch) => batch.isEmpty(),
    checkpointLog(context: CheckpointLogContext): CheckpointLog {
      return {
        async claim(id) {
          const claim = await KafkaClaim.open(
            id,
            context,
            options.broken_commit ?? false,
          );
          claims.add(claim);
          return claim;
        },
      };
    },
    open(context: SinkContext): Promise<SinkWriter<TopicMessages>> {
      const claim = context.claim;
      if (!(claim instanceof KafkaClaim) || !claims.has(claim)) {
        return Promise.reject(
          new Error(
            `Cannot open sink '${name}' as the partition was claimed by another checkpoint log: a Kafka sink commits the stage's checkpoints itself`,
          ),
        );
      }
      return Promise.resolve({
        write: (batch) => claim.produce(batch),
        prepare: () => Promise.resolve(null),
        commit: () => Promise.resolve(),
        close: () => claim.close(),
      });
    },
  };
  return sink;
}

/** A partition claimed through its transactional id. */
class KafkaClaim implements PartitionClaim {
  readonly epoch: number;
  readonly checkpoint: PartitionCheckpoint | null;
  readonly #id: CheckpointId;
  readonly #context: CheckpointLogContext;
  readonly #producer: TransactionalProducer;
  #open: LogTransaction | null = null;
  #commits = 0;
  /** Why a transaction call failed: the claim can do nothing more. */
  #broken: unknown = undefined;
  readonly #split_commit: boolean;

  private constructor(
    id: CheckpointId,
    context: CheckpointLogContext,
    producer: TransactionalProducer,
    epoch: number,
    checkpoint: PartitionCheckpoint | null,
    split_commit: boolean,
  ) {
    this.#split_commit = split_commit;
    this.#id = id;
    this.#context = context;
    this.#producer = producer;
    this.epoch = epoch;
    this.checkpoint = checkpoint;
  }

  /** Claims the id (fencing older owners), then reads the committed checkpoint. */
  static async open(
    id: CheckpointId,
    context: CheckpointLogContext,
    split_commit: boolean,
  ): Promise<KafkaClaim> {
    const { log } = context.ports;
    // First fence: a read before the claim could miss a commit in flight.
    const producer = await log.transactionalProducer(transactionalId(id));
    try {
      const committed = (await log.committedOffsets(context.group_id, id.topic))
        .find((c) => c.partition === id.partition);
      let checkpoint: PartitionCheckpoint | null = null;
      let epoch = 1;
      if (committed !== undefined && committed.offset >= 0) {
        const metadata = parseMetadata(committed.metadata, id);
        checkpoint = await context.store.readState(metadata.state_key);
        if (checkpoint.position !== committed.offset) {
          throw new Error(
            `Cannot restore ${
              transactionalId(id)
            } as its committed offset ${committed.offset} and its state object '${metadata.state_key}' (position ${checkpoint.position}) disagree`,
          );
        }
        epoch = metadata.epoch + 1;
      }
      return new KafkaClaim(
        id,
        context,
        producer,
        epoch,
        checkpoint,
        split_commit,
      );
    } catch (error) {
      await producer.close();
      throw error;
    }
  }

  /** Produces a batch into the interval's transaction. */
  produce(batch: TopicMessages): Promise<void> {
    return this.#guard(async () => {
      const txn = await this.#transaction();
      for (const [topic, messages] of batch.byTopic) {
        // Keyed messages get their partition here, by Kafka's own rule,
        // so production and the simulator's log agree (key_partition.ts).
        const partitions = await this.#partitions(topic);
        await txn.produce(
          topic,
          messages.map((m) =>
            m.partition !== undefined || m.key === null
              ? m
              : { ...m, partition: keyPartition(m.key, partitions) }
          ),
        );
      }
      // Broadcasts (watermark markers) follow the batch's messages: a marker
      // never overtakes an element sent before it.
      for (const { topic, key, value } of batch.broadcasts) {
        const partitions = await this.#partitions(topic);
        await txn.produce(
          topic,
          Array.from({ length: partitions }, (_, partition) => ({
            key,
            value,
            partition,
          })),
        );
      }
    });
  }

  /**
   * Runs a transaction call. A failure leaves the transaction unusable
   * (kafkajs cannot tell what reached the broker): every later call fails
   * with it as the cause, and the task restarts from the last commit.
   */
  async #guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.#broken !== undefined) {
      throw new Error(
        `Cannot use transaction of ${
          transactionalId(this.#id)
        } as an earlier call failed: the partition restarts from its last commit`,
        { cause: this.#broken },
      );
    }
    try {
      return await call();
    } catch (error) {
      this.#broken = error;
      throw error;
    }
  }

  readonly #partition_counts = new Map<string, number>();

  async #partitions(topic: string): Promise<number> {
    let n = this.#partition_counts.get(topic);
    if (n === undefined) {
      n = await this.#context.ports.log.partitionCount(topic);
      this.#partition_counts.set(topic, n);
    }
    return n;
  }

  /** State object, then offsets, then the commit: the one commit point. */
  commit(checkpoint: PartitionCheckpoint): Promise<void> {
    return this.#guard(() => this.#commit(checkpoint));
  }

  async #commit(checkpoint: PartitionCheckpoint): Promise<void> {
    const store = this.#context.store;
    const name = [
      pad(checkpoint.position),
      pad(this.epoch),
      pad(this.#commits++),
    ].join("-");
    const state_key = await store.putState(this.#id, "txn", name, {
      ...checkpoint,
      epoch: this.epoch,
    });
    const metadata: CommitMetadata = { v: 1, state_key, epoch: this.epoch };
    if (this.#split_commit && this.#open !== null) {
      // The broken variant: outputs become visible before their offsets.
      const outputs = this.#open;
      this.#open = null;
      await outputs.commit();
    }
    const txn = await this.#transaction();
    await txn.sendOffsets(this.#context.group_id, [{
      topic: this.#id.topic,
      partition: this.#id.partition,
      offset: checkpoint.position,
      metadata: JSON.stringify(metadata),
    }]);
    this.#open = null;
    await txn.commit();
    await this.#prune(store, state_key);
  }

  /** Lets go of the claim; an open transaction is aborted by the next claim. */
  async close(): Promise<void> {
    this.#open = null;
    await this.#producer.close();
  }

  async #transaction(): Promise<LogTransaction> {
    this.#open ??= await this.#producer.begin();
    return this.#open;
  }

  /**
   * Deletes this partition's state objects older than the one just
   * committed but the one before it (which a commit in doubt may name).
   */
  async #prune(store: CheckpointStore, committed: string): Promise<void> {
    const keys = await store.listStates(this.#id, "txn");
    const at = keys.indexOf(committed);
    for (const key of keys.slice(0, Math.max(0, at - 1))) {
      await store.deleteState(key);
    }
  }
}

/**
 * The checkpoint a committed offset's metadata names (`freshet inspect`
 * reads it too); throws when the metadata is not freshet's.
 */
export function parseMetadata(
  text: string | null,
  id: CheckpointId,
): CommitMetadata {
  let metadata: Partial<CommitMetadata> | null = null;
  try {
    metadata = JSON.parse(text ?? "null");
  } catch {
    // Reported below.
  }
  if (
    metadata === null || metadata.v !== 1 ||
    typeof metadata.state_key !== "string" ||
    !Number.isSafeInteger(metadata.epoch)
  ) {
    throw new Error(
      `Cannot restore ${
        transactionalId(id)
      } as its committed offset's metadata must name a state object: current value is ${
        JSON.stringify(text)
      } (was the group's offset committed by something other than freshet?)`,
    );
  }
  return metadata as CommitMetadata;
}

function pad(n: number): string {
  return String(n).padStart(16, "0");
}
