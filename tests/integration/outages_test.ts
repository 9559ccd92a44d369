/**
 * Outages against real services: the `views` job runs on its own Redis or
 * S3Proxy (started on a free port, see `private_services.ts`), which is
 * killed while the job writes and started again. The job says what is
 * wrong in a few lines naming the service and its address, keeps retrying
 * with back-off, resumes by itself, and loses nothing (exact counts); a stop
 * while Redis is down ends cleanly; wrong S3 credentials fail fast; Kafka
 * unreachable at start is waited for and reported once.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI), which
 * also fetches the S3Proxy jars.
 */

import assert from "node:assert/strict";
import {
  assertExactViews,
  type Child,
  expectedViews,
  fixtureSlice,
  simulateViews,
  sleep,
  waitUntil,
  World,
} from "./harness.ts";
import {
  freePort,
  hasS3ProxyJars,
  PrivateRedis,
  PrivateS3,
} from "./private_services.ts";
import { integration, KAFKA, REDIS, S3, S3_SETTINGS } from "./services.ts";

/** Lines of the views fixture replayed: ~10 s of input at the rate below. */
const LINES = 20_000;
const RATE_PER_S = 2_000;
/** How long each service stays down. */
const DOWN_MS = 15_000;

/** Log lines of a child that mention `text`. */
function mentioning(child: Child, text: string): string[] {
  return child.lines.filter((line) => line.includes(text));
}

/** Produces the slice, runs one instance, and kills `service` while it writes. */
async function outage(
  name: string,
  service: PrivateRedis | PrivateS3,
  world: World,
  address: string,
): Promise<void> {
  const text = await fixtureSlice(LINES);
  const expected = expectedViews(text);
  const simulated = await simulateViews(text);
  const fixture = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(fixture, text);
  try {
    await world.createTopic();
    const producer = world.startProducer(fixture, RATE_PER_S);
    const instance = world.startInstance("instance");
    await instance.waitForEvent(
      (e) => e.type === "assigned",
      60_000,
      "an assigned partition",
    );
    assert.ok(
      await waitUntil(
        async () => (await world.countedViews().catch(() => 0)) > 0,
        {
          timeout_ms: 60_000,
        },
      ),
      "the job must write before the outage",
    );
    await service.kill();
    const killed_at = instance.lines.length;
    await sleep(DOWN_MS);
    assert.ok(
      !instance.exited,
      `the job must outlive the outage; stderr:\n${instance.stderrTail()}`,
    );
    const during = instance.lines.slice(killed_at);
    const named = during.filter((l) => l.includes(`${name} at ${address}`));
    assert.ok(
      named.length > 0,
      `a line must name ${name} and its address (${address}); got:\n${
        during.slice(0, 10).join("\n")
      }`,
    );
    assert.ok(
      named.some((l) => /check/.test(l)),
      `a line must say what to check: ${named[0]}`,
    );
    assert.ok(
      during.length <= 40,
      `an outage of ${
        DOWN_MS / 1000
      } s must take a few lines, not a flood: ${during.length} lines`,
    );
    await service.start();
    const produced = await producer.status;
    assert.ok(
      produced.success,
      `the producer must succeed; stderr:\n${producer.stderrTail()}`,
    );
    const counted = await world.settle(expected.valid, {
      timeout_ms: 180_000,
      stable_ms: 3_000,
    });
    assertExactViews(await world.readState(), counted, expected, simulated);
    const stop = await instance.stop("SIGTERM", 30_000);
    assert.ok(
      stop.graceful && stop.status.success,
      `the job must stop cleanly; stderr:\n${instance.stderrTail()}`,
    );
  } finally {
    await Deno.remove(fixture).catch(() => {});
  }
}

