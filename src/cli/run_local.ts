/**
 * `freshet run` without `--prod`: every job (or `--job`), `/track`, the API
 * and the dashboard in one process, on embedded in-memory backends (the
 * simulator's twins, passed in by `main.ts`), in real time. Nothing is
 * written to disk and nothing is kept when the process ends: a fresh start
 * is a fresh demo. Also the HTTP settings both modes share.
 *
 * @module
 */

import {
  type FlagSpec,
  intFlag,
  optionalIntFlag,
  type ParsedArgs,
  UsageError,
} from "./args.ts";
import { CONFIG_FLAGS } from "./options.ts";
import { logJobEvent, logOptions } from "./log_flags.ts";
import type { JobOverrides, JobSpec } from "../jobs/registry.ts";
import { SystemClock } from "../adapters/clock.ts";
import { closeLogging, logger, setupLogging } from "../logging/setup.ts";
import { type EmbeddedBackendsFactory, pacedLog } from "../run/local.ts";
import { runServed, type SurfaceOptions } from "../run/surface.ts";

/** The HTTP flags of `freshet run`. */
export const HTTP_FLAGS: FlagSpec["values"] = {
  host: "address the HTTP surface listens on (env HOST; default: 127.0.0.1)",
  port:
    "port of the HTTP surface, 0 for any free one (env PORT; default: 8000)",
};

/** Flags that only mean something against real services. */
const PROD_ONLY = [
  "config",
  "key-prefix",
  "checkpoint-prefix",
  "session-timeout-ms",
  ...Object.keys(CONFIG_FLAGS),
];

/** What the surface needs from the command line and the environment. */
export type HttpSettings = Pick<
  SurfaceOptions,
  "hostname" | "port" | "track_token" | "track_topic" | "track_partitions"
>;

/**
 * `--host`/`HOST`, `--port`/`PORT` (flags first), `TRACK_TOKEN`, and the
 * topic `/track` writes to: the analytics job's input when it runs (with
 * its partitions), else `flink-events`.
 */
export function httpSettings(
  parsed: ParsedArgs,
  entries: readonly JobSpec[],
  overrides: JobOverrides,
): HttpSettings {
  const hostname = parsed.values.get("host") ?? Deno.env.get("HOST") ??
    "127.0.0.1";
  if (hostname.trim() === "") {
    throw new UsageError("flag --host (or HOST) must not be empty");
  }
  const portText = parsed.values.get("port") ?? Deno.env.get("PORT") ?? "8000";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) {
    throw new UsageError(
      `flag --port (or PORT) must be a port number from 0 to 65535: got '${portText}'`,
    );
  }
  const analytics = entries.find((entry) => entry.name === "analytics")
    ?.create(overrides);
  return {
    hostname,
    port,
    track_token: Deno.env.get("TRACK_TOKEN") ?? null,
    track_topic: analytics?.topic ?? "flink-events",
    track_partitions: analytics?.partitions ?? 4,
  };
}

/** Runs the jobs on embedded backends; answers the exit code. */
export async function runLocal(
  parsed: ParsedArgs,
  entries: readonly JobSpec[],
  overrides: JobOverrides,
  http: HttpSettings,
  embedded: EmbeddedBackendsFactory | undefined,
): Promise<number> {
  const prodOnly = PROD_ONLY.find((flag) => parsed.values.has(flag));
  if (prodOnly !== undefined) {
    throw new UsageError(
      `flag --${prodOnly} applies to real services: add --prod, or leave it out`,
    );
  }
  if (embedded === undefined) {
    throw new UsageError(
      "a run without --prod needs the embedded backends the freshet entry point provides: run 'deno task run' (main.ts), or add --prod",
    );
  }
  const checkpoint_interval_ms = optionalIntFlag(
    parsed,
    "checkpoint-interval-ms",
  );
  const restart_attempts = intFlag(parsed, "restart-attempts", 3);
  const restart_delay_ms = intFlag(parsed, "restart-delay-ms", 10_000);
  if (
    (checkpoint_interval_ms ?? 0) < 0 || restart_attempts < 0 ||
    restart_delay_ms < 0
  ) {
    throw new UsageError(
      `flags --checkpoint-interval-ms, --restart-attempts and --restart-delay-ms must not be negative: got ${checkpoint_interval_ms}, ${restart_attempts} and ${restart_delay_ms}`,
    );
  }
  const jobs = entries.map((entry) => entry.create(overrides));
  await setupLogging(logOptions(parsed));
  const log = logger("run");
  const clock = new SystemClock();
  const backends = embedded(clock);
  const controller = new AbortController();
  const stop = () => {
    if (!controller.signal.aborted) {
      log.info("stopping", { event: "stopping" });
    }
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const explain = (error: unknown) =>
    error instanceof Error ? error.message : String(error);
  try {
    await runServed({
      jobs,
      log: pacedLog(backends.log, clock),
      kv: backends.kv,
      objects: backends.objects,
      clock,
      checkpoint_interval_ms,
      restart_attempts,
      restart_delay_ms,
      signal: controller.signal,
      onEvent: (event) => logJobEvent(log, event, explain),
      http: {
        ...http,
        on_listen: (url) => {
          log.info(
            "dashboard at {url}; POST events to {url}track ({backends})",
            {
              event: "listening",
              url,
              backends: backends.description,
              jobs: jobs.map((job) => job.name),
            },
          );
        },
      },
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(
        `cannot listen on ${http.hostname}:${http.port} as the address is in use: choose another with --port (0 for any free one)`,
      );
    }
    log.error("{error}", { event: "failed", error: explain(error) });
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await closeLogging();
  }
  return 0;
}
