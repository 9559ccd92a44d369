/**
 * freshet's HTTP surface: `POST /track`, the query API, `/metrics`,
 * `/healthz`, `/readyz` and the dashboard, served by `Deno.serve`.
 *
 * ```ts ignore
 * const app = await HttpApp.create({
 *   clock,
 *   track: { log, token: Deno.env.get("TRACK_TOKEN") },
 *   kv,
 *   jobs: () => runner.status(),
 *   readiness: [logReachable(log, "flink-events"), kvReachable(kv)],
 * });
 * serveHttp(app, { hostname: "127.0.0.1", port: 8000 });
 * // The runtime reports as things happen:
 * app.job_metrics.observeCheckpoint("analytics", duration_ms);
 * ```
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
