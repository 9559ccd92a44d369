/**
 * The `views` job: view counting with Top-K leaderboards.
 *
 * Input: topic `video-views`, messages `{"userId","videoId","timestamp"}`,
 * keyed by `videoId`. Output, all to the key-value store, exactly once:
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
 * arrives. Lateness applies to the windowed outputs only: a view that arrives
 * after its hour (or day) closed but within `allowed_lateness_ms` (by the
 * watermark) still lands in that hour's leaderboard; a later one does not
 * change that past leaderboard, is counted as `late`, and goes to the
 * `<topic>.late` side output with the windows it missed. Same for the
 * sliding windows (a window re-fires as an update when a late view arrives
 * within lateness).
 *
 * The sliding Top-K is per input partition: with messages keyed by
 * `videoId` (as `freshet produce` and the simulator do), partitions hold
 * disjoint videos, so the global Top-K of a window is the Top-K of the union
 * of the partitions' sets (e.g. `ZUNION` of the keys of that minute).
 *
 * Leaderboard TTLs run on processing time from the write, as Redis `PEXPIRE`.
 *
 * Every output is a function of the input's contents, except the optional
 * heavy-hitter estimates: Space-Saving's evictions depend on arrival order,
 * so reordered input may give other estimates (each within its error bound).
 *
 * @module
 */

import type { KvOp, LogRecord } from "../../ports.ts";
import { formatBucket } from "../../core/time.ts";
import { isWindowLate, windowStart } from "../../core/windows.ts";
import { BoundedOutOfOrderness } from "../../core/watermarks.ts";
import {
  type Counts,
  type Job,
  type PartitionProcessor,
  type ProcessContext,
  sideMessage,
  zeroCounts,
} from "../../core/job.ts";
import { parseView } from "./parse.ts";
import { SlidingTopK, type WindowTopK } from "./sliding_top_k.ts";
import { SpaceSaving } from "./space_saving.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Options of the `views` job; every field has a default. */
export interface ViewsOptions {
  /** Input topic. Default: `video-views`. */
  topic?: string;
  /** Partitions of the input topic when it is created. Default: 4. */
  partitions?: number;
  /** Bounded out-of-orderness of event time. Default: 10 000 (10 s). */
  out_of_orderness_ms?: number;
  /** Allowed lateness of every windowed output. Default: 300 000 (5 min). */
  allowed_lateness_ms?: number;
  /** TTL of hourly leaderboards. Default: 172 800 000 (48 h). */
  hour_ttl_ms?: number;
  /** TTL of daily leaderboards. Default: 691 200 000 (8 days). */
  day_ttl_ms?: number;
  /** Size of the sliding Top-K window. Default: 3 600 000 (60 min). */
  window_size_ms?: number;
  /** Slide of the sliding Top-K window. Default: 60 000 (1 min). */
  window_slide_ms?: number;
  /** TTL of each sliding window's Top-K. Default: 7 200 000 (2 h). */
  window_ttl_ms?: number;
  /** K of the sliding Top-K and of the heavy hitters. Default: 10. */
  top_k?: number;
  /** Counters of the heavy-hitter sketch per partition; 0 turns it off. Default: 0. */
  heavy_hitters_capacity?: number;
}

/** The options with defaults applied. */
export type ViewsConfig = Required<ViewsOptions>;

/** Applies defaults. */
export function viewsConfig(options: ViewsOptions = {}): ViewsConfig {
  return {
    topic: options.topic ?? "video-views",
    partitions: options.partitions ?? 4,
    out_of_orderness_ms: options.out_of_orderness_ms ?? 10_000,
    allowed_lateness_ms: options.allowed_lateness_ms ?? 300_000,
    hour_ttl_ms: options.hour_ttl_ms ?? 48 * HOUR_MS,
    day_ttl_ms: options.day_ttl_ms ?? 8 * DAY_MS,
    window_size_ms: options.window_size_ms ?? HOUR_MS,
    window_slide_ms: options.window_slide_ms ?? 60_000,
    window_ttl_ms: options.window_ttl_ms ?? 2 * HOUR_MS,
    top_k: options.top_k ?? 10,
    heavy_hitters_capacity: options.heavy_hitters_capacity ?? 0,
  };
}

