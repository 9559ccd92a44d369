import assert from "node:assert/strict";
import type {
  ConsumerHooks,
  LogBatch,
  LogConsumer,
  TopicPartition,
} from "../../src/ports.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { FencedError, LogTwin, TransientError } from "../../sim/log.ts";

function twin() {
  const clock = new VirtualClock(5_000);
  return { clock, log: new LogTwin({ clock }) };
}

/** Hooks that record events and start every partition at `start(p)` (default 0). */
function recorder(
  name: string,
  events: string[],
  start: (tp: TopicPartition) => number = () => 0,
) {
  const hooks: ConsumerHooks = {
    onRevoke: (tps) => {
      events.push(`${name} revoke ${tps.map((tp) => tp.partition).join(",")}`);
      return Promise.resolve();
    },
    onAssign: (tps) => {
      events.push(`${name} assign ${tps.map((tp) => tp.partition).join(",")}`);
      return Promise.resolve(tps.map(start));
    },
  };
  return hooks;
}

async function drain(consumer: LogConsumer): Promise<LogBatch[]> {
  const batches: LogBatch[] = [];
  for (
    let batch = await consumer.poll();
    batch !== null;
    batch = await consumer.poll()
  ) {
    batches.push(batch);
  }
  return batches;
}

const values = (batches: LogBatch[]) =>
  batches.flatMap((b) => b.records.map((r) => r.value));

Deno.test("LogTwin stamps records with the clock unless a timestamp is given", async () => {
  const { clock, log } = twin();
  await log.createTopic("t", 1);
  await log.produce("t", [{ key: null, value: "a", partition: 0 }]);
  clock.advanceBy(10);
  await log.produce("t", [{
    key: null,
    value: "b",
    partition: 0,
    timestamp: 42,
  }]);
  const [a, b] = await log.read("t", 0, 0, 10);
  assert.equal(a?.timestamp, 5_000);
  assert.equal(b?.timestamp, 42);
});

Deno.test("LogTwin spreads null keys round-robin and rejects a bad partition without appending", async () => {
  const { log } = twin();
  await log.createTopic("t", 3);
  await log.produce(
    "t",
    [0, 1, 2, 3].map((i) => ({ key: null, value: `v${i}` })),
  );
  assert.deepEqual(await log.endOffsets("t"), [2, 1, 1]);
  await assert.rejects(
    log.produce("t", [{ key: null, value: "ok", partition: 0 }, {
      key: null,
      value: "x",
      partition: 3,
    }]),
    /'partition' must be in \[0, 3\)/,
  );
  assert.deepEqual(await log.endOffsets("t"), [2, 1, 1]);
  await assert.rejects(
    log.produce("missing", []),
    /topic 'missing' as it must exist/,
  );
});

Deno.test("LogTwin leaves an offset gap for each transaction marker", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  const committed = await log.transaction("a");
  await committed.produce("t", [{ key: null, value: "c", partition: 0 }]);
  await committed.commit();
  const aborted = await log.transaction("a");
  await aborted.produce("t", [{ key: null, value: "x", partition: 0 }]);
  await aborted.abort();
  await log.produce("t", [{ key: null, value: "p", partition: 0 }]);
  const records = await log.read("t", 0, 0, 10);
  assert.deepEqual(records.map((r) => [r.value, r.offset]), [["c", 0], [
    "p",
    4,
  ]]);
  assert.deepEqual(await log.endOffsets("t"), [5]);
  assert.deepEqual(
    values([{
      topic: "t",
      partition: 0,
      records: await log.read("t", 0, 1, 10),
    }]),
    ["p"],
  );
});

Deno.test("a fenced LogTwin transaction throws FencedError on every call", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  const old = await log.transaction("id");
  await old.produce("t", [{ key: null, value: "old", partition: 0 }]);
  await log.transaction("id");
  await assert.rejects(old.commit(), FencedError);
  await assert.rejects(old.produce("t", []), FencedError);
  await assert.rejects(old.abort(), /fenced it/);
});

Deno.test("a committed LogTwin transaction cannot be used again", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  const txn = await log.transaction("id");
  await txn.commit();
  await assert.rejects(txn.produce("t", []), /current state is committed/);
  await assert.rejects(txn.commit(), /must be open/);
});

