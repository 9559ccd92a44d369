/**
 * The task runner: one per instance. It owns the partitions its consumer is
 * assigned, runs a processor per partition, flushes each batch's writes to the
 * sinks, and checkpoints.
 *
 * Exactly-once, for a fenced key-value sink:
 * - on assignment, the runner restores the newest complete checkpoint and
 *   claims the partition's fence, which bumps its epoch (older writers are
 *   answered `fenced` from then on) and tells how far the sink already got;
 * - records between the checkpoint and the fence are replayed to rebuild
 *   state, with their writes discarded: the sink already holds them;
 * - every later batch is written as one fenced batch carrying its last
 *   offset, so a batch applied before a crash is never applied twice;
 * - a checkpoint is written only after its batch was flushed, so a
 *   checkpoint never runs ahead of the sink.
 *
 * Writes overlap processing: a partition's fenced batch is sent while the
 * runner polls and processes the next batch, and that next batch's writes
 * wait for it, so each partition has at most one write in flight and its
 * writes land in offset order. A write that fails for good stops the runner
 * (its state is ahead of the sink); the instance restarts from checkpoints.
 *
 * Side outputs (dead letters, late records) are written at least once, before
 * the fenced batch, keyed by source position, so no record is lost and a
 * repeat carries the same key.
 *
 * @module
 */

import type {
  Clock,
  KeyValue,
  Log,
  LogConsumer,
  LogMessage,
  LogRecord,
  TopicPartition,
} from "../ports.ts";
import type { CheckpointStore } from "./checkpoint.ts";
import {
  addCounts,
  type Counts,
  emptyOutputs,
  type Job,
  type Outputs,
  type PartitionProcessor,
  zeroCounts,
} from "./job.ts";

/** A newer instance owns the partition: this one must stop writing to it. */
export class FencedError extends Error {
  constructor(job: string, partition: number, epoch: number) {
    super(
      `Cannot write for job '${job}' partition ${partition} as epoch ${epoch} was fenced by a newer owner`,
    );
    this.name = "FencedError";
  }
}

/** Something the runner did, for logs and tests. */
export type RunnerEvent =
  | {
    type: "assigned";
    partition: number;
    position: number;
    epoch: number;
    muted_through: number;
    restored: boolean;
  }
  | { type: "revoked"; partition: number }
  | { type: "checkpoint"; partition: number; position: number }
  | { type: "retry"; attempt: number; error: string }
  | { type: "fenced"; partition: number; epoch: number };

/** Options of {@linkcode Runner}. */
export interface RunnerOptions {
  job: Job;
  log: Log;
  kv: KeyValue;
  checkpoints: CheckpointStore;
  clock: Clock;
  /** Consumer group. Default: `freshet-<job name>`. */
  group_id?: string;
  /** Processing time between checkpoints of a partition. Default: 10 000. */
  checkpoint_interval_ms?: number;
  /** Largest batch a poll hands out. Default: the log's. */
  max_batch_records?: number;
  /** Attempts for a failing sink write before the error is raised. Default: 8. */
  retry_attempts?: number;
  /** First back-off between attempts, doubled each time. Default: 50. */
  retry_backoff_ms?: number;
  /**
   * Whether a failed write may be retried. Default: every error but a
   * {@linkcode FencedError}.
   */
  is_transient?: (error: unknown) => boolean;
  /** Called for every runner event. Default: ignore. */
  onEvent?: (event: RunnerEvent) => void;
}

interface Task {
  partition: number;
  processor: PartitionProcessor;
  /** Next offset to handle. */
  position: number;
  epoch: number;
  /** Input offsets up to this one already reached the key-value sink. */
  muted_through: number;
  fence_key: string;
  last_checkpoint_ms: number;
  /** Records handled since the last checkpoint. */
  dirty: boolean;
  /** The partition's write in flight; it never rejects (see `flush_error`). */
  flushing: Promise<void> | null;
  /** Why the write in flight failed. */
  flush_error: unknown;
}

/** Key of the fence of a job's input partition. */
export function fenceKey(
  job: string,
  topic: string,
  partition: number,
): string {
  return `freshet:fence:${job}:${topic}:${partition}`;
}

/** Runs one instance of a job. */
export class Runner {
  readonly #options: RunnerOptions;
  readonly #tasks = new Map<number, Task>();
  readonly #interval_ms: number;
  readonly #emit: (event: RunnerEvent) => void;
  #consumer: LogConsumer | null = null;
  #checkpoints_taken = 0;
  /** The error that left processor state ahead of the sink, if any. */
  #failed: unknown = undefined;

  constructor(options: RunnerOptions) {
    const interval = options.checkpoint_interval_ms ?? 10_000;
    if (!(interval >= 0)) {
      throw new RangeError(
        `Cannot run job as 'checkpoint_interval_ms' must be a non-negative duration: current value is ${interval}`,
      );
    }
    this.#options = options;
    this.#interval_ms = interval;
    this.#emit = options.onEvent ?? (() => {});
  }

