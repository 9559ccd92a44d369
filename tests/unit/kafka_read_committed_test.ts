import assert from "node:assert/strict";
import { createRequire } from "node:module";
import {
  type AbortedTransaction,
  type FetchedRecord,
  hideAborted,
} from "../../src/adapters/kafka/read_committed.ts";

const ABORT = new Uint8Array([0, 0, 0, 0]);
const COMMIT = new Uint8Array([0, 0, 0, 1]);

/** A fetched partition: `[offset, producer, kind]`, kind d(ata), a(bort) or c(ommit) marker, or p(lain, not transactional). */
function records(
  rows: Array<[number, string, "d" | "a" | "c" | "p"]>,
): FetchedRecord[] {
  return rows.map(([offset, producer, kind]) => ({
    offset: String(offset),
    key: kind === "a" ? ABORT : kind === "c" ? COMMIT : null,
    isControlRecord: kind === "a" || kind === "c",
    batchContext: { producerId: producer, inTransaction: kind !== "p" },
  }));
}

function delivered(rows: FetchedRecord[]): number[] {
  return rows.filter((r) => !r.isControlRecord).map((r) => Number(r.offset));
}

/** Two producers' transactions overlap; B is aborted first, then A; C commits. */
const OVERLAPPING: Array<[number, string, "d" | "a" | "c" | "p"]> = [
  [0, "A", "d"],
  [1, "B", "d"],
  [2, "A", "d"],
  [3, "C", "d"],
  [4, "B", "d"],
  [5, "B", "a"],
  [6, "A", "a"],
  [7, "C", "c"],
  [8, "A", "d"],
  [9, "A", "c"],
  [10, "D", "p"],
];
/** As the broker lists them: in the order of their abort markers. */
const ABORTED: AbortedTransaction[] = [
  { producerId: "B", firstOffset: "1" },
  { producerId: "A", firstOffset: "0" },
];

Deno.test("hideAborted() drops every record of aborted transactions listed in marker order, overlapping ones included", () => {
  const fetched = records(OVERLAPPING);
  assert.equal(hideAborted(fetched, ABORTED), 4);
  // C's committed record, A's next (committed) transaction, a plain record.
  assert.deepEqual(delivered(fetched), [3, 8, 10]);
});

Deno.test("kafkajs 2.2.4's own filter delivers a record of an aborted transaction on the same fetch (the bug fixed)", () => {
  const require = createRequire(import.meta.url);
  const filter = require("kafkajs/src/consumer/filterAbortedMessages.js") as (
    args: { messages: FetchedRecord[]; abortedTransactions: unknown[] },
  ) => FetchedRecord[];
  const kept = filter({
    messages: records(OVERLAPPING),
    abortedTransactions: ABORTED,
  }).filter((r) => !r.isControlRecord).map((r) => Number(r.offset));
  assert.deepEqual(kept, [0, 3, 8, 10]);
});

Deno.test("hideAborted() drops aborted records from the first one of a fetch that starts inside two aborted transactions", () => {
  const fetched = records([
    [20, "B", "d"],
    [21, "A", "d"],
    [22, "B", "a"],
    [23, "A", "a"],
    [24, "B", "d"],
  ]);
  hideAborted(fetched, [
    { producerId: "A", firstOffset: "10" },
    { producerId: "B", firstOffset: "12" },
  ]);
  // B's record at 24 belongs to a later transaction, after B's abort marker.
  assert.deepEqual(delivered(fetched), [24]);
});

Deno.test("hideAborted() keeps everything when no transaction was aborted, and never hides records outside transactions", () => {
  const rows = records([[0, "A", "d"], [1, "A", "c"], [2, "X", "p"]]);
  assert.equal(hideAborted(rows, []), 0);
  assert.deepEqual(delivered(rows), [0, 2]);
  const plain = records([[5, "X", "p"], [6, "X", "p"]]);
  hideAborted(plain, [{ producerId: "X", firstOffset: "0" }]);
  assert.deepEqual(delivered(plain), [5, 6]);
});
