/**
 * The processor a dataflow stage compiles to, for one input partition: the
 * executor that owns what every job would otherwise write by hand —
 * parsing and dead letters, the watermark (with idle advance), pushing
 * elements through the operators, lateness and the late side output, the
 * counts (`in = out + filtered + dead_lettered + late`), per-batch flushes
 * and one snapshot holding every stateful step's state.
 *
 * A record's class: `dead_lettered` when its source could not parse it or a
 * step failed on it; else `late` when a window step found it late for all
 * its windows (beyond allowed lateness); else `out` when a stateful step or
 * a sink took it; else `filtered`.
 *
 * @module
 */

import type { LogRecord, Unreadable } from "../ports.ts";
import {
  type Counts,
  type Outputs,
  type PartitionProcessor,
  type ProcessContext,
  zeroCounts,
} from "../core/job.ts";
import type { Sink } from "../sinks/sink.ts";
import type { SideMessages } from "../sinks/side_topics.ts";
import {
  DEFAULT_MAX_AHEAD_MS,
  DEFAULT_MIN_EVENT_TIME_MS,
  type Parsed,
  SourceClock,
  type SourceOptions,
} from "./source.ts";
import { formatIso } from "../core/time.ts";
import {
  type Emit,
  failed,
  fanOut,
  type LatePart,
  type Origin,
  ProcessStep,
  type StepEnv,
  type StepRuntime,
  WindowStep,
} from "./steps.ts";
import type { GraphNode, WriteContext } from "./stream.ts";
import {
  decodeInternal,
  encodeElement,
  encodeMarker,
  MARKER_KEY,
  RepartitionClock,
} from "./repartition.ts";
import type { TopicMessages } from "../sinks/kafka.ts";

/** What a processor needs to know of its stage. */
export interface DataflowStage {
  job: string;
  /** The topic the stage reads. */
  topic: string;
  /** The job's input topic (side outputs of every stage are keyed by its positions). */
  input_topic: string;
  /** The job's source, or a repartition's internal topic. */
  input:
    | { kind: "source"; options: SourceOptions<unknown> }
    | { kind: "repartition" };
  /** The first steps of the stage's graph. */
  roots: readonly GraphNode[];
  side: Sink<SideMessages>;
  dead_letter_topic: string;
  late_topic: string;
}

/** What a processor learns of its partition when it is created. */
export interface ProcessorContext {
  /** Partitions of the stage's topic. */
  partitions: number;
}

/** The watermark of a stage: its source's, or a repartition's merge. */
interface StageClock {
  current(): number;
  maxTimestamp(): number;
  observe(timestamp: number): void;
  appended(append_ms: number): void;
  advanceIdle(now_ms: number): boolean;
  idleTimeReaching(watermark: number): number | undefined;
  snapshot(): unknown;
  restore(snapshot: unknown): void;
}

/** A repartition's clock as a stage clock: it moves by reports only. */
class MergedClock extends RepartitionClock implements StageClock {
  appended(): void {}
  advanceIdle(): boolean {
    return false;
  }
  idleTimeReaching(): undefined {
    return undefined;
  }
}

const NO_SOURCE: SourceOptions<unknown> = {
  parse: () => ({ error: "a repartition stage parses no payload" }),
  out_of_orderness_ms: 0,
};

/** JSON-compatible state of a {@linkcode DataflowProcessor}. */
export interface DataflowSnapshot {
  version: 1;
  source: unknown;
  /** Each stateful step's state, by step name. */
  steps: Record<string, unknown>;
  counts: Counts;
}