await integration(
  "the views job outlives a Redis outage: one line naming Redis, back-off, resumes by itself, nothing lost, and a stop while Redis is down is clean",
  [KAFKA, REDIS, S3],
  async () => {
    const redis = new PrivateRedis();
    await redis.start();
    const world = new World("it-outage-redis", {
      env: { REDIS_URL: redis.url },
      redis_url: redis.url,
    });
    try {
      await outage("Redis", redis, world, redis.url);
      // Ctrl-C while Redis is down: a clean exit, promptly.
      const again = world.startInstance("stopped while Redis is down");
      await again.waitForEvent(
        (e) => e.type === "assigned",
        60_000,
        "an assigned partition",
      );
      await redis.kill();
      await sleep(3_000);
      const started = Date.now();
      const stop = await again.stop("SIGINT", 30_000);
      assert.ok(
        stop.graceful && stop.status.success,
        `SIGINT while Redis is down must end cleanly (code ${stop.status.code}); stderr:\n${again.stderrTail()}`,
      );
      assert.ok(
        Date.now() - started < 25_000,
        "and within the shutdown timeout",
      );
      assert.equal(
        again.stderrTail().trim(),
        "",
        "no uncaught error on stderr",
      );
    } finally {
      await redis.start().catch(() => {});
      const problems = await world.cleanup();
      await redis.remove();
      if (problems.length > 0) console.warn(`clean-up: ${problems.join("; ")}`);
    }
  },
);

const jars = hasS3ProxyJars();
const inCi = ["true", "1"].includes((Deno.env.get("CI") ?? "").toLowerCase());
if (!jars && !inCi) {
  console.log(
    "skipping the S3 outage test: no S3Proxy jars (run 'deno task services up')",
  );
}
if (jars || inCi) {
  await integration(
    "the views job outlives an S3 outage: one line naming S3, back-off, resumes by itself, nothing lost",
    [KAFKA, REDIS, S3],
    async () => {
      assert.ok(
        jars,
        "CI must have the S3Proxy jars: scripts/services.sh up fetches them",
      );
      const s3 = new PrivateS3();
      await s3.start();
      const world = new World("it-outage-s3", {
        env: {
          S3_ENDPOINT: s3.endpoint,
          S3_BUCKET: s3.bucket,
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        },
        s3,
      });
      try {
        await outage("S3", s3, world, s3.endpoint);
      } finally {
        await s3.start().catch(() => {});
        const problems = await world.cleanup();
        await s3.remove();
        if (problems.length > 0) {
          console.warn(`clean-up: ${problems.join("; ")}`);
        }
      }
    },
  );
}

await integration(
  "a wrong S3 secret fails fast with one line naming S3 and what to check, never the secret",
  [KAFKA, REDIS, S3],
  async () => {
    const secret = "not-the-secret-0123456789";
    const world = new World("it-wrong-secret", {
      env: { AWS_SECRET_ACCESS_KEY: secret },
    });
    try {
      await world.createTopic();
      const instance = world.startInstance("instance");
      const started = Date.now();
      const status = await instance.status;
      const output = [...instance.lines, instance.stderrTail()].join("\n");
      assert.equal(
        status.code,
        2,
        `exit code 2 for a configuration error:\n${output}`,
      );
      assert.ok(Date.now() - started < 30_000, "fast");
      assert.match(
        output,
        new RegExp(
          `S3 at ${
            S3_SETTINGS.endpoint.replaceAll(".", "\\.")
          } .*refused the credentials.*check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY`,
        ),
      );
      assert.ok(!output.includes(secret), "the secret must never be shown");
    } finally {
      await world.cleanup();
    }
  },
);

await integration(
  "Kafka unreachable at start is reported once with its address and waited for; a stop then ends cleanly",
  [KAFKA, REDIS, S3],
  async () => {
    const port = freePort();
    const world = new World("it-kafka-down", {
      env: { KAFKA_BROKERS: `127.0.0.1:${port}` },
    });
    try {
      const instance = world.startInstance("instance");
      assert.ok(
        await waitUntil(
          () =>
            mentioning(instance, `Kafka at 127.0.0.1:${port} is unreachable`)
              .length > 0,
          {
            timeout_ms: 30_000,
          },
        ),
        `a line must name Kafka and its address; got:\n${
          instance.lines.join("\n")
        }\n${instance.stderrTail()}`,
      );
      await sleep(5_000);
      assert.equal(
        mentioning(instance, "is unreachable").length,
        1,
        `reported once, not at every attempt:\n${instance.lines.join("\n")}`,
      );
      assert.ok(!instance.exited, "the job waits for Kafka");
      const stop = await instance.stop("SIGTERM", 10_000);
      assert.ok(
        stop.graceful && stop.status.success,
        `a clean stop:\n${instance.stderrTail()}`,
      );
    } finally {
      await world.cleanup();
    }
  },
);
