/**
 * The `transactions` job is exactly once in production, Kafka to Kafka: a
 * slice of the recorded fixture is produced while `main.ts run --prod`
 * instances are SIGKILLed at seeded moments — some aimed between the write
 * of a checkpoint's state object and the commit of its transaction — and
 * restarted; then `kcat`, reading with `isolation.level=read_committed`,
 * finds on each of the four output topics exactly the messages the
 * simulator's fault-free run of the same input writes (as a multiset of key
 * and value: nothing missing, nothing twice), and the same dead letters and
 * late records. A second test runs two instances in one group and kills one.
 *
 * Each test runs the job under names of its own (a job file with
 * `transactionsJob({ name, topics })` and `--topic`): `--topic` alone moves
 * the input and side topics, but the job's output topics and the internal
 * topic of its repartition keep their names, so two runs on one cluster
 * would share them.
 *
 * The input is the fixture's first {@linkcode SLICE_LINES} lines, plus one
 * filtered record per partition an hour of event time later: a streaming
 * job never sees the end of its input, so without them the last windows
 * would stay open in production while the simulator fires them at the end.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI) and
 * `kcat` (Debian's `kcat`), which the test installs with `apt-get` when it is
 * missing. Takes about 4 minutes.
 */

import assert from "node:assert/strict";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import { formatIso } from "../../src/core/time.ts";
import { transactionsJob } from "../../src/jobs/transactions/job.ts";
import { parseTransaction } from "../../src/jobs/transactions/parse.ts";
import type { JobSpec } from "../../src/flow/define.ts";
import { Rng } from "../../sim/random.ts";
import { simulate } from "../../sim/simulator.ts";
import {
  type Child,
  ensureKcat,
  mapDiff,
  REPO_ROOT,
  sleep,
  waitUntil,
  World,
} from "./harness.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  REDIS,
  S3,
  S3_SETTINGS,
} from "./services.ts";

/** Lines of the recorded fixture replayed (of 120,000): ~18 min of event time. */
const SLICE_LINES = 6_000;
/** Production rate: the producer runs while the kills happen (~100 s). */
const RATE_PER_S = 60;
const KILLS = 12;
const SEED = 20240115;
/** How long an aimed instance waits between sendOffsets and commit. */
const COMMIT_DELAY_MS = 3_000;
const FIXTURE = `${REPO_ROOT}fixtures/transactions/transactions.jsonl.gz`;

const OUTPUTS = [
  "processed",
  "high_value",
  "user_aggregations",
  "category_aggregations",
] as const;
type Output = typeof OUTPUTS[number];

/** A world running the transactions job under its own names. */
interface TransactionsWorld {
  world: World;
  spec: JobSpec;
  job_name: string;
  internal: string;
  topics: Record<Output, string>;
  job_file: string;
}

async function transactionsWorld(
  base: string,
  partitions = 4,
): Promise<TransactionsWorld> {
  const dir = await Deno.makeTempDir({ prefix: "freshet-it-txn-" });
  const job_file = `${dir}/job.ts`;
  const extra_topics: string[] = [];
  const world = new World(base, {
    partitions,
    checkpoint_interval_ms: 1_000,
    job_args: ["--job-file", job_file],
    extra_topics,
  });
  const job_name = world.topic;
  const topics = Object.fromEntries(
    OUTPUTS.map((o) => [o, `${world.topic}.${o}`]),
  ) as Record<Output, string>;
  // Internal topics follow --topic (src/flow/compile.ts).
  const internal = `${job_name}-${world.topic}-by-category-repartition`;
  extra_topics.push(...Object.values(topics), internal);
  const module = new URL("../../src/jobs/transactions/job.ts", import.meta.url);
  await Deno.writeTextFile(
    job_file,
    `import { transactionsJob } from ${JSON.stringify(module.href)};\n` +
      `export default transactionsJob(${
        JSON.stringify({ name: job_name, topics })
      });\n`,
  );
  const spec = transactionsJob({ name: job_name, topics });
  return { world, spec, job_name, internal, topics, job_file };
}

/**
 * The fixture's first `lines` lines and, per partition, one record an hour
 * of event time after the last one: valid but filtered (amount 0), it moves
 * every partition's watermark past every window of the slice.
 */
