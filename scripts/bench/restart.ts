/**
 * Restart-to-resume time after a crash: an instance of `run --prod --job
 * views` owns every partition of a topic that receives views steadily; it is
 * SIGKILLed (it never leaves its consumer group) and a new instance is
 * started at once, as a supervisor would. Measured from the kill: when the
 * new process has started its job, when it is assigned the partitions (the
 * group first waits for the dead member's session to expire), and when every
 * partition is consumed again (its Redis fence moved past the dead
 * instance's epoch and offset: the new owner wrote a batch).
 *
 * @module
 */

import { Redis } from "ioredis";
import { stopIdlePolling } from "../../src/adapters/kafka/request_queue.ts";
import {
  benchKafka,
  createTopics,
  deleteObjectsPrefix,
  deleteRedisPrefix,
  deleteTopics,
  SERVICES,
  uniqueName,
} from "./services.ts";
import { sleep } from "./stats.ts";

// The benchmark's own kafkajs clients too (see request_queue.ts).
stopIdlePolling();

/** Partitions of the measured topic. */
export const RESTART_PARTITIONS = 4;

/** One kill and restart. */
export interface RestartTiming {
  /** The session timeout the instances ran with; null: the default. */
  session_timeout_ms: number | null;
  /** From the kill until the new process logged its job's start. */
  started_ms: number;
  /** From the kill until the new process owned every partition. */
  assigned_ms: number;
  /** From the kill until every partition was consumed again. */
  resumed_ms: number;
}

/** Options of {@linkcode measureRestart}. */
export interface RestartOptions {
  /** `--session-timeout-ms` of both instances; undefined: the default. */
  session_timeout_ms?: number;
  /** Views produced per second while measuring. Default: 400. */
  rate_per_s?: number;
  /** Longest wait for any step. Default: 120 000. */
  timeout_ms?: number;
  log: (line: string) => void;
}

interface Instance {
  process: Deno.ChildProcess;
  started_at: number;
  /** Partitions assigned, and when (performance.now()). */
  assigned: Map<number, number>;
  /** When the job logged its start. */
  job_started_at: number | null;
  stderr: string;
}

/** Runs one kill and restart; see the module doc. */
export async function measureRestart(
  options: RestartOptions,
): Promise<RestartTiming> {
  const topic = uniqueName("bench-restart");
  const group = `${topic}-group`;
  const key_prefix = `${topic}:`;
  const checkpoint_prefix = `bench-checkpoints/${topic}`;
  const timeout_ms = options.timeout_ms ?? 120_000;
  const redis = new Redis(SERVICES.redis_url, { lazyConnect: true });
  const stop = new AbortController();
  const instances: Instance[] = [];
  const args = [
    "run",
    "--prod",
    "--job",
    "views",
    "--topic",
    topic,
    "--group",
    group,
    "--key-prefix",
    key_prefix,
    "--checkpoint-prefix",
    checkpoint_prefix,
    "--checkpoint-interval-ms",
    "1000",
    "--log-format",
    "json",
    "--port",
    "0",
    ...(options.session_timeout_ms === undefined
      ? []
      : ["--session-timeout-ms", String(options.session_timeout_ms)]),
  ];
  try {
    await createTopics([topic], RESTART_PARTITIONS);
    const producing = produceSteadily(
      topic,
      options.rate_per_s ?? 400,
      stop.signal,
    );
    producing.catch(() => {});
    const first = spawn(args, SERVICES);
    instances.push(first);
    await until(
      () => first.assigned.size === RESTART_PARTITIONS,
      timeout_ms,
      "the first instance to own every partition",
      first,
    );
    // Writing steadily on every partition before the kill.
    const fencesBefore = await waitForFences(
      redis,
      key_prefix,
      topic,
      timeout_ms,
    );
    await sleep(2_000);
    const atKill = await fences(redis, key_prefix, topic);
    for (let p = 0; p < RESTART_PARTITIONS; p++) {
      if (
        (atKill.get(p)?.offset ?? -1) <= (fencesBefore.get(p)?.offset ?? -1)
      ) {
        throw new Error(
          `Cannot measure a restart as partition ${p} was not being consumed before the kill`,
        );
      }
    }
    first.process.kill("SIGKILL");
    const killed_at = performance.now();
    await first.process.status;
    const second = spawn(args, SERVICES);
    instances.push(second);
    const resumed = new Map<number, number>();
    await until(
      async () => {
        const now = await fences(redis, key_prefix, topic);
        for (let p = 0; p < RESTART_PARTITIONS; p++) {
          const before = atKill.get(p)!;
          const after = now.get(p);
          if (
            !resumed.has(p) && after !== undefined &&
            after.epoch > before.epoch && after.offset > before.offset
          ) resumed.set(p, performance.now());
        }
        return resumed.size === RESTART_PARTITIONS;
      },
      timeout_ms,
      "every partition to be consumed again",
      second,
    );
    const timing: RestartTiming = {
      session_timeout_ms: options.session_timeout_ms ?? null,
      started_ms: (second.job_started_at ?? killed_at) - killed_at,
      assigned_ms: Math.max(...second.assigned.values()) - killed_at,
      resumed_ms: Math.max(...resumed.values()) - killed_at,
    };
    options.log(
      `restart: session ${options.session_timeout_ms ?? "default"}: started ${
        timing.started_ms.toFixed(0)
      } ms, assigned ${timing.assigned_ms.toFixed(0)} ms, resumed ${
        timing.resumed_ms.toFixed(0)
      } ms after the kill`,
    );
    return timing;
  } finally {
    stop.abort();
    for (const instance of instances) {
      try {
        instance.process.kill("SIGKILL");
      } catch {
        // Already ended.
      }
      await instance.process.status.catch(() => {});
    }
    await redis.quit().catch(() => redis.disconnect());
    await deleteTopics([topic, `${topic}.dead-letter`, `${topic}.late`])
      .catch(() => {});
    await deleteGroup(group).catch(() => {});
    await deleteRedisPrefix(key_prefix).catch(() => 0);
    await deleteObjectsPrefix(`${checkpoint_prefix}/`).catch(() => 0);
  }
}

