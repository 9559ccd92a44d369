/**
 * freshet: real-time event pipelines for Deno. The same processors run in
 * production against Kafka, Redis and S3, and in a deterministic simulator
 * that replays recorded traffic on a virtual clock with faults injected from
 * a seed.
 *
 * - Ports (`Log`, `KeyValue`, `ObjectStore`, `Clock`): what every service
 *   adapter and simulator twin implements.
 * - Runtime: event time, windows, watermarks, keyed state and timers, the
 *   per-partition task runner with fenced exactly-once writes and
 *   checkpoints.
 * - Jobs: `viewsJob` (view counting with Top-K leaderboards).
 *
 * @example Run the views job against real services
 * ```ts
 * import { CheckpointStore, Runner, viewsJob } from "./mod.ts";
 * // log, kv, objects: production adapters from src/adapters/, clock: SystemClock
 * // const runner = new Runner({ job: viewsJob(), log, kv, checkpoints: new CheckpointStore(objects), clock });
 * // runner.start(); for (;;) await runner.step();
 * ```
 *
 * @module
 */

export type * from "./src/ports.ts";
export * from "./src/core/time.ts";
export * from "./src/core/windows.ts";
export * from "./src/core/watermarks.ts";
export * from "./src/core/window_operator.ts";
export * from "./src/core/state.ts";
export * from "./src/core/timers.ts";
export * from "./src/core/job.ts";
export * from "./src/core/checkpoint.ts";
export * from "./src/core/runner.ts";
export * from "./src/core/fixture.ts";
export {
  countKey,
  deadLetterTopic,
  lateTopic,
  viewsJob,
} from "./src/jobs/views/job.ts";
export type { ViewsConfig, ViewsOptions } from "./src/jobs/views/job.ts";
export { findJob, JOBS } from "./src/jobs/registry.ts";
