/**
 * `freshet run`: runs jobs, and serves the HTTP surface (`/track`, the API,
 * `/metrics`, the dashboard) on `--host`/`--port`. With `--prod`, against
 * the services configured by environment; without, on embedded in-process
 * backends (`run_local.ts`). A failing job restarts in-process from its
 * checkpoints (`--restart-attempts`, `--restart-delay-ms`), then the command
 * exits 1 with the cause.
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  intFlag,
  optionalIntFlag,
  parseArgs,
  UsageError,
} from "./args.ts";
import { CONFIG_FLAGS, jobOverrides, loadSettings } from "./options.ts";
import { selectJobs } from "./jobs.ts";
import { connectServices } from "./services.ts";
import { commitDelayFromEnv, withCommitDelay } from "./debug_commit_delay.ts";
import { connectWarehouse, startLoaders } from "./load.ts";
import { loadTargetOf } from "../load/targets.ts";
import { JOBS } from "../jobs/registry.ts";
import { runServed } from "../run/surface.ts";
import { CheckpointStore } from "../core/checkpoint.ts";
import type { Job } from "../core/job.ts";
import type { Log } from "../ports.ts";
import { newRegistry } from "../metrics/prometheus.ts";
import {
  SessionsMetrics,
  type SessionStageCheckpoints,
} from "../metrics/sessions_metrics.ts";
import type { EmbeddedBackendsFactory } from "../run/local.ts";
import { HTTP_FLAGS, httpSettings, runLocal } from "./run_local.ts";
import { ConfigError } from "../adapters/config.ts";
import { closeLogging, logger, setupLogging } from "../logging/setup.ts";
import { LOG_FLAGS, logJobEvent, logOptions } from "./log_flags.ts";

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
      "processing time between checkpoints of a partition (default: the job's, else 10000)",
    "session-timeout-ms":
      "Kafka consumer group session timeout: after a crash, partitions move on after it (default: 6000, the least brokers accept by default)",
    "restart-attempts":
      "in-process restarts of a failed job before the command fails (default: 3)",
    "restart-delay-ms": "wait before each restart (default: 10000)",
    topic:
      "input topic instead of the job's own (needs --job; side outputs follow: <topic>.dead-letter, ...)",
    "job-options":
      "the job's options as name=value,name=value (needs --job; see 'deno task sim --help')",
    "key-prefix":
      "prefix of every Redis key the jobs write, fences included (default: none)",
    "checkpoint-prefix":
      "key prefix of checkpoints in the S3 bucket (default: checkpoints)",
    "load-interval-ms":
      "with --prod, time between the passes of a job's loader into PostgreSQL (sessions; default: 60000)",
    ...HTTP_FLAGS,
    ...LOG_FLAGS,
    ...CONFIG_FLAGS,
  },
  booleans: {
    prod:
      "run against the real services configured by environment (default: embedded backends, nothing kept)",
    help: "print this help",
  },
};

/** Help of `freshet run`. */
export const RUN_HELP = `freshet run: run jobs

Usage: deno task run [--prod] [flags]

Without --prod, runs every job (or --job) in this process on embedded,
in-memory backends, with no service needed: POST events to /track and watch
them on the dashboard, whose address it prints (default
http://127.0.0.1:8000/). Nothing is kept when the process ends.

With --prod, consumes the jobs' topics from Kafka and writes to their sinks
(Redis, Kafka, S3), with checkpoints in S3, configured by KAFKA_BROKERS,
REDIS_URL, S3_ENDPOINT, S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY. Start more instances with the same flags to scale
out: they share partitions through the consumer group. A failing job
restarts from its checkpoints after a delay, a few times, then the command
exits 1 with the cause. Stops cleanly on SIGINT or SIGTERM.

Both serve POST /track (bearer token from TRACK_TOKEN, when set), the query
API, /api/jobs, /metrics, /healthz, /readyz and the dashboard on --host and
--port (or HOST and PORT).

Flags:
${flagHelp(RUN_SPEC)}`;

/** What the entry point gives `freshet run`. */
export interface RunCommandOptions {
  /** The embedded backends of a run without `--prod` (`main.ts` passes the twins). */
  embedded?: EmbeddedBackendsFactory;
}

