import assert from "node:assert/strict";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import {
  FencedError,
  type LogRecord,
  type TopicPartition,
} from "../../src/ports.ts";
import { integration, KAFKA, KAFKA_BROKERS, uniqueName } from "./services.ts";

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
  "KafkaLog.transaction() commit failure after fencing is a FencedError",
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
      // The fenced transaction stays failed, and aborting it is harmless.
      await assert.rejects(
        first.produce(topic, [{ key: null, value: "x" }]),
        /failed earlier/,
      );
      await first.abort();
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
