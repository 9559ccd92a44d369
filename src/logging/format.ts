/**
 * The two shapes of a log line: JSON (one object per line, for machines) and
 * pretty (aligned text, for a person at a terminal). Both carry the time, the
 * level, the message and every field.
 *
 * @module
 */

import type { LogRecord } from "@logtape/logtape";

/** Level names as printed (LogTape's `warning` is `warn`, as most tools spell it). */
const LEVELS: Record<LogRecord["level"], string> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
  fatal: "fatal",
};

/** Names the line itself uses; a field with one of them gets a `field_` prefix. */
const RESERVED = new Set(["time", "level", "logger", "message"]);

/** The record's message with its values in place. */
export function messageText(record: LogRecord): string {
  let text = "";
  for (let i = 0; i < record.message.length; i++) {
    const part = record.message[i];
    text += i % 2 === 0 ? String(part) : showValue(part);
  }
  return text;
}

/**
 * One JSON object per line:
 * `{"time","level","logger","message",...fields}` with the fields flat
 * (errors as their message, bigints as strings).
 */
export function jsonLine(record: LogRecord): string {
  const line: Record<string, unknown> = {
    time: new Date(record.timestamp).toISOString(),
    level: LEVELS[record.level],
    logger: record.category.join("."),
    message: messageText(record),
  };
  const whole = wholeMessageField(record);
  for (const [name, value] of Object.entries(record.properties)) {
    if (name === whole) continue;
    line[RESERVED.has(name) ? `field_${name}` : name] = jsonValue(value);
  }
  return JSON.stringify(line) + "\n";
}

/** Options of {@linkcode prettyLine}. */
export interface PrettyOptions {
  /** ANSI colours for the level and the field names. Default: false. */
  color?: boolean;
}

const COLORS: Record<string, string> = {
  trace: "\x1b[90m",
  debug: "\x1b[90m",
  info: "\x1b[32m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[1;31m",
};

/**
 * `HH:MM:SS.mmm LEVEL logger: message name=value ...` in UTC, values
 * JSON-quoted only when they hold spaces or quotes.
 */
export function prettyLine(
  record: LogRecord,
  options: PrettyOptions = {},
): string {
  const level = LEVELS[record.level];
  const time = new Date(record.timestamp).toISOString().slice(11, 23);
  const paint = (code: string, text: string) =>
    options.color ? `${code}${text}\x1b[0m` : text;
  const shown = placeholders(record);
  const fields = Object.entries(record.properties)
    .filter(([name]) => !shown.has(name))
    .map(([name, value]) =>
      `${paint("\x1b[2m", `${name}=`)}${showValue(jsonValue(value))}`
    );
  const category = record.category.slice(1).join(".") ||
    record.category.join(".");
  return [
    paint("\x1b[2m", time),
    paint(COLORS[level] ?? "", level.toUpperCase().padEnd(5)),
    paint("\x1b[2m", `${category}:`),
    messageText(record),
    ...fields,
  ].join(" ") + "\n";
}

/** Names of the fields the message shows in place (`{name}`). */
function placeholders(record: LogRecord): Set<string> {
  const raw = typeof record.rawMessage === "string" ? record.rawMessage : "";
  return new Set([...raw.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!));
}

/** The field that is the whole message (a template of just `{name}`), if any. */
function wholeMessageField(record: LogRecord): string | undefined {
  const raw = typeof record.rawMessage === "string" ? record.rawMessage : "";
  return /^\{(\w+)\}$/.exec(raw)?.[1];
}

function jsonValue(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}

function showValue(value: unknown): string {
  if (typeof value === "string") {
    return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  }
  if (value instanceof Error) return JSON.stringify(value.message);
  try {
    return JSON.stringify(jsonValue(value)) ?? String(value);
  } catch {
    return String(value);
  }
}
