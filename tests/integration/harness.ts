/**
 * Harness of the production integration tests of the `views` job: spawns
 * `main.ts run --prod` and `main.ts produce` as child processes, waits for
 * conditions with deadlines, reads what the job left in Redis and in its side
 * topics, and computes what it should have left from the fixture itself.
 *
 * Every test works in a {@linkcode World}: a unique topic, consumer group,
 * Redis key prefix and checkpoint prefix, removed again by `cleanup()`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import type { Counts } from "../../src/core/job.ts";
import type { SideRecord } from "../../src/sinks/side_topics.ts";
import { views } from "../../src/jobs/views/job.ts";
import { parseView } from "../../src/jobs/views/parse.ts";
import { fnv1a32 } from "../../sim/partitioner.ts";
import { simulate } from "../../sim/simulator.ts";
import {
  KAFKA_BROKERS,
  REDIS_URL,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";

/** The repository root: children run `main.ts` from there. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The recorded `views` fixture. */
export const VIEWS_FIXTURE = `${REPO_ROOT}fixtures/views/views.jsonl`;

/** The environment a child needs to reach the services of `scripts/services.sh`. */
export function serviceEnv(): Record<string, string> {
  return {
    KAFKA_BROKERS: KAFKA_BROKERS.join(","),
    REDIS_URL,
    S3_ENDPOINT: S3_SETTINGS.endpoint,
    S3_BUCKET: S3_SETTINGS.bucket,
    S3_REGION: S3_SETTINGS.region,
    AWS_ACCESS_KEY_ID: S3_SETTINGS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3_SETTINGS.secretAccessKey,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` every `interval_ms` until it holds or `timeout_ms` has
 * passed; answers whether it held. Callers decide what a timeout means.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  options: { timeout_ms: number; interval_ms?: number },
): Promise<boolean> {
  const deadline = Date.now() + options.timeout_ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(options.interval_ms ?? 100);
  }
}

/** One JSON line a `run --prod` child printed on stdout. */
export interface JobEvent {
  /** Runner events: `assigned`, `revoked`, `fenced`, `retry`. */
  type?: string;
  /** CLI events: `config`, `started`, `progress`, `stopping`. */
  event?: string;
  partition?: number;
  epoch?: number;
  position?: number;
  restored?: boolean;
  /** Milliseconds since the child started, when the line was read. */
  at_ms: number;
  [field: string]: unknown;
}

/** A child process running `deno run -A main.ts ...`, with its output kept. */
export class Child {
  readonly name: string;
  readonly started_ms = Date.now();
  /** Parsed JSON lines of stdout, in order. */
  readonly events: JobEvent[] = [];
  /** Every stdout line, parsed or not. */
  readonly lines: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  readonly #process: Deno.ChildProcess;
  readonly #drained: Promise<void>;
  #stderr = "";
  #exited: Deno.CommandStatus | null = null;

  constructor(name: string, args: string[], env: Record<string, string> = {}) {
    this.name = name;
    this.#process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", ...args],
      cwd: REPO_ROOT,
      env: { ...serviceEnv(), NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#drained = Promise.all([
      this.#readLines(this.#process.stdout, (line) => this.#onStdout(line)),
      this.#readLines(this.#process.stderr, (line) => {
        // Bounded: only the tail matters for a diagnosis.
        this.#stderr = (this.#stderr + line + "\n").slice(-20_000);
      }),
    ]).then(() => {});
    this.status = this.#process.status.then(async (status) => {
      this.#exited = status;
      await this.#drained;
      return status;
    });
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exited !== null;
  }

  /** The last part of stderr, for failure messages. */
  stderrTail(chars = 2_000): string {
    return this.#stderr.slice(-chars);
  }

  /** Runner events of one type (`assigned`, `revoked`, ...). */
  runnerEvents(type: string): JobEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** Sends `signal` unless the process already ended. */
  kill(signal: Deno.Signal): void {
    if (this.exited) return;
    try {
      this.#process.kill(signal);
    } catch {
      // Ended between the check and the kill.
    }
  }

  /**
   * Sends `signal` and waits up to `timeout_ms` for the exit; then SIGKILLs.
   * Answers the exit status and whether the signal alone ended it.
   */
  async stop(
    signal: Deno.Signal,
    timeout_ms: number,
  ): Promise<{ status: Deno.CommandStatus; graceful: boolean }> {
    this.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeout_ms);
    });
    const status = await Promise.race([this.status, timeout]);
    clearTimeout(timer);
    if (status !== null) return { status, graceful: true };
    this.kill("SIGKILL");
    return { status: await this.status, graceful: false };
  }

  /** Waits for an event matching `predicate`; throws with the stderr tail on timeout or exit. */
  async waitForEvent(
    predicate: (event: JobEvent) => boolean,
    timeout_ms: number,
    what: string,
  ): Promise<JobEvent> {
    let found: JobEvent | undefined;
    const ok = await waitUntil(() => {
      found = this.events.find(predicate);
      return found !== undefined || this.exited;
    }, { timeout_ms, interval_ms: 50 });
    if (found !== undefined) return found;
    throw new Error(
      `Cannot continue as ${this.name} did not report ${what} ${
        ok ? "before it exited" : `within ${timeout_ms} ms`
      }; its log ends with:\n${
        this.lines.slice(-5).join("\n")
      }\nand its stderr with:\n${this.stderrTail()}`,
    );
  }

  #onStdout(line: string): void {
    this.lines.push(line);
    if (!line.startsWith("{")) return;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      this.events.push({ ...parsed, at_ms: Date.now() - this.started_ms });
    } catch {
      // Not an event line.
    }
  }

  async #readLines(
    stream: ReadableStream<Uint8Array>,
    onLine: (line: string) => void,
  ): Promise<void> {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
    if (pending !== "") onLine(pending);
  }
}

/** Options of {@linkcode World}. */
export interface WorldOptions {
  /** Partitions of the input topic, created up front. Default: 4. */
  partitions?: number;
  /** `--checkpoint-interval-ms` of instances. Default: 1000. */
  checkpoint_interval_ms?: number;
  /** `--session-timeout-ms` of instances. Default: 6000. */
  session_timeout_ms?: number;
  /** Settings of instances over those of {@linkcode serviceEnv}. Default: none. */
  env?: Record<string, string>;
  /**
   * The flags choosing the job of instances and producers, e.g.
   * `["--job-file", path]`. Default: `["--job", "views"]`.
   */
  job_args?: string[];
  /** Topics besides the input and side topics that `cleanup()` deletes. Default: none. */
  extra_topics?: string[];
  /** The Redis this world reads and cleans. Default: the shared one. */
  redis_url?: string;
  /** The S3 this world cleans. Default: the shared one. */
  s3?: {
    endpoint: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
  };
}

/**
 * One test's private slice of the services: topic, group, Redis key prefix,
 * checkpoint prefix; the children it started; and their removal.
 */
export class World {
  readonly topic: string;
  readonly group: string;
  readonly key_prefix: string;
  readonly checkpoint_prefix: string;
  readonly partitions: number;
  readonly children: Child[] = [];
  readonly #options: WorldOptions;
  readonly #redis: Redis;

  constructor(base: string, options: WorldOptions = {}) {
    this.#redis = new Redis(options.redis_url ?? REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 3,
    });
    // A private Redis may be down while the test reads: not worth a line.
    this.#redis.on("error", () => {});
    this.topic = uniqueName(base);
    this.group = `${this.topic}-group`;
    this.key_prefix = `${this.topic}:`;
    this.checkpoint_prefix = `it-checkpoints/${this.topic}`;
    this.partitions = options.partitions ?? 4;
    this.#options = options;
  }

  /** Creates the input topic with {@linkcode partitions} partitions. */
  async createTopic(): Promise<void> {
    const log = quietLog();
    try {
      await log.createTopic(this.topic, this.partitions);
      const count = await log.partitionCount(this.topic);
      if (count !== this.partitions) {
        throw new Error(
          `Cannot use topic '${this.topic}' as it must have ${this.partitions} partitions: current value is ${count}`,
        );
      }
    } finally {
      await log.close();
    }
  }

  /**
   * Starts `run --prod --job views` (or {@linkcode WorldOptions.job_args}) in
   * this world's topic, group and prefixes; `env` adds to the world's.
   */
  startInstance(name: string, env: Record<string, string> = {}): Child {
    const child = new Child(name, [
      "run",
      "--prod",
      ...(this.#options.job_args ?? ["--job", "views"]),
      "--topic",
      this.topic,
      "--group",
      this.group,
      "--key-prefix",
      this.key_prefix,
      "--checkpoint-prefix",
      this.checkpoint_prefix,
      "--checkpoint-interval-ms",
      String(this.#options.checkpoint_interval_ms ?? 1000),
      "--session-timeout-ms",
      String(this.#options.session_timeout_ms ?? 6000),
      // Any free port: instances of one test (or of tests run side by side)
      // must not contend for the HTTP surface's default port.
      "--port",
      "0",
    ], { ...this.#options.env, ...env });
    this.children.push(child);
    return child;
  }

  /** Starts `produce --job views` (or the world's job) of `fixture` into this world's topic. */
  startProducer(fixture: string, rate_per_s: number): Child {
    const child = new Child("producer", [
      "produce",
      ...(this.#options.job_args ?? ["--job", "views"]),
      "--topic",
      this.topic,
      "--fixture",
      fixture,
      "--rate",
      String(rate_per_s),
    ]);
    this.children.push(child);
    return child;
  }

  /** Sum of the scores of `top_videos`: the valid views counted so far. */
  async countedViews(): Promise<number> {
    const flat = await this.#redis.zrange(
      `${this.key_prefix}top_videos`,
      0,
      -1,
      "WITHSCORES",
    );
    let total = 0;
    for (let i = 1; i < flat.length; i += 2) total += Number(flat[i]);
    return total;
  }

  /**
   * Waits until {@linkcode countedViews} reaches `expected` and then stays
   * unchanged for `stable_ms`; answers the last total (which the caller
   * asserts: a total above `expected` is double counting, below is loss).
   */
  async settle(
    expected: number,
    options: { timeout_ms: number; stable_ms: number },
  ): Promise<number> {
    let last = -1;
    let since = Date.now();
    await waitUntil(async () => {
      const total = await this.countedViews();
      if (total !== last) {
        last = total;
        since = Date.now();
      }
      return total >= expected && Date.now() - since >= options.stable_ms;
    }, { timeout_ms: options.timeout_ms, interval_ms: 250 });
    return last;
  }

  /** The fence of each input partition: who wrote last (epoch) and how far (offset). */
  async fences(): Promise<Map<number, { epoch: number; offset: number }>> {
    const fences = new Map<number, { epoch: number; offset: number }>();
    for (let p = 0; p < this.partitions; p++) {
      const hash = await this.#redis.hgetall(
        `${this.key_prefix}freshet:fence:views:${this.topic}:${p}`,
      );
      if (hash.epoch !== undefined) {
        fences.set(p, {
          epoch: Number(hash.epoch),
          offset: Number(hash.offset ?? -1),
        });
      }
    }
    return fences;
  }

  /** What the job left in Redis under this world's prefix. */
  async readState(): Promise<ViewsState> {
    const prefix = this.key_prefix;
    const countKeys = await this.#scan(`${prefix}video:view:count:*`);
    const counts = new Map<string, number>();
    for (let i = 0; i < countKeys.length; i += 1000) {
      const chunk = countKeys.slice(i, i + 1000);
      const values = await this.#redis.mget(...chunk);
      chunk.forEach((key, j) => {
        counts.set(
          key.slice(`${prefix}video:view:count:`.length),
          Number(values[j]),
        );
      });
    }
    const top = await this.#zset(`${prefix}top_videos`);
    const leaderboards = new Map<string, Map<string, number>>();
    for (const pattern of ["top_videos:hour:*", "top_videos:day:*"]) {
      for (const key of await this.#scan(`${prefix}${pattern}`)) {
        leaderboards.set(key.slice(prefix.length), await this.#zset(key));
      }
    }
    return { counts, top, leaderboards };
  }

  /**
   * Records of one of the job's side topics (`dead-letter`, `late`), with
   * repeats dropped by message key (side outputs are at least once).
   */
  async readSide(
    suffix: "dead-letter" | "late",
  ): Promise<{ records: Map<string, SideRecord>; repeats: number }> {
    const topic = `${this.topic}.${suffix}`;
    const log = quietLog();
    const records = new Map<string, SideRecord>();
    let repeats = 0;
    try {
      const ends = await log.endOffsets(topic);
      for (let p = 0; p < ends.length; p++) {
        for (const record of await log.read(topic, p, 0, ends[p]!)) {
          if (record.key === null) {
            throw new Error(
              `Cannot read side topic '${topic}' as every record must be keyed by its source position: offset ${record.offset} of partition ${p} has no key`,
            );
          }
          if (records.has(record.key)) repeats++;
          records.set(record.key, JSON.parse(record.value) as SideRecord);
        }
      }
    } finally {
      await log.close();
    }
    return { records, repeats };
  }

  /**
   * Kills every child still running, then removes this world's topics, Redis
   * keys and checkpoint objects. Problems are returned, not thrown, so that
   * they never hide the test's own failure.
   */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const child of this.children) child.kill("SIGKILL");
    await Promise.allSettled(this.children.map((c) => c.status));
    const admin = new Kafka({
      brokers: KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const topics = [
        this.topic,
        `${this.topic}.dead-letter`,
        `${this.topic}.late`,
        ...(this.#options.extra_topics ?? []),
      ].filter((t) => existing.has(t));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.deleteGroups([this.group]).catch(() => {});
    } catch (error) {
      problems.push(`kafka: ${(error as Error).message}`);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    try {
      const keys = await this.#scan(`${this.key_prefix}*`);
      for (let i = 0; i < keys.length; i += 1000) {
        await this.#redis.del(...keys.slice(i, i + 1000));
      }
    } catch (error) {
      problems.push(`redis: ${(error as Error).message}`);
    } finally {
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    }
    const s3 = this.#options.s3 ?? S3_SETTINGS;
    const objects = new S3ObjectStore({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      region: S3_SETTINGS.region,
      credentials: {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
    });
    try {
      for (const key of await objects.list(`${this.checkpoint_prefix}/`)) {
        await objects.delete(key);
      }
    } catch (error) {
      problems.push(`s3: ${(error as Error).message}`);
    } finally {
      await objects.close();
    }
    return problems;
  }

  /** Checkpoint objects of this world, for evidence that checkpoints were used. */
  async checkpointKeys(): Promise<string[]> {
    const objects = S3ObjectStore.fromConfig(S3_SETTINGS);
    try {
      return await objects.list(`${this.checkpoint_prefix}/`);
    } finally {
      await objects.close();
    }
  }

  async #scan(pattern: string): Promise<string[]> {
    const found = new Set<string>();
    let cursor = "0";
    do {
      const [next, keys] = await this.#redis.scan(
        cursor,
        "MATCH",
        pattern,
        "COUNT",
        1000,
      );
      for (const key of keys) found.add(key);
      cursor = next;
    } while (cursor !== "0");
    return [...found].sort();
  }

  async #zset(key: string): Promise<Map<string, number>> {
    const flat = await this.#redis.zrange(key, 0, -1, "WITHSCORES");
    const members = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      members.set(flat[i]!, Number(flat[i + 1]));
    }
    return members;
  }
}

/** What the views job left in Redis. */
export interface ViewsState {
  /** `video:view:count:<videoId>` by videoId. */
  counts: Map<string, number>;
  /** `top_videos` members and scores. */
  top: Map<string, number>;
  /** `top_videos:hour:*` and `top_videos:day:*`, by key (without prefix). */
  leaderboards: Map<string, Map<string, number>>;
}

/** A record the job must dead-letter, and why. */
export interface Malformed {
  /** Recorded partition; undefined for raw payloads. */
  partition: number | undefined;
  value: string;
  reason: string;
}

/** What a fixture must produce, computed from its lines with `parseView` alone. */
export interface ExpectedViews {
  lines: number;
  /** Valid views: the sum every counter must reach. */
  valid: number;
  /** Views per videoId: every `video:view:count:<id>` and `top_videos` score. */
  counts: Map<string, number>;
  malformed: Malformed[];
}

/** Counts valid views per video and lists the malformed records of a fixture. */
export function expectedViews(text: string): ExpectedViews {
  const counts = new Map<string, number>();
  const malformed: Malformed[] = [];
  const messages = parseFixture(text);
  let valid = 0;
  for (const message of messages) {
    const parsed = parseView(message.value);
    if (parsed.ok) {
      valid++;
      const id = parsed.view.videoId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    } else {
      malformed.push({
        partition: message.partition,
        value: message.value,
        reason: parsed.reason,
      });
    }
  }
  return { lines: messages.length, valid, counts, malformed };
}

/** What the simulator computes for a fixture, fault-free. */
export interface Simulated {
  /** `top_videos:hour:*` and `top_videos:day:*`, by key. */
  leaderboards: Map<string, Map<string, number>>;
  counts: Counts;
}

/** Runs the simulator on a fixture (no faults) and reads its leaderboards. */
export async function simulateViews(text: string): Promise<Simulated> {
  const result = await simulate({
    job: views.create(),
    fixture: parseFixture(text),
    seed: 1,
  });
  const leaderboards = new Map<string, Map<string, number>>();
  for (const pattern of ["top_videos:hour:*", "top_videos:day:*"]) {
    for (const key of await result.kv.keys(pattern)) {
      const members = await result.kv.zrevrange(key, 0, -1);
      leaderboards.set(
        key,
        new Map(members.map(({ member, score }) => [member, score])),
      );
    }
  }
  return { leaderboards, counts: result.counts };
}

/** The first `lines` lines of the recorded views fixture, as text. */
export async function fixtureSlice(lines: number): Promise<string> {
  const text = await Deno.readTextFile(VIEWS_FIXTURE);
  let end = 0;
  for (let i = 0; i < lines; i++) {
    const next = text.indexOf("\n", end);
    if (next === -1) return text;
    end = next + 1;
  }
  return text.slice(0, end);
}

/**
 * Moves recorded records to `partitions` partitions (FNV-1a of the key, as
 * the fixture's own rule), renumbering offsets, so that `produce` (which keeps
 * recorded partitions) and the simulator agree on every record's partition.
 */
export function repartition(text: string, partitions: number): string {
  const next = new Array<number>(partitions).fill(0);
  const utf8 = new TextEncoder();
  return parseFixture(text).map((m) => {
    const key = m.key ?? null;
    const partition = key === null
      ? m.line % partitions
      : fnv1a32(utf8.encode(key)) % partitions;
    return JSON.stringify({
      topic: "video-views",
      partition,
      offset: next[partition]!++,
      key,
      value: m.value,
      timestamp: m.timestamp ?? 0,
    });
  }).join("\n") + "\n";
}

/**
 * Differences between two maps as readable lines (at most `limit`), with a
 * count of the rest: empty when they are equal.
 */
export function mapDiff<V>(
  expected: ReadonlyMap<string, V>,
  actual: ReadonlyMap<string, V>,
  same: (a: V, b: V) => boolean = (a, b) => a === b,
  limit = 10,
): string[] {
  const lines: string[] = [];
  let more = 0;
  const note = (line: string) => {
    if (lines.length < limit) lines.push(line);
    else more++;
  };
  for (const [key, want] of expected) {
    if (!actual.has(key)) note(`${key}: missing (expected ${show(want)})`);
    else if (!same(want, actual.get(key)!)) {
      note(`${key}: ${show(actual.get(key))} (expected ${show(want)})`);
    }
  }
  for (const [key, got] of actual) {
    if (!expected.has(key)) note(`${key}: unexpected ${show(got)}`);
  }
  if (more > 0) lines.push(`... and ${more} more`);
  return lines;
}

/** Whether two sorted sets (member → score) are equal. */
export function sameZset(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
): boolean {
  return mapDiff(a, b).length === 0;
}

function show(value: unknown): string {
  if (value instanceof Map) return `{${value.size} members}`;
  return JSON.stringify(value);
}

/**
 * Asserts that what the job left in Redis is exact: nothing lost, nothing
 * counted twice (all-time counters and `top_videos` equal the fixture's
 * counts), and the hour and day leaderboards equal the simulator's.
 */
export function assertExactViews(
  state: ViewsState,
  counted: number,
  expected: ExpectedViews,
  simulated: Simulated,
): void {
  assert.equal(
    counted,
    expected.valid,
    `top_videos must sum to the ${expected.valid} valid views: nothing lost, nothing counted twice`,
  );
  assert.deepEqual(
    mapDiff(expected.counts, state.counts),
    [],
    "every video:view:count:<id> must equal the fixture's count",
  );
  assert.deepEqual(
    mapDiff(expected.counts, state.top),
    [],
    "top_videos must equal the fixture's counts",
  );
  assert.equal(total(state.counts), expected.valid);
  assert.ok(
    [...simulated.leaderboards.keys()].some((k) => k.includes(":hour:")),
    "the simulator must have hour leaderboards to compare with",
  );
  assert.deepEqual(
    mapDiff(simulated.leaderboards, state.leaderboards, sameZset),
    [],
    "hour and day leaderboards must equal the simulator's",
  );
}

/** Sum of a map's values. */
export function total(map: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const n of map.values()) sum += n;
  return sum;
}

/**
 * Path of `kcat`, installed with `apt-get` when missing; throws a one-line
 * explanation when that is impossible (no root, no package index, offline).
 */
export async function ensureKcat(): Promise<string> {
  if (await succeeds(["kcat", "-V"])) return "kcat";
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  let attempt = await output(["apt-get", "install", "-y", "kcat"], env);
  if (!attempt.success) {
    // A fresh machine may have no package index yet.
    await output(["apt-get", "update"], env);
    attempt = await output(["apt-get", "install", "-y", "kcat"], env);
  }
  if (attempt.success && await succeeds(["kcat", "-V"])) return "kcat";
  const why = attempt.text.trim().split("\n").pop() ?? "";
  throw new Error(
    `Cannot run the foreign-producer test as it needs kcat, which is missing, and 'apt-get install -y kcat' failed: ${why}`,
  );
}

async function succeeds(cmd: string[]): Promise<boolean> {
  return (await output(cmd)).success;
}

/** Runs a command to its end; answers success and its combined output. */
export async function output(
  cmd: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<{ success: boolean; code: number; text: string }> {
  try {
    const child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      env,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const result = await child.output();
    const decoder = new TextDecoder();
    return {
      success: result.success,
      code: result.code,
      text: decoder.decode(result.stdout) + decoder.decode(result.stderr),
    };
  } catch (error) {
    return { success: false, code: -1, text: (error as Error).message };
  }
}

/** A KafkaLog for the harness's own reads, without kafkajs's warnings. */
function quietLog(): KafkaLog {
  return new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
}