  /** Joins the consumer group. Partitions arrive through the assign hook. */
  start(): void {
    const { job, log } = this.#options;
    this.#consumer = log.consumer({
      groupId: this.#options.group_id ?? `freshet-${job.name}`,
      topics: [job.topic],
      maxBatchRecords: this.#options.max_batch_records,
      hooks: {
        onAssign: (partitions) => this.#assign(partitions),
        onRevoke: (partitions) => this.#revoke(partitions),
      },
    });
  }

  /** Partitions this instance owns now, ascending. */
  partitions(): number[] {
    return [...this.#tasks.keys()].sort((a, b) => a - b);
  }

  /** Checkpoints written by this instance. */
  checkpointsTaken(): number {
    return this.#checkpoints_taken;
  }

  /** Where the records of the partitions this instance owns went. */
  counts(): Counts {
    const total = zeroCounts();
    for (const task of this.#tasks.values()) {
      addCounts(total, task.processor.counts());
    }
    return total;
  }

  /**
   * Polls one batch and handles it. Answers false when no batch was ready;
   * then partitions due for a checkpoint are checkpointed.
   */
  async step(): Promise<boolean> {
    this.#requireHealthy("step");
    const consumer = this.#requireConsumer();
    const batch = await consumer.poll();
    if (batch === null) {
      await this.#checkpointDue();
      return false;
    }
    const task = this.#tasks.get(batch.partition);
    if (task === undefined) return true;
    const fresh = batch.records.filter((r) => r.offset >= task.position);
    if (fresh.length === 0) return true;
    await this.#handle(task, fresh);
    if (
      this.#options.clock.now() - task.last_checkpoint_ms >= this.#interval_ms
    ) {
      await this.#checkpoint(task);
    }
    return true;
  }

  /**
   * The input has ended (bounded replays): every open window of every owned
   * partition fires, is flushed, and the partition is checkpointed.
   */
  async finish(): Promise<void> {
    this.#requireHealthy("finish");
    for (const task of this.#sortedTasks()) {
      if (!await this.#settle(task)) continue;
      const out = emptyOutputs();
      task.processor.endOfInput({ now_ms: this.#options.clock.now(), out });
      // Fenced half an offset past the last record: after it, before any next.
      const offset = task.position - 0.5;
      if (offset > task.muted_through) this.#write(task, out, offset);
      task.dirty = true;
      // A newer owner that fenced this one finishes the partition.
      await this.#checkpoint(task);
    }
  }

  /**
   * Checkpoints every owned partition and leaves the group. After a failed
   * write nothing is checkpointed: the next owners restore the last
   * checkpoints.
   */
  async close(): Promise<void> {
    try {
      if (this.#failed === undefined) {
        for (const task of this.#sortedTasks()) await this.#checkpoint(task);
      }
    } finally {
      // Whatever happened, leave the group so the partitions move on.
      for (const task of this.#tasks.values()) await task.flushing;
      this.#tasks.clear();
      await this.#consumer?.close();
      this.#consumer = null;
    }
  }

  /**
   * A write failed for good after the processor had taken the batch: its
   * state is ahead of the sink, so it must never be checkpointed or used
   * again. The instance has to restart from its checkpoints, as a Flink task
   * does after a failure.
   */
  #fail(error: unknown): unknown {
    this.#failed ??= error;
    return error;
  }

  #requireHealthy(action: string): void {
    if (this.#failed === undefined) return;
    // The original error first, so callers see what failed (a crash, an outage).
    if (this.#failed instanceof Error) throw this.#failed;
    throw new Error(
      `Cannot ${action} the runner as a write failed earlier (${
        String(this.#failed)
      }): restart the instance from its checkpoints`,
    );
  }

  #requireConsumer(): LogConsumer {
    if (this.#consumer === null) {
      throw new Error(
        "Cannot step the runner as it was not started: call start() first",
      );
    }
    return this.#consumer;
  }

  #sortedTasks(): Task[] {
    return this.partitions().map((p) => this.#tasks.get(p)!);
  }

  async #handle(task: Task, records: LogRecord[]): Promise<void> {
    const now_ms = this.#options.clock.now();
    let split = 0;
    while (
      split < records.length && records[split]!.offset <= task.muted_through
    ) split++;
    if (split > 0) {
      // Already in the sink: replay for state only.
      const replayed = split === records.length
        ? records
        : records.slice(0, split);
      task.processor.process(replayed, { now_ms, out: emptyOutputs() });
    }
    if (split < records.length) {
      const live = split === 0 ? records : records.slice(split);
      const out = emptyOutputs();
      task.processor.process(live, { now_ms, out });
      // The previous write of the partition first: writes land in order.
      if (await this.#settle(task)) {
        this.#write(task, out, live[live.length - 1]!.offset);
      }
    }
    task.position = records[records.length - 1]!.offset + 1;
    task.dirty = true;
  }

  /** Starts a partition's write; it runs while the runner goes on. */
  #write(task: Task, out: Outputs, offset: number): void {
    task.flushing = this.#flush(task, out, offset).then(
      () => {},
      (error) => {
        task.flush_error = error;
      },
    );
  }

  /**
   * Waits for the partition's write in flight. Answers false when a newer
   * owner fenced this instance out (the partition is dropped); throws, and
   * stops the runner, when the write failed for good.
   */
  async #settle(task: Task): Promise<boolean> {
    if (task.flushing !== null) await task.flushing;
    task.flushing = null;
    const error = task.flush_error;
    task.flush_error = undefined;
    if (error === undefined) return this.#tasks.get(task.partition) === task;
    if (error instanceof FencedError) {
      this.#tasks.delete(task.partition);
      return false;
    }
    throw this.#fail(error);
  }

  async #flush(task: Task, out: Outputs, offset: number): Promise<void> {
    const { job, kv, log } = this.#options;
    if (out.messages.length > 0) {
      const byTopic = new Map<string, LogMessage[]>();
      for (const { topic, message } of out.messages) {
        let list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, list = []);
        list.push(message);
      }
      for (const [topic, messages] of byTopic) {
        await this.#retry(() => log.produce(topic, messages));
      }
    }
    if (out.kv.length === 0) return;
    const fence = { key: task.fence_key, epoch: task.epoch, offset };
    const result = await this.#retry(() => kv.applyFenced(fence, out.kv));
    if (result === "fenced") {
      this.#emit({
        type: "fenced",
        partition: task.partition,
        epoch: task.epoch,
      });
      throw new FencedError(job.name, task.partition, task.epoch);
    }
  }

  async #retry<T>(write: () => Promise<T>): Promise<T> {
    const attempts = this.#options.retry_attempts ?? 8;
    let backoff_ms = this.#options.retry_backoff_ms ?? 50;
    for (let attempt = 1;; attempt++) {
      try {
        return await write();
      } catch (error) {
        const transient = this.#options.is_transient ??
          ((e) => !(e instanceof FencedError));
        if (attempt >= attempts || !transient(error)) throw error;
        this.#emit({ type: "retry", attempt, error: String(error) });
        await this.#options.clock.sleep(backoff_ms);
        backoff_ms *= 2;
      }
    }
  }

  async #checkpointDue(): Promise<void> {
    const now = this.#options.clock.now();
    for (const task of this.#sortedTasks()) {
      if (task.dirty && now - task.last_checkpoint_ms >= this.#interval_ms) {
        await this.#checkpoint(task);
      }
    }
  }

  /** Checkpoints a partition once its write in flight has landed. */
  async #checkpoint(task: Task): Promise<void> {
    if (!await this.#settle(task) || !task.dirty) return;
    const { job, checkpoints, clock } = this.#options;
    await this.#retry(() =>
      checkpoints.write({
        version: 1,
        job: job.name,
        topic: job.topic,
        partition: task.partition,
        position: task.position,
        epoch: task.epoch,
        state: task.processor.snapshot(),
        sinks: { kv: { fence_key: task.fence_key } },
      })
    );
    task.last_checkpoint_ms = clock.now();
    task.dirty = false;
    this.#checkpoints_taken++;
    this.#emit({
      type: "checkpoint",
      partition: task.partition,
      position: task.position,
    });
  }

  async #assign(partitions: TopicPartition[]): Promise<number[]> {
    const { job, kv, checkpoints, clock } = this.#options;
    const positions: number[] = [];
    for (const { topic, partition } of partitions) {
      if (topic !== job.topic) {
        throw new Error(
          `Cannot assign partition of topic '${topic}' to job '${job.name}' as it reads '${job.topic}'`,
        );
      }
      const checkpoint = await checkpoints.latest(job.name, topic, partition);
      const processor = job.createProcessor(partition);
      if (checkpoint !== null) processor.restore(checkpoint.state);
      const key = fenceKey(job.name, topic, partition);
      const fence = await this.#retry(() => kv.claimFence(key));
      const task: Task = {
        partition,
        processor,
        position: checkpoint?.position ?? 0,
        epoch: fence.epoch,
        muted_through: fence.offset,
        fence_key: key,
        last_checkpoint_ms: clock.now(),
        dirty: false,
        flushing: null,
        flush_error: undefined,
      };
      this.#tasks.set(partition, task);
      positions.push(task.position);
      this.#emit({
        type: "assigned",
        partition,
        position: task.position,
        epoch: task.epoch,
        muted_through: task.muted_through,
        restored: checkpoint !== null,
      });
    }
    return positions;
  }

  async #revoke(partitions: TopicPartition[]): Promise<void> {
    for (const { partition } of partitions) {
      const task = this.#tasks.get(partition);
      if (task === undefined) continue;
      if (this.#failed === undefined) await this.#checkpoint(task);
      else if (task.flushing !== null) await task.flushing;
      this.#tasks.delete(partition);
      this.#emit({ type: "revoked", partition });
    }
  }
}
