/**
 * The log flags every long-running command takes (`--log-level`,
 * `--log-format`), and how a running job's events read in the log.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { type ParsedArgs, UsageError } from "./args.ts";
import {
  LOG_FORMATS,
  LOG_LEVELS,
  type LoggingOptions,
  parseLogFormat,
  parseLogLevel,
} from "../logging/setup.ts";
import type { JobEvent } from "../run/production.ts";

/** Help of the log flags. */
export const LOG_FLAGS: Record<string, string> = {
  "log-level": `lowest level logged: ${LOG_LEVELS.join(", ")} (default: info)`,
  "log-format": `${
    LOG_FORMATS.join(" or ")
  } (default: pretty on a terminal, json otherwise)`,
};

/** The logging options of `--log-level` and `--log-format`. */
export function logOptions(parsed: ParsedArgs): LoggingOptions {
  const options: LoggingOptions = {};
  const level = parsed.values.get("log-level");
  if (level !== undefined) {
    options.level = parseLogLevel(level) ??
      badValue("log-level", level, LOG_LEVELS);
  }
  const format = parsed.values.get("log-format");
  if (format !== undefined) {
    options.format = parseLogFormat(format) ??
      badValue("log-format", format, LOG_FORMATS);
  }
  return options;
}

function badValue(
  flag: string,
  value: string,
  allowed: readonly string[],
): never {
  throw new UsageError(
    `flag --${flag} must be one of ${allowed.join(", ")}: got '${value}'`,
  );
}

/**
 * Logs a job event: runner events with their fields flat (`type`,
 * `partition`, `position`, ...), the others with `event` naming them;
 * checkpoints and processing-time steps at debug level, too many otherwise.
 * Failures read as `explain` says them (the service, its address and what to
 * check).
 */
export function logJobEvent(
  log: Logger,
  event: JobEvent,
  explain: (error: unknown) => string,
): void {
  const job = event.job;
  switch (event.type) {
    case "runner": {
      const e = event.event;
      const fields = { job, ...e };
      switch (e.type) {
        case "assigned":
          return log.info(
            "assigned {topic}:{partition} from offset {position} (epoch {epoch})",
            fields,
          );
        case "revoked":
          return log.info("revoked {topic}:{partition}", fields);
        case "checkpoint":
          return log.debug(
            "checkpoint of {topic}:{partition} at offset {position} in {duration_ms} ms",
            fields,
          );
        case "tick":
          return log.debug(
            "processing-time step of {topic}:{partition}",
            fields,
          );
        case "retry":
          // The first failed attempt says what is wrong; the rest add nothing.
          if (e.attempt === 1) {
            return log.warn(
              "a write failed, retrying with back-off: {error}",
              fields,
            );
          }
          return log.debug(
            "a write failed again (attempt {attempt}): {error}",
            fields,
          );
        case "fenced":
          return log.warn(
            "{topic}:{partition} was taken over by a newer owner (epoch {epoch} fenced)",
            fields,
          );
      }
      return log.info("runner event", fields);
    }
    case "started":
      return log.info("job {job} started on topic {topic}", {
        event: "started",
        job,
        topic: event.topic,
      });
    case "restarting": {
      const fields = {
        event: "restarting",
        job,
        restart: event.restart,
        delay_ms: event.delay_ms,
        outage: event.outage,
        error: explain(event.cause),
      };
      if (event.outage) {
        return log.warn(
          "{error}; job {job} restarts in {delay_ms} ms, and resumes once it answers",
          fields,
        );
      }
      return log.error(
        "job {job} failed: {error}; restart {restart} in {delay_ms} ms",
        fields,
      );
    }
    case "failed":
      return log.error("job {job} failed for good: {error}", {
        event: "failed",
        job,
        restarts: event.restarts,
        error: event.error,
      });
    case "stopped":
      if (event.abandoned) {
        return log.warn(
          "job {job} stopped without its final checkpoint (a service did not answer in time); the next start replays from the last one",
          { event: "stopped", job, abandoned: true },
        );
      }
      return log.info("job {job} stopped", { event: "stopped", job });
  }
}
