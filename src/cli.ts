/**
 * The `freshet` command's production side: `run --prod` and `produce`.
 * `main.ts` adds the simulator's `sim` command.
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  intFlag,
  parseArgs,
  readFixtureText,
  UsageError,
} from "./cli/args.ts";
import {
  CONFIG_VARIABLES,
  ConfigError,
  flagName,
  loadConfig,
  readConfigFile,
} from "./adapters/config.ts";
import { CheckpointStore } from "./core/checkpoint.ts";
import { parseFixture } from "./core/fixture.ts";
import { Runner, type RunnerEvent } from "./core/runner.ts";
import {
  type JobOverrides,
  JOBS,
  type JobSpec,
  parseJobOptions,
} from "./jobs/registry.ts";
import { selectJobs } from "./cli/jobs.ts";
import type { LogMessage } from "./ports.ts";

/** A command added by the entry point (the simulator's `sim`). */
export interface ExtraCommand {
  run(args: readonly string[]): Promise<number>;
  help: string;
}

const CONFIG_FLAGS: Record<string, string> = Object.fromEntries(
  CONFIG_VARIABLES.map((
    v,
  ) => [flagName(v), `overrides the environment variable ${v}`]),
);

const RUN_SPEC: FlagSpec = {
  values: {
    job: `job to run: ${
      JOBS.map((j) => j.name).join(", ")
    } (default: every job)`,
    "job-file":
      "a job of your own: a module whose default export is defineJob({...})",
    config:
      "JSON config file of settings (flags > environment > file > defaults)",
    group: "consumer group (default: freshet-<job>)",
    "checkpoint-interval-ms":
      "processing time between checkpoints of a partition (default: 10000)",
    "session-timeout-ms":
      "Kafka consumer group session timeout (default: 30000)",
    topic:
      "input topic instead of the job's own (needs --job; side outputs follow: <topic>.dead-letter, ...)",
    "job-options":
      "the job's options as name=value,name=value (needs --job; see 'deno task sim --help')",
    "key-prefix":
      "prefix of every Redis key the jobs write, fences included (default: none)",
    "checkpoint-prefix":
      "key prefix of checkpoints in the S3 bucket (default: checkpoints)",
    ...CONFIG_FLAGS,
  },
  booleans: {
    prod: "run against the real services configured by environment",
    help: "print this help",
  },
};

const PRODUCE_SPEC: FlagSpec = {
  values: {
    job: "job whose input topic receives the fixture (required, or --job-file)",
    "job-file": "a job of your own (module exporting defineJob({...}))",
    fixture: "fixture file (default: the job's own)",
    rate: "messages per second (default: as fast as possible)",
    topic: "topic to write instead of the job's own",
    config: "JSON config file of settings",
    ...CONFIG_FLAGS,
  },
  booleans: { help: "print this help" },
};

const RUN_HELP = `freshet run: run jobs

Usage: deno task run --prod [flags]

With --prod, consumes the jobs' topics from Kafka and writes to Redis, with
checkpoints in S3, configured by KAFKA_BROKERS, REDIS_URL, S3_ENDPOINT,
S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Start
more instances with the same flags to scale out: they share partitions
through the consumer group. Stops cleanly on SIGINT or SIGTERM.

Flags:
${flagHelp(RUN_SPEC)}`;

const PRODUCE_HELP = `freshet produce: write a fixture to the job's Kafka topic

Usage: deno task produce --job NAME [--fixture FILE] [--rate N]

Recorded records keep their key; raw payloads are keyed as the job expects
(views: by videoId). Configured like 'run --prod'.

Flags:
${flagHelp(PRODUCE_SPEC)}`;

const USAGE = `freshet: real-time event pipelines

Commands:
  sim       replay recorded fixtures on a virtual clock (no services needed)
  run       run jobs (--prod: against Kafka, Redis and S3)
  produce   write a fixture to a job's Kafka topic

'freshet COMMAND --help' describes a command.`;

