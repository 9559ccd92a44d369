import assert from "node:assert/strict";
import { failureKind, isTransient } from "../../src/adapters/outage.ts";
import { MessageTooLargeError } from "../../src/adapters/kafka/batches.ts";
import { ConfigError } from "../../src/adapters/config.ts";
import { checkServices, explainFailure } from "../../src/cli/services.ts";
import { FencedError } from "../../src/ports.ts";

/** Errors shaped as the clients throw them (recorded against real services). */
const errors = {
  s3Down: new Error(
    "Cannot list 's3://freshet/x/': Error: connect ECONNREFUSED 127.0.0.1:9011",
    {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9011"), {
        code: "ECONNREFUSED",
      }),
    },
  ),
  s3WrongSecret: new Error(
    "Cannot list 's3://freshet/x/': SignatureDoesNotMatch (HTTP 403)",
    {
      cause: Object.assign(
        new Error("The request signature we calculated does not match"),
        {
          name: "SignatureDoesNotMatch",
          $fault: "client",
          $metadata: { httpStatusCode: 403 },
        },
      ),
    },
  ),
  s3NoBucket: new Error(
    "Cannot list 's3://nobucket/x/': NoSuchBucket (HTTP 404)",
    {
      cause: Object.assign(new Error("The specified bucket does not exist"), {
        name: "NoSuchBucket",
        $metadata: { httpStatusCode: 404 },
      }),
    },
  ),
  s3Busy: Object.assign(new Error("Slow down"), {
    name: "SlowDown",
    $metadata: { httpStatusCode: 503 },
  }),
  redisDown: Object.assign(
    new Error(
      'Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.',
    ),
    { name: "MaxRetriesPerRequestError" },
  ),
  redisClosed: new Error("Connection is closed."),
  redisNoAuth: Object.assign(new Error("NOAUTH Authentication required."), {
    name: "ReplyError",
  }),
  redisScript: Object.assign(new Error("ERR Error running script"), {
    name: "ReplyError",
  }),
  kafkaDown: Object.assign(
    new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9099"),
    {
      name: "KafkaJSNumberOfRetriesExceeded",
      retriable: false,
      cause: Object.assign(
        new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9099"),
        {
          name: "KafkaJSConnectionError",
          retriable: true,
          code: "ECONNREFUSED",
          broker: "127.0.0.1:9099",
        },
      ),
    },
  ),
  kafkaTooLarge: Object.assign(
    new Error(
      "The request included a message larger than the max message size the server will accept",
    ),
    {
      name: "KafkaJSProtocolError",
      type: "MESSAGE_TOO_LARGE",
      retriable: false,
    },
  ),
  kafkaSasl: Object.assign(new Error("SASL PLAIN authentication failed"), {
    name: "KafkaJSSASLAuthenticationError",
    retriable: false,
  }),
};

Deno.test("failureKind() tells outages from wrong credentials and refused requests", () => {
  const kinds = Object.fromEntries(
    Object.entries(errors).map(([name, error]) => [name, failureKind(error)]),
  );
  assert.deepEqual(kinds, {
    s3Down: "unreachable",
    s3WrongSecret: "credentials",
    s3NoBucket: "refused",
    s3Busy: "unreachable",
    redisDown: "unreachable",
    redisClosed: "unreachable",
    redisNoAuth: "credentials",
    redisScript: "refused",
    kafkaDown: "unreachable",
    kafkaTooLarge: "refused",
    kafkaSasl: "credentials",
  });
  assert.equal(failureKind(new MessageTooLargeError("t", 0, 10, 5)), "refused");
  assert.equal(failureKind(new TypeError("a bug")), "unknown");
});

Deno.test("isTransient() retries outages and unknown failures, never refusals, credentials or fencing", () => {
  assert.equal(isTransient(errors.redisDown), true);
  assert.equal(isTransient(errors.kafkaDown), true);
  assert.equal(isTransient(new TypeError("a bug")), true);
  assert.equal(isTransient(errors.kafkaTooLarge), false);
  assert.equal(isTransient(new MessageTooLargeError("t", 0, 10, 5)), false);
  assert.equal(isTransient(errors.s3WrongSecret), false);
  assert.equal(isTransient(new FencedError("newer owner")), false);
});

const redis = {
  name: "Redis" as const,
  address: "redis://127.0.0.1:6390",
  unreachable: "check that redis-server runs and that REDIS_URL points to it",
  refused: "check the user and password in REDIS_URL",
};

Deno.test("explainFailure() names the service, its address and what to check, in one line", () => {
  assert.equal(
    explainFailure(errors.redisDown, redis),
    'Redis at redis://127.0.0.1:6390 is unreachable (Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.): check that redis-server runs and that REDIS_URL points to it',
  );
  assert.equal(
    explainFailure(errors.redisNoAuth, redis),
    "Redis at redis://127.0.0.1:6390 refused the credentials (NOAUTH Authentication required.): check the user and password in REDIS_URL",
  );
  assert.equal(explainFailure(new Error("plain"), undefined), "plain");
});

Deno.test("checkServices() waits out an unreachable service with back-off", async () => {
  let calls = 0;
  const ok = await checkServices([{
    info: redis,
    tcp: [],
    probe: () =>
      ++calls < 4 ? Promise.reject(errors.redisDown) : Promise.resolve(),
  }], { backoff_ms: 5, backoff_max_ms: 20 });
  assert.equal(ok, true);
  assert.equal(calls, 4);
});

Deno.test("checkServices() fails fast on wrong credentials, and gives up when stopped", async () => {
  await assert.rejects(
    checkServices([{
      info: redis,
      tcp: [],
      probe: () => Promise.reject(errors.redisNoAuth),
    }]),
    (error: unknown) =>
      error instanceof ConfigError && error.variable === "REDIS_URL" &&
      /refused the credentials/.test(error.message),
  );
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const ok = await checkServices([{
    info: redis,
    tcp: [],
    probe: () => Promise.reject(errors.redisDown),
  }], { signal: controller.signal, backoff_ms: 10 });
  assert.equal(ok, false);
});
