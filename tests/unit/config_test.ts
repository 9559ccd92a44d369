import assert from "node:assert/strict";
import {
  CONFIG_DEFAULTS,
  ConfigError,
  loadConfig,
  parseConfigFile,
  redact,
} from "../../src/adapters/config.ts";

const noEnv = {};

Deno.test("loadConfig() prefers flags over environment over config file over defaults", () => {
  const file = {
    REDIS_URL: "redis://file:6379",
    S3_BUCKET: "from-file",
    S3_REGION: "eu-west-1",
  };
  const env = { REDIS_URL: "redis://env:6379", S3_BUCKET: "from-env" };
  const flags = { "redis-url": "redis://flag:6379" };
  const config = loadConfig({ flags, env, file });
  assert.equal(config.redis().url, "redis://flag:6379");
  const s3 = {
    ...loadConfig({
      env: { ...env, AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" },
      file,
    }).s3(),
  };
  assert.equal(s3.bucket, "from-env");
  assert.equal(s3.region, "eu-west-1");
  assert.equal(s3.endpoint, CONFIG_DEFAULTS.S3_ENDPOINT);
  assert.deepEqual(loadConfig({ env: noEnv }).kafka().brokers, [
    "127.0.0.1:9092",
  ]);
});

Deno.test("loadConfig() treats an empty variable as unset", () => {
  const config = loadConfig({
    env: { REDIS_URL: "" },
    file: { REDIS_URL: "redis://file:1" },
  });
  assert.equal(config.redis().url, "redis://file:1");
});

Deno.test("loadConfig() reads the environment through a lookup function", () => {
  const config = loadConfig({
    env: (name) => name === "KAFKA_BROKERS" ? "a:1, b:2" : undefined,
  });
  assert.deepEqual(config.kafka().brokers, ["a:1", "b:2"]);
});

Deno.test("loadConfig() names the missing variable only when its service is asked for", () => {
  const config = loadConfig({ env: noEnv });
  assert.equal(config.redis().url, CONFIG_DEFAULTS.REDIS_URL);
  assert.throws(
    () => config.postgres(),
    (error: unknown) =>
      error instanceof ConfigError && error.variable === "DATABASE_URL" &&
      /'DATABASE_URL' is not set/.test(error.message) &&
      /--database-url/.test(error.message),
  );
  assert.throws(() => config.s3(), /'AWS_ACCESS_KEY_ID' is not set/);
});

Deno.test("loadConfig() rejects malformed settings naming the variable and the source", () => {
  assert.throws(
    () => loadConfig({ env: { KAFKA_BROKERS: "localhost" } }),
    /'KAFKA_BROKERS' \(from environment\) as it must be a comma-separated list of host:port: current value is "localhost"/,
  );
  assert.throws(
    () => loadConfig({ flags: { KAFKA_BROKERS: "a:1,b:99999" } }),
    /KAFKA_BROKERS/,
  );
  assert.throws(
    () => loadConfig({ file: { S3_BUCKET: "No_Caps" } }),
    /'S3_BUCKET' \(from config file\)/,
  );
  assert.throws(
    () => loadConfig({ env: { S3_ENDPOINT: "127.0.0.1:9000" } }),
    /S3_ENDPOINT/,
  );
  assert.throws(
    () => loadConfig({ env: { REDIS_URL: "http://x:1" } }),
    /'REDIS_URL'/,
  );
  assert.throws(
    () => loadConfig({ flags: { "no-such-flag": "1" } }),
    /'no-such-flag' as it is not a known setting/,
  );
});

Deno.test("loadConfig() never shows a secret in an error or a description", () => {
  const secret = "hunter2-very-secret";
  const attempts = [
    () =>
      loadConfig({ env: { DATABASE_URL: `mysql://user:${secret}@db:5432/x` } }),
    () =>
      loadConfig({ env: { DATABASE_URL: `postgres//user:${secret}@db/x` } }),
    () => loadConfig({ env: { REDIS_URL: `user:${secret}@redis:6379` } }),
    () =>
      loadConfig({ env: { AWS_SECRET_ACCESS_KEY: `${secret} with spaces` } }),
    () => loadConfig({ env: { AWS_ACCESS_KEY_ID: `${secret} x` } }),
  ];
  for (const attempt of attempts) {
    assert.throws(attempt, (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(!error.message.includes(secret), error.message);
      return true;
    });
  }
  const described = loadConfig({
    env: {
      DATABASE_URL: `postgres://user:${secret}@db:5432/x`,
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_ACCESS_KEY_ID: secret,
    },
  }).describe();
  assert.ok(!JSON.stringify(described).includes(secret));
  assert.equal(
    described.DATABASE_URL,
    "postgres://user:***@db:5432/x (environment)",
  );
  assert.equal(described.AWS_SECRET_ACCESS_KEY, "*** (environment)");
  assert.equal(described.REDIS_URL, "redis://127.0.0.1:6379 (default)");
});

Deno.test("redact() masks passwords in URLs, lists and unparseable strings", () => {
  assert.equal(redact("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
  assert.equal(redact("postgres://u:p%40ss@h/db"), "postgres://u:***@h/db");
  assert.equal(redact("redis://u:pa,ss@h:1"), "redis://u:***@h:1");
  assert.equal(redact("redis://h:6379"), "redis://h:6379");
  assert.equal(
    redact("redis://a:x@h1:1,redis://b:y@h2:2"),
    "redis://a:***@h1:1,redis://b:***@h2:2",
  );
  assert.equal(redact("u:secret@host"), "***@host");
});

Deno.test("parseConfigFile() accepts variable and flag names and rejects unknown keys", () => {
  assert.deepEqual(
    parseConfigFile('{"kafka-brokers": "k:1", "S3_BUCKET": "b1b"}', "f.json"),
    { KAFKA_BROKERS: "k:1", S3_BUCKET: "b1b" },
  );
  assert.throws(
    () => parseConfigFile('{"KAFKA_BROKER": "k:1"}', "f.json"),
    /'KAFKA_BROKER' is not a known setting/,
  );
  assert.throws(
    () => parseConfigFile('{"S3_BUCKET": 3}', "f.json"),
    /must be a string/,
  );
  assert.throws(
    () => parseConfigFile("[1]", "f.json"),
    /must hold a JSON object/,
  );
  assert.throws(
    () => parseConfigFile("{", "f.json"),
    /f.json as it must be JSON/,
  );
});