/** Runs `freshet run`; answers the exit code. */
export async function runCommand(
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<number> {
  const parsed = parseArgs(args, RUN_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(RUN_HELP);
    return 0;
  }
  const entries = await selectJobs(
    parsed.values.get("job"),
    parsed.values.get("job-file"),
  );
  const overrides = jobOverrides(parsed, entries);
  const http = httpSettings(parsed, entries, overrides);
  if (!parsed.booleans.has("prod")) {
    return await runLocal(parsed, entries, overrides, http, options.embedded);
  }
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
  const restart_attempts = intFlag(parsed, "restart-attempts", 3);
  const restart_delay_ms = intFlag(parsed, "restart-delay-ms", 10_000);
  if (restart_attempts < 0 || restart_delay_ms < 0) {
    throw new UsageError(
      `flags --restart-attempts and --restart-delay-ms must not be negative: got ${restart_attempts} and ${restart_delay_ms}`,
    );
  }
  const settings = await loadSettings(parsed);
  await setupLogging(logOptions(parsed));
  const log = logger("run");
  const services = await connectServices(settings, {
    key_prefix,
    session_timeout_ms: intFlag(parsed, "session-timeout-ms", 6_000),
  });
  const commit_delay_ms = commitDelayFromEnv();
  if (commit_delay_ms > 0) {
    services.log = withCommitDelay(services.log, {
      delay_ms: commit_delay_ms,
      onDelay: (transactional_id) =>
        log.warn("debug: commit of {transactional_id} waits {delay_ms} ms", {
          event: "debug-commit-delay",
          transactional_id,
          delay_ms: commit_delay_ms,
        }),
    });
  }
  log.info("configuration", { event: "config", settings: settings.describe() });
  // Jobs with a loader (sessions) load their files into DATABASE_URL beside.
  const loaded = entries.filter((e) => loadTargetOf(e.name, overrides));
  const warehouse = loaded.length > 0
    ? await connectWarehouse(settings)
    : undefined;
  const load_interval_ms = intFlag(parsed, "load-interval-ms", 60_000);
  const checkpointStore = new CheckpointStore(services.objects, {
    prefix: checkpoint_prefix,
  });

  const controller = new AbortController();
  const stop = () => {
    if (!controller.signal.aborted) {
      log.info("stopping: finishing the batch in hand and checkpointing", {
        event: "stopping",
      });
    }
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    if (!await services.check(controller.signal)) return 0;
    const jobs = entries.map((entry) => entry.create(overrides));
    // The loader's files and lag, and the sessions open and closed in the
    // job's checkpoints, go to /metrics beside the other jobs' metrics.
    const registry = newRegistry();
    const loaded_jobs = jobs.filter((_, i) => loaded.includes(entries[i]!));
    const observer = loaded_jobs.length === 0 ? undefined : new SessionsMetrics(
      registry,
      sessionStage(loaded_jobs[0]!, services.log, checkpointStore),
    );
    await runServed({
      jobs,
      ...services,
      http: {
        ...http,
        registry,
        on_listen: (url) =>
          log.info("serving /track, the API and the dashboard at {url}", {
            event: "listening",
            url,
          }),
      },
      checkpoint_prefix,
      warehouse,
      companions: warehouse === undefined ? [] : [
        (signal) =>
          Promise.all(startLoaders(
            loaded.map((e) => ({ name: e.name, overrides })),
            { objects: services.objects, warehouse, clock: services.clock },
            { interval_ms: load_interval_ms, signal, observer },
          )).then(() => {}),
      ],
      group_id: parsed.values.get("group"),
      checkpoint_interval_ms: optionalIntFlag(parsed, "checkpoint-interval-ms"),
      restart_attempts,
      restart_delay_ms,
      signal: controller.signal,
      onEvent: (event) => logJobEvent(log, event, services.explain),
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    log.error("{error}", {
      event: "failed",
      error: services.explain((error as Error).cause ?? error),
    });
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await services.close();
    await warehouse?.close();
    await closeLogging();
  }
  return 0;
}

/**
 * The checkpoints of a loaded job's last stage (the sessions job's session
 * windows, after its repartition). Its partitions are asked at each scrape:
 * the internal topic appears only once the job runs; until then, none.
 */
function sessionStage(
  job: Job,
  log: Log,
  store: CheckpointStore,
): SessionStageCheckpoints {
  const topic = job.stages.at(-1)!.topic;
  return {
    store,
    job: job.name,
    topic,
    partitions: () => log.partitionCount(topic).catch(() => 0),
  };
}
