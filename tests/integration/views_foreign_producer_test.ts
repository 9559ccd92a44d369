/**
 * The `views` job consumes what another Kafka client wrote: `kcat`
 * (librdkafka) produces keyed and keyless messages, plain, gzip-compressed
 * and inside a transaction, some of them malformed; the counts in Redis match
 * the valid ones and each malformed one is in the dead-letter topic with its
 * reason.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI) and
 * `kcat`, which the test installs with `apt-get` when it is missing.
 */

import assert from "node:assert/strict";
import { Rng } from "../../sim/random.ts";
import {
  ensureKcat,
  expectedViews,
  mapDiff,
  output,
  World,
} from "./harness.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  REDIS,
  requireServices,
  S3,
} from "./services.ts";

const START_MS = Date.parse("2026-03-14T06:00:00.000Z");

/** Records that are not views, each with the rule it breaks. */
const MALFORMED = [
  "this is not JSON at all",
  '{"userId":"u-1","videoId":"vid-0001","timestamp":"2026-03-14T06:0',
  "[1,2,3]",
  '{"userId":"u-2","timestamp":"2026-03-14T06:10:00.000Z"}',
  '{"userId":"u-3","videoId":"","timestamp":"2026-03-14T06:10:00.000Z"}',
  '{"userId":"u-4","videoId":42,"timestamp":"2026-03-14T06:10:00.000Z"}',
  '{"userId":"u-5","videoId":"vid-0002"}',
  '{"userId":"u-6","videoId":"vid-0003","timestamp":"yesterday"}',
  '{"userId":"u-7","videoId":"vid-0004","timestamp":"2026-13-45T99:00:00Z"}',
];

/** `count` valid views over a few videos, event time rising from START_MS. */
function views(rng: Rng, count: number, from_ms: number, epoch_ms: boolean) {
  const videos = ["vid-0001", "vid-0002", "vid-0003", "vid-0004", "vidéo-✓"];
  return Array.from({ length: count }, (_, i) => {
    const videoId = videos[rng.int(videos.length)]!;
    const at = from_ms + i * 1_000 + rng.int(500);
    return JSON.stringify({
      userId: `u-${rng.int(1_000)}`,
      videoId,
      timestamp: epoch_ms ? at : new Date(at).toISOString(),
    });
  });
}

/** Runs kcat as a producer of `lines` (one message per line). */
async function kcat(
  bin: string,
  world: World,
  lines: string[],
  flags: string[],
): Promise<void> {
  const result = await output(
    [bin, "-P", "-b", KAFKA_BROKERS[0]!, "-t", world.topic, ...flags],
    {},
    lines.join("\n") + "\n",
  );
  assert.ok(
    result.success,
    `kcat ${
      flags.join(" ")
    } must succeed (exit ${result.code}): ${result.text}`,
  );
}

