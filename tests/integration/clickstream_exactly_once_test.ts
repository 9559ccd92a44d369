/**
 * The `clickstream` job publishes its files exactly once in production:
 * `main.ts run --prod` is SIGKILLed at seeded random moments while
 * `main.ts produce` feeds Kafka, and restarted each time; the files in
 * S3Proxy, listed and read with an outside S3 client (curl signing with
 * SigV4), hold exactly the lines of the fault-free run: none missing, none
 * twice, under the same keys with the same bytes as the simulator computes.
 * DuckDB (`read_json_auto`, npm `@duckdb/node-api`) reads them back.
 *
 * Event time only moves with records, so the input ends with one record per
 * partition half an hour of event time after the rest: every window of the
 * slice closes (the simulator's end of input does the same), and the closing
 * records' own windows never do.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI) and
 * curl 7.75 or later (for `--aws-sigv4`).
 */

import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { Kafka, logLevel } from "kafkajs";
import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { clickstream } from "../../src/jobs/clickstream/job.ts";
import { Rng } from "../../sim/random.ts";
import { canonicalOutputs } from "../../sim/outputs.ts";
import { simulate } from "../../sim/simulator.ts";
import { Child, REPO_ROOT, waitUntil } from "./harness.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";

/** Lines of the recorded fixture to replay: about 1 h of event time. */
const SLICE_LINES = 20_000;
/** Production rate: the producer runs while most kills happen (~120 s). */
const RATE_PER_S = 170;
const KILLS = 12;
const SEED = 20241022;
const EMPTY_SHA256 =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// ---------------------------------------------------------------------------
// An outside S3 client: curl, signing with SigV4.

/** RFC 3986 encoding, as SigV4 canonicalizes (everything but A-Za-z0-9-_.~). */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * GET `path` (under the bucket) with `query`, signed by curl; answers the
 * body. Query parameters go sorted and encoded, and the payload hash header
 * is set, as SigV4 signs them (curl 7.88 leaves both to the caller).
 */
