/**
 * The dataflow API jobs are written in: a small graph of operators, as
 * Flink's DataStream API and Bytewax's operators. A job's `build` function
 * receives a {@linkcode Flow}, declares a source and chains operators:
 *
 * ```ts
 * const redis = redisSink();
 * flow.source("clicks", { parse, out_of_orderness_ms: 5_000 })
 *   .keyBy((click) => click.user)
 *   .window({ assigner: tumbling({ size_ms: 60_000 }), aggregate: count() })
 *   .to(redis, (r, kv) => kv.hset(`clicks:${r.key}`, String(r.window.start), String(r.value)));
 * ```
 *
 * Building only records the graph; `compile.ts` turns it into the
 * per-partition processors the runner drives. Elements carry a key (after
 * `keyBy`), an event time, and their source record, so the runtime can
 * count where every record went (`in = out + filtered + dead-lettered +
 * late`) and write its dead letters and late records.
 *
 * @module
 */

import type { LogRecord } from "../ports.ts";
import type {
  Aggregate,
  EmitMode,
  WindowResult,
} from "../core/window_operator.ts";
import type { WindowAssigner } from "../core/windows.ts";
import type { KeyedStateOptions } from "../core/state.ts";
import type { Sink } from "../sinks/sink.ts";
import type { SourceOptions } from "./source.ts";

/** Where an element to be written came from and when. */
export interface WriteContext {
  /** The input partition of the task writing. */
  partition: number;
  /** The stage's input topic. */
  topic: string;
  /** The element's key (`null` before any `keyBy`, unless the source keyed it). */
  key: string | null;
  /** The element's event time (a window result's: its end − 1). */
  time: number;
}

/** Options of {@linkcode KeyedStream.window}. */
export interface WindowOptions<T, ACC, OUT> {
  /**
   * Names the step's state in checkpoints; renaming it drops that state.
   * Default: `window-<n>`, numbered in declaration order.
   */
  name?: string;
  /** Which windows an element belongs to: `tumbling`, `sliding`, `session`, `global`. */
  assigner: WindowAssigner;
  /** How a window's elements are combined (see `aggregates.ts`). */
  aggregate: Aggregate<T, ACC, OUT>;
  /** How long after a window fires late elements still update it. Default: 0. */
  allowed_lateness_ms?: number;
  /** When results are emitted: `"close"`, `"updates"` or `"deltas"`. Default: `"close"`. */
  emit?: EmitMode;
  /**
   * How a late record's side message names what it missed here, given the
   * record's event time. Default: the step's name.
   */
  late_label?: (timestamp: number) => string;
}

/** The value a process function keeps per key. */
export interface ValueState<S> {
  /** The current key's value, or `undefined` when never set, cleared or expired. */
  get(): S | undefined;
  /** Replaces the current key's value; the write (re)starts its `ttl_ms`. */
  set(value: S): void;
  /** Removes the current key's value (it is no longer in snapshots). */
  clear(): void;
}

/** Timers of the current key, as Flink's `TimerService`. */
export interface KeyedTimers {
  /** Calls `onTimer` once the watermark reaches `time`. */
  registerEventTime(time: number): void;
  /** Calls `onTimer` once processing time reaches `time` (see {@linkcode ProcessContext.now_ms}). */
  registerProcessingTime(time: number): void;
  /** Cancels the current key's event-time timer at `time`; nothing happens when there is none. */
  deleteEventTime(time: number): void;
  /** Cancels the current key's processing-time timer at `time`; nothing happens when there is none. */
  deleteProcessingTime(time: number): void;
}

/** What a process function sees for one element or timer. */
export interface ProcessContext<S, OUT> {
  /** The key of the element or timer (the `keyBy` key). */
  readonly key: string;
  /** The element's event time, or the timer's time. */
  readonly timestamp: number;
  /** The stage's current watermark. */
  readonly watermark: number;
  /**
   * Processing time: the append time of the record being handled, or the
   * time of a processing-time step. Replays repeat it exactly.
   */
  readonly now_ms: number;
  /** This key's state. */
  readonly state: ValueState<S>;
  /**
   * This key's timers. Registering the same time twice keeps one timer;
   * timers are part of the step's snapshot, so they survive restarts.
   */
  readonly timers: KeyedTimers;
  /** Emits an output downstream, at `timestamp` (default: the context's). */
  emit(value: OUT, timestamp?: number): void;
}