Deno.test("LogTwin.dump() holds committed records only", async () => {
  const { log } = twin();
  await log.createTopic("b", 1);
  await log.createTopic("a", 2);
  await log.produce("a", [{ key: "k", value: "plain", partition: 1 }]);
  const open = await log.transaction("open");
  await open.produce("a", [{ key: null, value: "pending", partition: 0 }]);
  const dump = log.dump();
  assert.deepEqual(dump.topics.map((t) => t.topic), ["a", "b"]);
  assert.deepEqual(
    dump.topics[0]?.partitions.map((p) => p.map((r) => r.value)),
    [[], ["plain"]],
  );
});

Deno.test("LogTwin rebalances eagerly: every member revokes before anyone gets the new assignment", async () => {
  const { log } = twin();
  await log.createTopic("t", 4);
  const events: string[] = [];
  const c1 = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c1", events),
  });
  assert.equal(await c1.poll(), null);
  assert.deepEqual(events, ["c1 assign 0,1,2,3"]);
  const c2 = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c2", events),
  });
  assert.equal(log.rebalancing("g"), true);
  assert.equal(await c2.poll(), null);
  assert.deepEqual(events.slice(1), [], "c2 waits for c1 to revoke");
  assert.equal(await c1.poll(), null);
  assert.deepEqual(events.slice(1), ["c1 revoke 0,1,2,3", "c1 assign 0,1"]);
  await c2.poll();
  assert.deepEqual(events.slice(3), ["c2 assign 2,3"]);
  assert.equal(log.rebalancing("g"), false);
  assert.deepEqual(log.assignment(c2), [{ topic: "t", partition: 2 }, {
    topic: "t",
    partition: 3,
  }]);
});

Deno.test("LogTwin polls owned partitions in turn from their positions", async () => {
  const { log } = twin();
  await log.createTopic("t", 2);
  await log.produce(
    "t",
    [0, 1].flatMap((p) =>
      [0, 1, 2].map((i) => ({ key: null, value: `${p}${i}`, partition: p }))
    ),
  );
  const c = log.consumer({
    groupId: "g",
    topics: ["t"],
    maxBatchRecords: 2,
    hooks: recorder("c", [], (tp) => tp.partition === 1 ? 1 : 0),
  });
  const batches = await drain(c);
  assert.deepEqual(batches.map((b) => b.records.map((r) => r.value)), [
    ["00", "01"],
    ["11", "12"],
    ["02"],
  ]);
});

Deno.test("LogTwin.kill() moves a member's partitions without calling its revoke hook", async () => {
  const { log } = twin();
  await log.createTopic("t", 2);
  await log.produce("t", [{ key: null, value: "a", partition: 0 }, {
    key: null,
    value: "b",
    partition: 1,
  }]);
  const events: string[] = [];
  const c1 = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c1", events),
  });
  const c2 = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c2", events),
  });
  await c1.poll();
  await c2.poll();
  await c1.poll();
  events.length = 0;
  log.kill(c1);
  await assert.rejects(c1.poll(), /current status is killed/);
  const got = await drain(c2);
  assert.deepEqual(events, ["c2 revoke 1", "c2 assign 0,1"]);
  assert.deepEqual(values(got).sort(), ["a", "b"]);
});

Deno.test("LogTwin.rewind() makes a member read already delivered records again", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  await log.produce(
    "t",
    ["a", "b", "c"].map((value) => ({ key: null, value, partition: 0 })),
  );
  const c = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c", []),
  });
  assert.deepEqual(values(await drain(c)), ["a", "b", "c"]);
  log.rewind(c, "t", 0, 1);
  assert.deepEqual(values(await drain(c)), ["b", "c"]);
  assert.throws(
    () => log.rewind(c, "t", 0, 99),
    /offset must be an integer in \[0, 3\]/,
  );
  assert.throws(() => log.rewind(c, "other", 0, 0), /must own other\/0/);
});

