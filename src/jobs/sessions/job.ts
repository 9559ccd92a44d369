/**
 * The `sessions` job: viewing sessions of a streaming platform, from the
 * heartbeats devices send about every 4 s while a viewer watches, to
 * Parquet files in S3 partitioned by day, exactly once. The loader
 * (`src/load/`, `freshet load --job sessions`) copies the files into the
 * PostgreSQL table `sessions`.
 *
 * Input: topic `viewing-events`, `{"user_id","program_id","session_id",
 * "device","event_time"}` (`parse.ts`), keyed by whatever the producer
 * chose (often `user_id`): the job keys by `session_id` through a
 * repartition (internal topic `sessions-by-session-repartition`).
 *
 * A session is a session window of event time (`gap_ms`, 60 s): heartbeats
 * `gap_ms` apart or less are one session (exactly 60 s joins, 60.001 s
 * splits); it closes when the watermark (largest event time − 5 s of
 * out-of-orderness − 1 ms, the minimum over the input partitions) passes its
 * last heartbeat + 2 gaps: after a repartition, sessions wait a gap more so
 * that every heartbeat that may join one has arrived in any interleaving of
 * the input partitions (src/core/window_entries.ts). Quiet streams close
 * too: a partition that receives nothing for `idle_advance_ms` moves its
 * watermark with processing time (README, "Quiet streams"), so a session
 * ends about two gaps after its viewer stopped, whether or not other traffic
 * arrives. Allowed lateness is 0: a heartbeat whose own window is closed by
 * the watermark it carries goes to `viewing-events.late`, even one touching
 * a session still open (which Flink would merge before judging lateness:
 * whether that session is still open depends on arrival timing).
 *
 * One row per session:
 *
 * | column | what |
 * |---|---|
 * | `user_id`, `program_id`, `device` | of the session's **first heartbeat** (earliest event time; among heartbeats of one time, the smallest `program_id`, then `device`, then `user_id`, so arrival order never decides): a viewer who switches program mid-session keeps the first |
 * | `session_id` | the session id; an id paused for longer than the gap makes two sessions, so two rows share it (`start_time` tells them apart) |
 * | `start_time`, `end_time` | first and last heartbeat's event time (UTC, ms) |
 * | `stream_duration` | `end_time − start_time` in seconds, exact to the millisecond (DECIMAL(18,3)) |
 * | `events` | heartbeats counted |
 *
 * Outputs:
 * - `<prefix>/date=YYYY-MM-DD/part-<partition>-<first>-<last>.parquet`
 *   (date of `start_time`, UTC) through the two-phase S3 file sink: a file
 *   per stage partition, day and minute of close time (`file_interval_ms`),
 *   finished once the watermark passes that minute and published at the
 *   next checkpoint. Files are a function of the input: replays and restarts
 *   write the same bytes (`src/sinks/parquet_format.ts`);
 * - `viewing-events.dead-letter`: not JSON, not an object, a missing or
 *   empty id or `device`, a missing or bad `event_time`, with the reason;
 * - `viewing-events.late`: late heartbeats.
 *
 * @module
 */

import { defineJob, type JobSpec } from "../../flow/define.ts";
import type { Aggregate, WindowResult } from "../../core/window_operator.ts";
import { session, windowStart } from "../../core/windows.ts";
import { formatIso } from "../../core/time.ts";
import { s3FilesSink, type S3FilesSinkOptions } from "../../sinks/s3_files.ts";
import type { FileBatch } from "../../sinks/file_roll.ts";
import { type Heartbeat, parseHeartbeat } from "./parse.ts";
import { readSessionFile, sessionFormat, type SessionRow } from "./row.ts";

export type { SessionRow } from "./row.ts";

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;

/** The options of `sessions`, with their defaults. */
export const SESSIONS_OPTIONS = {
  /** Partitions of the input topic when it is created. */
  partitions: 4,
  /** Inactivity that ends a session. */
  gap_ms: MINUTE_MS,
  /** Bounded out-of-orderness of event time. */
  out_of_orderness_ms: 5 * SECOND_MS,
  /** How long after a session closed a heartbeat may still join it (re-emitting it). */
  allowed_lateness_ms: 0,
  /** A quiet partition's watermark follows processing time after this long; 0 turns it off. */
  idle_advance_ms: 10 * SECOND_MS,
  /** Key prefix of the published files in the bucket. */
  prefix: "sessions",
  /** Files of a day roll per this much close time; divides an hour. */
  file_interval_ms: MINUTE_MS,
  /** A file rolls before it would grow past this many (estimated) bytes. */
  file_max_bytes: 64 * 1024 * 1024,
  /** Rows per Parquet row group. */
  row_group_rows: 100_000,
};

/** A session being built: its first heartbeat, last time and count. */
export interface SessionAcc {
  first: Heartbeat | null;
  last_ms: number;
  events: number;
}

function earlier(a: Heartbeat, b: Heartbeat): boolean {
  if (a.time_ms !== b.time_ms) return a.time_ms < b.time_ms;
  for (const field of ["program_id", "device", "user_id"] as const) {
    if (a[field] !== b[field]) return a[field] < b[field];
  }
  return false;
}

