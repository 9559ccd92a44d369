/**
 * The behaviour of a {@linkcode Log} the jobs rely on, as Kafka has it with
 * `isolation.level=read_committed`. Run against the Kafka twin
 * (`twins_test.ts`) and the real Kafka adapter.
 *
 * Offsets are never assumed contiguous: transaction markers take offsets in
 * Kafka. Rebalances are awaited by polling within a deadline, since a real
 * broker needs seconds to move partitions.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type CommittedOffset,
  FencedError,
  type Log,
  type LogBatch,
  type LogConsumer,
  type LogRecord,
  type LogTransaction,
} from "../../src/ports.ts";
import { type ContractOptions, testOptions, uniqueName } from "./options.ts";

/** A log under test. */
export interface LogHarness {
  log: Log;
  close(): Promise<void>;
}

/** Options of {@linkcode logContract}. */
export interface LogContractOptions extends ContractOptions {
  /** Longest a consumer test waits for its records and rebalances. Default: 60 000. */
  deadline_ms?: number;
  /** Poll rounds in a row without any record before a consumer test gives up. Default: 500. */
  idle_rounds_max?: number;
  /** Real pause after a poll round without any record. Default: 10. */
  idle_wait_ms?: number;
}

interface Limits {
  deadline_ms: number;
  idle_rounds_max: number;
  idle_wait_ms: number;
}

/**
 * A group member driven by a test: it owns what the hooks last assigned and
 * starts each partition where the shared `next` map says (the test plays the
 * checkpoint store).
 */
class Member {
  readonly owned = new Set<number>();
  readonly consumer: LogConsumer;
  batches = 0;

  constructor(
    readonly name: string,
    log: Log,
    groupId: string,
    readonly topic: string,
    readonly next: Map<number, number>,
    readonly received: Map<number, LogRecord[]>,
  ) {
    this.consumer = log.consumer({
      groupId,
      topics: [topic],
      maxBatchRecords: 2,
      hooks: {
        onRevoke: (partitions) => {
          for (const tp of partitions) {
            assert.equal(tp.topic, topic);
            this.owned.delete(tp.partition);
          }
          return Promise.resolve();
        },
        onAssign: (partitions) => {
          for (const tp of partitions) {
            assert.equal(tp.topic, topic);
            this.owned.add(tp.partition);
          }
          return Promise.resolve(
            partitions.map((tp) => next.get(tp.partition) ?? 0),
          );
        },
      },
    });
  }

  accept(batch: LogBatch): void {
    this.batches++;
    assert.equal(batch.topic, this.topic);
    assert.ok(
      this.owned.has(batch.partition),
      `${this.name} got a batch of partition ${batch.partition} it does not own (owns ${[
        ...this.owned,
      ]})`,
    );
    let expected = this.next.get(batch.partition) ?? 0;
    for (const record of batch.records) {
      assert.equal(record.topic, batch.topic);
      assert.equal(record.partition, batch.partition);
      assert.ok(
        record.offset >= expected,
        `${this.name} got offset ${record.offset} of partition ${batch.partition}, expected >= ${expected}`,
      );
      expected = record.offset + 1;
      const list = this.received.get(batch.partition) ?? [];
      list.push(record);
      this.received.set(batch.partition, list);
    }
    this.next.set(batch.partition, expected);
  }
}

async function pollUntil(
  members: Member[],
  done: () => boolean,
  limits: Limits,
  what: string,
): Promise<void> {
  const deadline = Date.now() + limits.deadline_ms;
  let idle = 0;
  while (!done()) {
    if (Date.now() > deadline || idle > limits.idle_rounds_max) {
      assert.fail(
        `Gave up waiting for ${what} after ${idle} idle poll rounds: ${
          members.map((m) => `${m.name} owns [${[...m.owned]}]`).join("; ")
        }`,
      );
    }
    let progressed = false;
    for (const member of members) {
      const batch = await member.consumer.poll();
      if (batch !== null && batch.records.length > 0) {
        member.accept(batch);
        progressed = true;
      }
    }
    if (progressed) idle = 0;
    else {
      idle++;
      await new Promise((resolve) => setTimeout(resolve, limits.idle_wait_ms));
    }
  }
}

