/**
 * The idle advance against real services: a window of a custom job (built
 * with the dataflow API) closes while its Kafka partition stays quiet, with
 * no later record to move event time. The production runner runs in this
 * process on KafkaLog, RedisKeyValue, S3 checkpoints and the wall clock.
 */

import assert from "node:assert/strict";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { RedisKeyValue } from "../../src/adapters/redis.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { SystemClock } from "../../src/adapters/clock.ts";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import { Runner, type RunnerEvent } from "../../src/core/runner.ts";
import { tumbling } from "../../src/core/windows.ts";
import { count } from "../../src/flow/aggregates.ts";
import { defineJob } from "../../src/flow/define.ts";
import { jsonEvents } from "../../src/flow/json.ts";
import { redisSink } from "../../src/sinks/redis.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  REDIS,
  REDIS_URL,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";

await integration(
  "a window closes on a quiet Kafka partition through the idle advance alone",
  [KAFKA, REDIS, S3],
  async () => {
    const name = uniqueName("idle-advance");
    const topic = name;
    const job = defineJob({
      name,
      build(flow) {
        const redis = redisSink();
        flow.source(topic, {
          parse: jsonEvents({ key: "user", time: "ts" }),
          out_of_orderness_ms: 500,
          idle_advance_ms: 1_000,
          partitions: 1,
        })
          .keyBy((e) => e.user as string)
          .window({
            assigner: tumbling({ size_ms: 2_000 }),
            aggregate: count(),
          })
          .to(
            redis,
            (r, kv) =>
              kv.set(`${name}:${r.key}:${r.window.start}`, String(r.value)),
          );
      },
    }).create();
    const log = new KafkaLog({
      brokers: KAFKA_BROKERS,
      consumer: { session_timeout_ms: 6_000, poll_wait_ms: 100 },
      log_level: "nothing",
    });
    const kv = new RedisKeyValue(REDIS_URL);
    const objects = S3ObjectStore.fromConfig(S3_SETTINGS);
    const events: RunnerEvent[] = [];
    const runner = new Runner({
      job,
      log,
      kv,
      objects,
      checkpoints: new CheckpointStore(objects, { prefix: `test/${name}` }),
      clock: new SystemClock(),
      checkpoint_interval_ms: 1_000,
      onEvent: (e) => events.push(e),
    });
    let stop = false;
    try {
      await log.createTopic(topic, 1);
      for (const t of job.outputTopics) await log.createTopic(t, 1);
      runner.start();
      const running = (async () => {
        while (!stop) await runner.step();
      })();
      // Wait for the partition, then send two clicks and nothing more.
      const deadline = Date.now() + 60_000;
      while (runner.partitions().length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const now = Date.now();
      await log.produce(topic, [
        { key: "ada", value: JSON.stringify({ user: "ada", ts: now }) },
        { key: "ada", value: JSON.stringify({ user: "ada", ts: now + 1 }) },
      ]);
      const window_start = now - (now % 2_000);
      const key = `${name}:ada:${window_start}`;
      let value: string | null = null;
      while (value === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        value = await kv.get(key);
      }
      assert.equal(value, "2", `the window ${key} closed`);
      assert.ok(
        events.some((e) => e.type === "tick"),
        "it closed through a processing-time step",
      );
      stop = true;
      await running;
    } finally {
      stop = true;
      await runner.close().catch(() => {});
      await log.close();
      await kv.close();
    }
  },
);
