/**
 * The task runner: one per instance. It owns the partitions its consumer is
 * assigned (of every stage of its job), runs a processor per partition,
 * hands each batch's outputs to the stage's sinks, and checkpoints. The sink
 * interface and its protocols are described in `src/sinks/sink.ts`.
 *
 * Exactly once, for any mix of sinks:
 * - on assignment, the runner claims the partition in its checkpoint log
 *   (fencing older owners) and restores the newest committed checkpoint;
 *   then it opens every sink with the checkpoint's handle for it, and a sink
 *   that writes per batch tells how far its outputs already got;
 * - the input is replayed from the checkpoint; a sink's outputs for
 *   positions it already holds are dropped, so nothing is written twice
 *   (a batch straddling such a position is processed in two parts);
 * - at a checkpoint, after the partition's writes have landed, each sink
 *   prepares, the checkpoint commits, then each sink commits: a checkpoint
 *   never runs ahead of what the sinks hold, and what a sink makes visible
 *   at commit is covered by a durable checkpoint;
 * - a processing-time step (an idle partition's watermark advance, a
 *   processing-time timer) is taken only while the partition is caught up,
 *   and, when a sink writes per batch, right after a checkpoint that records
 *   it: a restore takes exactly that step again, so its outputs are the
 *   same (see `sink.ts` for the positions of such steps).
 *
 * Writes overlap processing: a partition's batch is written while the
 * runner polls and processes the next one, and that next batch's writes
 * wait for it, so each partition has at most one write in flight and its
 * writes land in order. A write that fails for good stops the runner (its
 * state is ahead of the sinks); the instance restarts from checkpoints. A
 * `FencedError` drops the partition only: a newer owner has it.
 *
 * @module
 */

import {
  type Clock,
  FencedError,
  type KeyValue,
  type Log,
  type LogConsumer,
  type LogRecord,
  type ObjectStore,
  type TopicPartition,
  type Warehouse,
} from "../ports.ts";
import type {
  CheckpointLog,
  CheckpointStore,
  PartitionCheckpoint,
  PartitionClaim,
} from "./checkpoint.ts";
import {
  addCounts,
  type Counts,
  type Job,
  Outputs,
  type PartitionProcessor,
  type Stage,
  zeroCounts,
} from "./job.ts";
import type { Sink, SinkPorts, SinkWriter } from "../sinks/sink.ts";

export { FencedError } from "../ports.ts";

/** Steps after one record that positions can tell apart (see `sink.ts`). */
export const TICKS_PER_POSITION = 65_536;

/** Position of the `k`-th processing-time step after offset `last`. */
export function tickPosition(last: number, k: number): number {
  return last + k / TICKS_PER_POSITION;
}

/** Something the runner did, for logs, metrics and tests. */
export type RunnerEvent =
  | {
    type: "assigned";
    topic: string;
    partition: number;
    position: number;
    epoch: number;
    /** The smallest position a sink already holds outputs through. */
    muted_through: number;
    restored: boolean;
  }
  | { type: "revoked"; topic: string; partition: number }
  | {
    type: "checkpoint";
    topic: string;
    partition: number;
    position: number;
    duration_ms: number;
  }
  | { type: "tick"; topic: string; partition: number; now_ms: number }
  | { type: "retry"; attempt: number; error: string }
  | { type: "fenced"; topic: string; partition: number; epoch: number };

/** What the runner knows of a partition it owns (for metrics and the API). */
export interface PartitionStatus {
  /** The stage's input topic. */
  topic: string;
  /** The partition of `topic`. */
  partition: number;
  /** Next input offset to handle. */
  position: number;
  /** This instance's claim epoch: a larger one elsewhere means this owner is fenced. */
  epoch: number;
  /** Where the partition's records went, over its whole history (counts are checkpointed with the state). */
  counts: Counts;
  /** The processor's watermark, when it tells; null before any event. */
  watermark_ms: number | null;
  /** Processing time of the last committed checkpoint (or of the assignment). */
  last_checkpoint_ms: number;
  /** How long the last checkpoint took, null before the first. */
  last_checkpoint_duration_ms: number | null;
  /** Checkpoints this instance committed since it took the partition. */
  checkpoints: number;
}