/** A timer firing. */
export interface TimerContext<S, OUT> extends ProcessContext<S, OUT> {
  /** Which clock fired it: the watermark (`"event"`) or processing time (`"processing"`). */
  readonly domain: "event" | "processing";
}

/** Keyed state and timers for what windows cannot say (Flink's `KeyedProcessFunction`). */
export interface ProcessFunction<IN, S, OUT> {
  /** Names the step's state in checkpoints. Default: `process-<n>`. */
  name?: string;
  /** TTL and JSON encoding of the per-key state. Default: none, the value itself. */
  state?: KeyedStateOptions<S>;
  /**
   * Called for each element, in order per key. An exception dead-letters
   * the element's source record with the step's name and the message.
   */
  processElement(value: IN, ctx: ProcessContext<S, OUT>): void;
  /**
   * Called when a timer of `ctx.key` fires, at `timestamp`. An exception is
   * reported on the dead-letter topic (key `output:<step>:<n>`), and the job
   * goes on. Default: timers fire and nothing happens.
   */
  onTimer?(timestamp: number, ctx: TimerContext<S, OUT>): void;
}

/** Options of {@linkcode Stream.keyBy}. */
export interface KeyByOptions {
  /**
   * Route elements through an internal topic keyed by the new key, so that
   * one task sees every element of a key (Kafka Streams' repartition; see
   * `src/flow/repartition.ts`). Default: false (the input must already be
   * partitioned by a key that determines this one).
   */
  repartition?: boolean;
  /**
   * With `repartition`: names the step; its internal topic is
   * `<job>-<name>-repartition`. Default: `repartition-<n>`.
   */
  name?: string;
}

/** @internal A node of the graph. */
export type Node =
  | { kind: "source"; topic: string; options: SourceOptions<unknown> }
  | { kind: "map"; fn: (value: unknown) => unknown }
  | { kind: "filter"; fn: (value: unknown) => boolean }
  | { kind: "flatMap"; fn: (value: unknown) => Iterable<unknown> }
  | { kind: "keyBy"; fn: (value: unknown) => string; options: KeyByOptions }
  | {
    kind: "window";
    name: string;
    options: WindowOptions<unknown, unknown, unknown>;
  }
  | { kind: "late" }
  | {
    kind: "process";
    name: string;
    fn: ProcessFunction<unknown, unknown, unknown>;
  }
  | {
    kind: "to";
    sink: Sink<unknown>;
    write: (value: unknown, out: unknown, ctx: WriteContext) => void;
  }
  /** A repartition's upstream end, made by the compiler from a `keyBy`. */
  | {
    kind: "repartition";
    fn: (value: unknown) => string;
    topic: string;
    sink: Sink<unknown>;
  };

/** @internal A node with its place in the graph. */
export interface GraphNode {
  id: number;
  node: Node;
  children: GraphNode[];
}

/** The graph being built by a job's `build`. */
export class Flow {
  /** @internal */
  readonly sources: GraphNode[] = [];
  #next_id = 0;
  #counters = { window: 0, process: 0, repartition: 0 };
  readonly #names = new Set<string>();

  /**
   * The job's input: records of `topic` parsed into elements with an event
   * time; a record `parse` rejects goes to `<topic>.dead-letter` with the
   * reason.
   */
  source<T>(topic: string, options: SourceOptions<T>): Stream<T> {
    const node = this.#node({
      kind: "source",
      topic,
      options: options as SourceOptions<unknown>,
    });
    this.sources.push(node);
    return new Stream<T>(this, node);
  }

  /** @internal */
  add(parent: GraphNode, node: Node): GraphNode {
    const child = this.#node(node);
    parent.children.push(child);
    return child;
  }

  /** @internal A unique step name: the given one, or `<kind>-<n>`. */
  stepName(
    kind: "window" | "process" | "repartition",
    name: string | undefined,
  ): string {
    const chosen = name ?? `${kind}-${++this.#counters[kind]}`;
    if (this.#names.has(chosen)) {
      throw new RangeError(
        `Cannot add step as 'name' must be unique within the job: '${chosen}' is taken`,
      );
    }
    this.#names.add(chosen);
    return chosen;
  }

  #node(node: Node): GraphNode {
    return { id: this.#next_id++, node, children: [] };
  }
}

