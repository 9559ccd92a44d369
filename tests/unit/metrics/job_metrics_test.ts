/** The per-job metrics and the registry, read back through the strict parser. */

import assert from "node:assert/strict";
import { JobMetrics } from "../../../src/metrics/job_metrics.ts";
import type {
  JobsSnapshot,
  PartitionStatus,
} from "../../../src/metrics/job_status.ts";
import {
  counter,
  gauge,
  histogram,
  newRegistry,
  renderMetrics,
} from "../../../src/metrics/prometheus.ts";
import { parseExposition, valueOf } from "./prom_text.ts";

function partition(
  partition: number,
  fields: Partial<PartitionStatus> = {},
): PartitionStatus {
  return {
    topic: "flink-events",
    partition,
    input_rate_per_s: 0,
    output_rate_per_s: 0,
    records_in_total: 0,
    records_out_total: 0,
    filtered_total: 0,
    late_total: 0,
    dead_letter_total: 0,
    consumer_lag_records: null,
    watermark_ms: null,
    watermark_delay_ms: null,
    last_checkpoint_age_ms: null,
    last_checkpoint_duration_ms: null,
    checkpoints_total: 0,
    restarts_total: 0,
    ...fields,
  };
}

Deno.test("JobMetrics exports a snapshot's totals and gauges per partition, in seconds", async () => {
  const registry = newRegistry();
  const metrics = new JobMetrics(registry);
  const snapshot: JobsSnapshot = {
    at_ms: 1_700_000_060_000,
    jobs: [{
      job: "analytics",
      state: "running",
      restarts_total: 2,
      partitions: [
        partition(0, {
          records_in_total: 1000,
          records_out_total: 40,
          late_total: 3,
          dead_letter_total: 5,
          filtered_total: 1,
          consumer_lag_records: 12,
          watermark_ms: 1_700_000_055_000,
          watermark_delay_ms: 5_000,
          last_checkpoint_age_ms: 1_500,
          last_checkpoint_duration_ms: 250,
          checkpoints_total: 9,
          restarts_total: 1,
        }),
        partition(1),
      ],
    }],
  };
  metrics.update(snapshot);
  metrics.observeLatency("analytics", 30);
  metrics.observeLatency("analytics", 700);
  metrics.observeCheckpoint("analytics", 250);
  const families = parseExposition(await renderMetrics(registry));
  const p0 = { job: "analytics", topic: "flink-events", partition: "0" };
  const p1 = { ...p0, partition: "1" };
  assert.equal(valueOf(families, "freshet_records_in_total", p0), 1000);
  assert.equal(valueOf(families, "freshet_records_out_total", p0), 40);
  assert.equal(valueOf(families, "freshet_records_late_total", p0), 3);
  assert.equal(valueOf(families, "freshet_records_dead_letter_total", p0), 5);
  assert.equal(valueOf(families, "freshet_records_filtered_total", p0), 1);
  assert.equal(valueOf(families, "freshet_checkpoints_total", p0), 9);
  assert.equal(valueOf(families, "freshet_partition_restarts_total", p0), 1);
  assert.equal(valueOf(families, "freshet_consumer_lag_records", p0), 12);
  assert.equal(
    valueOf(families, "freshet_watermark_timestamp_seconds", p0),
    1_700_000_055,
  );
  assert.equal(valueOf(families, "freshet_watermark_delay_seconds", p0), 5);
  assert.equal(valueOf(families, "freshet_checkpoint_age_seconds", p0), 1.5);
  assert.equal(
    valueOf(families, "freshet_checkpoint_last_duration_seconds", p0),
    0.25,
  );
  // Unknown values are left out, not exported as 0.
  assert.equal(valueOf(families, "freshet_records_in_total", p1), 0);
  assert.equal(
    valueOf(families, "freshet_consumer_lag_records", p1),
    undefined,
  );
  assert.equal(
    valueOf(families, "freshet_watermark_delay_seconds", p1),
    undefined,
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
    valueOf(families, "freshet_job_restarts_total", { job: "analytics" }),
    2,
  );
  const latency = "freshet_event_to_output_latency_seconds";
  assert.equal(families.get(latency)!.type, "histogram");
  assert.equal(valueOf(families, `${latency}_count`, { job: "analytics" }), 2);
  assert.equal(valueOf(families, `${latency}_sum`, { job: "analytics" }), 0.73);
  assert.equal(
    valueOf(families, `${latency}_bucket`, { job: "analytics", le: "0.025" }),
    0,
  );
  assert.equal(
    valueOf(families, `${latency}_bucket`, { job: "analytics", le: "0.05" }),
    1,
  );
  assert.equal(
    valueOf(families, `${latency}_bucket`, { job: "analytics", le: "1" }),
    2,
  );
  assert.equal(
    valueOf(families, `${latency}_bucket`, { job: "analytics", le: "+Inf" }),
    2,
  );
  assert.equal(
    valueOf(families, "freshet_checkpoint_duration_seconds_count", {
      job: "analytics",
    }),
    1,
  );
});

