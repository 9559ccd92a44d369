/**
 * freshet's HTTP surface: `POST /track`, the query API, `/metrics`,
 * `/healthz`, `/readyz` and the dashboard, served by `Deno.serve`.
 *
 * ```ts ignore
 * const status = new PipelineStatus({ clock, log }); // src/run/status.ts
 * const app = await HttpApp.create({
 *   clock,
 *   track: { log, token: Deno.env.get("TRACK_TOKEN") },
 *   kv,
 *   jobs: status.snapshot,
 *   readiness: [logReachable(log, "flink-events"), kvReachable(kv)],
 * });
 * status.observe(app.job_metrics); // latency and checkpoint histograms
 * serveHttp(app, { hostname: "127.0.0.1", port: 8000 });
 * ```
 *
 * `src/run/surface.ts` does this wiring for `deno task run`.
 *
 * @module
 */

export {
  HttpApp,
  type HttpAppOptions,
  serveHttp,
  type ServeOptions,
} from "./app.ts";
export {
  type CheckResult,
  kvReachable,
  logReachable,
  partitionsAssigned,
  producerAvailable,
  type ReadinessCheck,
} from "./health.ts";
export { Tracker, type TrackerOptions, type TrackOutcome } from "./track.ts";
export {
  LogUnavailableError,
  type ProduceReport,
} from "./batching_producer.ts";
export * as analyticsKeys from "../jobs/analytics/keys.ts";
export type { WindowAnswer } from "./analytics_api.ts";
export type {
  JobsProvider,
  JobsSnapshot,
  JobStatus,
  PartitionStatus,
} from "../metrics/job_status.ts";
export { JobMetrics } from "../metrics/job_metrics.ts";