Deno.test("LogTwin closes a member by revoking its partitions before it leaves", async () => {
  const { log } = twin();
  await log.createTopic("t", 2);
  const events: string[] = [];
  const c1 = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c1", events),
  });
  await c1.poll();
  await c1.close();
  assert.deepEqual(events, ["c1 assign 0,1", "c1 revoke 0,1"]);
  await assert.rejects(c1.poll(), /current status is closed/);
  assert.equal(log.rebalancing("g"), false);
});

Deno.test("LogTwin assigns a topic created after the group subscribed to it", async () => {
  const { log } = twin();
  const events: string[] = [];
  const c = log.consumer({
    groupId: "g",
    topics: ["later"],
    hooks: recorder("c", events),
  });
  assert.equal(await c.poll(), null);
  await log.createTopic("later", 2);
  await log.produce("later", [{ key: null, value: "x", partition: 1 }]);
  assert.deepEqual(values(await drain(c)), ["x"]);
  assert.deepEqual(events, ["c assign 0,1"]);
});

Deno.test("LogTwin checks the offsets onAssign answers", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  const c = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c", [], () => 7),
  });
  await assert.rejects(c.poll(), /current value is 7/);
});

Deno.test("LogTwin keeps group commits per partition", async () => {
  const { log } = twin();
  await log.createTopic("t", 3);
  const c = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c", []),
  });
  await c.poll();
  await c.commit([{ topic: "t", partition: 2, offset: 9 }]);
  assert.deepEqual(await log.committedOffsets("g", "t"), [
    { partition: 0, offset: -1, metadata: null },
    { partition: 1, offset: -1, metadata: null },
    { partition: 2, offset: 9, metadata: null },
  ]);
  assert.deepEqual(
    (await log.committedOffsets("other", "t")).map((c) => c.offset),
    [-1, -1, -1],
  );
});

Deno.test("LogTwin keeps the later-written of a transaction's offsets and a consumer commit", async () => {
  const { log } = twin();
  await log.createTopic("t", 2);
  const c = log.consumer({
    groupId: "g",
    topics: ["t"],
    hooks: recorder("c", []),
  });
  await c.poll();
  const txn = await log.transaction("tx");
  await txn.sendOffsets("g", [
    { topic: "t", partition: 0, offset: 5, metadata: "txn" },
    { topic: "t", partition: 1, offset: 5, metadata: "txn" },
  ]);
  // Written after the transaction's offsets: Kafka keeps it over them.
  await c.commit([{ topic: "t", partition: 0, offset: 3 }]);
  await txn.commit();
  assert.deepEqual(await log.committedOffsets("g", "t"), [
    { partition: 0, offset: 3, metadata: null },
    { partition: 1, offset: 5, metadata: "txn" },
  ]);
});

Deno.test("LogTwin.sendOffsets() checks every offset before keeping any", async () => {
  const { log } = twin();
  await log.createTopic("t", 2);
  const txn = await log.transaction("tx");
  await assert.rejects(
    txn.sendOffsets("g", [
      { topic: "t", partition: 0, offset: 1 },
      { topic: "t", partition: 1, offset: -1 },
    ]),
    /'offset' must be a non-negative integer: current value is -1/,
  );
  await assert.rejects(
    txn.sendOffsets("g", [{ topic: "t", partition: 2, offset: 1 }]),
    /current value is 2/,
  );
  await assert.rejects(
    txn.sendOffsets("g", [
      { topic: "t", partition: 0, offset: 1, metadata: "x".repeat(4097) },
    ]),
    /at most 4096 UTF-16 code units: current length is 4097/,
  );
  await txn.sendOffsets("g", [{ topic: "t", partition: 1, offset: 4 }]);
  await txn.commit();
  assert.deepEqual(
    (await log.committedOffsets("g", "t")).map((c) => c.offset),
    [-1, 4],
  );
});

