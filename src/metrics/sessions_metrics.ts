/**
 * Metrics of the `sessions` job and its loader, in the registry the other
 * jobs' metrics use:
 *
 * | metric | type | what |
 * |---|---|---|
 * | `freshet_sessions_open{partition}` | gauge | sessions open in the job's session windows, as of each partition's last checkpoint |
 * | `freshet_sessions_closed{partition}` | gauge | sessions the job closed and wrote through each partition's last checkpoint (never decreases) |
 * | `freshet_sessions_files_published` | gauge | Parquet files published under the prefix, at the loader's last pass |
 * | `freshet_sessions_files_pending` | gauge | published files not loaded yet, at the loader's last pass |
 * | `freshet_sessions_files_loaded_total` | counter | files this loader committed |
 * | `freshet_sessions_rows_loaded_total` | counter | session rows this loader committed |
 * | `freshet_sessions_load_lag_seconds` | histogram | per row: commit time − the session's close (its last heartbeat + the gap) |
 *
 * Open and closed sessions are read from the checkpoints of the job's
 * session stage (window state and the file sink's record count), so they
 * are right however many instances run the job; the loader's metrics are
 * this process's.
 *
 * @module
 */

import type { CheckpointStore } from "../core/checkpoint.ts";
import type { LoaderObserver } from "../load/loader.ts";
import {
  type Counter,
  counter,
  type Gauge,
  gauge,
  type Histogram,
  histogram,
  type MetricsRegistry,
} from "./prometheus.ts";

/** Buckets of the load lag, in seconds (a loader runs every minute). */
export const LOAD_LAG_BUCKETS_S: readonly number[] = [
  1,
  5,
  10,
  30,
  60,
  90,
  120,
  180,
  300,
  600,
  1_800,
  3_600,
];

/** Where the session stage's checkpoints are. */
export interface SessionStageCheckpoints {
  store: CheckpointStore;
  /** The job's name (`sessions`). */
  job: string;
  /** The session stage's topic (`sessions-by-session-repartition`). */
  topic: string;
  /**
   * Its partitions, or how to ask them at each scrape (a deployment's
   * internal topic may not exist yet when the metrics are registered).
   */
  partitions: number | (() => Promise<number>);
  /** The session window step's name. Default: `sessions`. */
  step?: string;
  /** The file sink's name. Default: `parquet`. */
  sink?: string;
}

/** Open and closed sessions of one partition's checkpoint (0 without one). */
export function sessionCounts(
  checkpoint: { state: unknown; sinks: Record<string, unknown> } | null,
  step = "sessions",
  sink = "parquet",
): { open: number; closed: number } {
  if (checkpoint === null) return { open: 0, closed: 0 };
  const state = checkpoint.state as
    | { steps?: Record<string, { windows?: unknown[] }> }
    | null;
  const windows = state?.steps?.[step]?.windows;
  const handle = checkpoint.sinks[sink] as { records?: unknown } | undefined;
  return {
    open: Array.isArray(windows) ? windows.length : 0,
    closed: typeof handle?.records === "number" ? handle.records : 0,
  };
}

/** The metrics; also the loader's observer. */
export class SessionsMetrics implements LoaderObserver {
  readonly #published: Gauge;
  readonly #pending: Gauge;
  readonly #files: Counter;
  readonly #rows: Counter;
  readonly #lag: Histogram;

  constructor(registry: MetricsRegistry, stage?: SessionStageCheckpoints) {
    this.#published = gauge(registry, {
      name: "freshet_sessions_files_published",
      help: "Parquet files of sessions published, at the loader's last pass.",
    });
    this.#pending = gauge(registry, {
      name: "freshet_sessions_files_pending",
      help:
        "Published Parquet files not loaded yet, at the loader's last pass.",
    });
    this.#files = counter(registry, {
      name: "freshet_sessions_files_loaded_total",
      help: "Parquet files of sessions this loader committed to PostgreSQL.",
    });
    this.#rows = counter(registry, {
      name: "freshet_sessions_rows_loaded_total",
      help: "Session rows this loader committed to PostgreSQL.",
    });
    this.#lag = histogram(registry, {
      name: "freshet_sessions_load_lag_seconds",
      help:
        "Per session row: time of its commit in PostgreSQL minus the session's close (last heartbeat + gap).",
      buckets: LOAD_LAG_BUCKETS_S,
    });
    if (stage === undefined) return;
    const read = async () => {
      const counts: Array<{ open: number; closed: number }> = [];
      const partitions = typeof stage.partitions === "number"
        ? stage.partitions
        : await stage.partitions();
      for (let p = 0; p < partitions; p++) {
        const latest = await stage.store.latest({
          job: stage.job,
          topic: stage.topic,
          partition: p,
        });
        counts.push(sessionCounts(latest, stage.step, stage.sink));
      }
      return counts;
    };
    // One read of the checkpoints serves both gauges of a scrape.
    let reading: Promise<Array<{ open: number; closed: number }>> | null = null;
    const shared = () => {
      reading ??= read().finally(() => {
        queueMicrotask(() => reading = null);
      });
      return reading;
    };
    gauge(registry, {
      name: "freshet_sessions_open",
      help:
        "Sessions open in the job's session windows, as of each partition's last checkpoint.",
      labels: ["partition"],
      collect: async (g) => {
        (await shared()).forEach((c, p) => g.set({ partition: p }, c.open));
      },
    });
    gauge(registry, {
      name: "freshet_sessions_closed",
      help:
        "Sessions the job closed and wrote, through each partition's last checkpoint.",
      labels: ["partition"],
      collect: async (g) => {
        (await shared()).forEach((c, p) => g.set({ partition: p }, c.closed));
      },
    });
  }

  listed(published: number, loaded: number): void {
    this.#published.set(published);
    this.#pending.set(published - loaded);
  }

  fileLoaded(_file: string, rows: number, lags_ms: readonly number[]): void {
    this.#files.inc();
    this.#rows.inc(rows);
    this.#pending.dec();
    for (const lag of lags_ms) this.#lag.observe(Math.max(0, lag) / 1000);
  }
}
