/**
 * The contract suites against the real services, through the production
 * adapters. A case that passes on a twin and fails here is the twin's bug.
 *
 * Needs `bash scripts/services.sh up`; without the services the tests are
 * skipped (outside CI) or fail (in CI), see `services.ts`.
 */

import { Redis } from "ioredis";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { RedisKeyValue } from "../../src/adapters/redis.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { kvContract } from "../contract/kv_contract.ts";
import { logContract } from "../contract/log_contract.ts";
import { objectsContract } from "../contract/objects_contract.ts";
import {
  KAFKA,
  KAFKA_BROKERS,
  REDIS,
  REDIS_URL,
  requireServices,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";

const redisMissing = await requireServices([REDIS]);
const kafkaMissing = await requireServices([KAFKA]);
const s3Missing = await requireServices([S3]);

kvContract(
  "RedisKeyValue",
  () => {
    // A prefix per test keeps runs apart on a shared server; close() removes its keys.
    const prefix = `${uniqueName("contract-redis")}:`;
    const kv = new RedisKeyValue(REDIS_URL, { keyPrefix: prefix });
    return Promise.resolve({
      kv,
      advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      close: async () => {
        await kv.close();
        const admin = new Redis(REDIS_URL);
        try {
          const keys = await admin.keys(`${prefix}*`);
          if (keys.length > 0) await admin.del(...keys);
        } finally {
          await admin.quit();
        }
      },
    });
  },
  { ignore: redisMissing, sanitize: false },
);

logContract(
  "KafkaLog",
  () => {
    const log = new KafkaLog({
      brokers: KAFKA_BROKERS,
      consumer: {
        session_timeout_ms: 6000,
        heartbeat_ms: 500,
        poll_wait_ms: 100,
      },
    });
    return Promise.resolve({ log, close: () => log.close() });
  },
  {
    ignore: kafkaMissing,
    sanitize: false,
    deadline_ms: 60_000,
    idle_rounds_max: 200,
  },
);

objectsContract(
  "S3ObjectStore",
  () => {
    const { endpoint, bucket, region, accessKeyId, secretAccessKey } =
      S3_SETTINGS;
    // A prefix per test keeps runs apart in the shared bucket; close() empties it.
    const objects = new S3ObjectStore({
      endpoint,
      bucket,
      region,
      credentials: { accessKeyId, secretAccessKey },
      prefix: `${uniqueName("contract-s3")}/`,
    });
    return Promise.resolve({
      objects,
      close: async () => {
        for (const key of await objects.list("")) await objects.delete(key);
        await objects.close();
      },
    });
  },
  { ignore: s3Missing, sanitize: false },
);