async function sliceWithEnd(lines: number): Promise<string> {
  const all = parseFixture(
    await decodeFixture(await Deno.readFile(FIXTURE)),
  ).slice(0, lines);
  let max_event = 0;
  let last_arrival = 0;
  const next = [0, 0, 0, 0];
  const out = all.map((m) => {
    const parsed = parseTransaction(m.value);
    if ("value" in parsed) max_event = Math.max(max_event, parsed.time);
    last_arrival = Math.max(last_arrival, m.timestamp!);
    const partition = m.partition!;
    return JSON.stringify({
      topic: "transactions",
      partition,
      offset: next[partition]!++,
      key: m.key ?? null,
      value: m.value,
      timestamp: m.timestamp,
    });
  });
  for (let partition = 0; partition < 4; partition++) {
    const id = `end_${partition}`;
    out.push(JSON.stringify({
      topic: "transactions",
      partition,
      offset: next[partition]!++,
      key: id,
      value: JSON.stringify({
        transaction_id: id,
        user_id: id,
        product: "none",
        category: "none",
        amount: 0,
        quantity: 1,
        payment_method: "none",
        timestamp: formatIso(max_event + 3_600_000),
        location: "none",
      }),
      timestamp: last_arrival + 3_600_000,
    }));
  }
  return out.join("\n") + "\n";
}

/** What one topic holds: `key<TAB>value` lines, sorted (a multiset). */
type Messages = string[];

/** Side topics: each source position once, with its reason. */
type Side = Map<string, string>;

interface Outputs {
  topics: Record<Output, Messages>;
  dead: Side;
  late: Side;
}

/** The simulator's fault-free outputs of `text` for the world's job. */
async function simulated(tw: TransactionsWorld, text: string) {
  const job = tw.spec.create({ topic: tw.world.topic });
  const result = await simulate({ job, fixture: parseFixture(text), seed: 1 });
  const records = (topic: string) =>
    result.log.dump().topics.find((t) => t.topic === topic)?.partitions
      .flat() ?? [];
  const topics = Object.fromEntries(
    OUTPUTS.map((o) => [
      o,
      records(tw.topics[o]).map((r) => `${r.key}\t${r.value}`).sort(),
    ]),
  ) as Record<Output, Messages>;
  const side = (topic: string): Side =>
    new Map(
      records(topic).map((r) => [r.key!, JSON.parse(r.value).reason]),
    );
  const outputs: Outputs = {
    topics,
    dead: side(`${tw.world.topic}.dead-letter`),
    late: side(`${tw.world.topic}.late`),
  };
  return { outputs, counts: result.counts };
}