/** Options of {@linkcode Runner}. */
export interface RunnerOptions {
  /** The job to run: its stages, processors and sinks. */
  job: Job;
  /** The log (Kafka) the stages read, and the Kafka sinks write. */
  log: Log;
  /** For key-value sinks. */
  kv?: KeyValue;
  /** For sinks writing objects (S3 files). */
  objects?: ObjectStore;
  /** For warehouse sinks. */
  warehouse?: Warehouse;
  /**
   * Where checkpoints are committed, unless a sink of the stage provides
   * the log (such a sink keeps its state objects here too).
   */
  checkpoints: CheckpointStore;
  /** Processing time: checkpoint intervals, idle advance, retry back-off. */
  clock: Clock;
  /** Consumer group. Default: `freshet-<job name>`. */
  group_id?: string;
  /**
   * Processing time between checkpoints of a partition. Default: the job's
   * `checkpoint_interval_ms`, else 10 000.
   */
  checkpoint_interval_ms?: number;
  /** Largest batch a poll hands out. Default: the log's. */
  max_batch_records?: number;
  /** Attempts for a failing write before the error is raised. Default: 8. */
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

interface Slot {
  sink: Sink<unknown>;
  writer: SinkWriter<unknown>;
  /** Replayed outputs for positions up to this one are dropped. */
  durable: number;
}

interface Task {
  key: string;
  stage: Stage;
  partition: number;
  processor: PartitionProcessor;
  claim: PartitionClaim;
  /** At-least-once sinks first, so they are written before the others. */
  slots: Slot[];
  /** Whether a sink writes per batch (ticks are then checkpointed first). */
  per_batch: boolean;
  /** Next offset to handle. */
  position: number;
  /** Processing-time steps taken since the record before `position`. */
  ticks: number;
  epoch: number;
  last_checkpoint_ms: number;
  last_checkpoint_duration_ms: number | null;
  checkpoints: number;
  /** Records or steps handled since the last checkpoint. */
  dirty: boolean;
  /** The partition's write in flight; it never rejects (see `flush_error`). */
  flushing: Promise<void> | null;
  /** Why the write in flight failed. */
  flush_error: unknown;
}

const END_OF_INPUT_TICK = TICKS_PER_POSITION - 1;

/** Runs one instance of a job. */
export class Runner {
  readonly #options: RunnerOptions;
  readonly #ports: SinkPorts;
  readonly #tasks = new Map<string, Task>();
  readonly #interval_ms: number;
  readonly #emit: (event: RunnerEvent) => void;
  #consumer: LogConsumer | null = null;
  #checkpoints_taken = 0;
  /** The error that left processor state ahead of the sinks, if any. */
  #failed: unknown = undefined;

  /**
   * Checks the options and does nothing else: {@linkcode Runner.start}
   * joins the consumer group. Throws a `RangeError` for a negative
   * checkpoint interval or stages that do not read distinct topics.
   */
  constructor(options: RunnerOptions) {
    const interval = options.checkpoint_interval_ms ??
      options.job.checkpoint_interval_ms ?? 10_000;
    if (!(interval >= 0)) {
      throw new RangeError(
        `Cannot run job as 'checkpoint_interval_ms' must be a non-negative duration: current value is ${interval}`,
      );
    }
    const topics = options.job.stages.map((s) => s.topic);
    if (new Set(topics).size !== topics.length || topics.length === 0) {
      throw new RangeError(
        `Cannot run job '${options.job.name}' as its stages must read distinct topics: current topics are ${
          JSON.stringify(topics)
        }`,
      );
    }
    this.#options = options;
    this.#ports = {
      log: options.log,
      kv: options.kv,
      objects: options.objects,
      warehouse: options.warehouse,
      clock: options.clock,
    };
    this.#interval_ms = interval;
    this.#emit = options.onEvent ?? (() => {});
  }