Deno.test("JobMetrics.update() drops partitions that left the snapshot", async () => {
  const registry = newRegistry();
  const metrics = new JobMetrics(registry);
  const job = (partitions: PartitionStatus[]) => ({
    at_ms: 0,
    jobs: [{
      job: "views",
      state: "running" as const,
      restarts_total: 0,
      partitions,
    }],
  });
  metrics.update(job([partition(0, { records_in_total: 5 }), partition(1)]));
  metrics.update(job([partition(1, { records_in_total: 7 })]));
  const families = parseExposition(await renderMetrics(registry));
  const labels = { job: "views", topic: "flink-events" };
  assert.equal(
    valueOf(families, "freshet_records_in_total", {
      ...labels,
      partition: "0",
    }),
    undefined,
  );
  assert.equal(
    valueOf(families, "freshet_records_in_total", {
      ...labels,
      partition: "1",
    }),
    7,
  );
});

Deno.test("JobMetrics.update() rejects a negative total, naming it", () => {
  const metrics = new JobMetrics(newRegistry());
  assert.throws(
    () =>
      metrics.update({
        at_ms: 0,
        jobs: [{
          job: "views",
          state: "running",
          restarts_total: 0,
          partitions: [partition(0, { late_total: -1 })],
        }],
      }),
    /totals must be finite and non-negative: current value is -1/,
  );
});

Deno.test("the registry escapes HELP text and label values as the format requires", async () => {
  const registry = newRegistry();
  const c = counter(registry, {
    name: "odd_total",
    help: 'Back\\slash, "quotes"\nand a line feed.',
    labels: ["name"],
  });
  c.inc({ name: 'a"b\\c\nd' }, 2);
  gauge(registry, {
    name: "collected",
    help: "Set at scrape time.",
    collect: (g) => g.set(42),
  });
  const text = await renderMetrics(registry);
  assert.match(
    text,
    /^# HELP odd_total Back\\\\slash, "quotes"\\nand a line feed\.$/m,
  );
  const families = parseExposition(text);
  assert.equal(
    families.get("odd_total")!.help,
    'Back\\slash, "quotes"\nand a line feed.',
  );
  assert.equal(valueOf(families, "odd_total", { name: 'a"b\\c\nd' }), 2);
  assert.equal(valueOf(families, "collected"), 42);
});

Deno.test("histogram() refuses buckets that do not strictly increase", () => {
  const registry = newRegistry();
  assert.throws(
    () => histogram(registry, { name: "h", help: "h", buckets: [0.5, 0.1] }),
    /'buckets' must be finite and strictly increasing: current value is \[0\.5, 0\.1\]/,
  );
  assert.throws(
    () =>
      histogram(registry, { name: "h2", help: "h", buckets: [1, Infinity] }),
    /strictly increasing/,
  );
});
