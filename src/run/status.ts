/**
 * What `GET /api/jobs` and `/metrics` report about the jobs of this process
 * ({@linkcode JobsSnapshot}), gathered around the runtime rather than inside
 * it: from each runner's `status()`, from the events `runJobs` emits, and
 * from the ports the runners are given, observed on their way through.
 *
 * - **Totals** (records in and out, filtered, late, dead letters,
 *   checkpoints) count since this process started and never go down, as
 *   Prometheus counters must: a partition task restored from a checkpoint
 *   starts from the counts in its state, so each task contributes what it
 *   added after its assignment (read when the runner reports it), and a
 *   restarted or reassigned task adds to what the earlier ones did. After a
 *   failure the records of the failed task's last moments (since it was last
 *   read, at most `sample_interval_ms` ago) may be missing; replayed records
 *   count again, as they are read again.
 * - **Rates** are differences of those totals over the last
 *   `rate_window_ms`, from samples taken every `sample_interval_ms` (by
 *   {@linkcode PipelineStatus.run}).
 * - **Consumer lag** is the log's end offset minus the next offset to read;
 *   end offsets are asked for at most every `lag_interval_ms` per topic, in
 *   the background, so a snapshot never waits for the log.
 * - **Watermark delay** is processing time minus the watermark.
 * - **Event-to-output latency** (a histogram): when a fenced key-value
 *   batch is applied, processing time minus the append time of the input
 *   record at the batch's position (the newest record it covers). Only
 *   batches at a record's position count: a processing-time step (an idle
 *   partition's windows closing) has no record that caused it. Kafka and S3
 *   outputs are not observed yet.
 * - **Checkpoint durations** (a histogram) come from the runners' events.
 *
 * Wire it as `runJobs({ ..., log: status.observeLog(log), kv:
 * status.observeKv(kv), onEvent: status.onEvent, onRunner: status.onRunner
 * })`, serve `status.snapshot` as the jobs provider, and keep
 * {@linkcode PipelineStatus.run} going for rates and lag.
 *
 * @module
 */

import type {
  Clock,
  ConsumerOptions,
  Fence,
  FencedResult,
  KeyValue,
  KvOp,
  Log,
  LogBatch,
  LogConsumer,
  LogRecord,
} from "../ports.ts";
import type { Runner } from "../core/runner.ts";
import type {
  JobsSnapshot,
  JobStatus,
  PartitionStatus,
} from "../metrics/job_status.ts";
import { delegate } from "./delegate.ts";
import type { JobEvent } from "./production.ts";

/** Where the histograms go (a `JobMetrics` fits). */
export interface PipelineObserver {
  observeLatency(job: string, latency_ms: number): void;
  observeCheckpoint(job: string, duration_ms: number): void;
}

/** Options of {@linkcode PipelineStatus}. */
export interface PipelineStatusOptions {
  /** Processing time. */
  clock: Clock;
  /** Where end offsets are read, for the consumer lag. */
  log: Log;
  /** Jobs listed (as `starting`) before they report, in this order. Default: none. */
  jobs?: readonly string[];
  /** Least time between two reads of a topic's end offsets. Default: 5000. */
  lag_interval_ms?: number;
  /** Time over which rates are averaged. Default: 10 000. */
  rate_window_ms?: number;
  /** Time between two samples of {@linkcode PipelineStatus.run}. Default: 1000. */
  sample_interval_ms?: number;
  /** Recent batches kept per partition to find a record's append time. Default: 16. */
  batches_kept?: number;
  /** Where the histograms go. Default: none (see {@linkcode PipelineStatus.observe}). */
  observer?: PipelineObserver | null;
}

/** Counters of a partition that only grow. */
interface Totals {
  in: number;
  out: number;
  filtered: number;
  late: number;
  dead_letter: number;
  checkpoints: number;
}

function zero(): Totals {
  return {
    in: 0,
    out: 0,
    filtered: 0,
    late: 0,
    dead_letter: 0,
    checkpoints: 0,
  };
}

