/**
 * Correct `read_committed` filtering for kafkajs 2.2.4.
 *
 * A fetch with isolation level read_committed returns, per partition, the
 * records up to the last stable offset and the list of aborted
 * transactions in that range (producer id, first offset); the client must
 * drop the records of those transactions. kafkajs's filter
 * (`src/consumer/filterAbortedMessages.js`) assumes the list is sorted by
 * first offset and activates at most one aborted transaction per record,
 * but the broker lists aborted transactions in the order of their abort
 * markers. When transactions of several producers overlap and are aborted
 * (every open transaction of an instance that died is), records of an
 * aborted transaction are delivered as if committed: a Kafka → Kafka job
 * reading its own internal topic counted them twice. Kafka's Java consumer
 * instead keeps the aborted transactions in a queue ordered by first offset
 * and, before each record batch, activates every one that starts at or
 * before it (`Fetcher`/`CompletedFetch`).
 *
 * {@linkcode fixReadCommitted} wraps kafkajs's `Broker.prototype.fetch` to
 * do that: it marks each record of an aborted transaction as a control
 * record (kafkajs never delivers those, but still counts their offsets, so
 * the consumer moves past them) and hands kafkajs an empty aborted list.
 *
 * @module
 */

import { createRequire } from "node:module";

/** An aborted transaction as kafkajs decodes it (Int64s as strings). */
export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** The part of a record kafkajs decodes that the filter reads and marks. */
export interface FetchedRecord {
  offset: string;
  key: Uint8Array | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

/** A control record's key for an ABORT marker: version 0, type 0. */
function isAbortMarker(record: FetchedRecord): boolean {
  const key = record.key;
  return key !== null && key.length === 4 && key[0] === 0 && key[1] === 0 &&
    key[2] === 0 && key[3] === 0;
}

/**
 * Marks the records of aborted transactions among `records` (in offset
 * order) as control records, as Kafka's Java consumer decides them; answers
 * how many it marked.
 */
export function hideAborted(
  records: FetchedRecord[],
  aborted: readonly AbortedTransaction[],
): number {
  if (aborted.length === 0) return 0;
  const queue = [...aborted].sort((a, b) =>
    compare(BigInt(a.firstOffset), BigInt(b.firstOffset))
  );
  const active = new Set<string>();
  let hidden = 0;
  for (const record of records) {
    const offset = BigInt(record.offset);
    while (queue.length > 0 && BigInt(queue[0]!.firstOffset) <= offset) {
      active.add(String(queue.shift()!.producerId));
    }
    const producer = String(record.batchContext.producerId);
    if (record.isControlRecord) {
      if (isAbortMarker(record)) active.delete(producer);
    } else if (record.batchContext.inTransaction && active.has(producer)) {
      record.isControlRecord = true;
      hidden++;
    }
  }
  return hidden;
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface FetchResponse {
  responses?: Array<{
    partitions?: Array<{
      abortedTransactions?: AbortedTransaction[] | null;
      messages?: FetchedRecord[];
    }>;
  }>;
}

const FIXED = Symbol.for("freshet.kafkajs.readCommittedFixed");

/**
 * Installs the fix in kafkajs's `Broker` class (once per process; later
 * calls do nothing). Every kafkajs client of the process uses it, whenever
 * it was created.
 */
export function fixReadCommitted(): void {
  const require = createRequire(import.meta.url);
  const Broker = require("kafkajs/src/broker/index.js") as {
    prototype: Record<PropertyKey, unknown>;
  };
  const proto = Broker.prototype;
  if (proto[FIXED] === true) return;
  const fetch = proto.fetch as (
    this: unknown,
    ...args: unknown[]
  ) => Promise<FetchResponse>;
  if (typeof fetch !== "function") {
    throw new Error(
      "Cannot fix kafkajs's read_committed filter as its Broker has no fetch method: check the kafkajs version (2.2.4 expected)",
    );
  }
  proto.fetch = async function (this: unknown, ...args: unknown[]) {
    const response = await fetch.apply(this, args);
    for (const topic of response?.responses ?? []) {
      for (const partition of topic.partitions ?? []) {
        const aborted = partition.abortedTransactions;
        if (aborted == null || aborted.length === 0) continue;
        hideAborted(partition.messages ?? [], aborted);
        partition.abortedTransactions = [];
      }
    }
    return response;
  };
  proto[FIXED] = true;
}