  /** Joins the consumer group. Partitions arrive through the assign hook. */
  start(): void {
    const { job, log } = this.#options;
    this.#consumer = log.consumer({
      groupId: this.#groupId(),
      topics: job.stages.map((s) => s.topic),
      maxBatchRecords: this.#options.max_batch_records,
      hooks: {
        onAssign: (partitions) => this.#assign(partitions),
        onRevoke: (partitions) => this.#revoke(partitions),
      },
    });
  }

  /** Partitions of the job's input topic this instance owns now, ascending. */
  partitions(): number[] {
    const topic = this.#options.job.topic;
    return [...this.#tasks.values()]
      .filter((t) => t.stage.topic === topic)
      .map((t) => t.partition)
      .sort((a, b) => a - b);
  }

  /** Every (topic, partition) this instance owns now. */
  assignment(): TopicPartition[] {
    return this.#sortedTasks().map((t) => ({
      topic: t.stage.topic,
      partition: t.partition,
    }));
  }

  /** Checkpoints written by this instance. */
  checkpointsTaken(): number {
    return this.#checkpoints_taken;
  }

  /** Where the records of the partitions this instance owns went, all stages. */
  counts(): Counts {
    const total = zeroCounts();
    for (const task of this.#tasks.values()) {
      addCounts(total, task.processor.counts());
    }
    return total;
  }

  /** Counts per stage topic, of the partitions this instance owns. */
  countsByTopic(): Map<string, Counts> {
    const byTopic = new Map<string, Counts>();
    for (const task of this.#sortedTasks()) {
      let counts = byTopic.get(task.stage.topic);
      if (counts === undefined) {
        byTopic.set(task.stage.topic, counts = zeroCounts());
      }
      addCounts(counts, task.processor.counts());
    }
    return byTopic;
  }

  /** Every partition this instance owns, by topic then partition. */
  status(): PartitionStatus[] {
    return this.#sortedTasks().map((task) => {
      const watermark = task.processor.watermark?.();
      return {
        topic: task.stage.topic,
        partition: task.partition,
        position: task.position,
        epoch: task.epoch,
        counts: task.processor.counts(),
        watermark_ms: watermark !== undefined && Number.isFinite(watermark)
          ? watermark
          : null,
        last_checkpoint_ms: task.last_checkpoint_ms,
        last_checkpoint_duration_ms: task.last_checkpoint_duration_ms,
        checkpoints: task.checkpoints,
      };
    });
  }

  /**
   * The processor state of a partition this instance owns (its snapshot, as
   * a checkpoint would store it), or undefined: for inspection and tests.
   */
  state(topic: string, partition: number): unknown {
    return this.#tasks.get(taskKey(topic, partition))?.processor.snapshot();
  }

  /** The earliest processing time a partition's processing-time step is due, if any. */
  nextTickDue(): number | undefined {
    let earliest: number | undefined;
    for (const task of this.#tasks.values()) {
      const due = task.processor.nextTick?.();
      if (due !== undefined && (earliest === undefined || due < earliest)) {
        earliest = due;
      }
    }
    return earliest;
  }

  /**
   * Polls one batch and handles it. Answers false when no batch was ready;
   * then partitions due for a checkpoint are checkpointed. Processing-time
   * steps that are due are taken either way.
   */
  async step(): Promise<boolean> {
    this.#requireHealthy("step");
    const consumer = this.#requireConsumer();
    const batch = await consumer.poll();
    if (batch === null) {
      await this.#ticksDue();
      await this.#checkpointDue();
      return false;
    }
    const task = this.#tasks.get(taskKey(batch.topic, batch.partition));
    if (task !== undefined) {
      const fresh = batch.records.filter((r) => r.offset >= task.position);
      if (fresh.length > 0) {
        await this.#handle(task, fresh);
        if (
          this.#options.clock.now() - task.last_checkpoint_ms >=
            this.#interval_ms
        ) {
          await this.#checkpoint(task);
        }
      }
    }
    await this.#ticksDue();
    return true;
  }

  /**
   * The input has ended (bounded replays): every open window of every owned
   * partition fires, is written, and the partition is checkpointed. With
   * `stage`, only the partitions of that stage (by index in the job's
   * stages): a stage reading a repartition must first read what the stages
   * before it wrote when they finished.
   */
  async finish(stage?: number): Promise<void> {
    this.#requireHealthy("finish");
    const topic = stage === undefined
      ? undefined
      : this.#options.job.stages[stage]?.topic;
    for (const task of this.#sortedTasks()) {
      if (topic !== undefined && task.stage.topic !== topic) continue;
      if (!await this.#settle(task)) continue;
      const out = new Outputs();
      task.processor.endOfInput({ now_ms: this.#options.clock.now(), out });
      this.#write(
        task,
        out,
        tickPosition(task.position - 1, END_OF_INPUT_TICK),
        true,
      );
      task.dirty = true;
      // A newer owner that fenced this one finishes the partition.
      await this.#checkpoint(task);
    }
  }

  /**
   * Checkpoints every owned partition, closes the sinks and leaves the
   * group. After a failed write nothing is checkpointed: the next owners
   * restore the last checkpoints.
   */
  async close(): Promise<void> {
    try {
      if (this.#failed === undefined) {
        for (const task of this.#sortedTasks()) await this.#checkpoint(task);
      }
    } finally {
      // Whatever happened, leave the group so the partitions move on.
      for (const task of this.#tasks.values()) {
        await task.flushing;
        await this.#closeWriters(task);
      }
      this.#tasks.clear();
      await this.#consumer?.close();
      this.#consumer = null;
    }
  }

  #groupId(): string {
    return this.#options.group_id ?? `freshet-${this.#options.job.name}`;
  }

  /**
   * A write failed for good after the processor had taken the batch: its
   * state is ahead of the sinks, so it must never be checkpointed or used
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
    return [...this.#tasks.values()].sort((a, b) =>
      a.stage.topic < b.stage.topic
        ? -1
        : a.stage.topic > b.stage.topic
        ? 1
        : a.partition - b.partition
    );
  }

  async #handle(task: Task, records: LogRecord[]): Promise<void> {
    const now_ms = this.#options.clock.now();
    const first = records[0]!.offset;
    const last = records[records.length - 1]!.offset;
    // Cut where a sink stops holding outputs, so that each part's outputs
    // are all kept or all dropped per sink.
    const cuts = [
      ...new Set(
        task.slots.map((s) => s.durable).filter((d) => d >= first && d < last),
      ),
    ].sort((a, b) => a - b);
    let from = 0;
    for (const cut of [...cuts, last]) {
      let to = from;
      while (to < records.length && records[to]!.offset <= cut) to++;
      if (to === from) continue;
      const part = from === 0 && to === records.length
        ? records
        : records.slice(from, to);
      const out = new Outputs();
      task.processor.process(part, { now_ms, out });
      // The previous write of the partition first: writes land in order.
      if (await this.#settle(task)) {
        this.#write(task, out, part[part.length - 1]!.offset);
      }
      from = to;
    }
    task.position = last + 1;
    task.ticks = 0;
    task.dirty = true;
  }

  /** Starts a partition's write; it runs while the runner goes on. */
  #write(
    task: Task,
    out: Outputs,
    position: number,
    end_of_input = false,
  ): void {
    const writes: Array<() => Promise<void>> = [];
    for (const slot of task.slots) {
      if (position <= slot.durable) continue;
      const { sink, writer } = slot;
      const buffer = out.peek(sink);
      if (buffer !== undefined && !sink.isEmpty(buffer)) {
        writes.push(() => writer.write(buffer, position));
      }
      if (end_of_input && writer.endOfInput !== undefined) {
        writes.push(() => writer.endOfInput!(position));
      }
    }
    if (writes.length === 0) return;
    task.flushing = (async () => {
      for (const write of writes) await this.#retry(write);
    })().then(
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
    if (error === undefined) return this.#tasks.get(task.key) === task;
    if (error instanceof FencedError) {
      await this.#drop(task);
      return false;
    }
    throw this.#fail(error);
  }

  /** A newer owner fenced this one: let go of the partition. */
  async #drop(task: Task): Promise<void> {
    if (this.#tasks.get(task.key) !== task) return;
    this.#tasks.delete(task.key);
    this.#emit({
      type: "fenced",
      topic: task.stage.topic,
      partition: task.partition,
      epoch: task.epoch,
    });
    await this.#closeWriters(task);
  }

  async #closeWriters(task: Task): Promise<void> {
    for (const slot of task.slots) {
      await slot.writer.close().catch(() => {});
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
        if (
          attempt >= attempts || error instanceof FencedError ||
          !transient(error)
        ) throw error;
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

  /**
   * Checkpoints a partition once its write in flight has landed. With
   * `pending_tick_ms`, records a processing-time step about to be taken.
   */
  async #checkpoint(task: Task, pending_tick_ms?: number): Promise<boolean> {
    if (!await this.#settle(task)) return false;
    if (!task.dirty && pending_tick_ms === undefined) return true;
    const { job, clock } = this.#options;
    const started_ms = clock.now();
    try {
      const sinks: Record<string, unknown> = {};
      for (const slot of task.slots) {
        sinks[slot.sink.name] = await this.#retry(() =>
          slot.writer.prepare(task.position)
        );
      }
      const checkpoint: PartitionCheckpoint = {
        version: 2,
        job: job.name,
        topic: task.stage.topic,
        partition: task.partition,
        position: task.position,
        ticks: pending_tick_ms === undefined ? task.ticks : task.ticks + 1,
        pending_tick_ms: pending_tick_ms ?? null,
        epoch: task.epoch,
        state: task.processor.snapshot(),
        sinks,
      };
      await this.#retry(() => task.claim.commit(checkpoint));
      for (const slot of task.slots) {
        const handle = sinks[slot.sink.name];
        await this.#retry(() => slot.writer.commit(handle));
      }
    } catch (error) {
      if (error instanceof FencedError) {
        await this.#drop(task);
        return false;
      }
      throw this.#fail(error);
    }
    task.last_checkpoint_ms = clock.now();
    task.last_checkpoint_duration_ms = task.last_checkpoint_ms - started_ms;
    task.checkpoints++;
    task.dirty = false;
    this.#checkpoints_taken++;
    this.#emit({
      type: "checkpoint",
      topic: task.stage.topic,
      partition: task.partition,
      position: task.position,
      duration_ms: task.last_checkpoint_ms - started_ms,
    });
    return true;
  }

  /** Takes the processing-time steps that are due, on caught-up partitions. */
  async #ticksDue(): Promise<void> {
    const now = this.#options.clock.now();
    let any = false;
    for (const task of this.#tasks.values()) {
      const at = task.processor.nextTick?.();
      if (at !== undefined && at <= now) any = true;
    }
    if (!any) return;
    const due = this.#sortedTasks().filter((task) => {
      const at = task.processor.nextTick?.();
      return at !== undefined && at <= now &&
        task.ticks + 1 < END_OF_INPUT_TICK;
    });
    if (due.length === 0) return;
    const ends = new Map<string, number[]>();
    for (const task of due) {
      const topic = task.stage.topic;
      let end = ends.get(topic);
      if (end === undefined) {
        end = await this.#options.log.endOffsets(topic);
        ends.set(topic, end);
      }
      // Only a partition that has nothing left to read is idle: a record
      // already in the log must be handled before the step, in every run.
      if (task.position < (end[task.partition] ?? 0)) continue;
      if (this.#tasks.get(task.key) !== task) continue;
      await this.#tick(task, now);
    }
  }

  async #tick(task: Task, now_ms: number): Promise<void> {
    if (task.per_batch && !await this.#checkpoint(task, now_ms)) return;
    if (!await this.#settle(task)) return;
    this.#applyTick(task, now_ms, task.ticks + 1);
  }

  #applyTick(task: Task, now_ms: number, k: number): void {
    const out = new Outputs();
    task.processor.tick?.({ now_ms, out });
    task.ticks = k;
    task.dirty = true;
    this.#write(task, out, tickPosition(task.position - 1, k));
    this.#emit({
      type: "tick",
      topic: task.stage.topic,
      partition: task.partition,
      now_ms,
    });
  }

  #assign(partitions: TopicPartition[]): Promise<number[]> {
    // Partitions restore side by side; the hook answers once all have.
    return settleAll(partitions.map((tp) => this.#assignOne(tp)));
  }

  async #assignOne({ topic, partition }: TopicPartition): Promise<number> {
    const { job, clock } = this.#options;
    const stage = job.stages.find((s) => s.topic === topic);
    if (stage === undefined) {
      throw new Error(
        `Cannot assign partition of topic '${topic}' to job '${job.name}' as no stage reads it (stages read ${
          job.stages.map((s) => `'${s.topic}'`).join(", ")
        })`,
      );
    }
    const id = { job: job.name, topic, partition };
    const claim = await this.#retry(() => this.#logOf(stage).claim(id));
    const checkpoint = claim.checkpoint;
    const processor = stage.createProcessor(partition, {
      partitions: await this.#partitionCount(topic),
    });
    if (checkpoint !== null) processor.restore(checkpoint.state);
    const position = checkpoint?.position ?? 0;
    const ordered = [
      ...stage.sinks.filter((s) => s.protocol === "at-least-once"),
      ...stage.sinks.filter((s) => s.protocol !== "at-least-once"),
    ];
    const opened: Array<{ sink: Sink<unknown>; writer: SinkWriter<unknown> }> =
      [];
    for (const sink of ordered) {
      const writer = await this.#retry(() =>
        sink.open({
          job: job.name,
          topic,
          partition,
          epoch: claim.epoch,
          position,
          restored: checkpoint?.sinks[sink.name],
          claim,
          ports: this.#ports,
        })
      );
      opened.push({ sink, writer });
    }
    const slots = mutedThrough(opened, position);
    const task: Task = {
      key: taskKey(topic, partition),
      stage,
      partition,
      processor,
      claim,
      slots,
      per_batch: stage.sinks.some((s) => s.protocol === "per-batch"),
      position,
      ticks: checkpoint?.ticks ?? 0,
      epoch: claim.epoch,
      last_checkpoint_ms: clock.now(),
      last_checkpoint_duration_ms: null,
      checkpoints: 0,
      dirty: false,
      flushing: null,
      flush_error: undefined,
    };
    this.#tasks.set(task.key, task);
    this.#emit({
      type: "assigned",
      topic,
      partition,
      position,
      epoch: claim.epoch,
      muted_through: Math.min(...slots.map((s) => s.durable)),
      restored: checkpoint !== null,
    });
    // A step recorded before it was taken is taken again, identically.
    if (checkpoint?.pending_tick_ms != null) {
      this.#applyTick(task, checkpoint.pending_tick_ms, checkpoint.ticks);
    }
    return position;
  }

  readonly #partition_counts = new Map<string, Promise<number>>();

  #partitionCount(topic: string): Promise<number> {
    let count = this.#partition_counts.get(topic);
    if (count === undefined) {
      count = this.#retry(() => this.#options.log.partitionCount(topic));
      this.#partition_counts.set(topic, count);
      count.catch(() => this.#partition_counts.delete(topic));
    }
    return count;
  }

  #logOf(stage: Stage): CheckpointLog {
    for (const sink of stage.sinks) {
      const log = sink.checkpointLog?.({
        ports: this.#ports,
        group_id: this.#groupId(),
        store: this.#options.checkpoints,
      });
      if (log !== undefined) return log;
    }
    return this.#options.checkpoints;
  }

  async #revoke(partitions: TopicPartition[]): Promise<void> {
    for (const { topic, partition } of partitions) {
      const task = this.#tasks.get(taskKey(topic, partition));
      if (task === undefined) continue;
      if (this.#failed === undefined) await this.#checkpoint(task);
      else if (task.flushing !== null) await task.flushing;
      if (this.#tasks.get(task.key) === task) {
        this.#tasks.delete(task.key);
        await this.#closeWriters(task);
      }
      this.#emit({ type: "revoked", topic, partition });
    }
  }
}

function taskKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * How far each sink already holds outputs. Per-batch sinks say; others hold
 * nothing past the checkpoint; at-least-once sinks are muted only where
 * every per-batch sink is, so their messages reach the log before the
 * exactly-once writes of the same records.
 */
function mutedThrough(
  opened: Array<{ sink: Sink<unknown>; writer: SinkWriter<unknown> }>,
  position: number,
): Slot[] {
  const floor = position - 1;
  const per_batch = opened
    .filter(({ sink }) => sink.protocol === "per-batch")
    .map(({ writer }) => Math.max(floor, writer.durable_through ?? floor));
  const side = per_batch.length === 0 ? floor : Math.min(...per_batch);
  return opened.map(({ sink, writer }) => ({
    sink,
    writer,
    durable: sink.protocol === "per-batch"
      ? Math.max(floor, writer.durable_through ?? floor)
      : sink.protocol === "at-least-once"
      ? side
      : floor,
  }));
}

/**
 * Waits for every promise (none keeps running after the call returns), then
 * answers their values or rejects with the first error.
 */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