function values(records: LogRecord[] | undefined): string[] {
  return (records ?? []).map((r) => r.value);
}

/** Nothing committed for any of `partitions` partitions. */
function noCommits(partitions: number): CommittedOffset[] {
  return Array.from(
    { length: partitions },
    (_, partition) => ({ partition, offset: -1, metadata: null }),
  );
}

/**
 * Exactly 4096 UTF-16 code units (Kafka's default limit), most of them
 * characters of two to four UTF-8 bytes, so a byte-counting limit would fail.
 */
const LONGEST_METADATA = `${"é€😀ü".repeat(819)}x`;

/** Asserts that every call of a fenced transaction throws `FencedError`. */
async function assertFenced(
  txn: LogTransaction,
  topic: string,
  groupId: string,
): Promise<void> {
  await assert.rejects(
    txn.produce(topic, [{ key: null, value: "zombie", partition: 0 }]),
    FencedError,
  );
  await assert.rejects(
    txn.sendOffsets(groupId, [{ topic, partition: 0, offset: 99 }]),
    FencedError,
  );
  await assert.rejects(txn.commit(), FencedError);
  await assert.rejects(txn.abort(), FencedError);
}

function total(received: Map<number, LogRecord[]>): number {
  let n = 0;
  for (const list of received.values()) n += list.length;
  return n;
}

