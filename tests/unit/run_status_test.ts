/**
 * `PipelineStatus` around real runners over the twins, on a virtual clock:
 * what `/api/jobs` reports (totals that never go down across restarts,
 * rates, lag, watermark delay, checkpoints), the histograms it feeds, and
 * `/metrics` as a strict Prometheus parser reads it.
 */

import assert from "node:assert/strict";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import { Runner } from "../../src/core/runner.ts";
import { analytics } from "../../src/jobs/analytics/job.ts";
import { HttpApp } from "../../src/http/app.ts";
import { PipelineStatus } from "../../src/run/status.ts";
import type { PartitionStatus } from "../../src/metrics/job_status.ts";
import type { ConsumerOptions, Log, LogConsumer } from "../../src/ports.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { KvTwin } from "../../sim/kv.ts";
import { LogTwin } from "../../sim/log.ts";
import { ObjectsTwin } from "../../sim/objects.ts";
import { parseExposition, valueOf } from "./metrics/prom_text.ts";

const T0 = Date.UTC(2026, 2, 15, 8, 0, 0);
const TOPIC = "flink-events";

function event(id: string, ts: number, value = 1) {
  return {
    key: id,
    value: JSON.stringify({
      event_id: id,
      value,
      timestamp: new Date(ts).toISOString(),
    }),
  };
}

