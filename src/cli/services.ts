/**
 * The production adapters, built from the service settings: Kafka, Redis
 * and S3 (and PostgreSQL when configured). Imported on demand so that `sim`
 * never loads the service clients.
 *
 * @module
 */

import type { Config } from "../adapters/config.ts";
import type { Clock, KeyValue, Log, ObjectStore } from "../ports.ts";

/** The connected production services. */
export interface Services {
  log: Log;
  kv: KeyValue;
  objects: ObjectStore;
  clock: Clock;
  /** Disconnects every client. */
  close(): Promise<void>;
}

/** Options of {@linkcode connectServices}. */
export interface ConnectOptions {
  /** Prefix of every Redis key the jobs write, fences included. Default: none. */
  key_prefix?: string;
  /** Kafka consumer group session timeout. Default: the adapter's. */
  session_timeout_ms?: number;
}

/** Builds the production adapters from `settings`. */
export async function connectServices(
  settings: Config,
  options: ConnectOptions = {},
): Promise<Services> {
  const { KafkaLog } = await import("../adapters/kafka.ts");
  const { RedisKeyValue } = await import("../adapters/redis.ts");
  const { S3ObjectStore } = await import("../adapters/s3.ts");
  const { SystemClock } = await import("../adapters/clock.ts");
  const log = new KafkaLog({
    brokers: settings.kafka().brokers,
    consumer: options.session_timeout_ms === undefined
      ? {}
      : { session_timeout_ms: options.session_timeout_ms },
  });
  const kv = new RedisKeyValue(settings.redis().url, {
    keyPrefix: options.key_prefix ?? "",
  });
  const s3 = settings.s3();
  const objects = new S3ObjectStore({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: s3.region,
    credentials: {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  });
  return {
    log,
    kv,
    objects,
    clock: new SystemClock(),
    async close() {
      await log.close();
      await kv.close();
    },
  };
}
