/**
 * The production runner end to end: `views.create()` reading a filled Kafka
 * topic, writing fenced batches to Redis and checkpoints to S3, on the wall
 * clock. One run reads the topic from the start in a new consumer group,
 * with its own Redis key prefix and checkpoint prefix, so runs never see
 * each other's fences or checkpoints.
 *
 * @module
 */

import { KafkaLog } from "../../src/adapters/kafka.ts";
import { RedisKeyValue } from "../../src/adapters/redis.ts";
import { SystemClock } from "../../src/adapters/clock.ts";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import type { Counts } from "../../src/core/job.ts";
import { Runner } from "../../src/core/runner.ts";
import { views } from "../../src/jobs/views/job.ts";
import type { LogBatch } from "../../src/ports.ts";
import {
  CountingKeyValue,
  type KeyValueStats,
  type ObjectStats,
  observedLog,
  type PollStats,
  TimedObjectStore,
} from "./instrument.ts";
import {
  benchObjectStore,
  deleteObjectsPrefix,
  deleteRedisPrefix,
  groupName,
  SERVICES,
  uniqueName,
} from "./services.ts";
import type { AppliedHook } from "./instrument.ts";
import { preemptions } from "./machine.ts";

/** What one run of the runner did and how long it took. */
export interface RunnerTiming {
  /** Records the runner handled (all partitions). */
  count: number;
  counts: Counts;
  /** From start() to the last record handled (join, restore, fence claims included). */
  total_ms: number;
  /** From the first batch polled to the last record handled. */
  steady_ms: number;
  startup_ms: number;
  /** Final checkpoints and leaving the group (not in the timings above). */
  close_ms: number;
  kv: KeyValueStats;
  objects: ObjectStats;
  polls: PollStats;
  checkpoints: number;
  /** Wall time of the steady window (first batch to last record) by where it went. */
  steady: SteadyBreakdown;
}

/** Time awaited on each port between the first batch and the last record. */
export interface SteadyBreakdown {
  /** Waiting in poll() for the next batch. */
  poll_ms: number;
  /** applyFenced round trips. */
  redis_ms: number;
  /** Part of `redis_ms` before the call returned (encoding, socket write). */
  redis_sync_ms: number;
  /** Side-output produce calls. */
  produce_ms: number;
  /** Checkpoint objects (put, list, get, delete). */
  s3_ms: number;
  /** Times the main thread was preempted (see {@linkcode preemptions}). */
  preempted: number;
}

function awaited(
  polls: PollStats,
  kv: KeyValueStats,
  objects: ObjectStats,
): SteadyBreakdown {
  return {
    poll_ms: polls.polls.ms,
    redis_ms: kv.fenced.ms,
    redis_sync_ms: kv.fenced_sync_ms,
    produce_ms: polls.produce.ms,
    s3_ms: objects.puts.ms + objects.other.ms,
    preempted: preemptions(),
  };
}

/** Hooks and settings of {@linkcode runViews}. */
export interface RunViewsOptions {
  /** Asked before every step with the records handled so far: true ends the run. */
  stop: (handled: number) => boolean;
  /** Each polled batch. */
  onBatch?: (batch: LogBatch) => void;
  /** Each stored fenced batch. */
  onApplied?: AppliedHook;
  /** Called once the runner owns every partition and is waiting for input. */
  onReady?: () => void;
  /** Partitions of the topic (onReady waits for all). Default: 4. */
  partitions?: number;
  /** Give up after this much wall time. Default: 180 000. */
  timeout_ms?: number;
  /** Default: the runner's (10 000). */
  checkpoint_interval_ms?: number;
  /** Largest batch a poll hands out. Default: the runner's (the log's: 500). */
  max_batch_records?: number;
}

/**
 * Runs `views.create({ topic })` with the production adapters until `stop`
 * says so, then closes it and removes its Redis keys and checkpoint objects.
 */
export async function runViews(
  topic: string,
  options: RunViewsOptions,
): Promise<RunnerTiming> {
  const prefix = uniqueName("bench-eo");
  const kafka = new KafkaLog({
    brokers: [...SERVICES.kafka_brokers],
    clientId: "freshet-bench-runner",
    log_level: "error",
  });
  const redis = new RedisKeyValue(SERVICES.redis_url, {
    keyPrefix: `${prefix}:`,
    connectionName: "freshet-bench",
  });
  const kv = new CountingKeyValue(redis, options.onApplied ?? null);
  const s3 = benchObjectStore(`${prefix}/`);
  const objects = new TimedObjectStore(s3);
  // Taken when the first batch arrives (its poll already counted).
  let at_first: SteadyBreakdown | null = null;
  const { log, stats: polls } = observedLog(kafka, (batch) => {
    at_first ??= awaited(polls, kv.stats, objects.stats);
    options.onBatch?.(batch);
  });
  const job = views.create({ topic });
  let checkpoints = 0;
  let owned = 0;
  const runner = new Runner({
    job,
    log,
    kv,
    checkpoints: new CheckpointStore(objects),
    clock: new SystemClock(),
    group_id: groupName(`${prefix}-group`),
    checkpoint_interval_ms: options.checkpoint_interval_ms,
    max_batch_records: options.max_batch_records,
    onEvent: (event) => {
      if (event.type === "checkpoint") checkpoints++;
      if (event.type === "assigned") owned++;
    },
  });
  const partitions = options.partitions ?? 4;
  const deadline = performance.now() + (options.timeout_ms ?? 180_000);
  let ready = false;
  const started = performance.now();
  let last_ms = started;
  try {
    runner.start();
    for (;;) {
      const handled = runner.counts().in;
      if (options.stop(handled)) break;
      if (performance.now() > deadline) {
        throw new Error(
          `Cannot finish the benchmark as the runner had handled only ${handled} records when its time was up`,
        );
      }
      await runner.step();
      if (!ready && owned >= partitions) {
        ready = true;
        options.onReady?.();
      }
    }
    last_ms = performance.now();
    const at_last = awaited(polls, kv.stats, objects.stats);
    const start = (at_first ?? at_last) as SteadyBreakdown;
    const steady = Object.fromEntries(
      Object.entries(at_last).map(([name, value]) => [
        name,
        value - start[name as keyof SteadyBreakdown],
      ]),
    ) as unknown as SteadyBreakdown;
    const counts = runner.counts();
    const closing = performance.now();
    await runner.close();
    const close_ms = performance.now() - closing;
    return {
      count: counts.in,
      counts,
      total_ms: last_ms - started,
      steady_ms: last_ms - polls.first_batch_at,
      startup_ms: polls.first_batch_at - started,
      close_ms,
      kv: kv.stats,
      objects: objects.stats,
      polls,
      checkpoints,
      steady,
    };
  } finally {
    await kafka.close();
    await redis.close();
    await s3.close();
    await deleteRedisPrefix(`${prefix}:`);
    await deleteObjectsPrefix(`${prefix}/`);
  }
}
