/**
 * The deterministic simulator: replays a fixture through a job with twins of
 * every service, on a virtual clock, with faults drawn from one seed.
 *
 * Records arrive at their recorded times: the simulator appends each to the
 * log twin when the virtual clock reaches its arrival time, and the job polls
 * every `poll_interval_ms` of virtual time, so batches hold what arrived in
 * between, as in production. Every step is taken by this loop in a fixed
 * order; no real timer or I/O is involved, so a seed fixes every byte.
 *
 * Faults (each drawn from its own stream of the seed):
 * - `crash`: the instance dies before or after any call it makes to a service
 *   (a fenced write, a side-output append, a checkpoint object, a fence
 *   claim), without leaving its group; a new instance restores from the last
 *   complete checkpoint;
 * - `redeliver`: the consumer is rewound to an earlier offset, so already
 *   handled input arrives again;
 * - `reorder`: adjacent records of a partition swap before they arrive, only
 *   where neither becomes late (within the out-of-orderness bound);
 * - `sink-failure`: writes fail transiently, before being applied or after
 *   (a lost reply), and are retried.
 *
 * Swarm testing (as TigerBeetle's VOPR): {@linkcode swarmFaults} lets one
 * seed decide which kinds strike and how often, so that across seeds some
 * runs crash constantly, some only reorder, some only fail writes.
 *
 * Processing time: when every instance is caught up, the virtual clock moves
 * to the next arrival, or to the next processing-time step a job asked for
 * (an idle partition's watermark advance, a processing-time timer), in
 * steps of at least the poll interval.
 *
 * @module
 */

import type {
  Clock,
  KeyValue,
  Log,
  LogConsumer,
  LogTransaction,
  ObjectStore,
  TransactionalProducer,
} from "../src/ports.ts";
import { CheckpointStore } from "../src/core/checkpoint.ts";
import type { FixtureMessage } from "../src/core/fixture.ts";
import {
  addCounts,
  type Counts,
  type Job,
  zeroCounts,
} from "../src/core/job.ts";
import { Runner, type RunnerEvent } from "../src/core/runner.ts";
import { VirtualClock } from "./clock.ts";
import { type FailMode, TransientError } from "./errors.ts";
import { KvTwin } from "./kv.ts";
import { LogTwin } from "./log.ts";
import { ObjectsTwin } from "./objects.ts";
import { Rng } from "./random.ts";

/** The kinds of fault the simulator injects. */
export const FAULT_KINDS = [
  "crash",
  "redeliver",
  "reorder",
  "sink-failure",
] as const;

/** A kind of fault. */
export type FaultKind = typeof FAULT_KINDS[number];

/** How often each fault kind strikes, as a multiple of its base rate (0: never). */
export type FaultRates = Partial<Record<FaultKind, number>>;

/**
 * The faults of one swarm-testing run, drawn from `seed`: each kind is on
 * with probability 1/2 (at least one is), at a rate of 1/4, 1 or 4 times its
 * base rate.
 */
export function swarmFaults(seed: number | string): FaultRates {
  const rng = new Rng(seed).fork("swarm");
  const rates: FaultRates = {};
  for (const kind of FAULT_KINDS) {
    if (rng.chance(0.5)) rates[kind] = rng.pick([0.25, 1, 4]);
  }
  if (Object.keys(rates).length === 0) rates[rng.pick(FAULT_KINDS)] = 1;
  return rates;
}

/** Parses `all` or a comma-separated list of fault kinds. */
export function parseFaults(list: string): FaultKind[] {
  if (list.trim() === "" || list === "none") return [];
  if (list === "all") return [...FAULT_KINDS];
  const kinds: FaultKind[] = [];
  for (const part of list.split(",")) {
    const kind = part.trim();
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new RangeError(
        `Cannot inject fault as it must be one of ${
          FAULT_KINDS.join(", ")
        } or 'all': current value is '${kind}'`,
      );
    }
    if (!kinds.includes(kind as FaultKind)) kinds.push(kind as FaultKind);
  }
  return kinds;
}

