/**
 * The sink interface the runner drives, as Flink's
 * `TwoPhaseCommitSinkFunction` and Arroyo's `TwoPhaseCommitter`: a sink says
 * how it becomes exactly once, the runner calls it at the right moments.
 *
 * For each input partition a task owns, the runner:
 * 1. claims the partition in its checkpoint log (a newer claim fences older
 *    owners) and reads the newest committed checkpoint;
 * 2. opens every sink with that checkpoint's handle for it (`open`); a sink
 *    that writes per batch answers `durable_through`: the input position up
 *    to which its outputs are already written (e.g. the offset stored in a
 *    Redis fence). The runner restores the processor's state and replays the
 *    input from the checkpoint, dropping each sink's outputs up to its
 *    `durable_through`;
 * 3. hands each batch's outputs to `write`, with the batch's last input
 *    position;
 * 4. at a checkpoint, calls `prepare` (answers the handle stored in the
 *    checkpoint, e.g. the staged files), commits the checkpoint, then calls
 *    `commit` with the handle (e.g. publishes the staged files);
 * 5. on revoke or close, calls `close`.
 *
 * A sink declares one of three protocols:
 * - `per-batch`: each write is durable and idempotent by position (the
 *   Redis fenced batch); before a processing-time step (idle advance,
 *   processing-time timers) the runner checkpoints, so a restore repeats the
 *   step exactly;
 * - `at-checkpoint`: outputs become visible only when a checkpoint commits
 *   (Kafka transactions, S3 two-phase files); nothing after the checkpoint is
 *   ever kept, so replays never need muting;
 * - `at-least-once`: written before the exactly-once sinks of the same
 *   batch, repeated by replays past them (side outputs: dead letters, late
 *   records), each message keyed so repeats can be dropped.
 *
 * A sink whose transaction is the checkpoint's commit point (Kafka) also
 * provides the checkpoint log (`checkpointLog`).
 *
 * Positions: an input record's position is its offset. A processing-time
 * step after record `n` and before `n + 1` has position `n + k / 65536`
 * (`k` = 1, 2, ... counts such steps after `n`); the end of a bounded input
 * has position `n + 65535 / 65536`. Positions only grow.
 *
 * @module
 */

import type { Clock, KeyValue, Log, ObjectStore, Warehouse } from "../ports.ts";
import type {
  CheckpointLog,
  CheckpointStore,
  PartitionClaim,
} from "../core/checkpoint.ts";

/** How a sink reaches its delivery guarantee; see the module documentation. */
export type SinkProtocol = "per-batch" | "at-checkpoint" | "at-least-once";

/** The services a runner offers to its sinks. */
export interface SinkPorts {
  /** The log (Kafka) the job reads; Kafka and side-topic sinks write to it. */
  log: Log;
  /** The key-value store (Redis) of Redis sinks; absent when the run has none. */
  kv?: KeyValue;
  /** Where output objects go (S3 file sinks). */
  objects?: ObjectStore;
  /** The warehouse (PostgreSQL) of sinks that load rows; absent when the run has none. */
  warehouse?: Warehouse;
  /** Processing time (wall clock in production, virtual in the simulator). */
  clock: Clock;
}

/** What a sink learns when a task takes an input partition. */
export interface SinkContext {
  /** The job's name (sinks build fence keys and transactional ids from it). */
  job: string;
  /** The input topic of the task (a job's stage reads one topic). */
  topic: string;
  /** The input partition the task took. */
  partition: number;
  /** This ownership's epoch, from the checkpoint log claim. */
  epoch: number;
  /** Next input offset after the restored checkpoint; 0 without one. */
  position: number;
  /** What this sink's `prepare` answered for the restored checkpoint, if any. */
  restored: unknown;
  /** The task's claim of the partition (the sink's own, if it provides the log). */
  claim: PartitionClaim;
  /** The services the runner was given. */
  ports: SinkPorts;
}

/** What a sink that provides the checkpoint log is given. */
export interface CheckpointLogContext {
  /** The services the runner was given. */
  ports: SinkPorts;
  /** The consumer group of the runner. */
  group_id: string;
  /** The runner's checkpoint store, for state objects kept beside it. */
  store: CheckpointStore;
}

/** A sink's writer for one input partition. */
export interface SinkWriter<B> {
  /**
   * Per-batch sinks: input positions up to this one already reached the
   * sink; replayed outputs up to here are dropped. Others: undefined.
   */
  readonly durable_through?: number;
  /** Writes one batch of outputs; `position` is the batch's last input position. */
  write(batch: B, position: number): Promise<void>;
  /**
   * Optional: the bounded input of the partition ended at `position` (the
   * end-of-input tick), after whatever was written there, even when nothing
   * was. Called again on a retry, so it must be idempotent; a file sink
   * finishes its open files here.
   */
  endOfInput?(position: number): Promise<void>;
  /**
   * At a checkpoint (the task's writes have landed): make what was written
   * ready to commit; answers this sink's handle, stored in the checkpoint
   * (JSON-compatible).
   */
  prepare(position: number): Promise<unknown>;
  /** After the checkpoint holding `handle` is durable. */
  commit(handle: unknown): Promise<void>;
  /** The task lets go of the partition (revoke, close, or a failure). */
  close(): Promise<void>;
}

/** What the runner needs to claim a partition of a job's stage. */
export interface PartitionId {
  /** The job's name. */
  job: string;
  /** The stage's input topic. */
  topic: string;
  /** The partition of `topic`. */
  partition: number;
}

/**
 * A named output of a job. `B` is the per-batch buffer a job writes into
 * (e.g. key-value ops, messages); the sink turns it into writes.
 */
export interface Sink<B> {
  /** Unique within a job: it keys the sink's handle in checkpoints. */
  readonly name: string;
  /** How its outputs become exactly once (or at least once): how the runner drives it. */
  readonly protocol: SinkProtocol;
  /** Topics the sink writes to, created with the job's input partition count when missing. */
  readonly topics?: readonly string[];
  /** A fresh, empty buffer for one batch. */
  buffer(): B;
  /** Whether a buffer holds nothing to write (the write is skipped). */
  isEmpty(buffer: B): boolean;
  /** A writer for one input partition; see the module documentation. */
  open(context: SinkContext): Promise<SinkWriter<B>>;
  /**
   * Provided by the sink whose transaction commits checkpoints (at most one
   * per stage); otherwise the runner's own checkpoint store is the log.
   */
  checkpointLog?(context: CheckpointLogContext): CheckpointLog;
}

/** The sink named `name` needs `port`, which the runner was not given. */
export function missingPort(sink: string, port: string): Error {
  return new Error(
    `Cannot open sink '${sink}' as it needs the '${port}' port: give the runner one`,
  );
}
