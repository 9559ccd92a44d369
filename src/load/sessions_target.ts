/**
 * The `sessions` table the loader fills from the `sessions` job's Parquet
 * files (`src/jobs/sessions/`):
 *
 * ```sql
 * CREATE TABLE IF NOT EXISTS sessions (
 *   user_id text NOT NULL,
 *   program_id text NOT NULL,
 *   session_id text NOT NULL,
 *   device text NOT NULL,
 *   start_time timestamptz NOT NULL,
 *   end_time timestamptz NOT NULL,
 *   stream_duration numeric(18,3) NOT NULL,  -- seconds, exact to the ms
 *   events integer NOT NULL,
 *   PRIMARY KEY (session_id, start_time)
 * )
 * ```
 *
 * The key is `(session_id, start_time)`, not `session_id` alone: a session
 * id whose viewer paused for longer than the gap makes two sessions (the
 * fixture has hundreds), and a key of `session_id` alone would make the
 * second overwrite the first. A session's start never changes once it is
 * written (lateness 0), so the pair is its business key.
 *
 * @module
 */

import { readSessionFile, type SessionRow } from "../jobs/sessions/row.ts";
import type { LoadTarget } from "./loader.ts";

/** Options of {@linkcode sessionsTarget}. */
export interface SessionsTargetOptions {
  /** Key prefix of the job's files. Default: `sessions`. */
  prefix?: string;
  /** The job's session gap: a session closed at its end time + gap (load lag). Default: 60 000. */
  gap_ms?: number;
  /** Table name. Default: `sessions`. */
  table?: string;
}

/** Seconds with three decimals, exactly, from milliseconds. */
export function secondsText(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(ms);
  return `${sign}${Math.floor(abs / 1000)}.${
    String(abs % 1000).padStart(3, "0")
  }`;
}

/** The load target of the `sessions` job's files. */
export function sessionsTarget(
  options: SessionsTargetOptions = {},
): LoadTarget<SessionRow> {
  const prefix = `${(options.prefix ?? "sessions").replace(/\/+$/, "")}/`;
  const table = options.table ?? "sessions";
  const gap_ms = options.gap_ms ?? 60_000;
  return {
    name: table,
    prefix,
    suffix: ".parquet",
    table,
    ddl: [
      `CREATE TABLE IF NOT EXISTS ${table} (
         user_id text NOT NULL,
         program_id text NOT NULL,
         session_id text NOT NULL,
         device text NOT NULL,
         start_time timestamptz NOT NULL,
         end_time timestamptz NOT NULL,
         stream_duration numeric(18,3) NOT NULL,
         events integer NOT NULL,
         PRIMARY KEY (session_id, start_time)
       )`,
    ],
    columns: [
      "user_id",
      "program_id",
      "session_id",
      "device",
      "start_time",
      "end_time",
      "stream_duration",
      "events",
    ],
    key: ["session_id", "start_time"],
    read: readSessionFile,
    values: (r) => [
      r.user_id,
      r.program_id,
      r.session_id,
      r.device,
      r.start_ms,
      r.end_ms,
      secondsText(r.end_ms - r.start_ms),
      r.events,
    ],
    finalAt: (r) => r.end_ms + gap_ms,
  };
}
