/**
 * The HTTP surface of a running process (`POST /track`, the query API,
 * `/api/jobs`, `/metrics`, `/healthz`, `/readyz`, the dashboard), wired to
 * the jobs it runs: one {@linkcode PipelineStatus} feeds `/api/jobs` and
 * the per-job metrics, and samples rates and lag in the background.
 * `deno task run` serves it in both modes, on the ports it runs the jobs
 * with.
 *
 * @module
 */

import type { Clock, KeyValue, Log } from "../ports.ts";
import { runJobs, type RunJobsOptions } from "./production.ts";
import { HttpApp } from "../http/app.ts";
import {
  kvReachable,
  logReachable,
  partitionsAssigned,
  producerAvailable,
  type ReadinessCheck,
} from "../http/health.ts";
import { PipelineStatus } from "./status.ts";
import type { MetricsRegistry } from "../metrics/prometheus.ts";

/** Options of {@linkcode startSurface}. */
export interface SurfaceOptions {
  clock: Clock;
  /** Where `/track` writes (and end offsets are read for the lag). */
  log: Log;
  /** Where the analytics API reads. */
  kv: KeyValue;
  /** Names of the jobs the process runs, as listed by `/api/jobs`. */
  jobs: readonly string[];
  /** Topic `/track` writes to. Default: `"flink-events"`. */
  track_topic?: string;
  /** Partitions the track topic is created with when missing. Default: 4. */
  track_partitions?: number;
  /** Bearer token `/track` requires; none or `""` means none. Default: none. */
  track_token?: string | null;
  /** Default: `"127.0.0.1"`. */
  hostname?: string;
  /** 0 picks a free port. Default: 8000. */
  port?: number;
  /** Stops the server and the sampling. */
  signal: AbortSignal;
  /** Told the address once listening. Default: nothing. */
  on_listen?: (url: string) => void;
  /**
   * `/metrics`' registry, for metrics registered beside the jobs' (the
   * sessions loader's). Default: a new one.
   */
  registry?: MetricsRegistry;
}

/** A serving surface. */
export interface Surface {
  /** Wire the jobs through it (see `status.ts`). */
  status: PipelineStatus;
  app: HttpApp;
  /** `http://host:port/` it listens on. */
  url: string;
  /** Resolves once the server has stopped (after `signal` aborted). */
  finished: Promise<void>;
}

/**
 * Creates the track topic when missing, then serves the surface until
 * `signal` aborts.
 */
export async function startSurface(options: SurfaceOptions): Promise<Surface> {
  const { clock, log, kv, signal } = options;
  const track_topic = options.track_topic ?? "flink-events";
  // Before anything is accepted: a broker that creates topics on first use
  // would make it with its own partition count.
  await log.createTopic(track_topic, options.track_partitions ?? 4);
  const status = new PipelineStatus({ clock, log, jobs: options.jobs });
  const readiness: ReadinessCheck[] = [
    logReachable(log, track_topic),
    kvReachable(kv),
    partitionsAssigned(status.snapshot),
  ];
  const app = await HttpApp.create({
    clock,
    track: { log, topic: track_topic, token: options.track_token ?? null },
    kv,
    jobs: status.snapshot,
    readiness,
    registry: options.registry,
  });
  if (app.tracker !== null) {
    readiness.push(producerAvailable(app.tracker.producer));
  }
  status.observe(app.job_metrics);
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8000,
    signal,
    onListen: () => {},
  }, app.handler);
  const { hostname, port } = server.addr;
  const url = `http://${
    hostname.includes(":") ? `[${hostname}]` : hostname
  }:${port}/`;
  options.on_listen?.(url);
  const sampling = status.run(signal);
  return {
    status,
    app,
    url,
    finished: Promise.all([server.finished, sampling]).then(() => {}),
  };
}

/** Options of {@linkcode runServed}. */
export interface ServedRunOptions extends Omit<RunJobsOptions, "onRunner"> {
  /** Where the analytics API reads (the jobs' key-value store). */
  kv: KeyValue;
  /** The surface's settings (its ports and signal are the run's). */
  http: Omit<SurfaceOptions, "clock" | "log" | "kv" | "jobs" | "signal">;
}

/**
 * Serves the surface and runs the jobs through it (`runJobs`) until
 * `signal` aborts or a job fails for good; then stops the server.
 */
export async function runServed(options: ServedRunOptions): Promise<void> {
  const stop = new AbortController();
  const surface = await startSurface({
    ...options.http,
    clock: options.clock,
    log: options.log,
    kv: options.kv,
    jobs: options.jobs.map((job) => job.name),
    signal: stop.signal,
  });
  const { status } = surface;
  try {
    await runJobs({
      ...options,
      log: status.observeLog(options.log),
      kv: status.observeKv(options.kv),
      onEvent: (event) => {
        status.onEvent(event);
        options.onEvent?.(event);
      },
      onRunner: status.onRunner,
    });
  } finally {
    stop.abort();
    await surface.finished;
  }
}