await integration(
  "the views job counts what kcat produced, plain, gzip or transactional, and dead-letters its malformed records with their reasons",
  [KAFKA, REDIS, S3],
  async () => {
    const started = Date.now();
    const bin = await ensureKcat();
    const rng = new Rng(7);
    const world = new World("it-views-kcat", { partitions: 3 });
    // Keyed by videoId as `key|payload`; a line without `|` has a null key.
    const keyed = (payload: string) => {
      const videoId = (JSON.parse(payload) as { videoId: string }).videoId;
      return `${videoId}|${payload}`;
    };
    const plain = views(rng, 400, START_MS, false);
    const gzipped = views(rng, 300, START_MS + 400_000, true);
    const transactional = views(rng, 200, START_MS + 700_000, false);
    const payloads = [
      ...plain,
      ...MALFORMED.slice(0, 3),
      ...gzipped,
      ...MALFORMED.slice(3, 6),
      ...transactional,
      ...MALFORMED.slice(6),
    ];
    const expected = expectedViews(payloads.join("\n"));
    assert.equal(expected.malformed.length, MALFORMED.length);
    try {
      await world.createTopic();
      const instance = world.startInstance("instance");
      await instance.waitForEvent(
        (e) => e.type === "assigned",
        30_000,
        "an assigned partition",
      );
      await kcat(bin, world, [...plain.map(keyed), ...MALFORMED.slice(0, 3)], [
        "-K",
        "|",
        "-H",
        "producer=kcat",
      ]);
      await kcat(bin, world, [...gzipped, ...MALFORMED.slice(3, 6)], [
        "-z",
        "gzip",
      ]);
      await kcat(
        bin,
        world,
        [...transactional.map(keyed), ...MALFORMED.slice(6)],
        ["-K", "|", "-X", `transactional.id=${world.topic}-txn`],
      );

      const counted = await world.settle(expected.valid, {
        timeout_ms: 60_000,
        stable_ms: 2_000,
      });
      const stop = await instance.stop("SIGTERM", 20_000);
      assert.ok(
        stop.graceful && stop.status.success,
        `the instance must stop cleanly on SIGTERM (code ${stop.status.code}); stderr:\n${instance.stderrTail()}`,
      );
      assert.equal(
        counted,
        expected.valid,
        `top_videos must sum to the ${expected.valid} valid views; stderr:\n${instance.stderrTail()}`,
      );
      const state = await world.readState();
      assert.deepEqual(mapDiff(expected.counts, state.counts), []);
      assert.deepEqual(mapDiff(expected.counts, state.top), []);

      const dead = await world.readSide("dead-letter");
      const byValue = new Map(
        // No tombstones here: every dead letter has a value.
        [...dead.records.values()].map((r) => [r.value ?? "", r.reason]),
      );
      assert.equal(
        dead.records.size,
        MALFORMED.length,
        "each malformed record must be dead-lettered once",
      );
      assert.deepEqual(
        mapDiff(
          new Map(expected.malformed.map((m) => [m.value, m.reason])),
          byValue,
        ),
        [],
        "each malformed record must carry parseView's reason",
      );
      // The reasons name the broken rule, whoever produced the record.
      assert.match(byValue.get(MALFORMED[0]!)!, /not valid JSON/);
      assert.match(byValue.get(MALFORMED[3]!)!, /'videoId' is missing/);
      assert.match(byValue.get(MALFORMED[7]!)!, /'timestamp' must be ISO-8601/);
      for (const [key, record] of dead.records) {
        assert.equal(
          key,
          `${world.topic}:${record.source.partition}:${record.source.offset}`,
        );
      }
      console.log(
        `foreign producer test: ${expected.valid} views and ${MALFORMED.length} malformed records from kcat; wall time ${
          ((Date.now() - started) / 1000).toFixed(1)
        } s`,
      );
    } finally {
      const problems = await world.cleanup();
      if (problems.length > 0) {
        console.warn(`foreign producer test clean-up: ${problems.join("; ")}`);
      }
    }
  },
);

/**
 * kafkajs 2.2.4 decodes only gzip by itself: a batch compressed with snappy,
 * lz4 or zstd crashed the consumer ("Snappy compression not implemented") and
 * the instance exited. `KafkaLog` now registers those codecs
 * (src/adapters/kafka_codecs.ts); kcat writes raw snappy, LZ4 frames and zstd.
 */
const COMPRESSION_CODECS_REGISTERED = true;

const missing = await requireServices([KAFKA, REDIS, S3]);
Deno.test({
  name:
    "the views job counts views a foreign producer compressed with snappy, lz4 or zstd",
  ignore: missing || !COMPRESSION_CODECS_REGISTERED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bin = await ensureKcat();
    const world = new World("it-views-codecs", { partitions: 1 });
    const rng = new Rng(11);
    const payloads = ["snappy", "lz4", "zstd"].map((_, i) =>
      views(rng, 300, START_MS + i * 300_000, false)
    );
    const expected = expectedViews(payloads.flat().join("\n"));
    try {
      await world.createTopic();
      const instance = world.startInstance("instance");
      await instance.waitForEvent(
        (e) => e.type === "assigned",
        30_000,
        "an assigned partition",
      );
      await kcat(bin, world, payloads[0]!, ["-z", "snappy"]);
      await kcat(bin, world, payloads[1]!, ["-z", "lz4"]);
      await kcat(bin, world, payloads[2]!, ["-z", "zstd"]);
      const counted = await world.settle(expected.valid, {
        timeout_ms: 30_000,
        stable_ms: 2_000,
      });
      assert.ok(
        !instance.exited,
        `the instance must survive compressed batches; stderr:\n${instance.stderrTail()}`,
      );
      assert.equal(counted, expected.valid);
    } finally {
      await world.cleanup();
    }
  },
});
