/**
 * The `clickstream` job: every event of a user's 5-minute window, written to
 * S3 as JSON Lines with the window's bounds, exactly once (modelled on a
 * Flink clickstream processor).
 *
 * Input: topic `clickstream`, keyed by `user_id` (`parse.ts` for the
 * message). Event time is the `timestamp` field, with 10 minutes of bounded
 * out-of-orderness; events are keyed by user into tumbling 5-minute windows
 * (allowed lateness 0). When a window fires, each of its events is written
 * once: its payload as given plus `event_timestamp`, `event_timestamp_start`
 * and `event_timestamp_end` (ISO-8601 UTC). Within a window a user's events
 * are ordered by event time (then by text), and users by id, so the lines
 * do not depend on arrival order.
 *
 * Outputs:
 * - `<prefix>/dt=YYYY-MM-DD/hour=HH/part-<partition>-<first>-<last>.jsonl`
 *   through the two-phase S3 file sink (`src/sinks/s3_files.ts`): a file per
 *   input partition and slot of `file_interval_ms` of window starts (a
 *   window's events by default), rolled earlier by size; published when the
 *   window closes and a checkpoint records it;
 * - `clickstream.dead-letter`: payloads that are not a JSON object, lack
 *   `event_id`, `user_id` or `event_type` (missing, null, empty), or carry
 *   no valid `timestamp`, with the reason;
 * - `clickstream.late`: events whose window had closed.
 *
 * Files are published at checkpoints, so the job checkpoints every 30 s
 * unless a run sets `--checkpoint-interval-ms`; restarts after failures are
 * the runner's fixed-delay strategy (`--restart-attempts`,
 * `--restart-delay-ms`).
 *
 * @module
 */

import { defineJob, type JobSpec } from "../../flow/define.ts";
import type { Aggregate } from "../../core/window_operator.ts";
import { tumbling, windowStart } from "../../core/windows.ts";
import { formatIso } from "../../core/time.ts";
import { jsonLines } from "../../sinks/file_format.ts";
import { s3FilesSink, type S3FilesSinkOptions } from "../../sinks/s3_files.ts";
import { type ClickEvent, enrich, parseClick } from "./parse.ts";

const MINUTE_MS = 60_000;

/** The options of `clickstream`, with their defaults. */
export const CLICKSTREAM_OPTIONS = {
  /** Partitions of the input topic when it is created. */
  partitions: 4,
  /** Bounded out-of-orderness of event time. */
  out_of_orderness_ms: 10 * MINUTE_MS,
  /** Length of the tumbling windows. */
  window_size_ms: 5 * MINUTE_MS,
  /** How long after a window fires its late events are still written (in a later file). */
  allowed_lateness_ms: 0,
  /** A quiet partition's watermark follows processing time after this long; 0 turns it off. */
  idle_advance_ms: 0,
  /** Key prefix of the published files in the bucket. */
  prefix: "clickstream-events",
  /** Event-time span of a file's window starts; divides an hour. */
  file_interval_ms: 5 * MINUTE_MS,
  /** A file rolls before it would grow past this many bytes. */
  file_max_bytes: 64 * 1024 * 1024,
  /** A file rolls before it would hold more lines; 0: no limit. */
  file_max_records: 0,
  /** Also roll every file at each checkpoint (file boundaries then depend on checkpoint timing). */
  roll_at_checkpoint: false,
};

/** A window's events not yet written: a user's window state. */
interface WindowEvents {
  /** `[event time, payload text]` in arrival order. */
  events: Array<[number, string]>;
  /** How many of `events` a firing already returned. */
  emitted: number;
}

function byTimeThenText(a: [number, string], b: [number, string]): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

/**
 * The events of a window that no firing returned yet, ordered by event time
 * then text. `result` marks what it returns as returned, so that a window
 * re-fired by a late event (allowed lateness) writes only the events that
 * came after its last firing: every event is written once.
 */
export function unwrittenEvents(): Aggregate<
  ClickEvent,
  WindowEvents,
  Array<[number, string]>
