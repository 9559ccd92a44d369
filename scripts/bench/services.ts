/**
 * The real services the Kafka benchmarks use, and the set-up and clean-up
 * around them: unique names, topics filled from the fixture, and removal of
 * everything a run created (topics, Redis keys, checkpoint objects).
 *
 * @module
 */

import { Kafka, logLevel, type Message } from "kafkajs";
import { Redis } from "ioredis";
import { S3ObjectStore } from "../../src/adapters/s3.ts";

/** Where the services are; matches `scripts/services.sh` (docs/SERVICES.md). */
export const SERVICES = {
  kafka_brokers: ["127.0.0.1:9092"],
  redis_url: "redis://127.0.0.1:6379",
  s3: {
    endpoint: "http://127.0.0.1:9000",
    bucket: "freshet",
    region: "us-east-1",
    credentials: { accessKeyId: "freshet", secretAccessKey: "freshet-secret" },
  },
} as const;

const PROBES = [
  { name: "kafka", hostname: "127.0.0.1", port: 9092 },
  { name: "redis", hostname: "127.0.0.1", port: 6379 },
  { name: "s3", hostname: "127.0.0.1", port: 9000 },
] as const;

/** Names of the services that do not accept a TCP connection. */
export async function missingServices(timeout_ms = 500): Promise<string[]> {
  const missing: string[] = [];
  for (const probe of PROBES) {
    if (!await accepts(probe.hostname, probe.port, timeout_ms)) {
      missing.push(`${probe.name} (${probe.hostname}:${probe.port})`);
    }
  }
  return missing;
}

async function accepts(
  hostname: string,
  port: number,
  timeout_ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeout_ms);
  });
  const connecting = Deno.connect({ hostname, port }).then(
    (conn) => conn,
    () => null,
  );
  const conn = await Promise.race([connecting, timeout]);
  clearTimeout(timer);
  if (conn === null) {
    // A connection that opens after the timeout must still be closed.
    connecting.then((late) => late?.close());
    return false;
  }
  conn.close();
  return true;
}

/** A name no earlier run used: `<base>-<time>-<random>`. */
export function uniqueName(base: string): string {
  return `${base}-${Date.now().toString(36)}-${
    crypto.randomUUID().slice(0, 8)
  }`;
}

/** Consumer groups this process created; {@linkcode deleteGroups} removes them. */
const groups = new Set<string>();

/** A unique consumer group name, remembered for {@linkcode deleteGroups}. */
export function groupName(base: string): string {
  const name = uniqueName(base);
  groups.add(name);
  return name;
}

/**
 * Deletes the consumer groups {@linkcode groupName} handed out (their members
 * have left by then); a group the broker no longer knows is ignored.
 */
export async function deleteGroups(): Promise<void> {
  if (groups.size === 0) return;
  const admin = benchKafka("freshet-bench-admin").admin();
  await admin.connect();
  try {
    const known = new Set(
      (await admin.listGroups()).groups.map((g) => g.groupId),
    );
    const ours = [...groups].filter((g) => known.has(g));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => {});
    groups.clear();
  } finally {
    await admin.disconnect();
  }
}

/** A kafkajs client for the benchmark's own set-up, baselines and clean-up. */
export function benchKafka(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [...SERVICES.kafka_brokers],
    logLevel: logLevel.ERROR,
  });
}

/** Creates topics (with `partitions` each) and waits for their leaders. */
export async function createTopics(
  topics: readonly string[],
  partitions: number,
): Promise<void> {
  const admin = benchKafka("freshet-bench-admin").admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes topics; missing ones are ignored. */
export async function deleteTopics(topics: readonly string[]): Promise<void> {
  const admin = benchKafka("freshet-bench-admin").admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) {
      await admin.deleteTopics({ topics: present, timeout: 30_000 });
    }
  } finally {
    await admin.disconnect();
  }
}

/** A message to produce, already placed on a partition. */
export interface PlacedMessage {
  key: string | null;
  value: string;
  partition: number;
}

/**
 * Appends `messages` to `topic` as fast as the broker takes them (a few
 * requests in flight), in order per partition. Answers the elapsed ms.
 */
export async function fillTopic(
  topic: string,
  messages: readonly PlacedMessage[],
  options: {
    /** Messages per request. Default: 5000. */
    chunk?: number;
  } = {},
): Promise<number> {
  const chunk = options.chunk ?? 5000;
  const producer = benchKafka("freshet-bench-fill").producer({
    // One request in flight per partition keeps each partition in order.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const started = performance.now();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      const slice = messages.slice(i, i + chunk);
      await producer.send({
        topic,
        acks: 1,
        messages: slice.map((m): Message => ({
          key: m.key,
          value: m.value,
          partition: m.partition,
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
  return performance.now() - started;
}

/** Deletes every Redis key that starts with `prefix`; answers how many. */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(SERVICES.redis_url, { lazyConnect: true });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(
        cursor,
        "MATCH",
        `${prefix}*`,
        "COUNT",
        1000,
      );
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return deleted;
}

/** Deletes every object whose key starts with `prefix`; answers how many. */
export async function deleteObjectsPrefix(prefix: string): Promise<number> {
  const store = new S3ObjectStore({ ...SERVICES.s3, prefix });
  try {
    const keys = await store.list("");
    for (const key of keys) await store.delete(key);
    return keys.length;
  } finally {
    await store.close();
  }
}

/** A new S3 checkpoint store client whose keys all live under `prefix`. */
export function benchObjectStore(prefix: string): S3ObjectStore {
  return new S3ObjectStore({ ...SERVICES.s3, prefix });
}

/** Calls and time of one Redis command, from `INFO commandstats`. */
export interface CommandStat {
  calls: number;
  usec: number;
}

/** The server's `INFO commandstats` (every client's commands, scripts' included). */
export async function redisCommandStats(): Promise<Map<string, CommandStat>> {
  const redis = new Redis(SERVICES.redis_url, { lazyConnect: true });
  try {
    await redis.connect();
    const text = await redis.info("commandstats");
    const stats = new Map<string, CommandStat>();
    for (const line of text.split("\n")) {
      const match = line.match(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/);
      if (match) {
        stats.set(match[1]!, {
          calls: Number(match[2]),
          usec: Number(match[3]),
        });
      }
    }
    return stats;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** `after − before` per command, commands without calls in between left out. */
export function commandStatsDelta(
  before: Map<string, CommandStat>,
  after: Map<string, CommandStat>,
): Map<string, CommandStat> {
  const delta = new Map<string, CommandStat>();
  for (const [name, stat] of after) {
    const was = before.get(name) ?? { calls: 0, usec: 0 };
    const calls = stat.calls - was.calls;
    if (calls > 0) delta.set(name, { calls, usec: stat.usec - was.usec });
  }
  return delta;
}

/** Redis's version and the server's own facts, for the report. */
export async function redisVersion(): Promise<string> {
  const redis = new Redis(SERVICES.redis_url, { lazyConnect: true });
  try {
    await redis.connect();
    const text = await redis.info("server");
    return text.match(/redis_version:(\S+)/)?.[1] ?? "unknown";
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