/** The session aggregate: first heartbeat (see the module doc), last time, count. */
export function sessionSummary(): Aggregate<Heartbeat, SessionAcc, SessionAcc> {
  return {
    create: () => ({
      first: null,
      last_ms: Number.NEGATIVE_INFINITY,
      events: 0,
    }),
    add(acc, h) {
      if (acc.first === null || earlier(h, acc.first)) acc.first = h;
      if (h.time_ms > acc.last_ms) acc.last_ms = h.time_ms;
      acc.events++;
      return acc;
    },
    merge(a, b) {
      if (a.first === null || (b.first !== null && earlier(b.first, a.first))) {
        a.first = b.first;
      }
      if (b.last_ms > a.last_ms) a.last_ms = b.last_ms;
      a.events += b.events;
      return a;
    },
    result: (acc) => ({ ...acc }),
    encode: (acc) => acc,
    decode: (data) => ({ ...(data as SessionAcc) }),
  };
}

/** The row of a fired session window. */
export function sessionRow(r: WindowResult<SessionAcc>): SessionRow {
  const first = r.value.first!;
  return {
    user_id: first.user_id,
    program_id: first.program_id,
    session_id: r.key,
    device: first.device,
    start_ms: first.time_ms,
    end_ms: r.value.last_ms,
    events: r.value.events,
  };
}

/** What reaches the file sink: a row placed at its close time, or a seal. */
type ToFiles =
  | { row: SessionRow; close_ms: number }
  | { seal_ms: number };

/**
 * The job with its file sink built from `sink` on top of the job's options
 * (tests select the sink's deliberately broken variant this way).
 */
export function sessionsWith(
  sink: Partial<S3FilesSinkOptions<SessionRow>> = {},
): JobSpec {
  return defineJob({
    name: "sessions",
    description:
      "viewing sessions (60 s gap) from heartbeats, to Parquet files in S3 by day (two-phase commit), loaded into PostgreSQL by `freshet load`",
    fixture: "fixtures/sessions/sessions.jsonl.gz",
    options: SESSIONS_OPTIONS,
    build(flow, o) {
      const interval_ms = o.file_interval_ms;
      const files = s3FilesSink<SessionRow>({
        name: "parquet",
        prefix: o.prefix,
        format: sessionFormat({ row_group_rows: o.row_group_rows }),
        // Rows are placed by close time (that is what the watermark seals)
        // and filed by the day their session started.
        bucket: (row) => `date=${formatIso(row.start_ms).slice(0, 10)}`,
        roll_interval_ms: interval_ms,
        roll_max_bytes: o.file_max_bytes,
        ...sink,
      });
      flow
        .source<Heartbeat>("viewing-events", {
          parse: parseHeartbeat,
          out_of_orderness_ms: o.out_of_orderness_ms,
          idle_advance_ms: o.idle_advance_ms > 0
            ? o.idle_advance_ms
            : undefined,
          partitions: o.partitions,
        })
        .keyBy((h) => h.session_id, { repartition: true, name: "by-session" })
        .window({
          name: "sessions",
          assigner: session({ gap_ms: o.gap_ms }),
          aggregate: sessionSummary(),
          allowed_lateness_ms: o.allowed_lateness_ms,
          late_label: (ts) =>
            `session window [${formatIso(ts)}, +${o.gap_ms} ms)`,
        })
        // After a repartition a session ending at `end` fires once the
        // watermark reaches `end - 1 + gap + lateness` (its close time: by
        // then every heartbeat that may join it has arrived, in any
        // interleaving of the upstream partitions; see
        // src/core/window_entries.ts), and no session can fire before the
        // watermark reaches its close time. So once the watermark passes a
        // close-time slot, every row of that slot was written: an
        // event-time timer at the slot's end seals it, also on a quiet
        // stream, where only the idle advance moves the watermark.
        .process<void, ToFiles>({
          name: "seal",
          processElement(r: WindowResult<SessionAcc>, ctx) {
            const close_ms = r.window.end - 1 + o.gap_ms +
              o.allowed_lateness_ms;
            ctx.emit({ row: sessionRow(r), close_ms });
            ctx.timers.registerEventTime(
              windowStart(close_ms, 0, interval_ms) + interval_ms,
            );
          },
          onTimer(timestamp, ctx) {
            ctx.emit({ seal_ms: timestamp });
          },
        })
        .to(files, (item, out: FileBatch<SessionRow>) => {
          if ("row" in item) out.add(item.close_ms, item.row);
          else out.seal(item.seal_ms);
        });
    },
    async summarize({ objects }, o) {
      const prefix = `${o.prefix.replace(/\/+$/, "")}/`;
      const keys = (await objects.list(prefix)).filter((k) =>
        k.endsWith(".parquet")
      );
      if (keys.length === 0) return [`no files under ${prefix}`];
      let rows = 0;
      let bytes = 0;
      let events = 0;
      const days = new Set<string>();
      for (const key of keys) {
        const body = await objects.get(key);
        if (body === null) continue;
        bytes += body.length;
        const read = await readSessionFile(body);
        rows += read.length;
        for (const row of read) events += row.events;
        days.add(key.slice(prefix.length, key.lastIndexOf("/")));
      }
      return [
        `published ${keys.length} Parquet files under ${prefix} (${rows} sessions, ${events} heartbeats, ${bytes} bytes) in ${days.size} day directories`,
        `first file: ${keys[0]}`,
        `last file: ${keys.at(-1)}`,
      ];
    },
  });
}

/** The `sessions` job. */
export const sessions: JobSpec = sessionsWith();