/** Options of {@linkcode simulate}. */
export interface SimulationOptions {
  /** The job to run (compiled: a spec's `create()`). */
  job: Job;
  /**
   * The recorded input, in arrival order (the `reorder` fault swaps
   * neighbours only where neither becomes late).
   */
  fixture: readonly FixtureMessage[];
  /** Fixes every random choice: the same seed gives the same run. */
  seed: number | string;
  /** Default: none. */
  faults?: readonly FaultKind[];
  /** Rate multipliers of the kinds in `faults` (see {@linkcode swarmFaults}). Default: 1 each. */
  fault_rates?: FaultRates;
  /** Virtual time between checkpoints of a partition. Default: 600 000 (10 min). */
  checkpoint_interval_ms?: number;
  /** Virtual time between polls when the job is caught up. Default: 1 000. */
  poll_interval_ms?: number;
  /** Largest batch a poll hands out. Default: 500. */
  max_batch_records?: number;
  /** Crashes to expect in a run with the `crash` fault. Default: 3. */
  expected_crashes?: number;
  /**
   * Service calls that may crash in this run, to aim `expected_crashes` at:
   * the `calls` of the same run without faults. Default: an estimate of two
   * calls per poll over the fixture's span, which a job writing only at
   * checkpoints (files) is far below.
   */
  expected_calls?: number;
  /**
   * Instances of the job in one consumer group; each step goes to one drawn
   * from the seed, and a crash replaces the instance that crashed. Default: 1.
   */
  instances?: number;
  /** Use a deliberately broken, unfenced key-value sink. Default: false. */
  unfenced_sink?: boolean;
  /** Processing time the clock starts at. Default: the first arrival's. */
  start_ms?: number;
  /** Called with every runner event, and the serial number of the instance. */
  onEvent?: (instance: number, event: RunnerEvent) => void;
  /** Called now and then with the number of records delivered so far. */
  onProgress?: (delivered: number, total: number) => void;
}

/** What a simulation did and left behind. */
export interface SimulationResult {
  /** The Redis twin as the run left it. */
  kv: KvTwin;
  /** The Kafka twin as the run left it (input, output and internal topics). */
  log: LogTwin;
  /** The S3 twin the job's sinks wrote to. */
  objects: ObjectsTwin;
  /** The S3 twin holding the checkpoints, apart from the job's objects. */
  checkpoints: ObjectsTwin;
  /** Where the input records went (the first stage's counts). */
  counts: Counts;
  /** Counts of every stage, in the job's order (repartitioned stages after the first). */
  counts_by_stage: Counts[];
  /** The topics the job's stages read (its input, its internal topics). */
  stage_topics: string[];
  /** Checkpoints taken, by every instance of the run. */
  checkpoints_taken: number;
  /** Faults injected, by kind. */
  injected: {
    crashes: number;
    redeliveries: number;
    reorders: number;
    sink_failures: number;
  };
  /** Poll steps taken. */
  steps: number;
  /** Service calls made where a crash may strike (see `expected_calls`). */
  calls: number;
  /** Instances restarted after a write failed for good (not a crash). */
  restarts: number;
}

/** An instance died: thrown by the crash injector, never retried. */
export class SimulatedCrash extends Error {
  override name = "SimulatedCrash";
}

/** A running instance of the job, as the simulator drives it. */
interface Instance {
  runner: Runner;
  /** Its consumer, once the runner started it. */
  consumer: LogConsumer | null;
  /** Last offset handed to it per partition: where a redelivery rewinds from. */
  last_offsets: Map<string, number>;
  /** Its last poll found nothing. */
  idle: boolean;
}

interface Arrival {
  partition: number | undefined;
  key: string | null;
  value: string;
  time_ms: number;
}