/**
 * Views options from `name=value` text (the `--job-options` flag): every
 * option but `topic` is a whole number. Unknown names and bad values are
 * errors naming the rule and the value.
 */
export function parseViewsOptions(
  settings: Readonly<Record<string, string>>,
): ViewsOptions {
  const defaults = viewsConfig();
  const options: Record<string, number> = {};
  for (const [name, text] of Object.entries(settings)) {
    if (name === "topic" || !(name in defaults)) {
      const known = Object.keys(defaults).filter((n) => n !== "topic");
      throw new RangeError(
        `Cannot configure views as '${name}' is not one of its options: ${
          known.join(", ")
        }`,
      );
    }
    const value = Number(text);
    if (text.trim() === "" || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot configure views as '${name}' must be a non-negative whole number: current value is '${text}'`,
      );
    }
    options[name] = value;
  }
  return options as ViewsOptions;
}

/** Key of a video's all-time count. */
export function countKey(videoId: string): string {
  return `video:view:count:${videoId}`;
}

/** The `views` job. */
export function viewsJob(options: ViewsOptions = {}): Job {
  const config = viewsConfig(options);
  // Bad options fail here, with the rule and the value, not at the first record.
  new ViewsProcessor(config, 0);
  return {
    name: "views",
    topic: config.topic,
    partitions: config.partitions,
    outputTopics: [deadLetterTopic(config.topic), lateTopic(config.topic)],
    out_of_orderness_ms: config.out_of_orderness_ms,
    route(value) {
      const parsed = parseView(value);
      return parsed.ok
        ? { key: parsed.view.videoId, timestamp: parsed.view.timestamp }
        : { key: null, timestamp: undefined };
    },
    createProcessor: (partition) => new ViewsProcessor(config, partition),
  };
}

/** Topic of records that are not views, with the reason. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dead-letter`;
}

/** Topic of views too late for a windowed output. */
export function lateTopic(topic: string): string {
  return `${topic}.late`;
}

interface Snapshot {
  watermark: unknown;
  sliding: unknown;
  heavy: unknown;
  counts: Counts;
}

/** Per-batch increments of one sorted set. */
type Increments = Map<string, number>;

class ViewsProcessor implements PartitionProcessor {
  readonly #config: ViewsConfig;
  readonly #partition: number;
  #watermark: BoundedOutOfOrderness;
  readonly #sliding: SlidingTopK;
  readonly #heavy: SpaceSaving | null;
  #counts = zeroCounts();
  readonly #bucketNames = {
    hour: new Map<number, string>(),
    day: new Map<number, string>(),
    minute: new Map<number, string>(),
  };

  constructor(config: ViewsConfig, partition: number) {
    this.#config = config;
    this.#partition = partition;
    this.#watermark = new BoundedOutOfOrderness({
      bound_ms: config.out_of_orderness_ms,
    });
    this.#sliding = new SlidingTopK({
      size_ms: config.window_size_ms,
      slide_ms: config.window_slide_ms,
      allowed_lateness_ms: config.allowed_lateness_ms,
      k: config.top_k,
    });
    this.#heavy = config.heavy_hitters_capacity > 0
      ? new SpaceSaving(config.heavy_hitters_capacity)
      : null;
  }

  process(records: readonly LogRecord[], ctx: ProcessContext): void {
    const config = this.#config;
    const lateness = config.allowed_lateness_ms;
    const total: Increments = new Map();
    const hours = new Map<number, Increments>();
    const days = new Map<number, Increments>();
    const fired: WindowTopK[] = [];
    for (const record of records) {
      this.#counts.in++;
      const parsed = parseView(record.value);
      if (!parsed.ok) {
        this.#counts.dead_lettered++;
        ctx.out.messages.push({
          topic: deadLetterTopic(config.topic),
          message: sideMessage(record, parsed.reason),
        });
        continue;
      }
      const { videoId, timestamp } = parsed.view;
      const watermark = this.#watermark.current();
      add(total, videoId, 1);
      this.#heavy?.add(videoId);
      const missed: string[] = [];
      const hour = windowStart(timestamp, 0, HOUR_MS);
      if (!isWindowLate(hour + HOUR_MS, lateness, watermark)) {
        add(bucket(hours, hour), videoId, 1);
      } else missed.push(`hour ${this.#bucketName(hour, "hour")}`);
      const day = windowStart(timestamp, 0, DAY_MS);
      if (!isWindowLate(day + DAY_MS, lateness, watermark)) {
        add(bucket(days, day), videoId, 1);
      } else missed.push(`day ${this.#bucketName(day, "day")}`);
      if (!this.#sliding.add(videoId, timestamp, watermark, fired)) {
        missed.push("sliding windows");
      }
      if (missed.length > 0) {
        this.#counts.late++;
        ctx.out.messages.push({
          topic: lateTopic(config.topic),
          message: sideMessage(
            record,
            `late beyond allowed lateness of ${lateness} ms for: ${
              missed.join(", ")
            }`,
          ),
        });
      } else {
        this.#counts.out++;
      }
      this.#watermark.observe(timestamp);
      this.#sliding.advance(this.#watermark.current(), fired);
    }
    this.#write(ctx.out.kv, total, hours, days, fired);
  }

  endOfInput(ctx: ProcessContext): void {
    const fired: WindowTopK[] = [];
    this.#sliding.advance(Number.POSITIVE_INFINITY, fired);
    this.#write(ctx.out.kv, new Map(), new Map(), new Map(), fired);
  }

  counts(): Counts {
    return { ...this.#counts };
  }

  snapshot(): Snapshot {
    return {
      watermark: this.#watermark.snapshot(),
      sliding: this.#sliding.snapshot(),
      heavy: this.#heavy?.snapshot() ?? null,
      counts: { ...this.#counts },
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Snapshot;
    this.#watermark = BoundedOutOfOrderness.restore(s.watermark, {
      bound_ms: this.#config.out_of_orderness_ms,
    });
    this.#sliding.restore(s.sliding);
    if (this.#heavy !== null && s.heavy !== null) this.#heavy.restore(s.heavy);
    this.#counts = { ...s.counts };
  }

  /** Turns a batch's aggregated increments into key-value writes, one per key and member. */
  #write(
    kv: KvOp[],
    total: Increments,
    hours: Map<number, Increments>,
    days: Map<number, Increments>,
    fired: WindowTopK[],
  ): void {
    const config = this.#config;
    for (const [videoId, n] of total) {
      kv.push({ op: "incrby", key: countKey(videoId), by: n });
      kv.push({ op: "zincrby", key: "top_videos", member: videoId, by: n });
    }
    this.#leaderboards(kv, hours, "hour", config.hour_ttl_ms);
    this.#leaderboards(kv, days, "day", config.day_ttl_ms);
    for (const window of fired) {
      const key = `top_videos:sliding:${
        this.#bucketName(window.end, "minute")
      }:${this.#partition}`;
      kv.push({ op: "del", key });
      for (const { member, count } of window.top) {
        kv.push({ op: "zadd", key, member, score: count });
      }
      kv.push({ op: "pexpire", key, ms: config.window_ttl_ms });
    }
    if (this.#heavy !== null && total.size > 0) {
      const key = `top_videos:heavy:${this.#partition}`;
      kv.push({ op: "del", key });
      for (const { member, count } of this.#heavy.top(config.top_k)) {
        kv.push({ op: "zadd", key, member, score: count });
      }
    }
  }

  #leaderboards(
    kv: KvOp[],
    buckets: Map<number, Increments>,
    unit: "hour" | "day",
    ttl_ms: number,
  ): void {
    for (const [start, increments] of buckets) {
      const key = `top_videos:${unit}:${this.#bucketName(start, unit)}`;
      for (const [videoId, n] of increments) {
        kv.push({ op: "zincrby", key, member: videoId, by: n });
      }
      kv.push({ op: "pexpire", key, ms: ttl_ms });
    }
  }

  #bucketName(start: number, unit: "hour" | "day" | "minute"): string {
    const names = this.#bucketNames[unit];
    let name = names.get(start);
    if (name === undefined) {
      // Event time moves forward: old names are rarely asked again.
      if (names.size > 4096) names.clear();
      name = formatBucket(start, unit);
      names.set(start, name);
    }
    return name;
  }
}

function add(increments: Increments, member: string, n: number): void {
  increments.set(member, (increments.get(member) ?? 0) + n);
}

function bucket(buckets: Map<number, Increments>, start: number): Increments {
  let increments = buckets.get(start);
  if (increments === undefined) buckets.set(start, increments = new Map());
  return increments;
}
