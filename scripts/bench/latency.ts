/**
 * Event → Redis latency of the production runner under a paced load.
 *
 * A worker produces views at a fixed rate to a new topic, each stamped with
 * the wall time it was handed to the producer (payload `timestamp` and
 * record timestamp alike). The runner (as in the exactly-once benchmark)
 * consumes them; a wrapper around its key-value store notes when each fenced
 * batch was answered by Redis, which is when its writes became visible, and
 * attributes that time to every record of the partition up to the batch's
 * fenced offset. Latency = applied time − record timestamp.
 *
 * @module
 */

import type { Fence, LogBatch } from "../../src/ports.ts";
import { deadLetterTopic, lateTopic } from "../../src/sinks/side_topics.ts";
import { runViews } from "./exactly_once.ts";
import type { PaceReport, PaceRequest } from "./producer_worker.ts";
import {
  createTopics,
  deleteTopics,
  SERVICES,
  uniqueName,
} from "./services.ts";
import { percentile } from "./stats.ts";

/** Settings of one paced run. */
export interface LatencyOptions {
  /** Messages per second to produce. */
  rate: number;
  /** Time produced at the start whose latencies are not counted. */
  warmup_ms: number;
  /** Time produced after the warm-up whose latencies are counted. */
  measure_ms: number;
  /** [userId, videoId] pairs the producer cycles through. */
  views: Array<[string, string]>;
  /** Partitions of the topic. Default: 4. */
  partitions?: number;
}

/** Outcome of one paced run. */
export interface LatencyResult {
  rate: number;
  sent: number;
  /** Rate the producer achieved over its whole run. */
  produced_rate: number;
  /** Largest lag of a send behind the producer's schedule. */
  producer_behind_ms_max: number;
  /** Records whose latency was counted (produced after the warm-up). */
  measured: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Records per polled batch, on average. */
  batch_records_mean: number;
  checkpoints: number;
}

/** Runs the runner against a producer at `options.rate` and measures latencies. */
export async function measureLatency(
  options: LatencyOptions,
): Promise<LatencyResult> {
  const partitions = options.partitions ?? 4;
  const topic = uniqueName("bench-latency");
  const topics = [topic, deadLetterTopic(topic), lateTopic(topic)];
  await createTopics(topics, partitions);
  try {
    return await pacedRun(topic, partitions, options);
  } finally {
    await deleteTopics(topics);
  }
}

async function pacedRun(
  topic: string,
  partitions: number,
  options: LatencyOptions,
): Promise<LatencyResult> {
  // Per partition, the (offset, timestamp) of records polled but not yet applied.
  const pending = new Map<
    number,
    { offsets: number[]; times: number[]; head: number }
  >();
  const latencies: number[] = [];
  let measure_from = Number.POSITIVE_INFINITY;
  const onBatch = (batch: LogBatch) => {
    let queue = pending.get(batch.partition);
    if (queue === undefined) {
      pending.set(batch.partition, queue = { offsets: [], times: [], head: 0 });
    }
    for (const record of batch.records) {
      queue.offsets.push(record.offset);
      queue.times.push(record.timestamp);
    }
  };
  const onApplied = (fence: Fence, applied_at_ms: number) => {
    const partition = Number(fence.key.slice(fence.key.lastIndexOf(":") + 1));
    const queue = pending.get(partition);
    if (queue === undefined) return;
    while (
      queue.head < queue.offsets.length &&
      queue.offsets[queue.head]! <= fence.offset
    ) {
      const time = queue.times[queue.head]!;
      if (time >= measure_from) latencies.push(applied_at_ms - time);
      queue.head++;
    }
    if (queue.head > 65_536) {
      queue.offsets.splice(0, queue.head);
      queue.times.splice(0, queue.head);
      queue.head = 0;
    }
  };

  // The worker and its final report, once it has sent everything.
  const producer: { worker: Worker | null; report: PaceReport | null } = {
    worker: null,
    report: null,
  };
  const startProducer = () => {
    measure_from = Date.now() + options.warmup_ms;
    const worker = new Worker(
      new URL("./producer_worker.ts", import.meta.url).href,
      { type: "module" },
    );
    producer.worker = worker;
    worker.onmessage = (event: MessageEvent<PaceReport>) => {
      producer.report = event.data;
    };
    worker.onerror = (event) => {
      event.preventDefault();
      producer.report = {
        sent: 0,
        elapsed_ms: 0,
        behind_ms_max: 0,
        error: event.message,
      };
    };
    const request: PaceRequest = {
      brokers: [...SERVICES.kafka_brokers],
      topic,
      rate: options.rate,
      duration_ms: options.warmup_ms + options.measure_ms,
      views: options.views,
      tick_ms: 10,
      request_max: 2000,
    };
    worker.postMessage(request);
  };

  let run;
  try {
    run = await runViews(topic, {
      partitions,
      onBatch,
      onApplied,
      onReady: startProducer,
      // Until the producer is done and every record it sent was handled.
      stop: (handled) =>
        producer.report !== null && handled >= producer.report.sent,
      timeout_ms: options.warmup_ms + options.measure_ms + 120_000,
    });
  } finally {
    producer.worker?.terminate();
  }
  const done = producer.report;
  if (done === null) {
    throw new Error("Cannot measure latency as the producer never reported");
  }
  if (done.error !== undefined) {
    throw new Error(
      `Cannot measure latency as the producer failed: ${done.error}`,
    );
  }
  if (latencies.length === 0) {
    throw new Error(
      `Cannot measure latency as no record produced after the warm-up was applied (sent ${done.sent})`,
    );
  }
  return {
    rate: options.rate,
    sent: done.sent,
    produced_rate: (done.sent * 1000) / done.elapsed_ms,
    producer_behind_ms_max: done.behind_ms_max,
    measured: latencies.length,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    max_ms: percentile(latencies, 100),
    batch_records_mean: run.polls.records / Math.max(1, run.polls.batches),
    checkpoints: run.checkpoints,
  };
}
