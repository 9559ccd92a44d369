/**
 * What a job is to the runtime: stages, each reading one topic through a
 * per-partition processor that writes into the stage's sinks. Keyed state
 * lives inside a processor, one per input partition, so a partition moves
 * between instances with its state.
 *
 * Jobs are usually written with the dataflow API (`src/flow/`), which
 * compiles them to this. A hand-written {@linkcode PartitionProcessor} is the
 * escape hatch: implement the interface, declare the sinks the processor
 * writes to, and the runner drives it like any other (restore, replay with
 * muted writes, checkpoints, sinks' commit protocols).
 *
 * @module
 */

import type { LogRecord } from "../ports.ts";
import type { Sink } from "../sinks/sink.ts";

/** Where a record went. Every input record lands in exactly one class. */
export interface Counts {
  /** Input records handled. */
  in: number;
  /** Records a stateful step (window, process) or a sink took. */
  out: number;
  /** Records that reached no stateful step or sink (a `filter` dropped them, a `flatMap` gave nothing). */
  filtered: number;
  /** Records sent to the dead-letter topic (unreadable, bad, or a step failed on them). */
  dead_lettered: number;
  /** Records too late for every window they belong to, sent to the late topic. */
  late: number;
}

/** A fresh set of zero counts. */
export function zeroCounts(): Counts {
  return { in: 0, out: 0, filtered: 0, dead_lettered: 0, late: 0 };
}

/** Adds `b` into `a` and returns `a`. */
export function addCounts(a: Counts, b: Counts): Counts {
  a.in += b.in;
  a.out += b.out;
  a.filtered += b.filtered;
  a.dead_lettered += b.dead_lettered;
  a.late += b.late;
  return a;
}

/** Whether `in = out + filtered + dead_lettered + late`. */
export function reconciles(c: Counts): boolean {
  return c.in === c.out + c.filtered + c.dead_lettered + c.late;
}

/** The outputs of one batch: a buffer per sink, made when first asked for. */
export class Outputs {
  readonly #buffers = new Map<Sink<unknown>, unknown>();

  /** The buffer of `sink` for this batch. */
  to<B>(sink: Sink<B>): B {
    let buffer = this.#buffers.get(sink as Sink<unknown>);
    if (buffer === undefined) {
      buffer = sink.buffer();
      this.#buffers.set(sink as Sink<unknown>, buffer);
    }
    return buffer as B;
  }

  /** Every buffer asked for, with its sink, in the order first asked (for inspection). */
  buffers(): Array<[Sink<unknown>, unknown]> {
    return [...this.#buffers];
  }

  /** The buffer of `sink` if anything asked for it. */
  peek<B>(sink: Sink<B>): B | undefined {
    return this.#buffers.get(sink as Sink<unknown>) as B | undefined;
  }
}

/** What a processor may use while handling records or a processing-time step. */
export interface ProcessContext {
  /**
   * Processing time from the Clock port: of the batch, or of the step.
   * Outputs must not depend on a batch's: use records' append times, which
   * replays repeat (the dataflow API does).
   */
  now_ms: number;
  /** The batch's outputs: write into `out.to(sink)`; the runner hands them to the sinks. */
  out: Outputs;
}

/** The stateful step of a job's stage for one input partition. */
export interface PartitionProcessor {
  /** Handles records of this partition in offset order. */
  process(records: readonly LogRecord[], ctx: ProcessContext): void;
  /** The input has ended: event time jumps to +∞ and every open window fires. */
  endOfInput(ctx: ProcessContext): void;
  /**
   * The earliest processing time at which {@linkcode tick} would change
   * something (an idle advance of the watermark that fires a window, a
   * processing-time timer), or undefined.
   */
  nextTick?(): number | undefined;
  /**
   * A processing-time step at `ctx.now_ms`, taken while the partition is
   * caught up. The runner checkpoints before it when a sink writes per
   * batch, so a restore repeats exactly this step.
   */
  tick?(ctx: ProcessContext): void;
  /** Where every record handled so far went. */
  counts(): Counts;
  /** The partition's watermark (event time), for metrics; optional. */
  watermark?(): number;
  /** JSON-compatible state: everything needed to resume after the last record. */
  snapshot(): unknown;
  /** Resumes from a snapshot taken by a processor of the same stage. */
  restore(snapshot: unknown): void;
}

/** A part of a job that reads one topic. */
export interface Stage {
  /** The topic the stage reads (the job's input, or an internal topic). */
  topic: string;
  /** Every sink the stage's processors write to, side outputs included. */
  sinks: readonly Sink<unknown>[];
  /**
   * A processor for one partition of `topic`, with empty state; `context`
   * tells how many partitions the topic has (the runner always gives it).
   */
  createProcessor(
    partition: number,
    context?: { partitions: number },
  ): PartitionProcessor;
}

/** A job as the runtime sees it. */
export interface Job {
  /** Stable name: it keys checkpoints, fences and consumer groups. */
  name: string;
  /** The input topic (the first stage's). */
  topic: string;
  /** Partitions to create the input topic with when it is missing. */
  partitions: number;
  /** Topics the job writes to (created when missing, with the input's partition count). */
  outputTopics: string[];
  /** Bound of the job's event-time disorder (the simulator reorders within it). */
  out_of_orderness_ms: number;
  /**
   * Key and event time of a message payload, as a producer would key it;
   * `timestamp` is undefined when the payload is not a valid event.
   */
  route(value: string): { key: string | null; timestamp: number | undefined };
  /** The stages, the one reading `topic` first. */
  stages: readonly Stage[];
  /**
   * Processing time between checkpoints of a partition when the run does
   * not set one: a job whose sink publishes at checkpoints (files) wants
   * fewer, larger ones. Default: the runner's, 10 000.
   */
  checkpoint_interval_ms?: number;
}