/** Runs the command line; answers the exit code. */
export async function main(
  args: readonly string[],
  extra: Record<string, ExtraCommand> = {},
): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
        console.log(USAGE);
        return 0;
      case "run":
        return await runCommand(rest);
      case "produce":
        return await produceCommand(rest);
      default: {
        const found = extra[command];
        if (found !== undefined) return await found.run(rest);
        throw new UsageError(
          `unknown command '${command}' (known: sim, run, produce)`,
        );
      }
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      console.error(`freshet: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

async function config(parsed: ReturnType<typeof parseArgs>) {
  const path = parsed.values.get("config");
  const flags: Record<string, string> = {};
  for (const variable of CONFIG_VARIABLES) {
    const value = parsed.values.get(flagName(variable));
    if (value !== undefined) flags[variable] = value;
  }
  return loadConfig({
    flags,
    env: (name) => Deno.env.get(name),
    file: path === undefined ? undefined : await readConfigFile(path),
  });
}

// Kafka's own rule for topic names.
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * The `--topic` and `--job-options` overrides, checked against the jobs they
 * apply to; both need a single `--job`.
 */
function jobOverrides(
  parsed: ReturnType<typeof parseArgs>,
  entries: readonly JobSpec[],
): JobOverrides {
  const overrides: JobOverrides = {};
  const topic = parsed.values.get("topic");
  const options = parsed.values.get("job-options");
  if (
    (topic !== undefined || options !== undefined) && entries.length !== 1
  ) {
    throw new UsageError(
      "flags --topic and --job-options need --job NAME or --job-file: they belong to one job",
    );
  }
  if (topic !== undefined) {
    if (!TOPIC_NAME.test(topic)) {
      throw new UsageError(
        `flag --topic must be 1 to 249 of the characters [A-Za-z0-9._-]: got '${topic}'`,
      );
    }
    overrides.topic = topic;
  }
  try {
    if (options !== undefined) overrides.options = parseJobOptions(options);
    for (const entry of entries) entry.create(overrides);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return overrides;
}

async function runCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, RUN_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(RUN_HELP);
    return 0;
  }
  if (!parsed.booleans.has("prod")) {
    throw new UsageError(
      "local runs with embedded backends are not available yet: use 'deno task run --prod' against real services, or 'deno task sim' to replay fixtures",
    );
  }
  const entries = await selectJobs(
    parsed.values.get("job"),
    parsed.values.get("job-file"),
  );
  const overrides = jobOverrides(parsed, entries);
  const key_prefix = parsed.values.get("key-prefix") ?? "";
  if (/[*?[\]\\]/.test(key_prefix)) {
    throw new UsageError(
      `flag --key-prefix must not contain glob characters (*?[]\\): got '${key_prefix}'`,
    );
  }
  const checkpoint_prefix = parsed.values.get("checkpoint-prefix") ??
    "checkpoints";
  if (checkpoint_prefix === "") {
    throw new UsageError("flag --checkpoint-prefix must not be empty");
  }
  const settings = await config(parsed);
  // Loaded here, so that `sim` never loads the service clients.
  const { KafkaLog } = await import("./adapters/kafka.ts");
  const { RedisKeyValue } = await import("./adapters/redis.ts");
  const { S3ObjectStore } = await import("./adapters/s3.ts");
  const { SystemClock } = await import("./adapters/clock.ts");
  const log = new KafkaLog({
    brokers: settings.kafka().brokers,
    consumer: {
      session_timeout_ms: intFlag(parsed, "session-timeout-ms", 30_000),
    },
  });
  const kv = new RedisKeyValue(settings.redis().url, {
    keyPrefix: key_prefix,
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
  const clock = new SystemClock();
  const say = (event: Record<string, unknown>) =>
    console.log(JSON.stringify(event));
  say({ event: "config", settings: settings.describe() });

  const runners: Array<{ name: string; runner: Runner }> = [];
  for (const entry of entries) {
    const job = entry.create(overrides);
    await log.createTopic(job.topic, job.partitions);
    const partitions = await log.partitionCount(job.topic);
    for (const topic of job.outputTopics) {
      await log.createTopic(topic, partitions);
    }
    const runner = new Runner({
      job,
      log,
      kv,
      objects,
      checkpoints: new CheckpointStore(objects, { prefix: checkpoint_prefix }),
      clock,
      group_id: parsed.values.get("group"),
      checkpoint_interval_ms: intFlag(parsed, "checkpoint-interval-ms", 10_000),
      onEvent: (event: RunnerEvent) => {
        if (event.type !== "checkpoint") say({ job: job.name, ...event });
      },
    });
    runner.start();
    runners.push({ name: job.name, runner });
    say({ event: "started", job: job.name, topic: job.topic });
  }

  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  let last_report_ms = clock.now();
  try {
    while (!stopping) {
      for (const { runner } of runners) await runner.step();
      if (clock.now() - last_report_ms >= 10_000) {
        last_report_ms = clock.now();
        for (const { name, runner } of runners) {
          say({
            event: "progress",
            job: name,
            partitions: runner.partitions(),
            ...runner.counts(),
          });
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    for (const { name, runner } of runners) {
      say({ event: "stopping", job: name, ...runner.counts() });
      await runner.close();
    }
    await log.close();
    await kv.close();
  }
  return 0;
}

async function produceCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, PRODUCE_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(PRODUCE_HELP);
    return 0;
  }
  const name = parsed.values.get("job");
  const file = parsed.values.get("job-file");
  if (name === undefined && file === undefined) {
    throw new UsageError("produce needs --job NAME or --job-file PATH");
  }
  const [entry] = await selectJobs(name, file);
  const path = parsed.values.get("fixture") ?? entry!.fixture;
  if (path === undefined) {
    throw new UsageError(
      `job '${
        entry!.name
      }' has no recorded fixture: give one with --fixture FILE`,
    );
  }
  const text = await readFixtureText(path);
  const rate = intFlag(parsed, "rate", 0);
  if (rate < 0) {
    throw new UsageError(`flag --rate must not be negative: got ${rate}`);
  }
  const job = entry!.create(jobOverrides(parsed, [entry!]));
  const settings = await config(parsed);
  const { KafkaLog } = await import("./adapters/kafka.ts");
  const log = new KafkaLog({ brokers: settings.kafka().brokers });
  try {
    await log.createTopic(job.topic, job.partitions);
    const partitions = await log.partitionCount(job.topic);
    const messages: LogMessage[] = parseFixture(text).map((m) => ({
      key: m.key !== undefined ? m.key : job.route(m.value).key,
      value: m.value,
      ...(m.partition !== undefined && m.partition < partitions
        ? { partition: m.partition }
        : {}),
    }));
    const batch = rate > 0
      ? Math.max(1, Math.min(500, Math.floor(rate / 10)))
      : 500;
    const started = performance.now();
    for (let i = 0; i < messages.length; i += batch) {
      await log.produce(job.topic, messages.slice(i, i + batch));
      if (rate > 0) {
        const due_ms = ((i + batch) / rate) * 1000 -
          (performance.now() - started);
        if (due_ms > 0) {
          await new Promise((resolve) => setTimeout(resolve, due_ms));
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `produced ${messages.length} messages from ${path} to '${job.topic}' in ${
        seconds.toFixed(1)
      } s`,
    );
  } finally {
    await log.close();
  }
  return 0;
}