> {
  return {
    create: () => ({ events: [], emitted: 0 }),
    add: (acc, event) => {
      acc.events.push([event.time_ms, event.text]);
      return acc;
    },
    merge: (a, b) => ({
      events: [
        ...a.events.slice(0, a.emitted),
        ...b.events.slice(0, b.emitted),
        ...a.events.slice(a.emitted),
        ...b.events.slice(b.emitted),
      ],
      emitted: a.emitted + b.emitted,
    }),
    result: (acc) => {
      const fresh = acc.events.slice(acc.emitted);
      acc.emitted = acc.events.length;
      return fresh.sort(byTimeThenText);
    },
    encode: (acc) => acc,
    decode: (data) => {
      const d = data as WindowEvents;
      return { events: [...d.events], emitted: d.emitted };
    },
  };
}

/**
 * The job with its file sink built from `sink` on top of the job's options
 * (tests select the sink's deliberately broken variant this way).
 */
export function clickstreamWith(
  sink: Partial<S3FilesSinkOptions<string>> = {},
): JobSpec {
  return defineJob({
    name: "clickstream",
    description:
      "events of 5-minute windows per user, enriched with the window's bounds, to JSON Lines files in S3 (two-phase commit)",
    fixture: "fixtures/clickstream/clickstream.jsonl.gz",
    options: CLICKSTREAM_OPTIONS,
    checkpoint_interval_ms: 30_000,
    build(flow, o) {
      const files = s3FilesSink({
        prefix: o.prefix,
        format: jsonLines(),
        roll_interval_ms: o.file_interval_ms,
        roll_max_bytes: o.file_max_bytes,
        roll_max_records: o.file_max_records > 0
          ? o.file_max_records
          : Number.POSITIVE_INFINITY,
        roll_at_checkpoint: o.roll_at_checkpoint,
        ...sink,
      });
      const size_ms = o.window_size_ms;
      const lateness_ms = o.allowed_lateness_ms;
      flow
        .source<ClickEvent>("clickstream", {
          parse: (payload) => {
            const parsed = parseClick(payload);
            if (!parsed.ok) return { error: parsed.reason };
            const event = parsed.value;
            return { value: event, time: event.time_ms, key: event.user_id };
          },
          out_of_orderness_ms: o.out_of_orderness_ms,
          idle_advance_ms: o.idle_advance_ms > 0
            ? o.idle_advance_ms
            : undefined,
          partitions: o.partitions,
        })
        .keyBy((event) => event.user_id)
        .window({
          name: "window",
          assigner: tumbling({ size_ms }),
          aggregate: unwrittenEvents(),
          allowed_lateness_ms: lateness_ms,
          late_label: (ts) =>
            `window starting ${formatIso(windowStart(ts, 0, size_ms))}`,
        })
        .to(files, (r, out) => {
          const bounds = {
            start: formatIso(r.window.start),
            end: formatIso(r.window.end),
          };
          for (const [time_ms, text] of r.value) {
            out.add(
              r.window.start,
              enrich({ time_ms, text }, r.window.start, r.window.end, bounds),
            );
          }
          // Once this window fired, windows before the one holding
          // `end - lateness` take no more events: their files are complete.
          out.seal(windowStart(r.window.end - lateness_ms, 0, size_ms));
        });
    },
    async summarize({ objects }, o) {
      const prefix = `${o.prefix.replace(/\/+$/, "")}/`;
      const keys = await objects.list(prefix);
      if (keys.length === 0) return [`no files under ${prefix}`];
      let lines = 0;
      let bytes = 0;
      let sample = "";
      const hours = new Set<string>();
      for (const key of keys) {
        const body = await objects.get(key);
        if (body === null) continue;
        bytes += body.length;
        const text = new TextDecoder().decode(body);
        for (
          let i = text.indexOf("\n");
          i >= 0;
          i = text.indexOf("\n", i + 1)
        ) {
          lines++;
        }
        if (sample === "") sample = text.slice(0, text.indexOf("\n"));
        hours.add(key.slice(prefix.length, key.lastIndexOf("/")));
      }
      return [
        `published ${keys.length} files under ${prefix} (${lines} lines, ${bytes} bytes) in ${hours.size} hour directories`,
        `first file: ${keys[0]}`,
        `last file: ${keys.at(-1)}`,
        `first line: ${
          sample.length > 200 ? `${sample.slice(0, 200)}…` : sample
        }`,
      ];
    },
  });
}

/** The `clickstream` job. */
export const clickstream: JobSpec = clickstreamWith();
