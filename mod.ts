/**
 * freshet: real-time event pipelines for Deno. Jobs are written with a small
 * dataflow API; the same processors run in production against Kafka, Redis,
 * S3 and PostgreSQL, and in a deterministic simulator (`sim/mod.ts`) that
 * replays recorded traffic on a virtual clock with faults injected from a
 * seed.
 *
 * - Writing jobs: {@linkcode defineJob}, a {@linkcode Flow}'s operators
 *   (`source`, `map`, `filter`, `flatMap`, `keyBy`, `window`, `process`,
 *   `to`), window assigners ({@linkcode tumbling}, {@linkcode sliding},
 *   {@linkcode session}, {@linkcode global}), aggregates ({@linkcode count},
 *   {@linkcode sum}, {@linkcode stats}, {@linkcode topKMembers}, ...) and
 *   parse checks for JSON events ({@linkcode jsonEvents}, ...).
 * - Sinks: {@linkcode redisSink} (fenced batches), {@linkcode kafkaSink}
 *   (Kafka transactions), {@linkcode s3FilesSink} (files in S3 by two-phase
 *   commit, e.g. {@linkcode jsonLines}), each exactly once, and the
 *   {@linkcode Sink} interface to write one's own.
 * - Running: {@linkcode runJobs} with the production services of
 *   {@linkcode connectServices} (what `deno task run --prod` does), or a
 *   {@linkcode Runner} of one's own; the escape hatch for jobs written by
 *   hand ({@linkcode jobSpec}, {@linkcode PartitionProcessor}).
 * - Ports ({@linkcode Log}, {@linkcode KeyValue}, {@linkcode ObjectStore},
 *   {@linkcode Warehouse}, {@linkcode Clock}): what every adapter and
 *   simulator twin implements.
 *
 * @example A job counting events per key in 1-minute windows, to Redis
 * ```ts
 * import { count, defineJob, jsonEvents, redisSink, tumbling } from "./mod.ts";
 *
 * export default defineJob({
 *   name: "clicks-per-minute",
 *   build(flow) {
 *     const redis = redisSink();
 *     flow.source("clicks", {
 *       parse: jsonEvents({ key: "user", time: "ts" }),
 *       out_of_orderness_ms: 5_000,
 *     })
 *       .keyBy((click) => click.user as string)
 *       .window({ assigner: tumbling({ size_ms: 60_000 }), aggregate: count() })
 *       .to(redis, (r, kv) => kv.hset(`clicks:${r.key}`, String(r.window.start), String(r.value)));
 *   },
 * });
 * ```
 *
 * @module
 */

export type * from "./src/ports.ts";
export { FencedError } from "./src/ports.ts";

// Writing jobs.
export {
  defineJob,
  isJobSpec,
  type JobDefinition,
  type JobOptions,
  type JobOutputs,
  type JobOverrides,
  type JobSpec,
  jobSpec,
  type OptionValue,
} from "./src/flow/define.ts";
export {
  Flow,
  type KeyByOptions,
  KeyedStream,
  type KeyedTimers,
  type ProcessContext as KeyedProcessContext,
  type ProcessFunction,
  Stream,
  type TimerContext,
  type ValueState,
  WindowedStream,
  type WindowOptions,
  type WriteContext,
} from "./src/flow/stream.ts";
export type { KeyedStateOptions } from "./src/core/state.ts";
export type { Parsed, SourceOptions } from "./src/flow/source.ts";
export {
  byRank,
  count,
  heavyHitters,
  type Ranked,
  reduce,
  type Stats,
  stats,
  sum,
  topK,
  topKMembers,
} from "./src/flow/aggregates.ts";
export type { ExactStatsAcc } from "./src/flow/exact_stats.ts";
export { SpaceSaving } from "./src/flow/space_saving.ts";
export {
  type Check,
  eventTime,
  finiteNumber,
  jsonEvents,
  type JsonEventsOptions,
  jsonObject,
  nonEmptyString,
  type NumberRule,
  shown,
} from "./src/flow/json.ts";
export {
  global,
  session,
  sliding,
  type TimeWindow,
  tumbling,
  type WindowAssigner,
} from "./src/core/windows.ts";
export type {
  Aggregate,
  EmitMode,
  WindowResult,
} from "./src/core/window_operator.ts";
export { formatBucket, formatIso, parseEventTime } from "./src/core/time.ts";

// Sinks.
export type {
  CheckpointLogContext,
  PartitionId,
  Sink,
  SinkContext,
  SinkPorts,
  SinkProtocol,
  SinkWriter,
} from "./src/sinks/sink.ts";
export {
  fenceKey,
  redisSink,
  type RedisSinkOptions,
} from "./src/sinks/redis.ts";
export { KvBatch } from "./src/sinks/kv_batch.ts";
export {
  kafkaSink,
  type KafkaSinkOptions,
  TopicMessages,
  transactionalId,
} from "./src/sinks/kafka.ts";
export {
  deadLetterTopic,
  lateTopic,
  type SideRecord,
} from "./src/sinks/side_topics.ts";
export {
  type FilesHandle,
  type PublishEntry,
  s3FilesSink,
  type S3FilesSinkOptions,
} from "./src/sinks/s3_files.ts";
export {
  type BucketOf,
  FileBatch,
  type FileEntry,
  type OpenFileState,
} from "./src/sinks/file_roll.ts";
export { type FileFormat, jsonLines } from "./src/sinks/file_format.ts";

// Running jobs.
export {
  type JobEvent,
  JobFailedError,
  runJobs,
  type RunJobsOptions,
} from "./src/run/production.ts";
export {
  type ConnectOptions,
  connectServices,
  type Services,
} from "./src/cli/services.ts";
export {
  type Config,
  CONFIG_DEFAULTS,
  CONFIG_VARIABLES,
  ConfigError,
  type ConfigInputs,
  type ConfigVariable,
  type KafkaConfig,
  loadConfig,
  type PostgresConfig,
  type RedisConfig,
  type S3Config,
} from "./src/adapters/config.ts";
export {
  type PartitionStatus,
  Runner,
  type RunnerEvent,
  type RunnerOptions,
} from "./src/core/runner.ts";
export {
  type CheckpointId,
  type CheckpointLog,
  CheckpointStore,
  type CheckpointStoreOptions,
  type PartitionCheckpoint,
  type PartitionClaim,
} from "./src/core/checkpoint.ts";
export {
  addCounts,
  type Counts,
  type Job,
  Outputs,
  type PartitionProcessor,
  type ProcessContext,
  reconciles,
  type Stage,
  zeroCounts,
} from "./src/core/job.ts";
export { type FixtureMessage, parseFixture } from "./src/core/fixture.ts";

// The jobs that ship with freshet.
export { findJob, JOBS } from "./src/jobs/registry.ts";
export { countKey, views } from "./src/jobs/views/job.ts";
export { transactions } from "./src/jobs/transactions/job.ts";
export { analytics } from "./src/jobs/analytics/job.ts";