const TOTAL_FIELDS = [
  "in",
  "out",
  "filtered",
  "late",
  "dead_letter",
  "checkpoints",
] as const;

interface Task {
  runner: Runner;
  epoch: number;
  /** The task's counts when it was first seen (restored from its checkpoint). */
  start: Totals;
  /** Its counts when last seen. */
  last: Totals;
}

interface PartitionEntry {
  topic: string;
  partition: number;
  /** What finished tasks added. */
  base: Totals;
  task: Task | null;
  assignments: number;
  /** Samples of totals for rates, oldest first. */
  samples: Array<{ at_ms: number; in: number; out: number }>;
}

interface JobEntry {
  name: string;
  state: JobStatus["state"];
  error?: string;
  restarts: number;
  runner: Runner | null;
  partitions: Map<string, PartitionEntry>;
}

const FENCE_KEY = /^freshet:fence:([A-Za-z0-9._-]+):([A-Za-z0-9._-]+):(\d+)$/;

/** The status of a process's jobs; see the module documentation. */
export class PipelineStatus {
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #lag_interval_ms: number;
  readonly #rate_window_ms: number;
  readonly #sample_interval_ms: number;
  readonly #batches_kept: number;
  readonly #jobs = new Map<string, JobEntry>();
  /** End offsets per topic, and when they were read. */
  readonly #ends = new Map<
    string,
    { at_ms: number; ends: number[] | null; reading: boolean }
  >();
  /** Recent batches per (topic, partition), newest last. */
  readonly #batches = new Map<string, LogRecord[][]>();
  #observer: PipelineObserver | null;

