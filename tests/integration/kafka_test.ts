import assert from "node:assert/strict";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { isUnreachable } from "../../src/adapters/outage.ts";
import {
  FencedError,
  type LogRecord,
  type TopicPartition,
} from "../../src/ports.ts";
import { integration, KAFKA, KAFKA_BROKERS, uniqueName } from "./services.ts";

await integration(
  "KafkaLog.ping() answers from a running broker and fails as unreachable on a closed port (the health check of run --prod)",
  [KAFKA],
  async () => {
    const up = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "nothing" });
    try {
      await up.ping();
    } finally {
      await up.close();
    }
    // A port nothing listens on (the first free one the OS gives us).
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    const down = new KafkaLog({
      brokers: [`127.0.0.1:${port}`],
      log_level: "nothing",
      retry: { retries: 0 },
    });
    try {
      const error = await down.ping().then(() => null, (e: unknown) => e);
      assert.ok(error !== null, "a closed port must not answer");
      assert.ok(isUnreachable(error), `unreachable, not ${String(error)}`);
    } finally {
      await down.close();
    }
  },
);

await integration(
  "KafkaConsumer keeps its partitions while the runner holds a batch longer than the session timeout",
  [KAFKA],
  async () => {
    const log = new KafkaLog({
      brokers: KAFKA_BROKERS,
      consumer: {
        session_timeout_ms: 2000,
        heartbeat_ms: 300,
        poll_wait_ms: 100,
      },
    });
    const topic = uniqueName("held-batch");
    const revoked: TopicPartition[] = [];
    let assigned = 0;
    try {
      await log.createTopic(topic, 1);
      await log.produce(
        topic,
        ["a", "b", "c", "d"].map((value) => ({ key: null, value })),
      );
      const consumer = log.consumer({
        groupId: uniqueName("held-batch-group"),
        topics: [topic],
        maxBatchRecords: 2,
        hooks: {
          onRevoke: (partitions) => {
            revoked.push(...partitions);
            return Promise.resolve();
          },
          onAssign: (partitions) => {
            assigned += partitions.length;
            return Promise.resolve(partitions.map(() => 0));
          },
        },
      });
      const received: LogRecord[] = [];
      const deadline = Date.now() + 30_000;
      let held = false;
      while (received.length < 4 && Date.now() < deadline) {
        const batch = await consumer.poll();
        if (batch === null) continue;
        received.push(...batch.records);
        if (!held) {
          held = true;
          // Longer than the session timeout: only the bridge's heartbeats keep us in.
          await new Promise((resolve) => setTimeout(resolve, 3000));
        }
      }
      // An evicted member would rejoin now and be revoked and assigned again.
      const quiet_until = Date.now() + 2000;
      while (Date.now() < quiet_until) {
        const extra = await consumer.poll();
        if (extra !== null) received.push(...extra.records);
      }
      assert.deepEqual(received.map((r) => r.value), ["a", "b", "c", "d"]);
      assert.deepEqual(revoked, []);
      assert.equal(assigned, 1);
      await consumer.close();
      assert.deepEqual(revoked, [{ topic, partition: 0 }]);
    } finally {
      await log.close();
    }
  },
);

await integration(
  "KafkaLog.transaction() fences the open transaction of the same id in this log: every call of the old one throws FencedError",
  [KAFKA],
  async () => {
    const log = new KafkaLog({ brokers: KAFKA_BROKERS });
    const topic = uniqueName("fenced");
    const id = uniqueName("fenced-txn");
    try {
      await log.createTopic(topic, 1);
      const first = await log.transaction(id);
      await first.produce(topic, [{ key: null, value: "old", partition: 0 }]);
      const second = await log.transaction(id);
      await assert.rejects(first.commit(), FencedError);
      await assert.rejects(
        first.produce(topic, [{ key: null, value: "x" }]),
        FencedError,
      );
      await assert.rejects(first.abort(), FencedError);
      await second.commit();
      // The id is usable again after both ended.
      const third = await log.transaction(id);
      await third.produce(topic, [{ key: null, value: "third", partition: 0 }]);
      await third.commit();
      assert.deepEqual((await log.read(topic, 0, 0, 10)).map((r) => r.value), [
        "third",
      ]);
    } finally {
      await log.close();
    }
  },
);

/**
 * Two logs with their own kafkajs clients: to the broker, two processes. The
 * fencing is the broker's (INVALID_PRODUCER_EPOCH), not the pool's.
 */