/** Registers the log contract tests for the log that `open` returns. */
export function logContract(
  name: string,
  open: () => Promise<LogHarness>,
  options: LogContractOptions = {},
): void {
  const limits: Limits = {
    deadline_ms: options.deadline_ms ?? 60_000,
    idle_rounds_max: options.idle_rounds_max ?? 500,
    idle_wait_ms: options.idle_wait_ms ?? 10,
  };
  const test = (
    title: string,
    body: (log: Log, unique: () => string) => Promise<void>,
  ) =>
    Deno.test({
      name: `${name}: ${title}`,
      ...testOptions(options),
      fn: async () => {
        const harness = await open();
        try {
          await body(harness.log, () => uniqueName(name));
        } finally {
          await harness.close();
        }
      },
    });

  test(
    "createTopic is idempotent and partitionCount reports the partitions",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 3);
      await log.createTopic(topic, 3);
      await log.createTopic(topic, 5);
      assert.equal(await log.partitionCount(topic), 3);
    },
  );

  test(
    "produce to an explicit partition appends in order and read returns the records",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 2);
      assert.deepEqual(await log.endOffsets(topic), [0, 0]);
      await log.produce(
        topic,
        [0, 1, 2, 3, 4].map((i) => ({
          key: `k${i}`,
          value: `v${i}`,
          partition: 1,
          timestamp: 1_700_000_000_000 + i,
        })),
      );
      const records = await log.read(topic, 1, 0, 100);
      assert.deepEqual(values(records), ["v0", "v1", "v2", "v3", "v4"]);
      records.forEach((r, i) => {
        assert.equal(r.topic, topic);
        assert.equal(r.partition, 1);
        assert.equal(r.key, `k${i}`);
        assert.equal(r.timestamp, 1_700_000_000_000 + i);
        if (i > 0) assert.ok(r.offset > (records[i - 1] as LogRecord).offset);
      });
      assert.deepEqual(await log.read(topic, 0, 0, 100), []);
      const ends = await log.endOffsets(topic);
      assert.equal(ends[0], 0);
      assert.ok((ends[1] as number) > (records[4] as LogRecord).offset);
    },
  );

  test(
    "read starts at the given offset and returns at most max records",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 1);
      await log.produce(
        topic,
        ["a", "b", "c", "d", "e"].map((v) => ({
          key: null,
          value: v,
          partition: 0,
        })),
      );
      const all = await log.read(topic, 0, 0, 100);
      assert.deepEqual(
        values(await log.read(topic, 0, (all[2] as LogRecord).offset, 100)),
        ["c", "d", "e"],
      );
      assert.deepEqual(values(await log.read(topic, 0, 0, 2)), ["a", "b"]);
      assert.deepEqual(
        await log.read(topic, 0, (all[4] as LogRecord).offset + 1, 100),
        [],
      );
    },
  );

  test(
    "produce without a partition keeps each key in one partition, in order",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 4);
      const keys = ["alpha", "beta", "gamma", "delta", "epsilon"];
      const messages = [0, 1, 2, 3].flatMap((i) =>
        keys.map((key) => ({ key, value: `${key}-${i}` }))
      );
      await log.produce(topic, messages);
      const seen = new Map<string, number>();
      let count = 0;
      for (let p = 0; p < 4; p++) {
        const records = await log.read(topic, p, 0, 1000);
        count += records.length;
        for (const key of keys) {
          const mine = records.filter((r) => r.key === key);
          if (mine.length === 0) continue;
          assert.equal(
            seen.get(key),
            undefined,
            `key ${key} is in two partitions`,
          );
          seen.set(key, p);
          assert.deepEqual(
            values(mine),
            [0, 1, 2, 3].map((i) => `${key}-${i}`),
          );
        }
      }
      assert.equal(count, messages.length);
      assert.equal(seen.size, keys.length);
    },
  );

  test(
    "records of an open transaction are invisible until it commits",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 1);
      const txn = await log.transaction(unique());
      await txn.produce(topic, [
        { key: null, value: "t1", partition: 0 },
        { key: null, value: "t2", partition: 0 },
      ]);
      assert.deepEqual(await log.read(topic, 0, 0, 100), []);
      assert.deepEqual(await log.endOffsets(topic), [0]);
      await txn.commit();
      const records = await log.read(topic, 0, 0, 100);
      assert.deepEqual(values(records), ["t1", "t2"]);
      assert.ok(
        (await log.endOffsets(topic))[0] as number >
          (records[1] as LogRecord).offset,
      );
    },
  );

  test(
    "an open transaction holds back plain records produced after it",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 1);
      const txn = await log.transaction(unique());
      await txn.produce(topic, [{ key: null, value: "in-txn", partition: 0 }]);
      await log.produce(topic, [{ key: null, value: "plain", partition: 0 }]);
      assert.deepEqual(await log.read(topic, 0, 0, 100), []);
      await txn.commit();
      assert.deepEqual(values(await log.read(topic, 0, 0, 100)), [
        "in-txn",
        "plain",
      ]);
    },
  );

  test(
    "records of an aborted transaction are never visible",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 1);
      const txn = await log.transaction(unique());
      await txn.produce(topic, [
        { key: null, value: "x1", partition: 0 },
        { key: null, value: "x2", partition: 0 },
      ]);
      await txn.abort();
      await log.produce(topic, [{ key: null, value: "after", partition: 0 }]);
      const records = await log.read(topic, 0, 0, 100);
      assert.deepEqual(values(records), ["after"]);
      assert.ok(
        (records[0] as LogRecord).offset >= 2,
        "aborted records keep their offsets",
      );
    },
  );

  test(
    "a second transaction with the same id fences the first",
    async (log, unique) => {
      const topic = unique();
      const id = unique();
      await log.createTopic(topic, 1);
      const first = await log.transaction(id);
      await first.produce(topic, [{ key: null, value: "old", partition: 0 }]);
      const second = await log.transaction(id);
      await assert.rejects(first.commit(), FencedError);
      await second.produce(topic, [{ key: null, value: "new", partition: 0 }]);
      await second.commit();
      assert.deepEqual(values(await log.read(topic, 0, 0, 100)), ["new"]);
    },
  );

  test(
    "a group with no commits answers offset -1 and metadata null for every partition",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 3);
      assert.deepEqual(
        await log.committedOffsets(unique(), topic),
        noCommits(3),
      );
    },
  );

  test(
    "offsets sent in a transaction become the group's committed offsets, with their metadata, when it commits",
    async (log, unique) => {
      const input = unique();
      const group = unique();
      await log.createTopic(input, 3);
      assert.equal(LONGEST_METADATA.length, 4096);
      const txn = await log.transaction(unique());
      await txn.sendOffsets(group, [
        { topic: input, partition: 0, offset: 1, metadata: "replaced" },
        { topic: input, partition: 2, offset: 41 },
      ]);
      await txn.sendOffsets(group, [
        { topic: input, partition: 0, offset: 12, metadata: LONGEST_METADATA },
        {
          topic: input,
          partition: 1,
          offset: 0,
          metadata: '{"snapshot":"s/1"}',
        },
      ]);
      assert.deepEqual(await log.committedOffsets(group, input), noCommits(3));
      await txn.commit();
      assert.deepEqual(await log.committedOffsets(group, input), [
        { partition: 0, offset: 12, metadata: LONGEST_METADATA },
        { partition: 1, offset: 0, metadata: '{"snapshot":"s/1"}' },
        { partition: 2, offset: 41, metadata: null },
      ]);
      assert.deepEqual(
        await log.committedOffsets(unique(), input),
        noCommits(3),
        "other groups are untouched",
      );
    },
  );

  test(
    "a claimed transactional producer runs transactions one after another, each visible once it commits",
    async (log, unique) => {
      const output = unique();
      const group = unique();
      await log.createTopic(output, 1);
      const producer = await log.transactionalProducer(unique());
      for (let i = 0; i < 3; i++) {
        const txn = await producer.begin();
        await txn.produce(output, [{ key: "k", value: `v${i}`, partition: 0 }]);
        await txn.sendOffsets(group, [
          { topic: output, partition: 0, offset: i + 1, metadata: `m${i}` },
        ]);
        await txn.commit();
        assert.deepEqual(
          values(await log.read(output, 0, 0, 10)),
          Array.from({ length: i + 1 }, (_, j) => `v${j}`),
        );
      }
      const aborted = await producer.begin();
      await aborted.produce(output, [{ key: "k", value: "no", partition: 0 }]);
      await aborted.abort();
      const last = await producer.begin();
      await last.produce(output, [{ key: "k", value: "v3", partition: 0 }]);
      await last.commit();
      assert.deepEqual(values(await log.read(output, 0, 0, 10)), [
        "v0",
        "v1",
        "v2",
        "v3",
      ]);
      assert.deepEqual(await log.committedOffsets(group, output), [
        { partition: 0, offset: 3, metadata: "m2" },
      ]);
      await producer.close();
    },
  );

  test(
    "a newer claim of a transactional id fences the older one: its open transaction never shows, its next begin throws FencedError",
    async (log, unique) => {
      const output = unique();
      const group = unique();
      const id = unique();
      await log.createTopic(output, 1);
      const old = await log.transactionalProducer(id);
      const committed = await old.begin();
      await committed.produce(output, [{ key: "k", value: "a", partition: 0 }]);
      await committed.commit();
      const open = await old.begin();
      await open.produce(output, [{ key: "k", value: "zombie", partition: 0 }]);
      const fresh = await log.transactionalProducer(id);
      await assertFenced(open, output, group);
      await assert.rejects(old.begin(), FencedError);
      const txn = await fresh.begin();
      await txn.produce(output, [{ key: "k", value: "b", partition: 0 }]);
      await txn.commit();
      assert.deepEqual(values(await log.read(output, 0, 0, 10)), ["a", "b"]);
      await old.close();
      await fresh.close();
    },
  );

  test(
    "offsets sent in a committed transaction are visible together with its records",
    async (log, unique) => {
      const input = unique();
      const output = unique();
      const group = unique();
      await log.createTopic(input, 1);
      await log.createTopic(output, 1);
      const txn = await log.transaction(unique());
      await txn.produce(output, [
        { key: "k", value: "o1", partition: 0 },
        { key: "k", value: "o2", partition: 0 },
      ]);
      await txn.sendOffsets(group, [
        { topic: input, partition: 0, offset: 7, metadata: "through 6" },
      ]);
      assert.deepEqual(await log.read(output, 0, 0, 10), []);
      assert.deepEqual(await log.committedOffsets(group, input), noCommits(1));
      await txn.commit();
      assert.deepEqual(values(await log.read(output, 0, 0, 10)), ["o1", "o2"]);
      assert.deepEqual(await log.committedOffsets(group, input), [
        { partition: 0, offset: 7, metadata: "through 6" },
      ]);
    },
  );

  test(
    "offsets sent in an aborted transaction are never committed",
    async (log, unique) => {
      const input = unique();
      const output = unique();
      const group = unique();
      await log.createTopic(input, 2);
      await log.createTopic(output, 1);
      const first = await log.transaction(unique());
      await first.sendOffsets(group, [
        { topic: input, partition: 0, offset: 5, metadata: "first" },
      ]);
      await first.commit();
      const aborted = await log.transaction(unique());
      await aborted.produce(output, [{ key: null, value: "x", partition: 0 }]);
      await aborted.sendOffsets(group, [
        { topic: input, partition: 0, offset: 9, metadata: "aborted" },
        { topic: input, partition: 1, offset: 3, metadata: "aborted" },
      ]);
      await aborted.abort();
      assert.deepEqual(await log.committedOffsets(group, input), [
        { partition: 0, offset: 5, metadata: "first" },
        { partition: 1, offset: -1, metadata: null },
      ]);
      assert.deepEqual(await log.read(output, 0, 0, 10), []);
    },
  );

  test(
    "sendOffsets refuses metadata over 4096 UTF-16 code units or a negative offset, and the transaction stays usable",
    async (log, unique) => {
      const input = unique();
      const group = unique();
      await log.createTopic(input, 1);
      const txn = await log.transaction(unique());
      await assert.rejects(
        txn.sendOffsets(group, [
          { topic: input, partition: 0, offset: 1, metadata: "x".repeat(4097) },
        ]),
        RangeError,
      );
      await assert.rejects(
        txn.sendOffsets(group, [{ topic: input, partition: 0, offset: -1 }]),
        RangeError,
      );
      await txn.sendOffsets(group, [{ topic: input, partition: 0, offset: 2 }]);
      await txn.commit();
      assert.deepEqual(await log.committedOffsets(group, input), [
        { partition: 0, offset: 2, metadata: null },
      ]);
    },
  );

  test(
    "a transaction fenced before it produced throws FencedError on every call, and the newer one commits",
    async (log, unique) => {
      const input = unique();
      const output = unique();
      const group = unique();
      const id = unique();
      await log.createTopic(input, 1);
      await log.createTopic(output, 1);
      const old = await log.transaction(id);
      const newer = await log.transaction(id);
      await assertFenced(old, output, group);
      await newer.produce(output, [{ key: null, value: "new", partition: 0 }]);
      await newer.sendOffsets(group, [
        { topic: input, partition: 0, offset: 3, metadata: "newer" },
      ]);
      await newer.commit();
      assert.deepEqual(values(await log.read(output, 0, 0, 10)), ["new"]);
      assert.deepEqual(await log.committedOffsets(group, input), [
        { partition: 0, offset: 3, metadata: "newer" },
      ]);
    },
  );

  test(
    "a transaction fenced after it produced and sent offsets throws FencedError on every call, and none of it becomes visible",
    async (log, unique) => {
      const input = unique();
      const output = unique();
      const group = unique();
      const id = unique();
      await log.createTopic(input, 2);
      await log.createTopic(output, 1);
      const old = await log.transaction(id);
      await old.produce(output, [{ key: null, value: "old", partition: 0 }]);
      await old.sendOffsets(group, [
        { topic: input, partition: 0, offset: 8, metadata: "old" },
        { topic: input, partition: 1, offset: 8, metadata: "old" },
      ]);
      const newer = await log.transaction(id);
      await assertFenced(old, output, group);
      await newer.produce(output, [{ key: null, value: "new", partition: 0 }]);
      await newer.sendOffsets(group, [
        { topic: input, partition: 0, offset: 4, metadata: "newer" },
      ]);
      await newer.commit();
      assert.deepEqual(values(await log.read(output, 0, 0, 10)), ["new"]);
      assert.deepEqual(await log.committedOffsets(group, input), [
        { partition: 0, offset: 4, metadata: "newer" },
        { partition: 1, offset: -1, metadata: null },
      ]);
    },
  );

  test(
    "a consumer gets every committed record once, in offset order, from the offsets onAssign answers",
    async (log, unique) => {
      const topic = unique();
      await log.createTopic(topic, 3);
      await log.produce(
        topic,
        ["p0-a", "p0-b", "p0-c"].map((value) => ({
          key: null,
          value,
          partition: 0,
        })),
      );
      const committed = await log.transaction(unique());
      await committed.produce(topic, [
        { key: null, value: "p1-t1", partition: 1 },
        { key: null, value: "p2-t1", partition: 2 },
        { key: null, value: "p1-t2", partition: 1 },
      ]);
      await committed.commit();
      const aborted = await log.transaction(unique());
      await aborted.produce(topic, [
        { key: null, value: "p1-x", partition: 1 },
        { key: null, value: "p2-x", partition: 2 },
      ]);
      await aborted.abort();
      await log.produce(topic, [
        { key: null, value: "p1-c", partition: 1 },
        { key: null, value: "p2-c", partition: 2 },
      ]);
      const p0 = await log.read(topic, 0, 0, 100);
      const next = new Map([[0, (p0[1] as LogRecord).offset]]);
      const received = new Map<number, LogRecord[]>();
      const member = new Member("c1", log, unique(), topic, next, received);
      try {
        await pollUntil(
          [member],
          () => total(received) >= 7,
          limits,
          "7 records",
        );
        for (let i = 0; i < 3; i++) {
          const extra = await member.consumer.poll();
          assert.ok(
            extra === null || extra.records.length === 0,
            "no record beyond the committed ones",
          );
        }
        assert.deepEqual(values(received.get(0)), ["p0-b", "p0-c"]);
        assert.deepEqual(values(received.get(1)), ["p1-t1", "p1-t2", "p1-c"]);
        assert.deepEqual(values(received.get(2)), ["p2-t1", "p2-c"]);
        assert.ok(
          member.batches >= 4,
          "maxBatchRecords (2) bounds every batch",
        );
      } finally {
        await member.consumer.close();
      }
    },
  );

  test(
    "two consumers of a group split the partitions, and a closing one hands its partitions over",
    async (log, unique) => {
      const topic = unique();
      const group = unique();
      const partitions = [0, 1, 2, 3];
      await log.createTopic(topic, 4);
      await log.produce(
        topic,
        partitions.flatMap((p) =>
          [0, 1, 2].map((i) => ({
            key: null,
            value: `r1-${p}-${i}`,
            partition: p,
          }))
        ),
      );
      const next = new Map<number, number>();
      const received = new Map<number, LogRecord[]>();
      const c1 = new Member("c1", log, group, topic, next, received);
      const c2 = new Member("c2", log, group, topic, next, received);
      let c2Closed = false;
      try {
        await pollUntil(
          [c1, c2],
          () =>
            total(received) >= 12 && c1.owned.size > 0 && c2.owned.size > 0 &&
            c1.owned.size + c2.owned.size === 4,
          limits,
          "both consumers to own partitions and all first-round records",
        );
        for (const p of partitions) {
          assert.ok(
            c1.owned.has(p) !== c2.owned.has(p),
            `partition ${p} has one owner`,
          );
        }

        await log.produce(
          topic,
          partitions.flatMap((p) =>
            [0, 1].map((i) => ({
              key: null,
              value: `r2-${p}-${i}`,
              partition: p,
            }))
          ),
        );
        await c1.consumer.close();
        assert.equal(
          c1.owned.size,
          0,
          "closing revokes every partition of the closing consumer",
        );
        await pollUntil(
          [c2],
          () => total(received) >= 20 && c2.owned.size === 4,
          limits,
          "c2 to take over",
        );
        for (const p of partitions) {
          assert.deepEqual(values(received.get(p)), [
            `r1-${p}-0`,
            `r1-${p}-1`,
            `r1-${p}-2`,
            `r2-${p}-0`,
            `r2-${p}-1`,
          ]);
        }
        await c2.consumer.close();
        c2Closed = true;
      } finally {
        if (!c2Closed) await c2.consumer.close().catch(() => {});
        await c1.consumer.close().catch(() => {});
      }
    },
  );
}
