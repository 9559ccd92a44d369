/**
 * `freshet inspect`'s gathering against real Kafka and S3: checkpoints
 * committed in both places they live (a CheckpointStore manifest; a Kafka
 * transaction whose committed offset's metadata names the state object)
 * read back through KafkaLog and S3ObjectStore. No consumer group is
 * joined, so it takes a few seconds.
 */

import assert from "node:assert/strict";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { SystemClock } from "../../src/adapters/clock.ts";
import {
  CheckpointStore,
  type PartitionCheckpoint,
} from "../../src/core/checkpoint.ts";
import { type Job, Outputs } from "../../src/core/job.ts";
import { isKafkaSink } from "../../src/sinks/kafka.ts";
import { inspectCheckpoints } from "../../src/cli/inspect_checkpoints.ts";
import { views } from "../../src/jobs/views/job.ts";
import { transactions } from "../../src/jobs/transactions/job.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";

/** Appends `values` to partition 0, and a checkpoint of them as the job's processor has it. */
async function processed(
  log: KafkaLog,
  job: Job,
  values: string[],
): Promise<{ checkpoint: PartitionCheckpoint; watermark: number }> {
  await log.createTopic(job.topic, 2);
  await log.produce(
    job.topic,
    values.map((value) => ({ key: null, value, partition: 0 })),
  );
  const records = await log.read(job.topic, 0, 0, values.length);
  const processor = job.stages[0]!.createProcessor(0, { partitions: 2 });
  processor.process(records, { now_ms: Date.now(), out: new Outputs() });
  return {
    checkpoint: {
      version: 2,
      job: job.name,
      topic: job.topic,
      partition: 0,
      position: records.at(-1)!.offset + 1,
      ticks: 0,
      pending_tick_ms: null,
      epoch: 0,
      state: processor.snapshot(),
      sinks: {},
    },
    watermark: processor.watermark!(),
  };
}

await integration(
  "inspectCheckpoints() reads manifest and committed-offset checkpoints through KafkaLog and S3ObjectStore",
  [KAFKA, S3],
  async () => {
    const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "nothing" });
    const objects = S3ObjectStore.fromConfig(S3_SETTINGS);
    const prefix = `test/${uniqueName("inspect")}`;
    const store = new CheckpointStore(objects, { prefix });
    const t = Date.now();
    try {
      // A manifest checkpoint (the views job's Redis sink commits nothing in Kafka).
      const job = views.create({ topic: uniqueName("inspect-views") });
      const viewed = await processed(log, job, [
        JSON.stringify({
          userId: "u",
          videoId: "a",
          timestamp: new Date(t - 9_000).toISOString(),
        }),
        JSON.stringify({
          userId: "u",
          videoId: "b",
          timestamp: new Date(t - 3_000).toISOString(),
        }),
      ]);
      const claim = await store.claim({
        job: job.name,
        topic: job.topic,
        partition: 0,
      });
      await claim.commit(viewed.checkpoint);
      const group_id = uniqueName("inspect-group");
      const inspection = await inspectCheckpoints(job, { log, objects }, {
        now_ms: Date.now(),
        group_id,
        checkpoint_prefix: prefix,
      });
      const [p0, p1] = inspection.rows;
      assert.equal(p0?.kept_in, "manifest");
      assert.equal(p0?.offset, 2);
      assert.equal(p0?.watermark_ms, viewed.watermark);
      assert.ok(p0!.state_bytes! > 0, "the state object's size");
      assert.ok(
        p0!.last_record_ms! >= t - 60_000,
        "the append time of offset 1",
      );
      assert.ok(p0!.age_ms! >= 0);
      assert.deepEqual(
        [p0?.committed_offset, p0?.end_offset, p0?.lag, p0?.note],
        [null, 2, 0, null],
      );
      assert.deepEqual([p1?.offset, p1?.end_offset, p1?.lag], [null, 0, 0]);

      // A checkpoint committed by the Kafka sink's own transaction.
      const tx = transactions.create({ topic: uniqueName("inspect-tx") });
      const bought = await processed(log, tx, [
        JSON.stringify({
          transaction_id: "t1",
          user_id: "u",
          product: "p",
          category: "books",
          amount: 20,
          quantity: 1,
          payment_method: "card",
          timestamp: new Date(t - 5_000).toISOString().slice(0, 19),
          location: "x",
        }),
      ]);
      const kafka = tx.stages[0]!.sinks.find(isKafkaSink)!;
      const tx_group = uniqueName("inspect-tx-group");
      const txClaim = await kafka.checkpointLog!({
        ports: { log, clock: new SystemClock() },
        group_id: tx_group,
        store,
      }).claim({ job: tx.name, topic: tx.topic, partition: 0 });
      await txClaim.commit(bought.checkpoint);
      const txInspection = await inspectCheckpoints(tx, { log, objects }, {
        now_ms: Date.now(),
        group_id: tx_group,
        checkpoint_prefix: prefix,
      });
      const row = txInspection.rows[0];
      assert.equal(row?.kept_in, "offset");
      assert.deepEqual(
        [row?.offset, row?.committed_offset, row?.lag_from, row?.note],
        [1, 1, "committed", null],
      );
      assert.equal(row?.watermark_ms, bought.watermark);
      assert.match(row?.state_key ?? "", /\/txn\//);
      // Its repartition topic was never created: reported, not fatal.
      assert.deepEqual(txInspection.skipped.map((s) => s.topic), [
        tx.stages[1]!.topic,
      ]);
      await (txClaim as unknown as { close(): Promise<void> }).close();
    } finally {
      await log.close();
      await objects.close();
    }
  },
);
