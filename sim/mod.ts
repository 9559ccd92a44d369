/**
 * freshet's simulator: the same jobs and runner as production, fed recorded
 * fixtures through in-process twins of Kafka, Redis and S3 (and PGlite for
 * PostgreSQL), on a virtual clock, with faults injected from a seed. Kept
 * apart from `mod.ts` because `src/` never imports `sim/`.
 *
 * - {@linkcode simulate}: replay a fixture, optionally with faults; compare
 *   runs with {@linkcode canonicalOutputs}, {@linkcode compareOutputs} and
 *   {@linkcode digest}.
 * - {@linkcode JobDriver}: test a job the way Kafka Streams'
 *   `TopologyTestDriver` tests a topology: pipe input, move the clock, read
 *   outputs and state.
 * - The twins themselves, for tests of one's own sinks.
 *
 * @module
 */

export {
  FAULT_KINDS,
  type FaultKind,
  type FaultRates,
  parseFaults,
  simulate,
  type SimulationOptions,
  type SimulationResult,
  swarmFaults,
} from "./simulator.ts";
export {
  type CanonicalKv,
  type CanonicalOutputs,
  canonicalOutputs,
  digest,
} from "./outputs.ts";
export { compareOutputs } from "./checker.ts";
export {
  type DriverInput,
  JobDriver,
  type JobDriverOptions,
} from "./driver.ts";
export { VirtualClock } from "./clock.ts";
export { type LogDump, LogTwin, type LogTwinOptions } from "./log.ts";
export { type KvDumpEntry, KvTwin, type KvTwinOptions } from "./kv.ts";
export { ObjectsTwin, type ObjectsTwinOptions } from "./objects.ts";
export type { FailMode, FailRule } from "./errors.ts";
export { Rng } from "./random.ts";

// Types the signatures above reference, as `mod.ts` exports them: the ports
// the twins implement, and what a job is to the runtime.
export type * from "../src/ports.ts";
export type {
  Counts,
  Job,
  Outputs,
  PartitionProcessor,
  ProcessContext,
  Stage,
} from "../src/core/job.ts";
export type { FixtureMessage } from "../src/core/fixture.ts";
export type { RunnerEvent } from "../src/core/runner.ts";
export type { JobOverrides } from "../src/flow/define.ts";
export type {
  CheckpointLogContext,
  Sink,
  SinkContext,
  SinkPorts,
  SinkProtocol,
  SinkWriter,
} from "../src/sinks/sink.ts";
export type {
  CheckpointId,
  CheckpointLog,
  CheckpointStore,
  PartitionCheckpoint,
  PartitionClaim,
} from "../src/core/checkpoint.ts";
