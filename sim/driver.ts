/**
 * A test driver for any job, as Kafka Streams' `TopologyTestDriver`: one
 * instance of the real runner over the simulator's twins, driven step by
 * step. Pipe input (appended at the current processing time), move the
 * clock (idle partitions advance their watermark, processing-time timers
 * fire), end the input, crash and restart, and read what the job wrote and
 * the state it holds.
 *
 * @module
 */

import type { Counts, Job } from "../src/core/job.ts";
import { CheckpointStore } from "../src/core/checkpoint.ts";
import { Runner, type RunnerEvent } from "../src/core/runner.ts";
import type { JobOverrides, JobSpec } from "../src/flow/define.ts";
import type { Log, LogConsumer, LogRecord, Unreadable } from "../src/ports.ts";
import { VirtualClock } from "./clock.ts";
import { KvTwin } from "./kv.ts";
import { LogTwin } from "./log.ts";
import { ObjectsTwin } from "./objects.ts";

/** Options of {@linkcode JobDriver.open}. */
export interface JobDriverOptions {
  /** Partitions of the input topic. Default: the job's. */
  partitions?: number;
  /** Processing time the clock starts at. Default: 0. */
  start_ms?: number;
  /** Processing time between checkpoints. Default: 0 (after every batch). */
  checkpoint_interval_ms?: number;
  /** Largest batch a poll hands out. Default: 500. */
  max_batch_records?: number;
  /** Overrides of a {@linkcode JobSpec} (`--topic`, `--job-options`). */
  overrides?: JobOverrides;
  /** Called with every runner event. */
  onEvent?: (event: RunnerEvent) => void;
}

/**
 * One message to pipe: a payload, or a payload with its key, partition or
 * append time, or marked as not text (a tombstone, bytes that are not UTF-8:
 * see `LogRecord.unreadable`).
 */
export type DriverInput =
  | string
  | {
    value: string;
    key?: string | null;
    partition?: number;
    timestamp?: number;
    unreadable?: Unreadable;
  };

/** Drives one job instance over twins; see the module documentation. */
export class JobDriver {
  /** The job driven: the one given, or the spec's `create(overrides)`. */
  readonly job: Job;
  /** Processing time: moves only through the driver's calls. */
  readonly clock: VirtualClock;
  /** The Kafka twin holding the input and output topics. */
  readonly log: LogTwin;
  /** The Redis twin. */
  readonly kv: KvTwin;
  /** The S3 twin the job's sinks write to. */
  readonly objects: ObjectsTwin;
  /** The S3 twin checkpoints are kept in, apart from the job's objects. */
  readonly checkpoints: ObjectsTwin;
  /** Every runner event so far, oldest first, across restarts. */
  readonly events: RunnerEvent[] = [];
  readonly #options: JobDriverOptions;
  #runner!: Runner;
  #consumer: LogConsumer | null = null;

  private constructor(job: Job, options: JobDriverOptions) {
    this.job = job;
    this.#options = options;
    this.clock = new VirtualClock(options.start_ms ?? 0);
    this.log = new LogTwin({ clock: this.clock });
    this.kv = new KvTwin({ clock: this.clock });
    this.objects = new ObjectsTwin();
    this.checkpoints = new ObjectsTwin();
  }

  /** A driver with the job's topics created and one instance started. */
  static async open(
    job: Job | JobSpec,
    options: JobDriverOptions = {},
  ): Promise<JobDriver> {
    const compiled = "stages" in job ? job : job.create(options.overrides);
    const driver = new JobDriver(compiled, options);
    const partitions = options.partitions ?? compiled.partitions;
    for (const stage of compiled.stages) {
      await driver.log.createTopic(stage.topic, partitions);
    }
    for (const topic of compiled.outputTopics) {
      await driver.log.createTopic(topic, partitions);
    }
    driver.#start();
    await driver.run();
    return driver;
  }

