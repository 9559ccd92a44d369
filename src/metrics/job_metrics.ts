/**
 * The metrics every job exposes, under the same names whatever the job, so
 * one dashboard and one set of alerts fit all of them.
 *
 * Two kinds:
 * - read from a {@linkcode JobsSnapshot} at each scrape
 *   ({@linkcode JobMetrics.update}): counters and gauges per job and input
 *   partition (labels `job`, `topic`, `partition`);
 * - observed by the runtime as things happen: the histograms of
 *   event-to-output latency and checkpoint duration (label `job`).
 *
 * Times are exported in seconds and instants as epoch seconds, as Prometheus
 * conventions ask; unknown values (`null` in the snapshot) are left out rather
 * than exported as 0 or NaN.
 *
 * @module
 */

import type { JobsSnapshot, PartitionStatus } from "./job_status.ts";
import {
  type Counter,
  counter,
  type Gauge,
  gauge,
  type Histogram,
  histogram,
  type MetricsRegistry,
} from "./prometheus.ts";

/** Buckets of {@linkcode JobMetrics.observeLatency}, in seconds. */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
];

/** Buckets of {@linkcode JobMetrics.observeCheckpoint}, in seconds. */
export const CHECKPOINT_BUCKETS_S: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

type PartitionLabel = "job" | "topic" | "partition";

/** Totals of {@linkcode PartitionStatus} exported as counters. */
const PARTITION_COUNTERS: ReadonlyArray<
  [keyof PartitionStatus, string, string]
> = [
  [
    "records_in_total",
    "freshet_records_in_total",
    "Records read from the input partition.",
  ],
  [
    "records_out_total",
    "freshet_records_out_total",
    "Records written to the job's outputs.",
  ],
  [
    "filtered_total",
    "freshet_records_filtered_total",
    "Records dropped by a filter.",
  ],
  [
    "late_total",
    "freshet_records_late_total",
    "Records sent to the late side output.",
  ],
  [
    "dead_letter_total",
    "freshet_records_dead_letter_total",
    "Records sent to the dead letters.",
  ],
  [
    "checkpoints_total",
    "freshet_checkpoints_total",
    "Checkpoints completed.",
  ],
  [
    "restarts_total",
    "freshet_partition_restarts_total",
    "Restarts of the partition's task (failure or reassignment).",
  ],
];

/** Nullable values of {@linkcode PartitionStatus} exported as gauges, with their scale. */
const PARTITION_GAUGES: ReadonlyArray<
  [keyof PartitionStatus, string, string, number]
> = [
  [
    "consumer_lag_records",
    "freshet_consumer_lag_records",
    "End offset of the input partition minus the next offset to read.",
    1,
  ],
  [
    "watermark_ms",
    "freshet_watermark_timestamp_seconds",
    "Current watermark (event time), in epoch seconds.",
    1e-3,
  ],
  [
    "watermark_delay_ms",
    "freshet_watermark_delay_seconds",
    "Processing time minus the watermark.",
    1e-3,
  ],
  [
    "last_checkpoint_age_ms",
    "freshet_checkpoint_age_seconds",
    "Time since the last completed checkpoint.",
    1e-3,
  ],
  [
    "last_checkpoint_duration_ms",
    "freshet_checkpoint_last_duration_seconds",
    "Duration of the last completed checkpoint.",
    1e-3,
  ],
];

/** The per-job metrics of one process, registered in one registry. */
export class JobMetrics {
  readonly #counters: Array<[keyof PartitionStatus, Counter<PartitionLabel>]>;
  readonly #gauges: Array<
    [keyof PartitionStatus, Gauge<PartitionLabel>, number]
  >;
  readonly #running: Gauge<"job">;
  readonly #assigned: Gauge<"job">;
  readonly #restarts: Counter<"job">;
  readonly #latency: Histogram<"job">;
  readonly #checkpoint: Histogram<"job">;

  constructor(registry: MetricsRegistry) {
    const labels: PartitionLabel[] = ["job", "topic", "partition"];
    this.#counters = PARTITION_COUNTERS.map(([field, name, help]) => [
      field,
      counter(registry, { name, help, labels }),
    ]);
    this.#gauges = PARTITION_GAUGES.map(([field, name, help, scale]) => [
      field,
      gauge(registry, { name, help, labels }),
      scale,
    ]);
    this.#running = gauge(registry, {
      name: "freshet_job_running",
      help: "1 while the job processes records, else 0.",
      labels: ["job"],
    });
    this.#assigned = gauge(registry, {
      name: "freshet_partitions_assigned",
      help: "Input partitions this process owns.",
      labels: ["job"],
    });
    this.#restarts = counter(registry, {
      name: "freshet_job_restarts_total",
      help: "Restarts of the whole job.",
      labels: ["job"],
    });
    this.#latency = histogram(registry, {
      name: "freshet_event_to_output_latency_seconds",
      help:
        "Processing time an output was durable minus the append time of the newest input record it covers.",
      labels: ["job"],
      buckets: LATENCY_BUCKETS_S,
    });
    this.#checkpoint = histogram(registry, {
      name: "freshet_checkpoint_duration_seconds",
      help: "Duration of completed checkpoints.",
      labels: ["job"],
      buckets: CHECKPOINT_BUCKETS_S,
    });
  }

  /**
   * Replaces every snapshot-fed series with the values of `snapshot`: a
   * partition no longer in it disappears from the next scrape.
   */
  update(snapshot: JobsSnapshot): void {
    for (const [, metric] of this.#counters) metric.reset();
    for (const [, metric] of this.#gauges) metric.reset();
    this.#running.reset();
    this.#assigned.reset();
    this.#restarts.reset();
    for (const job of snapshot.jobs) {
      this.#running.set({ job: job.job }, job.state === "running" ? 1 : 0);
      this.#assigned.set({ job: job.job }, job.partitions.length);
      this.#restarts.inc({ job: job.job }, checkTotal(job.restarts_total));
      for (const p of job.partitions) {
        const labels = {
          job: job.job,
          topic: p.topic,
          partition: String(p.partition),
        };
        for (const [field, metric] of this.#counters) {
          metric.inc(labels, checkTotal(p[field] as number));
        }
        for (const [field, metric, scale] of this.#gauges) {
          const value = p[field] as number | null;
          if (value !== null && Number.isFinite(value)) {
            metric.set(labels, value * scale);
          }
        }
      }
    }
  }

  /** Records one output's event-to-output latency, in milliseconds. */
  observeLatency(job: string, latency_ms: number): void {
    this.#latency.observe({ job }, Math.max(0, latency_ms) / 1000);
  }

  /** Records one completed checkpoint's duration, in milliseconds. */
  observeCheckpoint(job: string, duration_ms: number): void {
    this.#checkpoint.observe({ job }, Math.max(0, duration_ms) / 1000);
  }
}

function checkTotal(value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot export a counter as totals must be finite and non-negative: current value is ${value}`,
    );
  }
  return value;
}