/** Replays a fixture through a job; see the module doc. */
export async function simulate(
  options: SimulationOptions,
): Promise<SimulationResult> {
  const { job } = options;
  const faults = new Set(options.faults ?? []);
  const rate = (kind: FaultKind) =>
    faults.has(kind) ? options.fault_rates?.[kind] ?? 1 : 0;
  const rng = new Rng(options.seed);
  const poll_ms = options.poll_interval_ms ?? 1_000;
  const injected = {
    crashes: 0,
    redeliveries: 0,
    reorders: 0,
    sink_failures: 0,
  };

  const arrivals = arrange(options.fixture, job);
  if (rate("reorder") > 0) {
    injected.reorders = reorder(
      arrivals,
      job,
      rng.fork("reorder"),
      Math.min(1, 0.05 * rate("reorder")),
    );
  }
  const start_ms = options.start_ms ?? arrivals[0]?.time_ms ?? 0;
  const span_ms = (arrivals[arrivals.length - 1]?.time_ms ?? 0) - start_ms;

  const vclock = new VirtualClock(start_ms);
  // Waiting (retry back-off) lets virtual time pass; nobody else runs meanwhile.
  const clock: Clock = {
    now: () => vclock.now(),
    sleep: (ms) =>
      Promise.resolve(vclock.advanceTo(vclock.now() + Math.max(0, ms))),
  };
  const failRng = rng.fork("sink-failure");
  // Faults strike the run only: reading the twins afterwards never fails.
  let running = true;
  const sinkFailure = (): FailMode | false => {
    if (
      !running || rate("sink-failure") === 0 ||
      !failRng.chance(Math.min(0.2, 0.01 * rate("sink-failure")))
    ) {
      return false;
    }
    injected.sink_failures++;
    return failRng.chance(0.5) ? "before" : "after";
  };
  const kv = new KvTwin({
    clock,
    fail: sinkFailure,
    unfenced: options.unfenced_sink ?? false,
  });
  // The simulator's own appends of input are not the job's writes: they never fail.
  let delivering = false;
  const log = new LogTwin({
    clock,
    fail: (call) =>
      !delivering &&
      (call === "produce" || call === "transactionalProducer" ||
        call.startsWith("transaction.")) &&
      sinkFailure(),
  });
  const objects = new ObjectsTwin({ fail: sinkFailure });
  const checkpointObjects = new ObjectsTwin({
    fail: (call) => (call === "put" || call === "putIfAbsent") && sinkFailure(),
  });

  const partitions = arrivals.reduce(
    (most, a) => Math.max(most, (a.partition ?? 0) + 1),
    job.partitions,
  );
  for (const stage of job.stages) {
    await log.createTopic(stage.topic, partitions);
  }
  for (const topic of job.outputTopics) {
    await log.createTopic(topic, partitions);
  }

  // Crashes strike service calls; about `expected_crashes` per run.
  const crashRng = rng.fork("crash");
  const expected_calls = Math.max(
    1,
    options.expected_calls ?? 2 * span_ms / poll_ms,
  );
  let calls = 0;
  // Capped: on a short fixture the ratio reaches 1, and an instance that
  // crashes at every call never gets anywhere.
  const crash_p = rate("crash") > 0
    ? Math.min(
      0.2,
      (options.expected_crashes ?? 3) * rate("crash") / expected_calls,
    )
    : 0;
  // A run must end: past a few times the crashes expected, none strike (a
  // short fixture whose every assignment takes a dozen calls would
  // otherwise crash forever at the cap).
  const max_crashes = Math.ceil(
    4 * (options.expected_crashes ?? 3) * rate("crash"),
  ) + 4;
  const crashPoint = (): FailMode | null => {
    if (running) calls++;
    if (
      !running || crash_p === 0 || injected.crashes >= max_crashes ||
      !crashRng.chance(crash_p)
    ) return null;
    injected.crashes++;
    return crashRng.chance(0.5) ? "before" : "after";
  };
  const redeliverRng = rng.fork("redeliver");
  const redeliver_p = Math.min(0.1, 0.002 * rate("redeliver"));

  const group_id = `freshet-${job.name}`;
  const crashingLog = withCrashes<Log>(log, crashPoint, ["produce"], {
    // Transactions crash too: between produce, sendOffsets and commit.
    transactionalProducer: (producer) =>
      withCrashes(producer as TransactionalProducer, crashPoint, [], {
        begin: (txn) =>
          withCrashes(txn as LogTransaction, crashPoint, [
            "produce",
            "sendOffsets",
            "commit",
          ]),
      }),
  });
  const crashingKv = withCrashes<KeyValue>(kv, crashPoint, [
    "applyFenced",
    "claimFence",
  ]);
  const crashingCheckpoints = withCrashes<ObjectStore>(
    checkpointObjects,
    crashPoint,
    ["put", "putIfAbsent", "delete"],
  );
  const crashingObjects = withCrashes<ObjectStore>(objects, crashPoint, [
    "put",
    "putIfAbsent",
    "copy",
    "delete",
  ]);
  let checkpoints_taken = 0;
  let instances_started = 0;
  let restarts = 0;
  const newInstance = (): Instance => {
    const serial = instances_started++;
    const instance: Instance = {
      runner: null as unknown as Runner,
      consumer: null,
      last_offsets: new Map(),
      idle: false,
    };
    // The instance's consumer, watched: the simulator rewinds and kills it.
    const instanceLog: Log = Object.create(crashingLog, {
      consumer: {
        value: (consumerOptions: Parameters<Log["consumer"]>[0]) => {
          const created = log.consumer(consumerOptions);
          instance.consumer = created;
          return {
            poll: async () => {
              const batch = await created.poll();
              if (batch !== null && batch.records.length > 0) {
                instance.last_offsets.set(
                  `${batch.topic}\u0000${batch.partition}`,
                  batch.records[batch.records.length - 1]!.offset,
                );
              }
              return batch;
            },
            commit: (offsets) => created.commit(offsets),
            close: () => created.close(),
          } satisfies LogConsumer;
        },
      },
    });
    instance.runner = new Runner({
      job,
      log: instanceLog,
      kv: crashingKv,
      objects: crashingObjects,
      checkpoints: new CheckpointStore(crashingCheckpoints),
      clock,
      group_id,
      checkpoint_interval_ms: options.checkpoint_interval_ms ?? 600_000,
      max_batch_records: options.max_batch_records ?? 500,
      retry_attempts: 20,
      retry_backoff_ms: 10,
      is_transient: (error) => error instanceof TransientError,
      onEvent: (event) => options.onEvent?.(serial, event),
    });
    instance.runner.start();
    return instance;
  };

  const count = options.instances ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(
      `Cannot simulate as 'instances' must be a positive integer: current value is ${count}`,
    );
  }
  const instances = Array.from({ length: count }, newInstance);
  const scheduleRng = rng.fork("schedule");
  const wake = () => instances.forEach((instance) => instance.idle = false);
  let next = 0;
  let steps = 0;
  /** Stages whose end of input was handled. */
  let finished = 0;
  for (;;) {
    delivering = true;
    next = deliver(log, job.topic, arrivals, next, vclock.now());
    delivering = false;
    if (steps % 256 === 0) options.onProgress?.(next, arrivals.length);
    steps++;
    let at = count === 1 ? 0 : scheduleRng.int(count);
    let instance = instances[at]!;
    try {
      if (await instance.runner.step()) {
        wake();
        redeliver(instance);
        continue;
      }
      instance.idle = true;
      if (!instances.every((i) => i.idle) || log.rebalancing(group_id)) {
        continue;
      }
      if (next >= arrivals.length) {
        // Stage by stage: a stage reading a repartition first reads what
        // the stage before it wrote when it finished. A crash here is the
        // crash of the instance finishing.
        for (at = 0; at < count; at++) {
          instance = instances[at]!;
          await instance.runner.finish(finished);
        }
        finished++;
        if (finished >= job.stages.length) break;
        wake();
        continue;
      }
      // The next arrival, or an earlier processing-time step a job is due.
      let target = arrivals[next]!.time_ms;
      for (const { runner } of instances) {
        const due = runner.nextTickDue();
        if (due !== undefined && due < target) target = due;
      }
      vclock.advanceTo(Math.max(vclock.now() + poll_ms, target));
      wake();
    } catch (error) {
      // A write that failed for good (an injected failure retries could not
      // cure, e.g. in a transaction) fails the instance, which production
      // restarts from its checkpoints (runJobs): so does the simulator.
      if (!(error instanceof SimulatedCrash) && !injected_cause(error)) {
        throw error;
      }
      if (!(error instanceof SimulatedCrash)) restarts++;
      checkpoints_taken += instance.runner.checkpointsTaken();
      if (instance.consumer !== null) log.kill(instance.consumer);
      // The next instance starts from checkpoints: it never inherits the dead
      // one's offsets (rewinding to them could skip input).
      instances[at] = newInstance();
      wake();
    }
  }

  function redeliver(instance: Instance): void {
    if (
      redeliver_p === 0 || instance.consumer === null ||
      !redeliverRng.chance(redeliver_p)
    ) return;
    const owned = log.assignment(instance.consumer);
    if (owned.length === 0) return;
    const { topic, partition } = redeliverRng.pick(owned);
    const last = instance.last_offsets.get(`${topic}\u0000${partition}`);
    if (last === undefined) return;
    log.rewind(
      instance.consumer,
      topic,
      partition,
      Math.max(0, last - redeliverRng.int(2_000)),
    );
    injected.redeliveries++;
  }
  options.onProgress?.(arrivals.length, arrivals.length);
  const counts = zeroCounts();
  const counts_by_stage = job.stages.map(() => zeroCounts());
  for (const instance of instances) {
    const byTopic = instance.runner.countsByTopic();
    job.stages.forEach((stage, i) => {
      const c = byTopic.get(stage.topic);
      if (c !== undefined) addCounts(counts_by_stage[i]!, c);
    });
    checkpoints_taken += instance.runner.checkpointsTaken();
  }
  addCounts(counts, counts_by_stage[0]!);
  running = false;
  for (const instance of instances) await instance.runner.close();
  return {
    kv,
    log,
    objects,
    checkpoints: checkpointObjects,
    counts,
    counts_by_stage,
    stage_topics: job.stages.map((stage) => stage.topic),
    checkpoints_taken,
    injected,
    steps,
    calls,
    restarts,
  };
}

