/**
 * The `views` job: view counting with Top-K leaderboards.
 *
 * Input: topic `video-views`, messages `{"userId","videoId","timestamp"}`,
 * keyed by `videoId`. Output, all to Redis through the fenced sink, exactly
 * once:
 *
 * | key | type | what |
 * |---|---|---|
 * | `video:view:count:<videoId>` | string | all-time views (`INCRBY`) |
 * | `top_videos` | sorted set | all-time views per video (`ZINCRBY`) |
 * | `top_videos:hour:<yyyyMMddHH>` | sorted set, TTL | views in that UTC hour, by event time |
 * | `top_videos:day:<yyyyMMdd>` | sorted set, TTL | views in that UTC day, by event time |
 * | `top_videos:sliding:<yyyyMMddHHmm>:<partition>` | sorted set, TTL | Top-K of the partition's window `[end − size, end)`, `end` = the minute named |
 * | `top_videos:heavy:<partition>` | sorted set | Space-Saving estimates of the partition's heavy hitters (optional) |
 *
 * All-time counters and `top_videos` count every valid view however late it
 * arrives (a global window). Lateness applies to the windowed outputs only:
 * a view that arrives after its hour (or day) closed but within
 * `allowed_lateness_ms` still lands in that hour's leaderboard; a later one
 * does not change that past leaderboard, is counted as `late`, and goes to
 * `<topic>.late` with the windows it missed. A sliding window re-fires as an
 * update when a late view arrives within lateness.
 *
 * The sliding Top-K is per input partition: with messages keyed by
 * `videoId`, partitions hold disjoint videos, so the global Top-K of a
 * window is the Top-K of the union of the partitions' sets (`read.ts`).
 * Leaderboard TTLs run on processing time from the write, as Redis
 * `PEXPIRE`. Heavy-hitter estimates depend on arrival order (Space-Saving's
 * evictions); every other output is a function of the input's contents.
 *
 * @module
 */

import { defineJob, type JobSpec } from "../../flow/define.ts";
import { count, heavyHitters, topKMembers } from "../../flow/aggregates.ts";
import { formatBucket } from "../../core/time.ts";
import { global, sliding, tumbling } from "../../core/windows.ts";
import { redisSink } from "../../sinks/redis.ts";
import { parseView, type View } from "./parse.ts";
import { readSlidingTopK, slidingWindowEnds } from "./read.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The options of `views`, with their defaults. */
export const VIEWS_OPTIONS = {
  /** Partitions of the input topic when it is created. */
  partitions: 4,
  /** Bounded out-of-orderness of event time. */
  out_of_orderness_ms: 10_000,
  /** Allowed lateness of every windowed output. */
  allowed_lateness_ms: 300_000,
  /** TTL of hourly leaderboards. */
  hour_ttl_ms: 48 * HOUR_MS,
  /** TTL of daily leaderboards. */
  day_ttl_ms: 8 * DAY_MS,
  /** Size of the sliding Top-K window. */
  window_size_ms: HOUR_MS,
  /** Slide of the sliding Top-K window. */
  window_slide_ms: 60_000,
  /** TTL of each sliding window's Top-K. */
  window_ttl_ms: 2 * HOUR_MS,
  /** K of the sliding Top-K and of the heavy hitters. */
  top_k: 10,
  /** Counters of the heavy-hitter sketch per partition; 0 turns it off. */
  heavy_hitters_capacity: 0,
};

/** Key of a video's all-time count. */
export function countKey(videoId: string): string {
  return `video:view:count:${videoId}`;
}

