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
export { type CanonicalOutputs, canonicalOutputs, digest } from "./outputs.ts";
export { compareOutputs } from "./checker.ts";
export { JobDriver, type JobDriverOptions } from "./driver.ts";
export { VirtualClock } from "./clock.ts";
export { LogTwin } from "./log.ts";
export { KvTwin } from "./kv.ts";
export { ObjectsTwin } from "./objects.ts";
export { Rng } from "./random.ts";