async function withTwoLogs(
  body: (
    a: KafkaLog,
    b: KafkaLog,
    names: { input: string; output: string; group: string; id: string },
  ) => Promise<void>,
): Promise<void> {
  const a = new KafkaLog({ brokers: KAFKA_BROKERS });
  const b = new KafkaLog({ brokers: KAFKA_BROKERS });
  const names = {
    input: uniqueName("xfence-in"),
    output: uniqueName("xfence-out"),
    group: uniqueName("xfence-group"),
    id: uniqueName("xfence-txn"),
  };
  try {
    await a.createTopic(names.input, 1);
    await a.createTopic(names.output, 1);
    await body(a, b, names);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

await integration(
  "a transaction of another KafkaLog with the same id fences produce, sendOffsets and commit, and only the newer one's records and offsets become visible",
  [KAFKA],
  () =>
    withTwoLogs(async (a, b, { input, output, group, id }) => {
      const offsets = (offset: number, metadata: string) => [
        { topic: input, partition: 0, offset, metadata },
      ];
      // Fenced before it wrote anything: the first produce learns it.
      const idle = await a.transaction(id);
      const b1 = await b.transaction(id);
      await assert.rejects(
        idle.produce(output, [{ key: null, value: "a0", partition: 0 }]),
        FencedError,
      );
      await assert.rejects(idle.commit(), FencedError);
      await b1.commit();
      // Fenced after it produced: sendOffsets learns it, then every call.
      const produced = await a.transaction(id);
      await produced.produce(output, [{
        key: null,
        value: "a1",
        partition: 0,
      }]);
      const b2 = await b.transaction(id);
      await assert.rejects(
        produced.sendOffsets(group, offsets(5, "a")),
        FencedError,
      );
      await assert.rejects(produced.commit(), FencedError);
      await b2.commit();
      // Fenced after it produced and sent offsets: commit learns it.
      const full = await a.transaction(id);
      await full.produce(output, [{ key: null, value: "a2", partition: 0 }]);
      await full.sendOffsets(group, offsets(6, "a"));
      const b3 = await b.transaction(id);
      await assert.rejects(full.commit(), FencedError);
      await assert.rejects(full.abort(), FencedError);
      await b3.produce(output, [{ key: null, value: "b3", partition: 0 }]);
      await b3.sendOffsets(group, offsets(3, "b"));
      await b3.commit();
      assert.deepEqual(
        (await a.read(output, 0, 0, 10)).map((r) => r.value),
        ["b3"],
      );
      assert.deepEqual(await a.committedOffsets(group, input), [
        { partition: 0, offset: 3, metadata: "b" },
      ]);
    }),
);

await integration(
  "a KafkaLog's transaction(id) claims the id again after another log claimed it (a partition that came back)",
  [KAFKA],
  () =>
    withTwoLogs(async (a, b, { input, output, group, id }) => {
      const commit = async (log: KafkaLog, value: string, offset: number) => {
        const txn = await log.transaction(id);
        await txn.produce(output, [{ key: null, value, partition: 0 }]);
        await txn.sendOffsets(group, [
          { topic: input, partition: 0, offset, metadata: value },
        ]);
        await txn.commit();
      };
      await commit(a, "a1", 1);
      await commit(b, "b1", 2);
      await commit(a, "a2", 3);
      assert.deepEqual(
        (await a.read(output, 0, 0, 10)).map((r) => r.value),
        ["a1", "b1", "a2"],
      );
      assert.deepEqual(await b.committedOffsets(group, input), [
        { partition: 0, offset: 3, metadata: "a2" },
      ]);
    }),
);

await integration(
  "a fenced KafkaLog transaction that wrote nothing commits without error, and nothing becomes visible (kafkajs sends no EndTxn for it)",
  [KAFKA],
  () =>
    withTwoLogs(async (a, b, { input, output, group, id }) => {
      const empty = await a.transaction(id);
      const newer = await b.transaction(id);
      await empty.commit();
      await newer.commit();
      assert.deepEqual(await a.read(output, 0, 0, 10), []);
      assert.deepEqual(await a.committedOffsets(group, input), [
        { partition: 0, offset: -1, metadata: null },
      ]);
    }),
);

await integration(
  "back-to-back KafkaLog transactions that only send offsets all succeed, and each commit's offsets are readable when it resolves",
  [KAFKA],
  async () => {
    const log = new KafkaLog({ brokers: KAFKA_BROKERS });
    const input = uniqueName("b2b-in");
    const group = uniqueName("b2b-group");
    const id = uniqueName("b2b-txn");
    try {
      await log.createTopic(input, 1);
      let committed = -1;
      for (let i = 1; i <= 40; i++) {
        const txn = await log.transaction(id);
        await txn.sendOffsets(group, [
          { topic: input, partition: 0, offset: i, metadata: `m${i}` },
        ]);
        // Aborts leave the coordinator writing markers while the next
        // transaction begins: CONCURRENT_TRANSACTIONS, retried by the adapter.
        if (i % 2 === 1) {
          await txn.abort();
          continue;
        }
        await txn.commit();
        committed = i;
        assert.deepEqual(await log.committedOffsets(group, input), [
          { partition: 0, offset: committed, metadata: `m${committed}` },
        ]);
      }
    } finally {
      await log.close();
    }
  },
);

await integration(
  "a KafkaLog transaction the broker aborted on transaction_timeout_ms fails with FencedError, and none of it becomes visible",
  [KAFKA],
  async () => {
    const log = new KafkaLog({
      brokers: KAFKA_BROKERS,
      transaction_timeout_ms: 1000,
    });
    const output = uniqueName("timeout-out");
    try {
      await log.createTopic(output, 1);
      const txn = await log.transaction(uniqueName("timeout-txn"));
      await txn.produce(output, [{ key: null, value: "late", partition: 0 }]);
      // The broker looks for expired transactions every 10 s by default
      // (transaction.abort.timed.out.transaction.cleanup.interval.ms).
      const deadline = Date.now() + 20_000;
      while ((await log.endOffsets(output))[0] === 0) {
        assert.ok(Date.now() < deadline, "the broker never aborted it");
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await assert.rejects(txn.commit(), FencedError);
      assert.deepEqual(await log.read(output, 0, 0, 10), []);
    } finally {
      await log.close();
    }
  },
);

await integration(
  "transactionalProducer() of another KafkaLog fences the older claim across processes as it answers: the open transaction's commit throws FencedError and none of it shows, and the newer claim commits a series",
  [KAFKA],
  () =>
    withTwoLogs(async (a, b, { input, output, group, id }) => {
      const offsets = (offset: number, metadata: string) => [
        { topic: input, partition: 0, offset, metadata },
      ];
      const send = async (
        txn: Awaited<ReturnType<typeof a.transaction>>,
        value: string,
      ) => await txn.produce(output, [{ key: "k", value, partition: 0 }]);
      const older = await a.transactionalProducer(id);
      const first = await older.begin();
      await send(first, "a1");
      await first.sendOffsets(group, offsets(1, "a1"));
      await first.commit();
      // The older claim's next transaction is open, in its commit window
      // (records and offsets sent), when another process claims the id.
      const open = await older.begin();
      await send(open, "a-zombie");
      await open.sendOffsets(group, offsets(9, "zombie"));
      // The claim alone fences (InitProducerId), before any transaction of
      // its own: a commit in flight is settled before the claim answers.
      const newer = await b.transactionalProducer(id);
      await assert.rejects(open.commit(), FencedError);
      await assert.rejects(send(open, "a-more"), FencedError);
      // Its producer is spent: the older process must claim again.
      await assert.rejects(older.begin(), /claim the id again/);
      for (const [value, offset] of [["b1", 2], ["b2", 3]] as const) {
        const txn = await newer.begin();
        await send(txn, value);
        await txn.sendOffsets(group, offsets(offset, value));
        await txn.commit();
      }
      // read_committed: the zombie's records and offsets never show.
      assert.deepEqual(
        (await a.read(output, 0, 0, 10)).map((r) => r.value),
        ["a1", "b1", "b2"],
      );
      assert.deepEqual(await a.committedOffsets(group, input), [
        { partition: 0, offset: 3, metadata: "b2" },
      ]);
      // The aborted records are in the log all the same.
      assert.ok((await a.endOffsets(output))[0]! > 3);
      // A claim in the first process again fences the second.
      // (Across processes, a stale claim learns it at its first request.)
      const again = await a.transactionalProducer(id);
      const stale = await newer.begin();
      await assert.rejects(send(stale, "b-stale"), FencedError);
      const last = await again.begin();
      await send(last, "a2");
      await last.commit();
      assert.deepEqual(
        (await b.read(output, 0, 0, 10)).map((r) => r.value),
        ["a1", "b1", "b2", "a2"],
      );
      await Promise.all([older.close(), newer.close(), again.close()]);
    }),
);

await integration(
  "KafkaLog reads drop every record of aborted transactions, overlapping ones aborted out of order included (kafkajs's own filter delivers some)",
  [KAFKA],
  () =>
    withTwoLogs(async (a, b, { output, id }) => {
      const record = (value: string) => [{ key: null, value, partition: 0 }];
      // Two transactions overlap in the partition: A's starts first...
      const ta = await a.transaction(`${id}-a`);
      await ta.produce(output, record("a0"));
      const tb = await b.transaction(`${id}-b`);
      await tb.produce(output, record("b1"));
      await ta.produce(output, record("a2"));
      await tb.produce(output, record("b3"));
      // ...but B's is aborted first (its id claimed anew), then A's: the
      // broker lists aborted transactions in the order of their markers.
      await (await a.transaction(`${id}-b`)).commit();
      await (await b.transaction(`${id}-a`)).commit();
      const tc = await a.transaction(`${id}-c`);
      await tc.produce(output, record("c4"));
      await tc.commit();
      assert.deepEqual(
        (await a.read(output, 0, 0, 20)).map((r) => r.value),
        ["c4"],
      );
      const consumer = b.consumer({
        groupId: uniqueName("aborted-group"),
        topics: [output],
        maxBatchRecords: 1,
        hooks: {
          onRevoke: () => Promise.resolve(),
          onAssign: (partitions) => Promise.resolve(partitions.map(() => 0)),
        },
      });
      const seen: string[] = [];
      const deadline = Date.now() + 20_000;
      while (!seen.includes("c4") && Date.now() < deadline) {
        const batch = await consumer.poll();
        if (batch !== null) seen.push(...batch.records.map((r) => r.value));
      }
      await consumer.close();
      assert.deepEqual(seen, ["c4"]);
    }),
);