/** The `views` job. */
export const views: JobSpec = defineJob({
  name: "views",
  description:
    "view counts, all-time Top-K, hourly/daily and sliding leaderboards (Redis)",
  fixture: "fixtures/views/views.jsonl",
  options: VIEWS_OPTIONS,
  build(flow, o) {
    const redis = redisSink();
    const hour = bucketName("hour");
    const day = bucketName("day");
    const minute = bucketName("minute");
    const hourKey = bucketName("hour", "top_videos:hour:");
    const dayKey = bucketName("day", "top_videos:day:");
    const windowed = { allowed_lateness_ms: o.allowed_lateness_ms };

    const viewsStream = flow.source<View>("video-views", {
      parse: (payload) => {
        const parsed = parseView(payload);
        if (!parsed.ok) return { error: parsed.reason };
        const view = parsed.view;
        return { value: view, time: view.timestamp, key: view.videoId };
      },
      out_of_orderness_ms: o.out_of_orderness_ms,
      partitions: o.partitions,
    });
    const byVideo = viewsStream.keyBy((view) => view.videoId);

    byVideo
      .window({
        name: "all-time",
        assigner: global(),
        aggregate: count(),
        emit: "deltas",
      })
      .to(redis, (r, kv) => {
        kv.incrby(countKey(r.key), r.value);
        kv.zincrby("top_videos", r.key, r.value);
      });

    for (
      const [unit, size_ms, ttl_ms, name, keyOf] of [
        ["hour", HOUR_MS, o.hour_ttl_ms, hour, hourKey],
        ["day", DAY_MS, o.day_ttl_ms, day, dayKey],
      ] as const
    ) {
      byVideo
        .window({
          name: unit,
          assigner: tumbling({ size_ms }),
          aggregate: count(),
          emit: "deltas",
          late_label: (ts) => `${unit} ${name(ts)}`,
          ...windowed,
        })
        .to(redis, (r, kv) => {
          const key = keyOf(r.window.start);
          kv.zincrby(key, r.key, r.value);
          kv.pexpire(key, ttl_ms);
        });
    }

    viewsStream
      .keyBy(() => "top")
      .window({
        name: "sliding",
        assigner: sliding({
          size_ms: o.window_size_ms,
          slide_ms: o.window_slide_ms,
        }),
        aggregate: topKMembers(o.top_k, (view: View) => view.videoId),
        late_label: () => "sliding windows",
        ...windowed,
      })
      .to(redis, (r, kv, ctx) => {
        const key = `top_videos:sliding:${
          minute(r.window.end)
        }:${ctx.partition}`;
        kv.del(key);
        for (const { member, count } of r.value) kv.zadd(key, member, count);
        kv.pexpire(key, o.window_ttl_ms);
      });

    if (o.heavy_hitters_capacity > 0) {
      viewsStream
        .keyBy(() => "heavy")
        .window({
          name: "heavy-hitters",
          assigner: global(),
          aggregate: heavyHitters(
            o.heavy_hitters_capacity,
            o.top_k,
            (view: View) => view.videoId,
          ),
          emit: "updates",
        })
        .to(redis, (r, kv, ctx) => {
          const key = `top_videos:heavy:${ctx.partition}`;
          kv.del(key);
          for (const { member, count } of r.value) kv.zadd(key, member, count);
        });
    }
  },
  async summarize({ kv }) {
    const top = await kv.zrevrange("top_videos", 0, 9);
    const lines = ["top 10 videos (top_videos):"];
    top.forEach(({ member, score }, i) => {
      lines.push(
        `  ${String(i + 1).padStart(2)}. ${member.padEnd(24)} ${score}`,
      );
    });
    const hours = await kv.keys("top_videos:hour:*");
    const days = await kv.keys("top_videos:day:*");
    const slidingKeys = await kv.keys("top_videos:sliding:*");
    lines.push(
      `leaderboards: ${hours.length} hourly, ${days.length} daily, ${slidingKeys.length} sliding-window keys`,
    );
    // Trailing windows after the last event hold ever fewer views: show
    // the latest one ending on a whole hour.
    const ends = await slidingWindowEnds(kv);
    const shown = ends.findLast((end) => end.endsWith("00")) ?? ends.at(-1);
    if (shown !== undefined) {
      const best = await readSlidingTopK(kv, shown, 5);
      lines.push(
        `top 5 of the sliding window ending ${shown} UTC: ${
          best.map((r) => `${r.member} ${r.count}`).join(", ")
        }`,
      );
    }
    return lines;
  },
});

/**
 * Bucket names of instants (after `prefix`), cached: event time moves
 * forward, names repeat.
 */
function bucketName(
  unit: "hour" | "day" | "minute",
  prefix = "",
): (ts: number) => string {
  const names = new Map<number, string>();
  const size = unit === "hour" ? HOUR_MS : unit === "day" ? DAY_MS : 60_000;
  return (ts) => {
    const start = ts - (((ts % size) + size) % size);
    let name = names.get(start);
    if (name === undefined) {
      if (names.size > 4096) names.clear();
      name = prefix + formatBucket(start, unit);
      names.set(start, name);
    }
    return name;
  };
}