  /** Appends messages to the input topic at the current processing time, then runs until caught up. */
  async pipe(input: readonly DriverInput[]): Promise<void> {
    const messages = input.map((m) => {
      const message = typeof m === "string" ? { value: m } : m;
      return {
        key: message.key !== undefined
          ? message.key
          : this.job.route(message.value).key,
        value: message.value,
        partition: message.partition,
        timestamp: message.timestamp ?? this.clock.now(),
        ...(typeof m !== "string" && m.unreadable !== undefined
          ? { unreadable: m.unreadable }
          : {}),
      };
    });
    await this.log.produce(this.job.topic, messages);
    await this.run();
  }

  /** Steps the runner until it finds nothing to read. */
  async run(): Promise<void> {
    for (let i = 0; i < 1_000_000; i++) {
      if (!await this.#runner.step()) return;
    }
    throw new Error("Cannot run the job to idle as it kept finding input");
  }

  /**
   * Moves processing time forward by `ms`, stopping at each processing-time
   * step the job asks for (idle advance, timers) on the way.
   */
  async advanceClock(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    for (;;) {
      const due = this.#runner.nextTickDue();
      if (due === undefined || due > target) break;
      this.clock.advanceTo(Math.max(this.clock.now(), due));
      const before = this.events.length;
      await this.run();
      // A step due but not taken (partition behind) must not spin here.
      if (this.events.length === before && due <= this.clock.now()) break;
    }
    this.clock.advanceTo(target);
    await this.run();
  }

  /** The input ended: every window fires, every partition is checkpointed. */
  async endOfInput(): Promise<void> {
    // Stage by stage: a repartitioned stage reads what the one before it
    // wrote when it finished.
    for (let stage = 0; stage < this.job.stages.length; stage++) {
      await this.run();
      await this.#runner.finish(stage);
    }
    await this.run();
  }

  /** The instance dies without checkpointing; a new one restores from checkpoints. */
  async crash(): Promise<void> {
    if (this.#consumer !== null) this.log.kill(this.#consumer);
    this.#start();
    await this.run();
  }

  /** The instance stops cleanly (checkpointing) and a new one takes over. */
  async restart(): Promise<void> {
    await this.#runner.close();
    this.#start();
    await this.run();
  }

  /** Committed records of `topic`, by partition then offset. */
  records(topic: string): LogRecord[] {
    return this.log.dump().topics.find((t) => t.topic === topic)?.partitions
      .flat() ?? [];
  }

  /** Where the records of the partitions owned now went. */
  counts(): Counts {
    return this.#runner.counts();
  }

  /** The processor state of an input partition (its snapshot). */
  state(partition: number, topic = this.job.topic): unknown {
    return this.#runner.state(topic, partition);
  }

  /** Stops the instance (checkpointing every partition). */
  async close(): Promise<void> {
    await this.#runner.close();
  }

  #start(): void {
    const twin = this.log;
    // The twin's own methods, plus a consumer the driver can kill.
    const log: Log = {
      createTopic: (topic, partitions) => twin.createTopic(topic, partitions),
      partitionCount: (topic) => twin.partitionCount(topic),
      produce: (topic, messages) => twin.produce(topic, messages),
      transaction: (id) => twin.transaction(id),
      transactionalProducer: (id) => twin.transactionalProducer(id),
      endOffsets: (topic) => twin.endOffsets(topic),
      read: (topic, partition, offset, max) =>
        twin.read(topic, partition, offset, max),
      committedOffsets: (group, topic) => twin.committedOffsets(group, topic),
      consumer: (options) => {
        const consumer = twin.consumer(options);
        this.#consumer = consumer;
        return consumer;
      },
    };
    // Retry back-off lets virtual time pass at once.
    const clock = {
      now: () => this.clock.now(),
      sleep: (ms: number) =>
        Promise.resolve(
          this.clock.advanceTo(this.clock.now() + Math.max(0, ms)),
        ),
    };
    this.#runner = new Runner({
      job: this.job,
      log,
      kv: this.kv,
      objects: this.objects,
      checkpoints: new CheckpointStore(this.checkpoints),
      clock,
      checkpoint_interval_ms: this.#options.checkpoint_interval_ms ?? 0,
      max_batch_records: this.#options.max_batch_records ?? 500,
      onEvent: (event) => {
        this.events.push(event);
        this.#options.onEvent?.(event);
      },
    });
    this.#runner.start();
  }
}