/** A compiled stage for one partition; see the module documentation. */
export class DataflowProcessor implements PartitionProcessor {
  readonly #stage: DataflowStage;
  readonly #partition: number;
  readonly #source: SourceOptions<unknown>;
  readonly #clock: StageClock;
  /** Set when the stage reads a repartition. */
  readonly #merged: MergedClock | null;
  /** Partitions of the stage's topic. */
  readonly #partitions: number;
  /** The watermark the current element is judged against (lateness). */
  #judge = Number.NEGATIVE_INFINITY;
  /** Internal topics this stage writes to, and the watermark last sent to each. */
  readonly #repartitions: Array<
    { topic: string; sink: Sink<TopicMessages>; sent: number }
  > = [];
  readonly #steps: StepRuntime[] = [];
  readonly #emit: Emit;
  #counts = zeroCounts();
  #out: Outputs | null = null;
  #now_ms = 0;
  #advanced = Number.NEGATIVE_INFINITY;
  #failures = 0;
  /** Whether a processing-time step can ever do something here. */
  readonly #ticking: boolean;
  readonly #max_ahead_ms: number;
  readonly #min_time_ms: number;

  constructor(
    stage: DataflowStage,
    partition: number,
    context: ProcessorContext = { partitions: 1 },
  ) {
    this.#stage = stage;
    this.#partition = partition;
    this.#partitions = context.partitions;
    if (stage.input.kind === "source") {
      this.#source = stage.input.options;
      this.#clock = new SourceClock(this.#source);
      this.#merged = null;
    } else {
      this.#source = NO_SOURCE;
      this.#merged = new MergedClock();
      this.#clock = this.#merged;
    }
    this.#max_ahead_ms = this.#source.max_ahead_ms ?? DEFAULT_MAX_AHEAD_MS;
    this.#min_time_ms = this.#source.min_event_time_ms ??
      DEFAULT_MIN_EVENT_TIME_MS;
    const env: StepEnv = {
      watermark: () => this.#clock.current(),
      judgeWatermark: () => this.#judge,
      carried_watermarks: this.#merged !== null,
      now: () => this.#now_ms,
      latestTime: () => {
        const max = this.#clock.maxTimestamp();
        return Number.isFinite(max) ? max : 0;
      },
      outputFailed: (step, value, error) =>
        this.#outputFailed(step, value, error),
    };
    this.#emit = fanOut(stage.roots.map((c) => this.#build(c, env)));
    this.#ticking = this.#source.idle_advance_ms !== undefined ||
      this.#steps.some((step) => step instanceof ProcessStep);
  }

