/**
 * Running jobs in production: each job's runner loops until stopped, and a
 * failure restarts it in-process from its checkpoints after a delay, as
 * Flink's fixed-delay restart strategy (attempts, then the job fails). The
 * ports are given (the CLI builds them from configuration, see
 * `connectServices`), so the same loop serves any set of adapters.
 *
 * A failure that says a service is unreachable (`is_outage`) is not the
 * job's fault and says nothing about the next attempt: it restarts with
 * exponential back-off (`restart_delay_ms` doubling up to
 * `outage_delay_max_ms`) for as long as the outage lasts, without using up
 * `restart_attempts`, so a job resumes by itself when the service returns.
 *
 * Stopping (`signal`) lets the batch in hand finish, checkpoints and leaves
 * the consumer group, within `shutdown_timeout_ms`; when a service is down
 * that may be impossible, and the job then stops without its final
 * checkpoint (nothing is lost: the next start replays from the last one).
 *
 * @module
 */

import type { Clock, KeyValue, Log, ObjectStore, Warehouse } from "../ports.ts";
import { CheckpointStore } from "../core/checkpoint.ts";
import type { Job } from "../core/job.ts";
import { Runner, type RunnerEvent } from "../core/runner.ts";

/** Something a running job did, for logs and metrics. */
export type JobEvent =
  | { type: "started"; job: string; topic: string }
  | { type: "runner"; job: string; event: RunnerEvent }
  | {
    type: "restarting";
    job: string;
    /** Restarts so far, this one included. */
    restart: number;
    delay_ms: number;
    error: string;
    /** Whether a service was unreachable (the restart uses no attempt). */
    outage: boolean;
    /** The failure itself, for a caller that explains it. */
    cause: unknown;
  }
  | { type: "failed"; job: string; restarts: number; error: string }
  | {
    type: "stopped";
    job: string;
    /** Whether the job stopped without its final checkpoint (shutdown timed out). */
    abandoned?: boolean;
  };

/** Options of {@linkcode runJobs}. */
export interface RunJobsOptions {
  /** The jobs to run, side by side, each with its own runner and consumer group. */
  jobs: readonly Job[];
  /** The log (Kafka) the jobs read and write. */
  log: Log;
  /** The key-value store (Redis), for jobs with Redis sinks. */
  kv?: KeyValue;
  /** The object store (S3): checkpoints, and files of S3 sinks. */
  objects: ObjectStore;
  /** The warehouse (PostgreSQL), for jobs and companions that load rows. */
  warehouse?: Warehouse;
  /** Processing time: checkpoints, restarts' waits, idle advance. */
  clock: Clock;
  /** Key prefix of checkpoints in `objects`. Default: `checkpoints`. */
  checkpoint_prefix?: string;
  /** Consumer group. Default: `freshet-<job>`. */
  group_id?: string;
  /**
   * Processing time between checkpoints of a partition. Default: each job's
   * `checkpoint_interval_ms`, else 10 000.
   */
  checkpoint_interval_ms?: number;
  /** In-process restarts after a failure before the job fails. Default: 3. */
  restart_attempts?: number;
  /** Wait before each restart. Default: 10 000. */
  restart_delay_ms?: number;
  /**
   * Whether a failure says a service is unreachable: such a failure restarts
   * the job with back-off as often as it takes (see the module doc).
   * Default: none does.
   */
  is_outage?: (error: unknown) => boolean;
  /** Longest wait between restarts during an outage. Default: 30 000. */
  outage_delay_max_ms?: number;
  /** Whether a failed write may be retried: the runner's `is_transient`. Default: the runner's. */
  is_transient?: (error: unknown) => boolean;
  /**
   * Longest time a stop waits for the batch in hand, the final checkpoint
   * and leaving the group. Default: 15 000.
   */
  shutdown_timeout_ms?: number;
  /** Stops every job (each checkpoints and leaves its group). */
  signal?: AbortSignal;
  /** Called for every event. Default: ignore. */
  onEvent?: (event: JobEvent) => void;
  /** Called with each job's current runner whenever it (re)starts. */
  onRunner?: (job: string, runner: Runner) => void;
  /**
   * Loops that run beside the jobs until the run stops (the signal they
   * are given aborts), e.g. the sessions job's loader. Default: none.
   */
  companions?: ReadonlyArray<(signal: AbortSignal) => Promise<void>>;
}

/** A job failed more often than its restart strategy allows. */
export class JobFailedError extends Error {
  /** `"JobFailedError"`, so logs name the kind of failure. */
  override name = "JobFailedError";
}

/**
 * Creates the jobs' topics, then runs every job until `signal` aborts;
 * rejects with {@linkcode JobFailedError} (the last failure as its cause)
 * when a job fails `restart_attempts + 1` times.
 */
