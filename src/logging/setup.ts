/**
 * freshet's one log stream, on LogTape (`npm:@logtape/logtape`): every line
 * has a time, a level, a message and fields, in JSON (one object per line) or
 * pretty text (the default on a terminal).
 *
 * Everything logs to a category under `freshet`: `freshet.run` (jobs),
 * `freshet.kafka` (the Kafka adapter and kafkajs's own lines), `freshet.redis`
 * (ioredis's errors), `freshet.s3`. The service clients repeat themselves
 * while a service is down (a reconnect attempt every few hundred
 * milliseconds), so their categories are rate-limited: at most
 * {@linkcode LoggingOptions.client_lines_max} lines of one kind per
 * {@linkcode LoggingOptions.client_window_ms}, then one summary line of how
 * many were dropped.
 *
 * Until a program calls {@linkcode setupLogging} nothing is printed (LogTape's
 * library-first rule): tests and programs that embed freshet decide.
 *
 * @module
 */

import {
  configure,
  dispose,
  getLogger,
  getThrottlingFilter,
  type Logger,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import { jsonLine, messageText, prettyLine } from "./format.ts";

/** Levels `--log-level` accepts, quietest last. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** A level `--log-level` accepts. */
export type LogLevelName = typeof LOG_LEVELS[number];

/** Formats `--log-format` accepts. */
export const LOG_FORMATS = ["json", "pretty"] as const;

/** A format `--log-format` accepts. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Categories of the service clients, rate-limited. */
export const CLIENT_CATEGORIES = ["kafka", "redis", "s3"] as const;

/** Options of {@linkcode setupLogging}. */
export interface LoggingOptions {
  /** Lowest level printed. Default: `"info"`. */
  level?: LogLevelName;
  /** Default: `"pretty"` when stdout is a terminal, else `"json"`. */
  format?: LogFormat;
  /** Colours in pretty lines. Default: on a terminal, unless `NO_COLOR` is set. */
  color?: boolean;
  /** Where lines go. Default: standard output, written synchronously. */
  write?: (line: string) => void;
  /** Lines of one kind a client category prints per window. Default: 3. */
  client_lines_max?: number;
  /** The rate limit's window. Default: 30 000. */
  client_window_ms?: number;
}

let throttles: Disposable[] = [];

/**
 * Sends every `freshet` category to one sink in the chosen format (see the
 * module doc). Calling it again replaces the previous set-up.
 */
export async function setupLogging(
  options: LoggingOptions = {},
): Promise<void> {
  const terminal = Deno.stdout.isTerminal();
  const format = options.format ?? (terminal ? "pretty" : "json");
  const color = options.color ??
    (terminal && (Deno.env.get("NO_COLOR") ?? "") === "");
  const encoder = new TextEncoder();
  const write = options.write ?? ((line: string) => {
    const bytes = encoder.encode(line);
    for (let done = 0; done < bytes.length;) {
      done += Deno.stdout.writeSync(bytes.subarray(done));
    }
  });
  const render = format === "json"
    ? jsonLine
    : (record: LogRecord) => prettyLine(record, { color });
  const sink: Sink = (record) => write(render(record));
  const level = toLogTapeLevel(options.level ?? "info");
  for (const throttle of throttles) throttle[Symbol.dispose]();
  throttles = CLIENT_CATEGORIES.map((name) =>
    getThrottlingFilter({
      // Lines alike but for their numbers (ports, delays, attempts) are one kind.
      key: (record) =>
        `${record.level}:${
          messageText(record).replace(/\d+/g, "#").slice(0, 120)
        }`,
      limit: options.client_lines_max ?? 3,
      windowMs: options.client_window_ms ?? 30_000,
      summary: {
        // A line of its own, not the library's record of records.
        logger: {
          warning: (_message: string, properties: Record<string, unknown>) => {
            const last = properties.lastRecord as LogRecord | undefined;
            getLogger(["freshet", name]).warn(
              "{suppressed} more lines like the last one were dropped: {last}",
              {
                suppressed: properties.suppressed,
                last: last === undefined ? "" : messageText(last),
              },
            );
          },
        },
      },
    }) as unknown as Disposable
  );
  const filters: Record<string, (record: LogRecord) => boolean> = {};
  CLIENT_CATEGORIES.forEach((name, i) => {
    filters[name] = throttles[i] as unknown as (record: LogRecord) => boolean;
  });
  await configure({
    reset: true,
    sinks: { out: sink },
    filters,
    loggers: [
      { category: ["freshet"], lowestLevel: level, sinks: ["out"] },
      ...CLIENT_CATEGORIES.map((name) => ({
        category: ["freshet", name],
        lowestLevel: level,
        filters: [name],
      })),
      // LogTape's own warnings (a sink that threw, ...).
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

/** Prints what the rate limits held back, and stops logging. */
export async function closeLogging(): Promise<void> {
  for (const throttle of throttles) throttle[Symbol.dispose]();
  throttles = [];
  await dispose();
}

/** The logger of a category under `freshet` (`logger("run")` is `freshet.run`). */
export function logger(...category: string[]): Logger {
  return getLogger(["freshet", ...category]);
}

/** Parses a `--log-level` value; undefined when it is not one. */
export function parseLogLevel(text: string): LogLevelName | undefined {
  return (LOG_LEVELS as readonly string[]).includes(text)
    ? text as LogLevelName
    : undefined;
}

/** Parses a `--log-format` value; undefined when it is not one. */
export function parseLogFormat(text: string): LogFormat | undefined {
  return (LOG_FORMATS as readonly string[]).includes(text)
    ? text as LogFormat
    : undefined;
}

function toLogTapeLevel(
  level: LogLevelName,
): "debug" | "info" | "warning" | "error" {
  return level === "warn" ? "warning" : level;
}
