/**
 * Benchmark 4: event → Redis latency of the runner at 10 % and 70 % of the
 * maximum rate measured in benchmark 3.
 *
 * @module
 */

import { parseView } from "../../src/jobs/views/parse.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import { runViews } from "./exactly_once.ts";
import type { KafkaContext } from "./kafka_context.ts";
import { type LatencyResult, measureLatency } from "./latency.ts";
import type { Section } from "./report.ts";
import { table } from "./report.ts";
import { fmt, perSecond } from "./stats.ts";

export const LATENCY_TITLE = "4. Event → Redis latency under a paced load";

/** Shares of the maximum rate to measure at. */
export const LOAD_SHARES = [0.1, 0.7] as const;

/** Options of {@linkcode latencySection}. */
export interface LatencySectionOptions {
  warmup_ms: number;
  measure_ms: number;
  log: (line: string) => void;
}

/** [userId, videoId] of the fixture's valid views, in order (at most `limit`). */
export function fixtureViews(
  text: string,
  limit: number,
): Array<[string, string]> {
  const views: Array<[string, string]> = [];
  for (const message of parseFixture(text)) {
    if (views.length >= limit) break;
    const parsed = parseView(message.value);
    if (parsed.ok && parsed.view.userId !== null) {
      views.push([parsed.view.userId, parsed.view.videoId]);
    }
  }
  return views;
}

/** Runs benchmark 4 and writes its section. */
export async function latencySection(
  ctx: KafkaContext,
  text: string,
  options: LatencySectionOptions,
): Promise<Section> {
  let max_rate = ctx.runner_rate;
  let max_from = "benchmark 3's median";
  if (max_rate === null) {
    options.log("latency: measuring the runner's maximum rate (one run)");
    const run = await runViews(ctx.topic, {
      stop: (handled) => handled >= ctx.count,
    });
    max_rate = perSecond(run.count, run.steady_ms);
    max_from = "one run of benchmark 3's set-up";
  }
  const views = fixtureViews(text, 50_000);
  const results: Array<{ share: number; result: LatencyResult }> = [];
  for (const share of LOAD_SHARES) {
    const rate = Math.max(1, Math.round(max_rate * share));
    options.log(
      `latency: ${share * 100}% of ${fmt(max_rate)} = ${fmt(rate)} msg/s for ${
        fmt((options.warmup_ms + options.measure_ms) / 1000)
      } s`,
    );
    results.push({
      share,
      result: await measureLatency({
        rate,
        warmup_ms: options.warmup_ms,
        measure_ms: options.measure_ms,
        views,
      }),
    });
  }
  const body = [
    `**Measured:** the time from an event's production to its writes being visible in Redis, through the same runner as benchmark 3 (same adapters and defaults) on a new ${ctx.partitions}-partition topic per load. A producer in a Web Worker (its own thread and event loop; kafkajs, acks=1, a send every 10 ms) writes views from the fixture at a fixed rate, each stamped with the wall time it was handed to the producer (payload \`timestamp\` and record timestamp), keyed by \`videoId\`. A wrapper around the runner's key-value store notes when Redis answered each fenced batch, and that time is attributed to every record of the partition up to the batch's fenced offset: latency = applied time − record timestamp (one clock, one machine). The first ${
      fmt(options.warmup_ms / 1000)
    } s of production are a warm-up and not counted; the next ${
      fmt(options.measure_ms / 1000)
    } s are. Maximum rate: ${fmt(max_rate)} records/s (${max_from}).`,
    "",
    ...table(
      [
        "load",
        "asked msg/s",
        "produced msg/s",
        "producer late by (max ms)",
        "records measured",
        "p50 ms",
        "p99 ms",
        "max ms",
        "records/batch",
        "checkpoints",
      ],
      results.map(({ share, result: r }) => [
        `${share * 100} %`,
        fmt(r.rate),
        fmt(r.produced_rate),
        fmt(r.producer_behind_ms_max),
        fmt(r.measured),
        fmt(r.p50_ms),
        fmt(r.p99_ms),
        fmt(r.max_ms),
        fmt(r.batch_records_mean, 1),
        String(r.checkpoints),
      ]),
    ),
    "",
    "The producer shares the machine's two cores with the runner, Kafka, Redis and S3Proxy; \"producer late by\" shows how far it fell behind its own schedule (its records are stamped when actually sent, so this delays records, it does not hide latency). The p99 includes the pauses of the runner's checkpoints (every 10 s per partition, written to S3 between batches).",
  ];
  const [low, high] = results;
  return {
    title: LATENCY_TITLE,
    verdict: "reported",
    summary: {
      baseline: `max rate ${fmt(max_rate)} records/s`,
      candidate: `p50/p99: ${fmt(low!.result.p50_ms)}/${
        fmt(low!.result.p99_ms)
      } ms at 10 %, ${fmt(high!.result.p50_ms)}/${
        fmt(high!.result.p99_ms)
      } ms at 70 %`,
      ratio: "–",
      target: "report p50/p99",
    },
    body,
  };
}