function spawn(args: string[], services: typeof SERVICES): Instance {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: new URL("../../", import.meta.url).pathname,
    env: {
      KAFKA_BROKERS: services.kafka_brokers.join(","),
      REDIS_URL: services.redis_url,
      S3_ENDPOINT: services.s3.endpoint,
      S3_BUCKET: services.s3.bucket,
      S3_REGION: services.s3.region,
      AWS_ACCESS_KEY_ID: services.s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: services.s3.credentials.secretAccessKey,
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const instance: Instance = {
    process,
    started_at: performance.now(),
    assigned: new Map(),
    job_started_at: null,
    stderr: "",
  };
  readLines(process.stdout, (line) => {
    if (!line.startsWith("{")) return;
    try {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.type === "assigned" && typeof event.partition === "number") {
        instance.assigned.set(event.partition, performance.now());
      }
      if (event.event === "started") {
        instance.job_started_at = performance.now();
      }
    } catch {
      // Not an event.
    }
  });
  readLines(process.stderr, (line) => {
    instance.stderr = (instance.stderr + line + "\n").slice(-4_000);
  });
  return instance;
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
  } catch {
    // The process was killed.
  }
}

async function until(
  condition: () => boolean | Promise<boolean>,
  timeout_ms: number,
  what: string,
  instance: Instance,
): Promise<void> {
  const deadline = performance.now() + timeout_ms;
  while (!await condition()) {
    if (performance.now() > deadline) {
      throw new Error(
        `Cannot measure a restart as it took over ${timeout_ms} ms for ${what}; the instance's stderr ends with: ${
          instance.stderr.slice(-500)
        }`,
      );
    }
    await sleep(50);
  }
}

/** Each partition's fence in Redis: the owner's epoch and the last offset written. */
async function fences(
  redis: Redis,
  key_prefix: string,
  topic: string,
): Promise<Map<number, { epoch: number; offset: number }>> {
  const out = new Map<number, { epoch: number; offset: number }>();
  for (let p = 0; p < RESTART_PARTITIONS; p++) {
    const hash = await redis.hgetall(
      `${key_prefix}freshet:fence:views:${topic}:${p}`,
    );
    if (hash.epoch !== undefined) {
      out.set(p, {
        epoch: Number(hash.epoch),
        offset: Number(hash.offset ?? -1),
      });
    }
  }
  return out;
}

async function waitForFences(
  redis: Redis,
  key_prefix: string,
  topic: string,
  timeout_ms: number,
): Promise<Map<number, { epoch: number; offset: number }>> {
  const deadline = performance.now() + timeout_ms;
  for (;;) {
    const now = await fences(redis, key_prefix, topic);
    if (
      [...now.values()].filter((f) => f.offset >= 0).length ===
        RESTART_PARTITIONS
    ) {
      return now;
    }
    if (performance.now() > deadline) {
      throw new Error(
        "Cannot measure a restart as the first instance wrote nothing to some partition's fence",
      );
    }
    await sleep(100);
  }
}

/** Produces views with event times of now, spread over every partition. */
async function produceSteadily(
  topic: string,
  rate_per_s: number,
  signal: AbortSignal,
): Promise<void> {
  const producer = benchKafka("freshet-bench-restart").producer();
  await producer.connect();
  try {
    const per_tick = Math.max(1, Math.round(rate_per_s / 10));
    for (let i = 0; !signal.aborted; i++) {
      const now = Date.now();
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: per_tick }, (_, j) => {
          const n = i * per_tick + j;
          const videoId = `video-${n % 97}`;
          return {
            key: videoId,
            partition: n % RESTART_PARTITIONS,
            value: JSON.stringify({
              userId: `user-${n % 31}`,
              videoId,
              timestamp: new Date(now).toISOString(),
            }),
          };
        }),
      });
      await sleep(100);
    }
  } finally {
    await producer.disconnect();
  }
}

async function deleteGroup(group: string): Promise<void> {
  const admin = benchKafka("freshet-bench-admin").admin();
  await admin.connect();
  try {
    await admin.deleteGroups([group]);
  } finally {
    await admin.disconnect();
  }
}
