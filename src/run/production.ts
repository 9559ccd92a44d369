/**
 * Running jobs in production: each job's runner loops until stopped, and a
 * failure restarts it in-process from its checkpoints after a delay, as
 * Flink's fixed-delay restart strategy (attempts, then the job fails). The
 * ports are given (the CLI builds them from configuration, see
 * `connectServices`), so the same loop serves any set of adapters.
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
  }
  | { type: "failed"; job: string; restarts: number; error: string }
  | { type: "stopped"; job: string };

/** Options of {@linkcode runJobs}. */
export interface RunJobsOptions {
  jobs: readonly Job[];
  log: Log;
  kv?: KeyValue;
  objects: ObjectStore;
  warehouse?: Warehouse;
  clock: Clock;
  /** Key prefix of checkpoints in `objects`. Default: `checkpoints`. */
  checkpoint_prefix?: string;
  /** Consumer group. Default: `freshet-<job>`. */
  group_id?: string;
  /** Processing time between checkpoints of a partition. Default: 10 000. */
  checkpoint_interval_ms?: number;
  /** In-process restarts after a failure before the job fails. Default: 3. */
  restart_attempts?: number;
  /** Wait before each restart. Default: 10 000. */
  restart_delay_ms?: number;
  /** Stops every job (each checkpoints and leaves its group). */
  signal?: AbortSignal;
  /** Called for every event. Default: ignore. */
  onEvent?: (event: JobEvent) => void;
  /** Called with each job's current runner whenever it (re)starts. */
  onRunner?: (job: string, runner: Runner) => void;
}

/** A job failed more often than its restart strategy allows. */
export class JobFailedError extends Error {
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
    await Promise.all(
      options.jobs.map((job) =>
        runOne(job, options, controller.signal).catch((error) => {
          stop();
          throw error;
        })
      ),
    );
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
  let restarts = 0;
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
      onEvent: (event) => emit({ type: "runner", job: job.name, event }),
    });
    options.onRunner?.(job.name, runner);
    runner.start();
    emit({ type: "started", job: job.name, topic: job.topic });
    try {
      while (!signal.aborted) await runner.step();
      await runner.close();
      emit({ type: "stopped", job: job.name });
      return;
    } catch (error) {
      // Leave the group at once, so the partitions move on while we wait.
      await runner.close().catch(() => {});
      const text = error instanceof Error ? error.message : String(error);
      if (restarts >= attempts) {
        emit({ type: "failed", job: job.name, restarts, error: text });
        throw new JobFailedError(
          `Cannot keep job '${job.name}' running as it failed ${
            restarts + 1
          } times (restart_attempts ${attempts}); last failure: ${text}`,
          { cause: error },
        );
      }
      restarts++;
      emit({
        type: "restarting",
        job: job.name,
        restart: restarts,
        delay_ms,
        error: text,
      });
      await abortableSleep(options.clock, delay_ms, signal);
      if (signal.aborted) {
        emit({ type: "stopped", job: job.name });
        return;
      }
    }
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