  process(records: readonly LogRecord[], ctx: ProcessContext): void {
    this.#out = ctx.out;
    for (const record of records) {
      this.#logTick(record.timestamp);
      this.#clock.appended(record.timestamp);
      this.#now_ms = record.timestamp;
      if (this.#merged === null) {
        this.#counts.in++;
        this.#judge = this.#clock.current();
        this.#handle(record);
      } else this.#handleInternal(record, this.#merged);
      const watermark = this.#clock.current();
      if (watermark > this.#advanced) this.#advance(watermark);
    }
    this.#flush();
    this.#sendWatermark(this.#clock.current());
    this.#out = null;
  }

  endOfInput(ctx: ProcessContext): void {
    this.#out = ctx.out;
    this.#now_ms = ctx.now_ms;
    this.#advance(Number.POSITIVE_INFINITY);
    this.#flush();
    this.#sendWatermark(Number.POSITIVE_INFINITY);
    this.#out = null;
  }

  nextTick(): number | undefined {
    if (!this.#ticking) return undefined;
    let earliest = Number.POSITIVE_INFINITY;
    for (const step of this.#steps) {
      const processing = step.nextProcessingTimer();
      if (processing !== undefined && processing < earliest) {
        earliest = processing;
      }
      const event = step.nextEventTimer();
      if (event === undefined) continue;
      const idle = this.#clock.idleTimeReaching(event);
      if (idle !== undefined && idle < earliest) earliest = idle;
    }
    // A stage feeding a repartition has no timer of its own for what the
    // next stage waits for: a quiet partition moves its watermark (and
    // sends it on as a marker) every `idle_advance_ms`.
    const idle_ms = this.#source.idle_advance_ms;
    const current = this.#clock.current();
    if (
      this.#repartitions.length > 0 && idle_ms !== undefined &&
      Number.isFinite(current)
    ) {
      const idle = this.#clock.idleTimeReaching(current + idle_ms);
      if (idle !== undefined && idle < earliest) earliest = idle;
    }
    return Number.isFinite(earliest) ? earliest : undefined;
  }

  tick(ctx: ProcessContext): void {
    this.#out = ctx.out;
    this.#logTick(ctx.now_ms);
    this.#flush();
    this.#sendWatermark(this.#clock.current());
    this.#out = null;
  }

  counts(): Counts {
    return { ...this.#counts };
  }

  watermark(): number {
    return this.#clock.current();
  }

  snapshot(): DataflowSnapshot {
    const steps: Record<string, unknown> = {};
    for (const step of this.#steps) steps[step.name] = step.snapshot();
    return {
      version: 1,
      source: this.#clock.snapshot(),
      steps,
      counts: { ...this.#counts },
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<DataflowSnapshot> | null;
    const where = `job '${this.#stage.job}' (topic '${this.#stage.topic}')`;
    if (
      s === null || typeof s !== "object" || s.version !== 1 ||
      typeof s.steps !== "object" || s.steps === null ||
      typeof s.counts !== "object"
    ) {
      throw new TypeError(
        `Cannot restore ${where} as the snapshot must be a version 1 dataflow snapshot: current value is ${
          JSON.stringify(snapshot)?.slice(0, 200)
        }`,
      );
    }
    const names = this.#steps.map((step) => step.name);
    const stored = Object.keys(s.steps);
    const missing = names.filter((n) => !stored.includes(n));
    const extra = stored.filter((n) => !names.includes(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new TypeError(
        `Cannot restore ${where} as its checkpoint holds steps ${
          JSON.stringify(stored)
        } but the job has ${
          JSON.stringify(names)
        }: a renamed, added or removed stateful step needs a fresh start (new checkpoint prefix)`,
      );
    }
    this.#clock.restore(s.source);
    for (const step of this.#steps) step.restore(s.steps[step.name]);
    this.#counts = { ...zeroCounts(), ...s.counts };
    this.#advanced = this.#clock.current();
    // Markers are sent again after a restore (repeats are harmless).
    for (const r of this.#repartitions) r.sent = Number.NEGATIVE_INFINITY;
  }

  // ---- per record ----

  #handle(record: LogRecord): void {
    if (record.unreadable !== undefined) {
      this.#deadLetter(record, unreadableReason(record.unreadable));
      return;
    }
    let parsed: Parsed<unknown>;
    try {
      parsed = this.#source.parse(record.value, record);
    } catch (error) {
      parsed = {
        error: `parse failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
      };
    }
    if ("error" in parsed) {
      this.#deadLetter(record, parsed.error);
      return;
    }
    if (!Number.isSafeInteger(parsed.time)) {
      this.#deadLetter(
        record,
        `event time must be a whole number of epoch milliseconds: current value is ${
          String(parsed.time)
        }`,
      );
      return;
    }
    if (parsed.time < this.#min_time_ms) {
      this.#deadLetter(
        record,
        `event time ${formatIso(parsed.time)} is before ${
          formatIso(this.#min_time_ms)
        }, the earliest accepted`,
      );
      return;
    }
    if (parsed.time > record.timestamp + this.#max_ahead_ms) {
      // A far-future time would carry the watermark with it and make every
      // later record of the partition late.
      this.#deadLetter(
        record,
        `event time ${
          formatIso(parsed.time)
        } is more than ${this.#max_ahead_ms} ms ahead of the record's append time ${
          Number.isSafeInteger(record.timestamp)
            ? formatIso(record.timestamp)
            : String(record.timestamp)
        }`,
      );
      return;
    }
    const key = parsed.key === undefined ? record.key : parsed.key;
    this.#push(record, parsed.value, key, parsed.time);
  }

  /** A record of a repartition's internal topic: an element or a marker. */
  #handleInternal(record: LogRecord, clock: MergedClock): void {
    const internal = decodeInternal(record.value);
    if (internal.kind === "marker") {
      clock.report(internal.marker.p, internal.marker.n, internal.watermark);
      return;
    }
    this.#counts.in++;
    if (internal.kind === "bad") {
      this.#deadLetter(record, internal.reason);
      return;
    }
    const e = internal.envelope;
    // Side outputs name the element by the internal topic, its upstream
    // partition and its input record's offset: apart from the upstream
    // stage's side outputs of the same record, and the same in every run.
    const source: LogRecord = {
      topic: this.#stage.topic,
      partition: e.p,
      offset: e.o,
      key: e.k,
      value: safeJson(e.v),
      timestamp: record.timestamp,
    };
    this.#judge = internal.watermark;
    this.#push(source, e.v, e.k, e.t);
    // Reported after the element: what it carries must not fire its window
    // before it joined.
    clock.report(e.p, e.n, internal.watermark);
  }

  /** Pushes an element of `record` through the graph and counts the record. */
  #push(record: LogRecord, value: unknown, key: string | null, time: number) {
    const stage = this.#stage;
    const origin: Origin = {
      record,
      late: null,
      reached: false,
      failed: null,
    };
    this.#emit(value, key, time, origin);
    if (origin.failed !== null) {
      this.#deadLetter(record, origin.failed);
    } else if (origin.late !== null) {
      this.#counts.late++;
      this.#out!.to(stage.side).add(
        stage.late_topic,
        record,
        lateReason(origin.late),
      );
    } else if (origin.reached) this.#counts.out++;
    else this.#counts.filtered++;
    this.#clock.observe(time);
  }

  /** Tells every repartition's downstream that the watermark moved. */
  #sendWatermark(watermark: number): void {
    for (const r of this.#repartitions) {
      if (!(watermark > r.sent)) continue;
      r.sent = watermark;
      this.#out!.to(r.sink).broadcast(
        r.topic,
        MARKER_KEY,
        encodeMarker(this.#partition, this.#partitions, watermark),
      );
    }
  }

  #deadLetter(record: LogRecord, reason: string): void {
    this.#counts.dead_lettered++;
    this.#out!.to(this.#stage.side).add(
      this.#stage.dead_letter_topic,
      record,
      reason,
    );
  }

  /** Processing time reached `now_ms`: idle advance, processing-time timers. */
  #logTick(now_ms: number): void {
    this.#now_ms = now_ms;
    if (this.#clock.advanceIdle(now_ms)) this.#advance(this.#clock.current());
    for (const step of this.#steps) step.tick(now_ms);
  }

  #advance(watermark: number): void {
    this.#advanced = watermark;
    for (const step of this.#steps) step.advance(watermark);
  }

  #flush(): void {
    for (const step of this.#steps) step.flush();
  }

  #outputFailed(step: string, value: unknown, error: unknown): void {
    // An output with no source record: reported on the dead-letter topic
    // under a key of its own, so nothing vanishes silently.
    const n = this.#failures++;
    const record: LogRecord = {
      topic: this.#stage.topic,
      partition: this.#partition,
      offset: -1,
      key: `output:${step}:${n}`,
      value: safeJson(value),
      timestamp: this.#now_ms,
    };
    this.#out?.to(this.#stage.side).add(
      this.#stage.dead_letter_topic,
      record,
      `step '${step}' failed on an output: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }

  // ---- building the graph's runtime ----

  #build(g: GraphNode, env: StepEnv): Emit {
    const node = g.node;
    const children = () =>
      fanOut(
        g.children.filter((c) => c.node.kind !== "late").map((c) =>
          this.#build(c, env)
        ),
      );
    switch (node.kind) {
      case "map": {
        const next = children();
        const fn = node.fn;
        return (value, key, time, origin) => {
          let mapped: unknown;
          try {
            mapped = fn(value);
          } catch (error) {
            return failed("map", origin, env, value, error);
          }
          next(mapped, key, time, origin);
        };
      }
      case "filter": {
        const next = children();
        const fn = node.fn;
        return (value, key, time, origin) => {
          let kept: boolean;
          try {
            kept = fn(value) === true;
          } catch (error) {
            return failed("filter", origin, env, value, error);
          }
          if (kept) next(value, key, time, origin);
        };
      }
      case "flatMap": {
        const next = children();
        const fn = node.fn;
        return (value, key, time, origin) => {
          let many: unknown[];
          try {
            many = [...fn(value)];
          } catch (error) {
            return failed("flatMap", origin, env, value, error);
          }
          for (const item of many) next(item, key, time, origin);
        };
      }
      case "keyBy": {
        const next = children();
        const fn = node.fn;
        return (value, _key, time, origin) => {
          const key = keyOf(fn, value, origin, env);
          if (key !== undefined) next(value, key, time, origin);
        };
      }
      case "window": {
        const step = new WindowStep(node.name, node.options, env);
        this.#steps.push(step);
        const late = fanOut(
          g.children.filter((c) => c.node.kind === "late").flatMap((c) =>
            c.children.map((cc) => this.#build(cc, env))
          ),
        );
        step.connect(children(), late);
        return step.push;
      }
      case "process": {
        const step = new ProcessStep(node.name, node.fn, env);
        this.#steps.push(step);
        step.connect(children());
        return step.push;
      }
      case "to": {
        const { sink, write } = node;
        const stage = this.#stage;
        const partition = this.#partition;
        return (value, key, time, origin) => {
          if (origin !== null) origin.reached = true;
          const ctx: WriteContext = {
            partition,
            topic: stage.topic,
            key,
            time,
          };
          try {
            write(value, this.#out!.to(sink), ctx);
          } catch (error) {
            failed(`to ${sink.name}`, origin, env, value, error);
          }
        };
      }
      case "repartition": {
        const { fn, topic } = node;
        const sink = node.sink as Sink<TopicMessages>;
        this.#repartitions.push({
          topic,
          sink,
          sent: Number.NEGATIVE_INFINITY,
        });
        return (value, _key, time, origin) => {
          if (origin !== null) origin.reached = true;
          const key = keyOf(fn, value, origin, env);
          if (key === undefined) return;
          try {
            this.#out!.to(sink).send(
              topic,
              key,
              encodeElement(
                this.#partition,
                this.#partitions,
                origin?.record.offset ?? -1,
                env.judgeWatermark(),
                time,
                key,
                value,
              ),
            );
          } catch (error) {
            // Too large for the internal topic once encoded (JSON escaping
            // can make an element several times its input's size).
            failed("keyBy", origin, env, value, error);
          }
        };
      }
      case "late":
      case "source":
        throw new TypeError(
          `Cannot build the dataflow as a '${node.kind}' node cannot follow another node`,
        );
    }
  }
}

/**
 * The key `fn` gives `value` (keyBy, with or without a repartition), or
 * undefined once a throw or a key that is not a string marked it failed.
 */
function keyOf(
  fn: (value: unknown) => unknown,
  value: unknown,
  origin: Origin | null,
  env: StepEnv,
): string | undefined {
  let key: unknown;
  try {
    key = fn(value);
  } catch (error) {
    failed("keyBy", origin, env, value, error);
    return undefined;
  }
  if (typeof key !== "string") {
    failed(
      "keyBy",
      origin,
      env,
      value,
      new TypeError(
        `a key must be a string: current value is ${safeJson(key)}`,
      ),
    );
    return undefined;
  }
  return key;
}

/** Why a record that is not text was dead-lettered (see `LogRecord.unreadable`). */
function unreadableReason(unreadable: Unreadable): string {
  switch (unreadable) {
    case "tombstone":
      return "record is a tombstone (null value): there is no payload to parse";
    case "invalid-utf8-key":
      return "record key is not valid UTF-8: it would read as another key";
    case "invalid-utf8-value":
      return "payload is not valid UTF-8";
  }
}

/** The late side output's reason: what the record missed, and the lateness. */
export function lateReason(parts: readonly LatePart[]): string {
  const lateness = parts[0]?.lateness_ms;
  if (parts.every((p) => p.lateness_ms === lateness)) {
    return `late beyond allowed lateness of ${lateness} ms for: ${
      parts.map((p) => p.label).join(", ")
    }`;
  }
  return `late beyond allowed lateness for: ${
    parts.map((p) => `${p.label} (${p.lateness_ms} ms)`).join(", ")
  }`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