/** Every message of `topic` as `kcat` reads it with read_committed. */
async function kcatRead(bin: string, topic: string): Promise<string[]> {
  const result = await new Deno.Command(bin, {
    args: [
      "-C",
      "-b",
      KAFKA_BROKERS[0]!,
      "-t",
      topic,
      "-o",
      "beginning",
      "-e",
      "-q",
      "-X",
      "isolation.level=read_committed",
      "-f",
      "%k\t%s\n",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!result.success) {
    throw new Error(
      `Cannot read topic '${topic}' with kcat (exit ${result.code}): ${
        decoder.decode(result.stderr).trim()
      }`,
    );
  }
  return decoder.decode(result.stdout).split("\n").filter((l) => l !== "");
}

/** What an outside read_committed client sees on the world's topics. */
async function readOutputs(
  bin: string,
  tw: TransactionsWorld,
): Promise<Outputs> {
  const topics = {} as Record<Output, Messages>;
  for (const o of OUTPUTS) {
    topics[o] = (await kcatRead(bin, tw.topics[o])).sort();
  }
  const side = async (topic: string): Promise<Side> => {
    const map: Side = new Map();
    for (const line of await kcatRead(bin, topic)) {
      const tab = line.indexOf("\t");
      map.set(line.slice(0, tab), JSON.parse(line.slice(tab + 1)).reason);
    }
    return map;
  };
  return {
    topics,
    dead: await side(`${tw.world.topic}.dead-letter`),
    late: await side(`${tw.world.topic}.late`),
  };
}

/** Differences between two multisets of lines, at most `limit`. */
function multisetDiff(expected: Messages, actual: Messages, limit = 5) {
  const count = (lines: Messages) => {
    const counts = new Map<string, number>();
    for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
    return counts;
  };
  const want = count(expected);
  const got = count(actual);
  const lines: string[] = [];
  for (const [line, n] of want) {
    const m = got.get(line) ?? 0;
    if (m !== n) lines.push(`${n} expected, ${m} read: ${line.slice(0, 300)}`);
  }
  for (const [line, m] of got) {
    if (!want.has(line)) {
      lines.push(`0 expected, ${m} read: ${line.slice(0, 300)}`);
    }
  }
  return lines.length > limit
    ? [...lines.slice(0, limit), `... and ${lines.length - limit} more`]
    : lines;
}

/**
 * Waits until the outside reader sees at least as many messages on every
 * output topic as expected, unchanged for `stable_ms`; answers the last read.
 */
async function settle(
  bin: string,
  tw: TransactionsWorld,
  expected: Outputs,
  options: { timeout_ms: number; stable_ms: number },
): Promise<Outputs> {
  let last: Outputs | null = null;
  let sizes = "";
  let since = Date.now();
  await waitUntil(async () => {
    try {
      last = await readOutputs(bin, tw);
    } catch {
      return false; // The output topics are created as the job starts.
    }
    const now = JSON.stringify([
      ...OUTPUTS.map((o) => last!.topics[o].length),
      last.dead.size,
      last.late.size,
    ]);
    if (now !== sizes) {
      sizes = now;
      since = Date.now();
    }
    const full = OUTPUTS.every((o) =>
      last!.topics[o].length >= expected.topics[o].length
    );
    return full && Date.now() - since >= options.stable_ms;
  }, { timeout_ms: options.timeout_ms, interval_ms: 1_000 });
  if (last === null) {
    throw new Error(
      `Cannot read the outputs of ${tw.job_name} within ${options.timeout_ms} ms`,
    );
  }
  return last;
}

function assertExact(expected: Outputs, actual: Outputs): void {
  for (const o of OUTPUTS) {
    assert.deepEqual(
      multisetDiff(expected.topics[o], actual.topics[o]),
      [],
      `topic ${o}: read_committed must see exactly the fault-free messages (${
        expected.topics[o].length
      } expected, ${actual.topics[o].length} read)`,
    );
  }
  assert.deepEqual(
    mapDiff(expected.dead, actual.dead),
    [],
    "dead letters (once per source position)",
  );
  assert.deepEqual(
    mapDiff(expected.late, actual.late),
    [],
    "late records (once per source position)",
  );
}

/** Sum of the group's committed offsets on the input topic: its progress. */
async function committed(log: KafkaLog, tw: TransactionsWorld) {
  const offsets = await log.committedOffsets(tw.world.group, tw.world.topic);
  return offsets.reduce((sum, c) => sum + Math.max(0, c.offset), 0);
}

/**
 * Whether the partition of a transactional id holds a state object newer
 * than the one its committed offset names: the owner died after writing a
 * checkpoint's state and before committing its transaction.
 */
async function stateAheadOfCommit(
  log: KafkaLog,
  tw: TransactionsWorld,
  transactional_id: string,
): Promise<boolean> {
  const prefix = `freshet-${tw.job_name}-`;
  const rest = transactional_id.slice(prefix.length);
  const dash = rest.lastIndexOf("-");
  const topic = rest.slice(0, dash);
  const partition = Number(rest.slice(dash + 1));
  const objects = S3ObjectStore.fromConfig(S3_SETTINGS);
  try {
    const store = new CheckpointStore(objects, {
      prefix: tw.world.checkpoint_prefix,
    });
    const keys = await store.listStates(
      { job: tw.job_name, topic, partition },
      "txn",
    );
    const offset = (await log.committedOffsets(tw.world.group, topic))
      .find((c) => c.partition === partition);
    const named = offset === undefined || offset.offset < 0
      ? ""
      : (JSON.parse(offset.metadata ?? "{}").state_key as string);
    return keys.some((key) => key > named);
  } finally {
    await objects.close();
  }
}

/** Sleeps `ms` unless `child` exits first. */
async function sleepOrExit(child: Child, ms: number): Promise<void> {
  await Promise.race([sleep(ms), child.status]);
}

/** Kills `child` in its next commit window: answers the transactional id. */
async function killInCommitWindow(
  child: Child,
  after: number,
): Promise<string> {
  const delays = () =>
    child.events.filter((e) => e.event === "debug-commit-delay");
  await waitUntil(() => child.exited || delays().length > after, {
    timeout_ms: 90_000,
    interval_ms: 20,
  });
  const event = delays()[after];
  if (event === undefined) {
    throw new Error(
      `Cannot aim a kill as ${child.name} did not reach a commit window; stderr:\n${child.stderrTail()}`,
    );
  }
  child.kill("SIGKILL");
  await child.status;
  return event.transactional_id as string;
}

interface Kill {
  instance: string;
  mode: "early" | "owning" | "commit-window";
  after_ms: number;
  /** For commit-window kills: the transaction held, and whether its state was ahead. */
  transactional_id?: string;
  state_ahead?: boolean;
  committed_at_kill: number;
}

await integration(
  "the transactions job writes each output exactly once to Kafka however often it is SIGKILLed, even between its state write and its commit",
  [KAFKA, REDIS, S3],
  async () => {
    const started = Date.now();
    const bin = await ensureKcat();
    const text = await sliceWithEnd(SLICE_LINES);
    const tw = await transactionsWorld("it-txn-crash");
    const { outputs: expected, counts } = await simulated(tw, text);
    assert.ok(counts.dead_lettered > 0, "the slice holds bad records");
    assert.ok(counts.late > 0, "the slice holds late records");
    assert.ok(expected.topics.category_aggregations.length > 50);
    const fixture = await Deno.makeTempFile({ suffix: ".jsonl" });
    await Deno.writeTextFile(fixture, text);
    const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
    const rng = new Rng(SEED);
    const kills: Kill[] = [];
    try {
      await tw.world.createTopic();
      const producer = tw.world.startProducer(fixture, RATE_PER_S);
      for (let i = 1; i <= KILLS; i++) {
        // Every third kill is aimed at a commit window; the others are
        // drawn: while starting or joining, or after progress.
        const mode: Kill["mode"] = i % 3 === 2
          ? "commit-window"
          : rng.chance(0.25)
          ? "early"
          : "owning";
        const instance = tw.world.startInstance(
          `instance ${i}`,
          mode === "commit-window"
            ? { FRESHET_DEBUG_COMMIT_DELAY_MS: String(COMMIT_DELAY_MS) }
            : {},
        );
        const kill: Kill = {
          instance: instance.name,
          mode,
          after_ms: 0,
          committed_at_kill: 0,
        };
        if (mode === "commit-window") {
          await instance.waitForEvent(
            (e) => e.type === "assigned",
            60_000,
            "an assigned partition",
          );
          kill.transactional_id = await killInCommitWindow(
            instance,
            rng.int(3),
          );
          kill.state_ahead = await stateAheadOfCommit(
            log,
            tw,
            kill.transactional_id,
          );
        } else {
          if (mode === "early") {
            await sleepOrExit(instance, 300 + rng.int(3_700));
          } else {
            await instance.waitForEvent(
              (e) => e.type === "assigned",
              60_000,
              "an assigned partition",
            );
            const before = await committed(log, tw);
            await waitUntil(
              async () =>
                instance.exited || (await committed(log, tw)) > before,
              { timeout_ms: 60_000, interval_ms: 200 },
            );
            await sleepOrExit(instance, rng.int(2_500));
          }
          assert.ok(
            !instance.exited,
            `${instance.name} must run until it is killed; stderr:\n${instance.stderrTail()}`,
          );
          instance.kill("SIGKILL");
          await instance.status;
        }
        kill.after_ms = Date.now() - instance.started_ms;
        kill.committed_at_kill = await committed(log, tw);
        kills.push(kill);
      }

      const last = tw.world.startInstance("last instance");
      const produced = await producer.status;
      assert.ok(
        produced.success,
        `the producer must succeed; stderr:\n${producer.stderrTail()}`,
      );
      const actual = await settle(bin, tw, expected, {
        timeout_ms: 120_000,
        stable_ms: 4_000,
      });
      const stop = await last.stop("SIGTERM", 20_000);
      const table = kills.map((k) =>
        `  ${k.instance}: ${k.mode}, ${k.after_ms} ms${
          k.transactional_id === undefined
            ? ""
            : ` (${k.transactional_id}, state ahead: ${k.state_ahead})`
        }, committed ${k.committed_at_kill}`
      ).join("\n");
      console.log(
        `transactions crash test: ${SLICE_LINES} lines, ${kills.length} kills; ${
          OUTPUTS.map((o) => `${o} ${actual.topics[o].length}`).join(", ")
        }; wall time ${((Date.now() - started) / 1000).toFixed(1)} s\n${table}`,
      );
      assertExact(expected, actual);
      assert.ok(
        stop.graceful && stop.status.success,
        `the last instance must stop cleanly on SIGTERM (code ${stop.status.code}); stderr:\n${last.stderrTail()}`,
      );
      // The kills struck where exactly-once is at stake (checked after the
      // outputs, so that a wrong output is what a failure shows first).
      const aimed = kills.filter((k) => k.state_ahead === true);
      assert.ok(
        aimed.length >= 3,
        `at least 3 kills must strike between a state write and its commit:\n${table}`,
      );
      assert.ok(
        kills.filter((k) => k.mode !== "early").length >= 8,
        `most kills must strike while owning partitions:\n${table}`,
      );
      const restored = tw.world.children.flatMap((c) =>
        c.runnerEvents("assigned")
      ).filter((e) => e.restored === true);
      assert.ok(restored.length > 0, "restarts restore committed checkpoints");
    } finally {
      await log.close();
      await Deno.remove(fixture).catch(() => {});
      const problems = await tw.world.cleanup();
      if (problems.length > 0) {
        console.warn(
          `transactions crash test clean-up: ${problems.join("; ")}`,
        );
      }
    }
  },
);

await integration(
  "two transactions instances in one group, one SIGKILLed in a commit window: the other finishes with exactly the fault-free outputs",
  [KAFKA, REDIS, S3],
  async () => {
    const started = Date.now();
    const bin = await ensureKcat();
    const text = await sliceWithEnd(SLICE_LINES / 2);
    const tw = await transactionsWorld("it-txn-pair");
    const { outputs: expected } = await simulated(tw, text);
    const fixture = await Deno.makeTempFile({ suffix: ".jsonl" });
    await Deno.writeTextFile(fixture, text);
    const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
    try {
      await tw.world.createTopic();
      const a = tw.world.startInstance("instance a", {
        FRESHET_DEBUG_COMMIT_DELAY_MS: String(COMMIT_DELAY_MS),
      });
      const b = tw.world.startInstance("instance b");
      // Both own partitions before the input arrives.
      for (const child of [a, b]) {
        await child.waitForEvent(
          (e) => e.type === "assigned",
          60_000,
          "an assigned partition",
        );
      }
      await waitUntil(
        () =>
          new Set([a, b].filter((c) => c.runnerEvents("assigned").length > 0))
            .size === 2,
        { timeout_ms: 30_000 },
      );
      const producer = tw.world.startProducer(fixture, RATE_PER_S);
      const id = await killInCommitWindow(a, 2);
      const state_ahead = await stateAheadOfCommit(log, tw, id);
      const produced = await producer.status;
      assert.ok(produced.success, `producer: ${producer.stderrTail()}`);
      const actual = await settle(bin, tw, expected, {
        timeout_ms: 120_000,
        stable_ms: 4_000,
      });
      assert.ok(!b.exited, `instance b must keep running: ${b.stderrTail()}`);
      const taken = b.runnerEvents("assigned").map((e) => e.partition);
      console.log(
        `transactions pair test: a killed in the commit window of ${id} (state ahead: ${state_ahead}); b assigned ${
          JSON.stringify(taken)
        }; wall time ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      assertExact(expected, actual);
      assert.ok(state_ahead, "the kill struck after the state write");
      const stop = await b.stop("SIGTERM", 20_000);
      assert.ok(stop.graceful && stop.status.success, b.stderrTail());
    } finally {
      await log.close();
      await Deno.remove(fixture).catch(() => {});
      const problems = await tw.world.cleanup();
      if (problems.length > 0) {
        console.warn(`transactions pair test clean-up: ${problems.join("; ")}`);
      }
    }
  },
);
