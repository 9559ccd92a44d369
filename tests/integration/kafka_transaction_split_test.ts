import assert from "node:assert/strict";
import { Kafka } from "kafkajs";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { integration, KAFKA, KAFKA_BROKERS, uniqueName } from "./services.ts";

await integration(
  "a Kafka transaction splits its produce requests under the topic's max.message.bytes: a batch far over it commits whole, in order",
  [KAFKA],
  async () => {
    const topic = uniqueName("txn-split");
    const admin = new Kafka({ brokers: KAFKA_BROKERS, logLevel: 0 }).admin();
    await admin.connect();
    const log = new KafkaLog({ brokers: KAFKA_BROKERS });
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic,
          numPartitions: 1,
          configEntries: [{ name: "max.message.bytes", value: "4096" }],
        }],
      });
      // 40 records of 600 bytes: 24 KB, six times the topic's limit; one
      // request of them all is refused with MESSAGE_TOO_LARGE.
      const values = Array.from(
        { length: 40 },
        (_, i) => `${String(i).padStart(3, "0")}${"x".repeat(597)}`,
      );
      const txn = await log.transaction(uniqueName("txn-split-id"));
      await txn.produce(
        topic,
        values.map((value) => ({ key: "k", value, partition: 0 })),
      );
      await txn.commit();
      const read = await log.read(topic, 0, 0, 1_000);
      assert.deepEqual(read.map((r) => r.value), values);
    } finally {
      await log.close();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  },
);