/** Arrival order and times: recorded times as given (never backwards), raw payloads at their event time. */
function arrange(fixture: readonly FixtureMessage[], job: Job): Arrival[] {
  const arrivals: Arrival[] = [];
  let time_ms = Number.NEGATIVE_INFINITY;
  for (const message of fixture) {
    const routed = message.key === undefined
      ? job.route(message.value)
      : undefined;
    const at = message.timestamp ?? routed?.timestamp;
    if (at !== undefined) time_ms = Math.max(time_ms, at);
    arrivals.push({
      partition: message.partition,
      key: message.key === undefined ? routed!.key : message.key,
      value: message.value,
      time_ms,
    });
  }
  const first = arrivals.find((a) => Number.isFinite(a.time_ms))?.time_ms ?? 0;
  for (const arrival of arrivals) {
    if (!Number.isFinite(arrival.time_ms)) arrival.time_ms = first;
  }
  return arrivals;
}

/**
 * Swaps adjacent records of a partition where neither becomes late: record
 * `a` then `b` may become `b` then `a` when each one's event time is at least
 * the other's, or the partition's maximum so far, minus the bound. Arrival
 * times stay in place. Answers the number of swaps.
 */
function reorder(
  arrivals: Arrival[],
  job: Job,
  rng: Rng,
  p: number,
): number {
  const bound = job.out_of_orderness_ms;
  const byPartition = new Map<string, number[]>();
  for (let i = 0; i < arrivals.length; i++) {
    const a = arrivals[i]!;
    const lane = a.partition !== undefined ? `p${a.partition}` : `k${a.key}`;
    let list = byPartition.get(lane);
    if (list === undefined) byPartition.set(lane, list = []);
    list.push(i);
  }
  let swaps = 0;
  for (const indexes of byPartition.values()) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j + 1 < indexes.length; j++) {
      const a = arrivals[indexes[j]!]!;
      const b = arrivals[indexes[j + 1]!]!;
      const ta = job.route(a.value).timestamp;
      const tb = job.route(b.value).timestamp;
      if (
        ta !== undefined && tb !== undefined && rng.chance(p) &&
        ta >= Math.max(max, tb) - bound && tb >= Math.max(max, ta) - bound
      ) {
        [a.value, b.value, a.key, b.key] = [b.value, a.value, b.key, a.key];
        swaps++;
      }
      const first = job.route(a.value).timestamp;
      if (first !== undefined) max = Math.max(max, first);
    }
  }
  return swaps;
}