Deno.test("a LogTwin transaction that failed by injection only aborts", async () => {
  const calls: string[] = [];
  const log = new LogTwin({
    clock: new VirtualClock(0),
    fail: (call) => {
      calls.push(call);
      return call === "transaction.sendOffsets";
    },
  });
  await log.createTopic("t", 1);
  const txn = await log.transaction("tx");
  await txn.produce("t", [{ key: null, value: "v", partition: 0 }]);
  await assert.rejects(
    txn.sendOffsets("g", [{ topic: "t", partition: 0, offset: 1 }]),
    TransientError,
  );
  await assert.rejects(txn.commit(), /as it failed earlier/);
  await assert.rejects(txn.produce("t", []), /as it failed earlier/);
  await txn.abort();
  await txn.abort();
  assert.deepEqual(calls, ["transaction.produce", "transaction.sendOffsets"]);
  assert.deepEqual(await log.read("t", 0, 0, 10), []);
  assert.deepEqual(await log.endOffsets("t"), [2]);
  assert.deepEqual(
    (await log.committedOffsets("g", "t")).map((c) => c.offset),
    [-1],
  );
});

Deno.test("a LogTwin commit that failed before applying stays open until the next transaction of its id", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  const txn = await log.transaction("tx");
  await txn.produce("t", [{ key: null, value: "lost", partition: 0 }]);
  await txn.sendOffsets("g", [{ topic: "t", partition: 0, offset: 1 }]);
  log.failNext(1, "before");
  await assert.rejects(txn.commit(), TransientError);
  await txn.abort(); // in doubt: no effect
  assert.deepEqual(await log.endOffsets("t"), [0], "still holds readers back");
  const next = await log.transaction("tx");
  assert.deepEqual(await log.endOffsets("t"), [2]);
  await next.sendOffsets("g", [{ topic: "t", partition: 0, offset: 2 }]);
  await next.commit();
  assert.deepEqual(await log.read("t", 0, 0, 10), []);
  assert.deepEqual(
    (await log.committedOffsets("g", "t")).map((c) => c.offset),
    [2],
  );
});

Deno.test("a LogTwin commit whose reply was lost has committed", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  const txn = await log.transaction("tx");
  await txn.produce("t", [{ key: null, value: "kept", partition: 0 }]);
  await txn.sendOffsets("g", [{ topic: "t", partition: 0, offset: 7 }]);
  log.failNext(1, "after");
  await assert.rejects(txn.commit(), TransientError);
  await txn.abort(); // in doubt: no effect
  await log.transaction("tx");
  assert.deepEqual(
    (await log.read("t", 0, 0, 10)).map((r) => r.value),
    ["kept"],
  );
  assert.deepEqual(
    (await log.committedOffsets("g", "t")).map((c) => c.offset),
    [7],
  );
});

Deno.test("LogTwin abort() is idempotent but cannot undo a commit", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  const aborted = await log.transaction("a");
  await aborted.abort();
  await aborted.abort();
  const committed = await log.transaction("c");
  await committed.commit();
  await assert.rejects(committed.abort(), /as it has committed/);
});

Deno.test("LogTwin.failNext() fails a produce with nothing appended", async () => {
  const { log } = twin();
  await log.createTopic("t", 1);
  log.failNext(1);
  await assert.rejects(
    log.produce("t", [{ key: null, value: "v", partition: 0 }]),
    TransientError,
  );
  assert.deepEqual(await log.endOffsets("t"), [0]);
});

Deno.test("LogTwin delivers the same batches for the same sequence of calls", async () => {
  async function run(): Promise<string[]> {
    const { log } = twin();
    await log.createTopic("t", 5);
    await log.produce(
      "t",
      Array.from(
        { length: 40 },
        (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }),
      ),
    );
    const c1 = log.consumer({
      groupId: "g",
      topics: ["t"],
      maxBatchRecords: 3,
      hooks: recorder("c1", []),
    });
    const c2 = log.consumer({
      groupId: "g",
      topics: ["t"],
      maxBatchRecords: 3,
      hooks: recorder("c2", []),
    });
    const out: string[] = [];
    for (let i = 0; i < 30; i++) {
      for (const [name, c] of [["c1", c1], ["c2", c2]] as const) {
        const batch = await c.poll();
        if (batch) {
          out.push(
            `${name}:${batch.partition}:${batch.records.map((r) => r.offset)}`,
          );
        }
      }
    }
    return out;
  }
  const first = await run();
  assert.ok(first.length > 5);
  assert.deepEqual(await run(), first);
});
