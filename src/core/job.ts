/**
 * What a job is to the runtime: a named input topic and a factory of
 * per-partition processors. Keyed state lives inside a processor, one per
 * input partition, so a partition moves between instances with its state.
 *
 * @module
 */

import type { KvOp, LogMessage, LogRecord } from "../ports.ts";

/** Where a record went. Every input record lands in exactly one class. */
export interface Counts {
  in: number;
  out: number;
  filtered: number;
  dead_lettered: number;
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

/** Writes a processor asks for while handling a batch. */
export interface Outputs {
  /** Key-value writes, applied once per batch as one fenced batch. */
  kv: KvOp[];
  /** Side-output messages (dead letters, late records), keyed by source position. */
  messages: Array<{ topic: string; message: LogMessage }>;
}

/** A fresh, empty set of outputs. */
export function emptyOutputs(): Outputs {
  return { kv: [], messages: [] };
}

/** What a processor may read while handling a batch. */
export interface ProcessContext {
  /** Processing time of this batch (from the Clock port). */
  now_ms: number;
  out: Outputs;
}

/** The stateful step of a job for one input partition. */
export interface PartitionProcessor {
  /** Handles records of this partition in offset order. */
  process(records: readonly LogRecord[], ctx: ProcessContext): void;
  /** The input has ended: event time jumps to +∞ and every open window fires. */
  endOfInput(ctx: ProcessContext): void;
  /** Where every record handled so far went. */
  counts(): Counts;
  /** JSON-compatible state: everything needed to resume after the last record. */
  snapshot(): unknown;
  /** Resumes from a snapshot taken by a processor of the same job. */
  restore(snapshot: unknown): void;
}

/** A job as the runtime sees it. */
export interface Job {
  /** Stable name: it keys checkpoints, fences and consumer groups. */
  name: string;
  /** The input topic. */
  topic: string;
  /** Partitions to create the input topic with when it is missing. */
  partitions: number;
  /** Topics the job writes side outputs to (created when missing). */
  outputTopics: string[];
  /** Bound of the job's event-time disorder (the simulator reorders within it). */
  out_of_orderness_ms: number;
  /**
   * Key and event time of a message payload, as a producer would key it;
   * `timestamp` is undefined when the payload is not a valid event.
   */
  route(value: string): { key: string | null; timestamp: number | undefined };
  /** A processor for one input partition, with empty state. */
  createProcessor(partition: number): PartitionProcessor;
}

/** Why a record was dead-lettered or set aside, as written to a side output. */
export interface SideRecord {
  reason: string;
  source: { topic: string; partition: number; offset: number };
  key: string | null;
  value: string;
  timestamp: number;
}

/**
 * A side-output message for a record: keyed by its source position so that a
 * redelivered copy has the same key (the topic can be compacted, and readers
 * can drop repeats).
 */
export function sideMessage(record: LogRecord, reason: string): LogMessage {
  const side: SideRecord = {
    reason,
    source: {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
    },
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
  };
  return {
    key: `${record.topic}:${record.partition}:${record.offset}`,
    value: JSON.stringify(side),
    partition: record.partition,
  };
}