export async function runJobs(options: RunJobsOptions): Promise<void> {
  const { log } = options;
  for (const job of options.jobs) {
    await log.createTopic(job.topic, job.partitions);
    const partitions = await log.partitionCount(job.topic);
    for (const stage of job.stages.slice(1)) {
      await log.createTopic(stage.topic, partitions);
    }
    for (const topic of job.outputTopics) {
      await log.createTopic(topic, partitions);
    }
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();
  try {
    // A job that fails for good stops the others too.
    await Promise.all([
      ...options.jobs.map((job) =>
        runOne(job, options, controller.signal).catch((error) => {
          stop();
          throw error;
        })
      ),
      ...(options.companions ?? []).map((loop) => loop(controller.signal)),
    ]);
  } finally {
    options.signal?.removeEventListener("abort", stop);
  }
}

async function runOne(
  job: Job,
  options: RunJobsOptions,
  signal: AbortSignal,
): Promise<void> {
  const emit = options.onEvent ?? (() => {});
  const attempts = options.restart_attempts ?? 3;
  const delay_ms = options.restart_delay_ms ?? 10_000;
  const outage_max_ms = options.outage_delay_max_ms ?? 30_000;
  const shutdown_ms = options.shutdown_timeout_ms ?? 15_000;
  const stopped = new Promise<"stopped">((resolve) => {
    if (signal.aborted) resolve("stopped");
    signal.addEventListener("abort", () => resolve("stopped"), { once: true });
  });
  let restarts = 0;
  let failures = 0;
  let outages = 0;
  for (;;) {
    const runner = new Runner({
      job,
      log: options.log,
      kv: options.kv,
      objects: options.objects,
      warehouse: options.warehouse,
      checkpoints: new CheckpointStore(options.objects, {
        prefix: options.checkpoint_prefix,
      }),
      clock: options.clock,
      group_id: options.group_id,
      checkpoint_interval_ms: options.checkpoint_interval_ms,
      is_transient: options.is_transient,
      onEvent: (event) => emit({ type: "runner", job: job.name, event }),
    });
    options.onRunner?.(job.name, runner);
    runner.start();
    emit({ type: "started", job: job.name, topic: job.topic });
    let stepping: Promise<boolean> | null = null;
    try {
      while (!signal.aborted) {
        stepping = runner.step();
        // A stop does not wait for a step stuck on a service that is down.
        if (await Promise.race([stepping, stopped]) === "stopped") break;
        stepping = null;
        // A job that runs again after an outage starts its back-off afresh.
        outages = 0;
      }
      const closed = await withDeadline(
        shutdown_ms,
        (async () => {
          // Never checkpoint while a step is still processing.
          if (stepping !== null) await stepping;
          await runner.close();
        })(),
      );
      emit({ type: "stopped", job: job.name, abandoned: !closed });
      return;
    } catch (error) {
      if (signal.aborted) {
        // Failed while stopping: the last checkpoints stand.
        emit({ type: "stopped", job: job.name, abandoned: true });
        return;
      }
      // Leave the group at once, so the partitions move on while we wait.
      await withDeadline(shutdown_ms, runner.close());
      const text = error instanceof Error ? error.message : String(error);
      const outage = options.is_outage?.(error) ?? false;
      if (!outage && failures >= attempts) {
        emit({ type: "failed", job: job.name, restarts, error: text });
        throw new JobFailedError(
          `Cannot keep job '${job.name}' running as it failed ${
            failures + 1
          } times (restart_attempts ${attempts}); last failure: ${text}`,
          { cause: error },
        );
      }
      restarts++;
      let wait_ms = delay_ms;
      if (outage) {
        wait_ms = Math.min(
          outage_max_ms,
          delay_ms * 2 ** Math.min(outages, 30),
        );
        outages++;
      } else {
        failures++;
      }
      emit({
        type: "restarting",
        job: job.name,
        restart: restarts,
        delay_ms: wait_ms,
        error: text,
        outage,
        cause: error,
      });
      await abortableSleep(options.clock, wait_ms, signal);
      if (signal.aborted) {
        emit({ type: "stopped", job: job.name });
        return;
      }
    }
  }
}

/**
 * Waits for `work` at most `ms` of wall-clock time (a stop is about a hang of
 * the real world, whatever clock the jobs run on); answers whether it
 * succeeded in time. It goes on in the background otherwise, its failure
 * ignored.
 */
async function withDeadline(
  ms: number,
  work: Promise<unknown>,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps on `clock`, returning early when `signal` aborts. */
function abortableSleep(
  clock: Clock,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => resolve();
    signal.addEventListener("abort", done, { once: true });
    clock.sleep(ms).then(() => {
      signal.removeEventListener("abort", done);
      resolve();
    });
  });
}