/** One job over twins, its runner driven by hand, its status observed. */
async function setup(checkpoint_interval_ms = 0) {
  const clock = new VirtualClock(T0);
  const log = new LogTwin({ clock });
  // The twin's own consumer, so that a test can kill it (a crash).
  let consumer: LogConsumer | null = null;
  const capturing = new Proxy(log, {
    get(target, property) {
      if (property === "consumer") {
        return (options: ConsumerOptions) =>
          consumer = target.consumer(options);
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Log;
  const kv = new KvTwin({ clock });
  const objects = new ObjectsTwin();
  const job = analytics.create();
  for (const topic of [job.topic, ...job.outputTopics]) {
    await log.createTopic(topic, 2);
  }
  const latencies: number[] = [];
  const checkpoints: number[] = [];
  const status = new PipelineStatus({
    clock,
    log,
    jobs: ["analytics"],
    lag_interval_ms: 1_000,
    observer: {
      observeLatency: (_, ms) => latencies.push(ms),
      observeCheckpoint: (_, ms) => checkpoints.push(ms),
    },
  });
  const observedLog = status.observeLog(capturing);
  const observedKv = status.observeKv(kv);
  let runner: Runner;
  const start = () => {
    runner = new Runner({
      job,
      log: observedLog,
      kv: observedKv,
      objects,
      checkpoints: new CheckpointStore(objects),
      clock,
      checkpoint_interval_ms,
      onEvent: (e) =>
        status.onEvent({ type: "runner", job: "analytics", event: e }),
    });
    status.onRunner("analytics", runner);
    status.onEvent({ type: "started", job: "analytics", topic: TOPIC });
    runner.start();
  };
  start();
  const run = async () => {
    while (await runner.step()) { /* until caught up */ }
  };
  return {
    clock,
    log,
    status,
    latencies,
    checkpoints,
    run,
    runner: () => runner,
    start,
    crash: () => log.kill(consumer!),
    /** Lets background reads (end offsets) settle. */
    settle: () => new Promise((resolve) => setTimeout(resolve, 0)),
  };
}

function partitionsOf(status: PipelineStatus): PartitionStatus[] {
  return status.snapshot().jobs[0]!.partitions;
}

function sum(
  partitions: PartitionStatus[],
  field: keyof PartitionStatus,
): number {
  return partitions.reduce((total, p) => total + (p[field] as number), 0);
}

Deno.test("PipelineStatus lists a job as starting until it owns partitions, then each partition with its totals", async () => {
  const s = await setup();
  assert.deepEqual(s.status.snapshot(), {
    at_ms: T0,
    jobs: [{
      job: "analytics",
      state: "starting",
      restarts_total: 0,
      partitions: [],
    }],
  });
  await s.log.produce(TOPIC, [
    event("a", T0),
    event("b", T0),
    event("a", T0 + 60_000), // closes a's windows of T0
    { key: "a", value: "not json" },
    event("a", T0 - 60_000), // late
  ]);
  await s.run();
  const snapshot = s.status.snapshot();
  assert.equal(snapshot.jobs[0]!.state, "running");
  const partitions = snapshot.jobs[0]!.partitions;
  assert.deepEqual(
    partitions.map((p) => [p.topic, p.partition]),
    [[TOPIC, 0], [TOPIC, 1]],
  );
  assert.equal(sum(partitions, "records_in_total"), 5);
  assert.equal(sum(partitions, "records_out_total"), 3);
  assert.equal(sum(partitions, "dead_letter_total"), 1);
  assert.equal(sum(partitions, "late_total"), 1);
  assert.equal(sum(partitions, "restarts_total"), 0);
  const a = partitions.find((p) => p.records_in_total === 4)!;
  assert.equal(a.watermark_ms, T0 + 60_000 - 5_001);
  assert.equal(a.watermark_delay_ms, T0 - a.watermark_ms!);
  assert.ok(a.checkpoints_total > 0);
  assert.equal(a.last_checkpoint_age_ms, 0);
  assert.equal(a.last_checkpoint_duration_ms, 0);
  assert.equal(s.checkpoints.length, sum(partitions, "checkpoints_total"));
});

Deno.test("PipelineStatus measures event-to-output latency from the append time of the record a fenced batch covers", async () => {
  const s = await setup();
  await s.log.produce(TOPIC, [event("a", T0)]);
  s.clock.advanceBy(250);
  await s.log.produce(TOPIC, [{ ...event("a", T0 + 60_000), partition: 0 }]);
  s.clock.advanceBy(750);
  await s.run();
  // One fenced batch wrote a's windows, at the position of the second
  // record, appended 750 ms before.
  assert.deepEqual(s.latencies, [750]);
  // The windows an idle partition closes later have no record behind them.
  await s.runner().step();
  s.clock.advanceBy(120_000);
  await s.run();
  assert.deepEqual(s.latencies, [750]);
});

Deno.test("PipelineStatus reports consumer lag from end offsets read at most every lag_interval_ms", async () => {
  const s = await setup();
  await s.log.produce(TOPIC, [{ ...event("a", T0), partition: 0 }]);
  await s.run();
  s.status.snapshot();
  await s.settle();
  assert.equal(partitionsOf(s.status)[0]!.consumer_lag_records, 0);
  await s.log.produce(
    TOPIC,
    Array.from({ length: 5 }, () => ({ ...event("a", T0), partition: 0 })),
  );
  s.status.snapshot();
  await s.settle();
  // Read less than lag_interval_ms ago: not read again.
  assert.equal(partitionsOf(s.status)[0]!.consumer_lag_records, 0);
  s.clock.advanceBy(1_000);
  s.status.snapshot();
  await s.settle();
  assert.equal(partitionsOf(s.status)[0]!.consumer_lag_records, 5);
  await s.run();
  assert.equal(partitionsOf(s.status)[0]!.consumer_lag_records, 0);
});

Deno.test("PipelineStatus computes rates from the totals' growth over the rate window", async () => {
  const s = await setup();
  await s.run(); // partitions assigned
  s.status.sample();
  s.clock.advanceBy(2_000);
  await s.log.produce(
    TOPIC,
    Array.from(
      { length: 100 },
      (_, i) => ({ ...event("a", T0 + i), partition: 0 }),
    ),
  );
  await s.run();
  const [p0] = partitionsOf(s.status);
  assert.equal(p0!.input_rate_per_s, 50);
  assert.equal(p0!.output_rate_per_s, 50);
  // Samples older than the window (10 s) no longer count.
  for (let i = 0; i < 12; i++) {
    s.clock.advanceBy(1_000);
    s.status.sample();
  }
  assert.equal(partitionsOf(s.status)[0]!.input_rate_per_s, 0);
});

Deno.test("PipelineStatus totals never go down: a restored task adds what it reads after its checkpoint", async () => {
  // No checkpoint but the ones a clean stop takes.
  const s = await setup(3_600_000);
  const batch = (n: number, from: number) =>
    Array.from(
      { length: n },
      (_, i) => ({ ...event("a", T0 + from + i), partition: 0 }),
    );
  await s.log.produce(TOPIC, batch(10, 0));
  await s.run();
  assert.equal(partitionsOf(s.status)[0]!.records_in_total, 10);
  // A clean restart: the new task restores counts of 10 from its checkpoint.
  await s.runner().close();
  s.start();
  await s.run();
  let p0 = partitionsOf(s.status)[0]!;
  assert.equal(p0.records_in_total, 10);
  assert.equal(p0.restarts_total, 1);
  await s.log.produce(TOPIC, batch(5, 100));
  await s.run();
  assert.equal(partitionsOf(s.status)[0]!.records_in_total, 15);
  // A crash: the next task restores 10 and reads the 5 again, which count
  // again (they were read twice).
  s.crash();
  s.start();
  await s.run();
  p0 = partitionsOf(s.status)[0]!;
  assert.equal(p0.records_in_total, 20);
  assert.equal(p0.restarts_total, 2);
  assert.equal(s.status.snapshot().jobs[0]!.restarts_total, 0);
  s.status.onEvent({
    type: "restarting",
    job: "analytics",
    restart: 1,
    delay_ms: 10,
    error: "boom",
    outage: false,
    cause: new Error("boom"),
  });
  assert.equal(s.status.snapshot().jobs[0]!.restarts_total, 1);
  assert.equal(s.status.snapshot().jobs[0]!.state, "starting");
  s.status.onEvent({
    type: "failed",
    job: "analytics",
    restarts: 1,
    error: "boom",
  });
  assert.equal(s.status.snapshot().jobs[0]!.state, "failed");
  assert.equal(s.status.snapshot().jobs[0]!.error, "boom");
});

Deno.test("/metrics, read by a strict Prometheus parser, holds what the job did", async () => {
  const s = await setup();
  const app = await HttpApp.create({ clock: s.clock, jobs: s.status.snapshot });
  s.status.observe(app.job_metrics);
  await s.log.produce(TOPIC, [
    { ...event("a", T0), partition: 0 },
    { ...event("a", T0 + 60_000), partition: 0 },
    { key: "a", value: "{}", partition: 1 },
  ]);
  s.clock.advanceBy(40);
  await s.run();
  const response = await app.handler(
    new Request("http://127.0.0.1/metrics"),
  );
  assert.equal(response.status, 200);
  const families = parseExposition(await response.text());
  const labels = (partition: number) => ({
    job: "analytics",
    topic: TOPIC,
    partition: String(partition),
  });
  assert.equal(valueOf(families, "freshet_records_in_total", labels(0)), 2);
  assert.equal(valueOf(families, "freshet_records_out_total", labels(0)), 2);
  assert.equal(
    valueOf(families, "freshet_records_dead_letter_total", labels(1)),
    1,
  );
  assert.equal(
    valueOf(families, "freshet_job_running", { job: "analytics" }),
    1,
  );
  assert.equal(
    valueOf(families, "freshet_partitions_assigned", { job: "analytics" }),
    2,
  );
  assert.equal(
    valueOf(families, "freshet_watermark_delay_seconds", labels(0)),
    (T0 + 40 - (T0 + 60_000 - 5_001)) / 1000,
  );
  // One fenced batch, 40 ms after its record was appended.
  assert.equal(
    valueOf(families, "freshet_event_to_output_latency_seconds_count", {
      job: "analytics",
    }),
    1,
  );
  assert.equal(
    valueOf(families, "freshet_event_to_output_latency_seconds_sum", {
      job: "analytics",
    }),
    0.04,
  );
  assert.equal(
    valueOf(families, "freshet_checkpoint_duration_seconds_count", {
      job: "analytics",
    }),
    sum(partitionsOf(s.status), "checkpoints_total"),
  );
});