/** Appends every arrival due by `now_ms`; answers the index of the next one. */
function deliver(
  log: LogTwin,
  topic: string,
  arrivals: readonly Arrival[],
  next: number,
  now_ms: number,
): number {
  let end = next;
  while (end < arrivals.length && arrivals[end]!.time_ms <= now_ms) end++;
  if (end === next) return next;
  void log.produce(
    topic,
    arrivals.slice(next, end).map((a) => ({
      key: a.key,
      value: a.value,
      partition: a.partition,
      timestamp: a.time_ms,
    })),
  );
  return end;
}

/** Whether `error` is, or was caused by, a failure the simulator injected. */
function injected_cause(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && depth < 8; depth++) {
    if (e instanceof TransientError) return true;
    e = (e as { cause?: unknown } | null)?.cause;
  }
  return false;
}

/**
 * Wraps a port so that the named calls may crash the instance, before the
 * call takes effect or after (its effect stays, the caller never learns).
 * `results` wraps what some calls answer (objects with calls of their own).
 */
function withCrashes<T extends object>(
  target: T,
  crashPoint: () => FailMode | null,
  calls: readonly string[],
  results: Record<string, (result: unknown) => unknown> = {},
): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      const name = String(property);
      const wrap = results[name];
      if (!calls.includes(name)) {
        if (wrap === undefined) return value.bind(object);
        return async (...args: unknown[]) =>
          wrap(await value.apply(object, args));
      }
      return async (...args: unknown[]) => {
        const mode = crashPoint();
        if (mode === "before") {
          throw new SimulatedCrash(`crash before ${name}`);
        }
        const result = await value.apply(object, args);
        if (mode === "after") {
          throw new SimulatedCrash(`crash after ${name}`);
        }
        return wrap === undefined ? result : wrap(result);
      };
    },
  });
}
