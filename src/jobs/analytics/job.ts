/**
 * The `analytics` job: sliding-window statistics per event id, for the query
 * API and the dashboard.
 *
 * Input: topic `flink-events`, as `POST /track` writes it: JSON events
 * `{"event_id", "value"?, "timestamp", ...}` keyed by `event_id` (`value`
 * defaults to 1; other fields are ignored here). Per event id, sliding
 * windows of event time (30 s sliding every 10 s by default, aligned to the
 * epoch) collect `count`, `sum`, `min` and `max` of `value`; a window fires
 * once the watermark passes its end. Outputs, all to Redis through the
 * fenced sink, exactly once (keys in `keys.ts`):
 *
 * | key | type | what |
 * |---|---|---|
 * | `analytics:window:<event_id>:<window_start>` | hash, TTL | the window: `event_id, window_start, window_end, count, sum, min, max` |
 * | `analytics:windows:<event_id>` | sorted set, TTL | the id's windows (member: start, score: end in ms), trimmed of windows ending a TTL before the newest |
 * | `analytics:latest:<event_id>` | hash, TTL | the id's latest closed window (the one with the latest end) |
 * | `analytics:keys` | sorted set | event ids by the count of their latest window |
 *
 * The watermark is the largest event time seen minus the out-of-orderness
 * (5 s) minus 1 ms; an event whose every window has closed (allowed
 * lateness 0 by default) goes to `flink-events.late`; a bad record (not a
 * JSON object, `event_id` missing or not a non-empty string, `value` not a
 * finite number, `timestamp` missing or not ISO-8601 nor epoch ms, a key
 * that is not the event id) goes to `flink-events.dead-letter` with the
 * reason. The idle advance is on: once a partition receives nothing for
 * `idle_advance_ms`, its watermark moves on with processing time, so the
 * last windows of a quiet stream close too.
 *
 * Sums are exact: the sum of a window is the double nearest to the exact sum
 * of its values, whatever order they arrived in (a plain running sum of
 * doubles depends on the order, and replays may reorder records within the
 * out-of-orderness bound). TTLs run on processing time from the write, as
 * Redis `PEXPIRE`; every other output is a function of the input alone.
 *
 * @module
 */

import { defineJob, type JobSpec } from "../../flow/define.ts";
import { sliding } from "../../core/windows.ts";
import type { WindowResult } from "../../core/window_operator.ts";
import { redisSink } from "../../sinks/redis.ts";
import type { KvBatch } from "../../sinks/kv_batch.ts";
import { type AnalyticsEvent, parseAnalyticsEvent } from "./parse.ts";
import { type Stats as WindowStats, stats } from "../../flow/aggregates.ts";
import {
  KEYS_KEY,
  latestKey,
  readWindow,
  windowKey,
  windowsKey,
} from "./keys.ts";

/** The options of `analytics`, with their defaults. */
export const ANALYTICS_OPTIONS = {
  /** Partitions of the input topic when it is created. */
  partitions: 4,
  /** Size of the sliding windows. */
  window_size_ms: 30_000,
  /** Slide of the sliding windows. */
  window_slide_ms: 10_000,
  /** Bounded out-of-orderness of event time. */
  out_of_orderness_ms: 5_000,
  /** How long after a window fired late events still update it. */
  allowed_lateness_ms: 0,
  /** Processing time without records after which a partition's watermark moves on with the clock. */
  idle_advance_ms: 5_000,
  /** TTL of windows, of each id's window list and latest window. */
  window_ttl_ms: 86_400_000,
};

/** A fired window, and whether it is the latest of its event id. */
interface Fired {
  result: WindowResult<WindowStats>;
  latest: boolean;
}

/** The `analytics` job. */
export const analytics: JobSpec = defineJob({
  name: "analytics",
  description:
    "sliding-window count, sum, min and max per event id (Redis), for the API and dashboard",
  fixture: "fixtures/analytics/analytics.jsonl.gz",
  options: ANALYTICS_OPTIONS,
  build(flow, o) {
    const redis = redisSink();
    flow
      .source<AnalyticsEvent>("flink-events", {
        parse: parseAnalyticsEvent,
        out_of_orderness_ms: o.out_of_orderness_ms,
        idle_advance_ms: o.idle_advance_ms,
        partitions: o.partitions,
      })
      .keyBy((event) => event.event_id)
      .window({
        name: "windows",
        assigner: sliding({
          size_ms: o.window_size_ms,
          slide_ms: o.window_slide_ms,
        }),
        aggregate: stats((event: AnalyticsEvent) => event.value),
        allowed_lateness_ms: o.allowed_lateness_ms,
        late_label: () => "sliding windows",
      })
      // With allowed lateness, a late event re-fires an older window: it
      // must not replace a later one as the id's latest.
      .process<number, Fired>({
        name: "latest",
        state: { ttl_ms: o.window_ttl_ms },
        processElement(result, ctx) {
          const end = ctx.state.get();
          const latest = end === undefined || result.window.end >= end;
          if (latest) ctx.state.set(result.window.end);
          ctx.emit({ result, latest });
        },
      })
      .to(redis, (fired, kv) => writeWindow(kv, fired, o.window_ttl_ms));
  },
  async summarize({ kv }) {
    const windows = await kv.keys("analytics:window:*");
    const top = await kv.zrevrange(KEYS_KEY, 0, 4);
    const lines = [
      `windows in Redis: ${windows.length}, event ids: ${
        (await kv.zrange(KEYS_KEY, 0, -1)).length
      }`,
      "top 5 event ids by the count of their latest window (analytics:keys):",
    ];
    for (const [i, { member }] of top.entries()) {
      const w = readWindow(await kv.hgetall(latestKey(member)));
      lines.push(
        `  ${i + 1}. ${member.padEnd(24)} ${
          w === null
            ? "(latest window expired)"
            : `count ${w.count}, sum ${w.sum}, min ${w.min}, max ${w.max}, window ${w.window_start} .. ${w.window_end}`
        }`,
      );
    }
    return lines;
  },
});

/** The Redis writes of one fired window. */
function writeWindow(kv: KvBatch, fired: Fired, ttl_ms: number): void {
  const { key: id, window, value } = fired.result;
  if (value.count === 0 || value.min === null || value.max === null) return;
  const start = new Date(window.start).toISOString();
  const fields: Array<[string, string]> = [
    ["event_id", id],
    ["window_start", start],
    ["window_end", new Date(window.end).toISOString()],
    ["count", String(value.count)],
    ["sum", String(value.sum)],
    ["min", String(value.min)],
    ["max", String(value.max)],
  ];
  const hash = windowKey(id, window.start);
  for (const [field, text] of fields) kv.hset(hash, field, text);
  kv.pexpire(hash, ttl_ms);
  // zadd, pexpire, then the trim: the batch keeps that as one removal.
  const list = windowsKey(id);
  kv.zadd(list, start, window.end);
  kv.pexpire(list, ttl_ms);
  kv.zremrangebyscore(list, -Infinity, window.end - ttl_ms);
  if (!fired.latest) return;
  const latest = latestKey(id);
  for (const [field, text] of fields) kv.hset(latest, field, text);
  kv.pexpire(latest, ttl_ms);
  kv.zadd(KEYS_KEY, id, value.count);
}