async function s3Get(
  path: string,
  query: Record<string, string> = {},
): Promise<Uint8Array> {
  const search = Object.keys(query).sort()
    .map((name) => `${rfc3986(name)}=${rfc3986(query[name]!)}`).join("&");
  const url = `${S3_SETTINGS.endpoint}/${S3_SETTINGS.bucket}/${
    path.split("/").map(rfc3986).join("/")
  }${search === "" ? "" : `?${search}`}`;
  const result = await new Deno.Command("curl", {
    args: [
      "-sS",
      "--fail-with-body",
      "-H",
      `x-amz-content-sha256: ${EMPTY_SHA256}`,
      "--aws-sigv4",
      `aws:amz:${S3_SETTINGS.region}:s3`,
      "--user",
      `${S3_SETTINGS.accessKeyId}:${S3_SETTINGS.secretAccessKey}`,
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const text = new TextDecoder().decode(result.stdout).slice(0, 500) +
      new TextDecoder().decode(result.stderr);
    throw new Error(`Cannot read '${url}' with curl: ${text}`);
  }
  return result.stdout;
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

/** Every key under `prefix`, by ListObjectsV2 pages. */
async function s3List(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  for (;;) {
    const xml = new TextDecoder().decode(
      await s3Get("", {
        "list-type": "2",
        prefix,
        ...(token === undefined ? {} : { "continuation-token": token }),
      }),
    );
    for (const match of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) {
      keys.push(unescapeXml(match[1]!));
    }
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/
      .exec(xml);
    if (!xml.includes("<IsTruncated>true</IsTruncated>") || next === null) {
      return keys;
    }
    token = unescapeXml(next[1]!);
  }
}

// ---------------------------------------------------------------------------

/** Kills of an instance, for the failure message and the checks. */
interface Kill {
  instance: string;
  mode: "early" | "owning";
  after_ms: number;
  /** Files published when the kill was decided, and when it struck. */
  files_before: number;
  files_at_kill: number;
}

await integration(
  "the clickstream job publishes every line exactly once to S3 in production however often it is SIGKILLed",
  [KAFKA, S3],
  async () => {
    const started = Date.now();
    const sliceText = (await decodeFixture(
      await Deno.readFile(`${REPO_ROOT}${clickstream.fixture}`),
    )).split("\n").slice(0, SLICE_LINES).join("\n");
    const slice = parseFixture(sliceText);
    const topic = uniqueName("it-clickstream");
    const group = `${topic}-group`;
    const prefix = `it-clickstream/${topic}`;
    const checkpoint_prefix = `it-checkpoints/${topic}`;
    const overrides = { options: { prefix } };

    // The fault-free run: what S3 must hold in the end.
    const job = clickstream.create(overrides);
    const clean = await simulate({ job, fixture: slice, seed: 1 });
    const expected = new Map(
      (await canonicalOutputs(clean, [job.topic])).objects.map((o) => [
        o.key,
        o.body,
      ]),
    );
    const expected_lines = [...expected.values()].join("").split("\n")
      .filter((l) => l !== "").sort();
    assert.ok(expected.size > 20, `only ${expected.size} files expected`);

    // The input: the slice, then a record per partition that closes every
    // window of the slice.
    let latest = 0;
    for (const m of slice) {
      const time = job.route(m.value).timestamp;
      if (time !== undefined && time > latest) latest = time;
    }
    const closing = [0, 1, 2, 3].map((partition) =>
      JSON.stringify({
        topic: job.topic,
        partition,
        offset: 0,
        key: `closing-${partition}`,
        value: JSON.stringify({
          event_id: `closing-${partition}`,
          user_id: `closing-${partition}`,
          event_type: "closing",
          timestamp: latest + 30 * 60_000,
        }),
        timestamp: latest,
      })
    );
    const fixture = await Deno.makeTempFile({ suffix: ".jsonl" });
    await Deno.writeTextFile(fixture, `${sliceText}\n${closing.join("\n")}\n`);

    const children: Child[] = [];
    const instance = (name: string) => {
      const child = new Child(name, [
        "run",
        "--prod",
        "--job",
        "clickstream",
        "--topic",
        topic,
        "--group",
        group,
        "--checkpoint-prefix",
        checkpoint_prefix,
        "--checkpoint-interval-ms",
        "1000",
        "--session-timeout-ms",
        "6000",
        "--job-options",
        `prefix=${prefix}`,
        "--log-format",
        "json",
      ]);
      children.push(child);
      return child;
    };
    const published = async () => (await s3List(`${prefix}/`)).length;
    const rng = new Rng(SEED);
    const kills: Kill[] = [];
    const outputs = await Deno.makeTempDir();
    try {
      await createTopic(topic, 4);
      const producer = new Child("producer", [
        "produce",
        "--job",
        "clickstream",
        "--topic",
        topic,
        "--fixture",
        fixture,
        "--rate",
        String(RATE_PER_S),
      ]);
      children.push(producer);

      for (let i = 1; i <= KILLS; i++) {
        const child = instance(`instance ${i}`);
        const mode = rng.chance(0.25) ? "early" : "owning";
        let files_before: number;
        if (mode === "early") {
          files_before = await published();
          await sleepOrExit(child, 300 + rng.int(3_700));
        } else {
          // A restarted instance waits for the dead one's session to expire.
          await child.waitForEvent(
            (e) => e.type === "assigned",
            30_000,
            "an assigned partition",
          );
          files_before = await published();
          await sleepOrExit(child, 1_000 + rng.int(6_000));
        }
        assert.ok(
          !child.exited,
          `${child.name} must still run when killed; stderr:\n${child.stderrTail()}`,
        );
        const files_at_kill = await published();
        child.kill("SIGKILL");
        await child.status;
        kills.push({
          instance: child.name,
          mode,
          after_ms: Date.now() - child.started_ms,
          files_before,
          files_at_kill,
        });
      }

      const last = instance("last instance");
      const produced = await producer.status;
      assert.ok(
        produced.success,
        `the producer must succeed; stderr:\n${producer.stderrTail()}`,
      );
      // Every expected file is there, and nothing changes for a while.
      let seen = -1;
      let since = Date.now();
      await waitUntil(async () => {
        const count = await published();
        if (count !== seen) {
          seen = count;
          since = Date.now();
        }
        return count >= expected.size && Date.now() - since >= 3_000;
      }, { timeout_ms: 120_000, interval_ms: 500 });
      const stop = await last.stop("SIGTERM", 20_000);
      assert.ok(
        stop.graceful && stop.status.success,
        `the last instance must stop cleanly on SIGTERM (code ${stop.status.code}); stderr:\n${last.stderrTail()}`,
      );

      // Read every published object with curl.
      const keys = await s3List(`${prefix}/`);
      const actual = new Map<string, string>();
      for (const key of keys) {
        const body = await s3Get(key);
        actual.set(key, new TextDecoder().decode(body));
        const path = `${outputs}/${key}`;
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), {
          recursive: true,
        });
        await Deno.writeFile(path, body);
      }
      const actual_lines = [...actual.values()].join("").split("\n")
        .filter((l) => l !== "").sort();
      const missing = difference(expected_lines, actual_lines);
      const extra = difference(actual_lines, expected_lines);
      console.log(
        `clickstream crash test: ${kills.length} kills (${
          kills.filter((k) => k.mode === "owning").length
        } while owning partitions), ${keys.length} files, ${actual_lines.length} lines (expected ${expected_lines.length}); files at the kills ${
          kills.map((k) => k.files_at_kill).join(", ")
        }`,
      );
      assert.deepEqual(
        { missing: missing.slice(0, 5), twice_or_more: extra.slice(0, 5) },
        { missing: [], twice_or_more: [] },
        `lines missing: ${missing.length}, lines published once too often: ${extra.length}`,
      );
      // Deterministic keys and bytes: production wrote what the simulator did.
      assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
      for (const [key, body] of expected) {
        assert.equal(actual.get(key), body, key);
      }

      // DuckDB reads the files, with the hour partitions as columns.
      const duck = await DuckDBInstance.create(":memory:");
      const db = await duck.connect();
      const read = await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS lines,
                count(DISTINCT event_id)::INTEGER AS events,
                count(DISTINCT (dt, hour))::INTEGER AS hours,
                bool_and(event_timestamp_end - event_timestamp_start = INTERVAL 5 MINUTE) AS five_minutes
           FROM read_json_auto('${outputs}/${prefix}/**/*.jsonl', hive_partitioning = true)`,
      );
      const [row] = read.getRowObjects();
      const hours = new Set(
        keys.map((k) => k.split("/").slice(2, 4).join("/")),
      );
      assert.deepEqual(row, {
        lines: expected_lines.length,
        events: expected_lines.length,
        hours: hours.size,
        five_minutes: true,
      });
      db.closeSync();

      // The faults struck where exactly-once is at stake.
      const restores = children.flatMap((c) => c.runnerEvents("assigned"))
        .filter((e) => e.restored === true);
      assert.ok(restores.length > 0, "instances must restore checkpoints");
      assert.ok(
        kills.filter((k) => k.files_at_kill > k.files_before).length >=
          KILLS / 4,
        `many kills must strike an instance while it was publishing: ${
          JSON.stringify(kills)
        }`,
      );
      assert.ok(
        kills.some((k) => k.files_at_kill < expected.size / 2),
        "some kills must strike while most of the input was still to come",
      );
      console.log(
        `clickstream crash test: ${restores.length} restores; wall time ${
          ((Date.now() - started) / 1000).toFixed(1)
        } s`,
      );
    } finally {
      for (const child of children) child.kill("SIGKILL");
      await Promise.allSettled(children.map((c) => c.status));
      await cleanup(topic, group, [
        `${prefix}/`,
        `${checkpoint_prefix}/`,
        `freshet-staging/clickstream/${topic}/`,
      ]);
      await Deno.remove(fixture).catch(() => {});
      await Deno.remove(outputs, { recursive: true }).catch(() => {});
    }
  },
);

/** Lines of `a` not matched by one in `b` (multisets, both sorted). */
function difference(a: string[], b: string[]): string[] {
  const out: string[] = [];
  let j = 0;
  for (const line of a) {
    while (j < b.length && b[j]! < line) j++;
    if (j < b.length && b[j] === line) j++;
    else out.push(line.slice(0, 120));
  }
  return out;
}

/** Sleeps `ms`, or less when the child exits meanwhile. */
async function sleepOrExit(child: Child, ms: number): Promise<void> {
  await waitUntil(() => child.exited, { timeout_ms: ms, interval_ms: 25 });
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  })
    .admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Removes the test's topics, group and objects; problems are logged, not thrown. */
async function cleanup(
  topic: string,
  group: string,
  prefixes: string[],
): Promise<void> {
  const admin = new Kafka({
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  })
    .admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = [topic, `${topic}.dead-letter`, `${topic}.late`]
      .filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.deleteGroups([group]).catch(() => {});
  } catch (error) {
    console.warn(`clean-up of kafka: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const objects = S3ObjectStore.fromConfig(S3_SETTINGS);
  try {
    for (const prefix of prefixes) {
      for (const key of await objects.list(prefix)) await objects.delete(key);
    }
  } catch (error) {
    console.warn(`clean-up of s3: ${(error as Error).message}`);
  }
}
