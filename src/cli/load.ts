/**
 * `freshet load --job sessions`: copies the job's published Parquet files
 * into PostgreSQL (`DATABASE_URL`) every `--interval-ms`, each file exactly
 * once (`src/load/`). `run --prod` starts the same loop beside a job that
 * has a loader ({@linkcode startLoaders}).
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  intFlag,
  parseArgs,
  UsageError,
} from "./args.ts";
import { CONFIG_FLAGS, jobOverrides, loadSettings } from "./options.ts";
import { findJob, type JobOverrides } from "../jobs/registry.ts";
import { closeLogging, logger, setupLogging } from "../logging/setup.ts";
import { LOG_FLAGS, logOptions } from "./log_flags.ts";
import { type Config, redact } from "../adapters/config.ts";
import type { Clock, ObjectStore, Warehouse } from "../ports.ts";
import { Loader, type LoaderObserver } from "../load/loader.ts";
import { runLoader } from "../load/loop.ts";
import { LOADED_JOBS, loadTargetOf } from "../load/targets.ts";

const LOAD_SPEC: FlagSpec = {
  values: {
    job: `job whose files to load (required; one of: ${
      LOADED_JOBS.join(", ")
    })`,
    "job-options":
      "the job's options as name=value,... (its prefix and gap: as the job runs with)",
    "interval-ms": "time between passes (default 60000)",
    config: "JSON config file of settings",
    ...LOG_FLAGS,
    ...CONFIG_FLAGS,
  },
  booleans: {
    once: "load what is published now, then exit",
    help: "print this help",
  },
};

/** Help of `freshet load`. */
export const LOAD_HELP =
  `freshet load: load a job's published files into PostgreSQL, exactly once

Usage: deno task load --job sessions [--interval-ms 60000] [--once]

Every interval, lists the Parquet files the job published in S3 that the
ledger table (freshet_load_ledger) does not name, and loads each in one
transaction with its ledger row; tables are created when missing. Reads
S3_* and AWS_* like 'run --prod', and DATABASE_URL.

Flags:
${flagHelp(LOAD_SPEC)}`;

/** What a loader loop needs from the deployment. */
export interface LoaderServices {
  objects: ObjectStore;
  warehouse: Warehouse;
  clock: Clock;
}

/**
 * Starts a loader loop for each of `jobs` that has one; answers the loops
 * (each settles when `signal` aborts).
 */
export function startLoaders(
  jobs: ReadonlyArray<{ name: string; overrides?: JobOverrides }>,
  services: LoaderServices,
  options: {
    interval_ms?: number;
    signal?: AbortSignal;
    observer?: LoaderObserver;
  } = {},
): Array<Promise<void>> {
  const log = logger("load");
  const loops: Array<Promise<void>> = [];
  for (const job of jobs) {
    const target = loadTargetOf(job.name, job.overrides);
    if (target === undefined) continue;
    const loader = new Loader({
      target,
      ...services,
      observer: options.observer,
    });
    loops.push(runLoader({
      loader,
      clock: services.clock,
      interval_ms: options.interval_ms,
      signal: options.signal,
      onPass: (pass) => {
        if (pass.loaded.length === 0 && pass.skipped.length === 0) return;
        log.info(
          "loaded {files} files ({rows} rows) into {table}; {published} published",
          {
            event: "loaded",
            job: job.name,
            table: target.table,
            files: pass.loaded.length,
            skipped: pass.skipped.length,
            rows: pass.rows,
            published: pass.published,
          },
        );
      },
      onError: (error) =>
        log.warn("a load pass failed, retried next interval: {error}", {
          event: "load-failed",
          job: job.name,
          error: error instanceof Error ? error.message : String(error),
        }),
    }));
  }
  return loops;
}

/** Connects the warehouse of `settings` (`DATABASE_URL`). */
export async function connectWarehouse(settings: Config): Promise<Warehouse> {
  const { PostgresWarehouse } = await import("../adapters/postgres.ts");
  return new PostgresWarehouse({ url: settings.postgres().url });
}

/** Runs `freshet load`; answers the exit code. */
export async function loadCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, LOAD_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(LOAD_HELP);
    return 0;
  }
  const name = parsed.values.get("job");
  if (name === undefined) throw new UsageError("load needs --job NAME");
  let spec;
  try {
    spec = findJob(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const overrides = jobOverrides(parsed, [spec]);
  if (loadTargetOf(name, overrides) === undefined) {
    throw new UsageError(
      `job '${name}' has no loader (jobs with one: ${LOADED_JOBS.join(", ")})`,
    );
  }
  const interval_ms = intFlag(parsed, "interval-ms", 60_000);
  if (interval_ms <= 0) {
    throw new UsageError(
      `flag --interval-ms must be positive: got ${interval_ms}`,
    );
  }
  const settings = await loadSettings(parsed);
  await setupLogging(logOptions(parsed));
  const log = logger("load");
  const s3 = settings.s3();
  const { S3ObjectStore } = await import("../adapters/s3.ts");
  const { SystemClock } = await import("../adapters/clock.ts");
  const objects = S3ObjectStore.fromConfig(s3);
  const warehouse = await connectWarehouse(settings);
  const clock = new SystemClock();
  log.info("loading {job} from {bucket} into {database}", {
    event: "config",
    job: name,
    bucket: s3.bucket,
    database: redact(settings.postgres().url),
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    if (parsed.booleans.has("once")) {
      const target = loadTargetOf(name, overrides)!;
      const pass = await new Loader({ target, objects, warehouse, clock })
        .pass();
      log.info("loaded {files} files ({rows} rows); {published} published", {
        event: "loaded",
        files: pass.loaded.length,
        rows: pass.rows,
        published: pass.published,
      });
      return 0;
    }
    await Promise.all(
      startLoaders([{ name, overrides }], { objects, warehouse, clock }, {
        interval_ms,
        signal: controller.signal,
      }),
    );
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await warehouse.close();
    await objects.close();
    await closeLogging();
  }
}