  constructor(options: PipelineStatusOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#lag_interval_ms = positive(
      "lag_interval_ms",
      options.lag_interval_ms ?? 5_000,
    );
    this.#rate_window_ms = positive(
      "rate_window_ms",
      options.rate_window_ms ?? 10_000,
    );
    this.#sample_interval_ms = positive(
      "sample_interval_ms",
      options.sample_interval_ms ?? 1_000,
    );
    this.#batches_kept = positive("batches_kept", options.batches_kept ?? 16);
    this.#observer = options.observer ?? null;
    for (const name of options.jobs ?? []) this.#job(name);
  }

  /** Sends the histograms to `observer` from now on. */
  observe(observer: PipelineObserver | null): void {
    this.#observer = observer;
  }

  /** `runJobs`' `onRunner`: each job's current runner. */
  onRunner = (job: string, runner: Runner): void => {
    this.#job(job).runner = runner;
  };

  /** `runJobs`' `onEvent`. */
  onEvent = (event: JobEvent): void => {
    const job = this.#job(event.job);
    switch (event.type) {
      case "started":
        job.state = "starting";
        delete job.error;
        return;
      case "restarting":
        job.restarts++;
        job.state = "starting";
        return;
      case "failed":
        job.state = "failed";
        job.error = event.error;
        return;
      case "stopped":
        job.state = "stopped";
        return;
      case "runner": {
        const e = event.event;
        if (e.type === "assigned") {
          job.state = "running";
          this.#entry(job, e.topic, e.partition).assignments++;
          this.#read(job);
        } else if (e.type === "checkpoint") {
          this.#read(job);
          this.#observer?.observeCheckpoint(job.name, e.duration_ms);
        }
        return;
      }
    }
  };

  /** `log`, with every polled batch seen (for latencies). */
  observeLog(log: Log): Log {
    const consumer = (options: ConsumerOptions): LogConsumer => {
      const inner = log.consumer(options);
      return delegate(inner, {
        poll: async () => {
          const batch = await inner.poll();
          if (batch !== null) this.#keep(batch);
          return batch;
        },
      });
    };
    return delegate(log, { consumer });
  }

  /** `kv`, with every applied fenced batch seen (for latencies). */
  observeKv(kv: KeyValue): KeyValue {
    return delegate(kv, {
      applyFenced: async (fence: Fence, ops: KvOp[]): Promise<FencedResult> => {
        const result = await kv.applyFenced(fence, ops);
        if (result === "applied") this.#applied(fence);
        return result;
      },
    });
  }

  /**
   * Reads every runner's counts (for rates) and asks for end offsets that
   * are due (for lag). {@linkcode run} calls it every `sample_interval_ms`.
   */
  sample(): void {
    const now = this.#clock.now();
    for (const job of this.#jobs.values()) {
      this.#read(job);
      for (const entry of job.partitions.values()) {
        const t = totals(entry);
        entry.samples.push({ at_ms: now, in: t.in, out: t.out });
        // Keep the samples of the window, and the newest one before it.
        const from = now - this.#rate_window_ms;
        while (
          entry.samples.length > 2 && entry.samples[1]!.at_ms <= from
        ) entry.samples.shift();
      }
      for (const p of job.runner?.status() ?? []) this.#refreshEnds(p.topic);
    }
  }

  /** Samples every `sample_interval_ms` until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.sample();
      await abortable(this.#clock, this.#sample_interval_ms, signal);
    }
  }

  /** The jobs provider of `/api/jobs` and `/metrics`. */
  snapshot = (): JobsSnapshot => {
    const now = this.#clock.now();
    const jobs: JobStatus[] = [];
    for (const job of this.#jobs.values()) {
      this.#read(job);
      const partitions: PartitionStatus[] = [];
      for (const p of job.runner?.status() ?? []) {
        const entry = this.#entry(job, p.topic, p.partition);
        const t = totals(entry);
        const ends = this.#ends.get(p.topic)?.ends ?? null;
        const end = ends?.[p.partition];
        this.#refreshEnds(p.topic);
        partitions.push({
          topic: p.topic,
          partition: p.partition,
          input_rate_per_s: this.#rate(entry, now, t.in, "in"),
          output_rate_per_s: this.#rate(entry, now, t.out, "out"),
          records_in_total: t.in,
          records_out_total: t.out,
          filtered_total: t.filtered,
          late_total: t.late,
          dead_letter_total: t.dead_letter,
          consumer_lag_records: end === undefined
            ? null
            : Math.max(0, end - p.position),
          watermark_ms: p.watermark_ms,
          watermark_delay_ms: p.watermark_ms === null
            ? null
            : now - p.watermark_ms,
          last_checkpoint_age_ms: p.checkpoints > 0
            ? now - p.last_checkpoint_ms
            : null,
          last_checkpoint_duration_ms: p.last_checkpoint_duration_ms,
          checkpoints_total: t.checkpoints,
          restarts_total: Math.max(0, entry.assignments - 1),
        });
      }
      jobs.push({
        job: job.name,
        state: job.state,
        ...(job.error === undefined ? {} : { error: job.error }),
        restarts_total: job.restarts,
        partitions,
      });
    }
    return { at_ms: now, jobs };
  };

  #job(name: string): JobEntry {
    let job = this.#jobs.get(name);
    if (job === undefined) {
      job = {
        name,
        state: "starting",
        restarts: 0,
        runner: null,
        partitions: new Map(),
      };
      this.#jobs.set(name, job);
    }
    return job;
  }

  #entry(job: JobEntry, topic: string, partition: number): PartitionEntry {
    const key = `${topic}\u0000${partition}`;
    let entry = job.partitions.get(key);
    if (entry === undefined) {
      entry = {
        topic,
        partition,
        base: zero(),
        task: null,
        assignments: 0,
        samples: [],
      };
      job.partitions.set(key, entry);
    }
    return entry;
  }

  /** Reads the current runner's partitions into their totals. */
  #read(job: JobEntry): void {
    const runner = job.runner;
    if (runner === null) return;
    for (const p of runner.status()) {
      const entry = this.#entry(job, p.topic, p.partition);
      const now: Totals = {
        in: p.counts.in,
        out: p.counts.out,
        filtered: p.counts.filtered,
        late: p.counts.late,
        dead_letter: p.counts.dead_lettered,
        checkpoints: p.checkpoints,
      };
      const task = entry.task;
      if (task !== null && task.runner === runner && task.epoch === p.epoch) {
        task.last = now;
        continue;
      }
      // A new task of the partition: what the last one added is kept.
      if (task !== null) add(entry.base, task.start, task.last);
      entry.task = { runner, epoch: p.epoch, start: now, last: now };
    }
  }

  #rate(
    entry: PartitionEntry,
    now: number,
    current: number,
    field: "in" | "out",
  ): number {
    const from = now - this.#rate_window_ms;
    const base = entry.samples.find((s) => s.at_ms >= from) ??
      entry.samples.at(-1);
    if (base === undefined || now <= base.at_ms) return 0;
    return Math.max(0, current - base[field]) * 1000 / (now - base.at_ms);
  }

  #refreshEnds(topic: string): void {
    const now = this.#clock.now();
    let cached = this.#ends.get(topic);
    if (cached === undefined) {
      cached = { at_ms: -Infinity, ends: null, reading: false };
      this.#ends.set(topic, cached);
    }
    if (cached.reading || now - cached.at_ms < this.#lag_interval_ms) return;
    cached.reading = true;
    const entry = cached;
    this.#log.endOffsets(topic).then(
      (ends) => {
        entry.ends = ends;
        entry.at_ms = this.#clock.now();
      },
      // The log is unreachable: the lag stays as last read, and the
      // failure shows where the job itself fails.
      () => {
        entry.at_ms = this.#clock.now();
      },
    ).finally(() => {
      entry.reading = false;
    });
  }

  #keep(batch: LogBatch): void {
    if (batch.records.length === 0) return;
    const key = `${batch.topic}\u0000${batch.partition}`;
    let kept = this.#batches.get(key);
    if (kept === undefined) this.#batches.set(key, kept = []);
    kept.push(batch.records);
    if (kept.length > this.#batches_kept) kept.shift();
  }

  #applied(fence: Fence): void {
    const observer = this.#observer;
    if (observer === null || !Number.isInteger(fence.offset)) return;
    const match = FENCE_KEY.exec(fence.key);
    if (match === null) return;
    const [, job, topic, partition] = match as unknown as [
      string,
      string,
      string,
      string,
    ];
    const record = this.#record(topic, Number(partition), fence.offset);
    if (record === undefined) return;
    observer.observeLatency(job, this.#clock.now() - record.timestamp);
  }

  /** A recently polled record, or undefined when it is no longer kept. */
  #record(
    topic: string,
    partition: number,
    offset: number,
  ): LogRecord | undefined {
    const kept = this.#batches.get(`${topic}\u0000${partition}`) ?? [];
    for (let i = kept.length - 1; i >= 0; i--) {
      const records = kept[i]!;
      if (
        records[0]!.offset > offset ||
        records[records.length - 1]!.offset < offset
      ) continue;
      let lo = 0;
      let hi = records.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (records[mid]!.offset < offset) lo = mid + 1;
        else hi = mid;
      }
      const found = records[lo]!;
      return found.offset === offset ? found : undefined;
    }
    return undefined;
  }
}

function totals(entry: PartitionEntry): Totals {
  const t = { ...entry.base };
  if (entry.task !== null) add(t, entry.task.start, entry.task.last);
  return t;
}

/** Adds `last − start` into `into`, field by field (never negative). */
function add(into: Totals, start: Totals, last: Totals): void {
  for (const field of TOTAL_FIELDS) {
    into[field] += Math.max(0, last[field] - start[field]);
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot report job status as '${name}' must be a positive number: current value is ${value}`,
    );
  }
  return value;
}

/** Sleeps on `clock`, returning early when `signal` aborts. */
function abortable(
  clock: Clock,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => resolve(), { once: true });
    clock.sleep(ms).then(() => resolve());
  });
}