/** A stream of elements of type `T`. */
export class Stream<T> {
  /** @internal */
  readonly flow: Flow;
  /** @internal */
  readonly node: GraphNode;

  /** @internal */
  constructor(flow: Flow, node: GraphNode) {
    this.flow = flow;
    this.node = node;
  }

  /** Each element transformed by `fn`. */
  map<U>(fn: (value: T) => U): Stream<U> {
    return this.#then({ kind: "map", fn: fn as (v: unknown) => unknown });
  }

  /** The elements `fn` keeps; a record all of whose elements are dropped counts as `filtered`. */
  filter(fn: (value: T) => boolean): Stream<T> {
    return this.#then({ kind: "filter", fn: fn as (v: unknown) => boolean });
  }

  /** Zero or more elements per element. */
  flatMap<U>(fn: (value: T) => Iterable<U>): Stream<U> {
    return this.#then({
      kind: "flatMap",
      fn: fn as (v: unknown) => Iterable<unknown>,
    });
  }

  /** The stream keyed by `fn`, for windows and process functions. */
  keyBy(fn: (value: T) => string, options: KeyByOptions = {}): KeyedStream<T> {
    const named = options.repartition === true
      ? { ...options, name: this.flow.stepName("repartition", options.name) }
      : options;
    const node = this.flow.add(this.node, {
      kind: "keyBy",
      fn: fn as (v: unknown) => string,
      options: named,
    });
    return new KeyedStream<T>(this.flow, node);
  }

  /**
   * Writes each element to `sink`: `write` puts it into the sink's buffer
   * for the current batch (e.g. key-value commands, messages).
   */
  to<B>(
    sink: Sink<B>,
    write: (value: T, out: B, ctx: WriteContext) => void,
  ): void {
    this.flow.add(this.node, {
      kind: "to",
      sink: sink as Sink<unknown>,
      write: write as (value: unknown, out: unknown, ctx: WriteContext) => void,
    });
  }

  #then<U>(node: Node): Stream<U> {
    return new Stream<U>(this.flow, this.flow.add(this.node, node));
  }
}

/** A stream whose elements have a key: windows and process functions go per key. */
export class KeyedStream<T> extends Stream<T> {
  /**
   * Windows per key (the one window engine, `src/core/window_operator.ts`).
   * Records late beyond allowed lateness for every window they belong to
   * go to `<topic>.late` (counted `late`) and to the returned `late` stream.
   */
  window<ACC, OUT>(
    options: WindowOptions<T, ACC, OUT>,
  ): WindowedStream<OUT, T> {
    const name = this.flow.stepName("window", options.name);
    const node = this.flow.add(this.node, {
      kind: "window",
      name,
      options: options as WindowOptions<unknown, unknown, unknown>,
    });
    return new WindowedStream<OUT, T>(this.flow, node);
  }

  /** Keyed state and timers per element (Flink's `KeyedProcessFunction`). */
  process<S, OUT>(fn: ProcessFunction<T, S, OUT>): KeyedStream<OUT> {
    const name = this.flow.stepName("process", fn.name);
    const node = this.flow.add(this.node, {
      kind: "process",
      name,
      fn: fn as ProcessFunction<unknown, unknown, unknown>,
    });
    return new KeyedStream<OUT>(this.flow, node);
  }
}

/** The results of a window step, keyed by the window's key. */
export class WindowedStream<OUT, T> extends KeyedStream<WindowResult<OUT>> {
  /** Records late for every window of this step (beyond allowed lateness). */
  get late(): Stream<T> {
    const existing = this.node.children.find((c) => c.node.kind === "late");
    const node = existing ?? this.flow.add(this.node, { kind: "late" });
    return new Stream<T>(this.flow, node);
  }
}

/** The source record of an element (for side outputs and counting). */
export type SourceRecord = LogRecord;
