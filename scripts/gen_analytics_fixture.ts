/**
 * Generates the recorded input of the `analytics` job:
 * `fixtures/analytics/analytics.jsonl.gz`, recorded log records of topic
 * `flink-events` as `POST /track` writes them (keyed by `event_id`). Seeded
 * and deterministic: the same flags write the same bytes.
 *
 * ```sh
 * deno run --allow-write scripts/gen_analytics_fixture.ts [--seed N] [--messages N] [--out FILE]
 * ```
 *
 * See `fixtures/analytics/README.md` for the format, the distributions and
 * the facts the generator prints.
 *
 * @module
 */

import {
  arrivalTimes,
  createRandom,
  partitionOf,
  type RateSegment,
  zipfSampler,
} from "./gen_views_fixture.ts";
import {
  gzipDeterministic,
  sha256Hex,
  writeFixtureFile,
  type WrittenFixture,
} from "./fixture_gen/gzip.ts";
import {
  type GeneratorFlags,
  generatorHelp,
  parseGeneratorFlags,
} from "./fixture_gen/flags.ts";
import {
  exponential,
  oddPositions,
  shuffled,
  uniform,
} from "./fixture_gen/random.ts";
import { iso, tableRows, thousands } from "./fixture_gen/format.ts";
import { UsageError } from "../src/cli/args.ts";

/** Topic `POST /track` writes and the `analytics` job consumes. */
export const ANALYTICS_TOPIC = "flink-events";
/** Default seed of the committed fixture. */
export const DEFAULT_SEED = 20260315;
/** Default line count of the committed fixture (bad records included). */
export const DEFAULT_MESSAGES = 101_000;
/** Where the committed fixture lives. */
export const DEFAULT_OUT = "fixtures/analytics/analytics.jsonl.gz";

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** Why a bad record must go to `flink-events.dead-letter`. */
export const BAD_REASONS = [
  "not-json",
  "not-object",
  "event_id-missing",
  "event_id-empty",
  "event_id-not-string",
  "value-not-number",
  "timestamp-bad",
] as const;

/** One reason a record is bad. */
export type BadReason = typeof BAD_REASONS[number];

/** How a valid event writes its `timestamp`; all are accepted event times. */
export const TIMESTAMP_FORMATS = [
  "iso-millis",
  "epoch-ms",
  "iso-seconds",
  "iso-micros",
  "iso-offset",
] as const;

/** One way of writing `timestamp`. */
export type TimestampFormat = typeof TIMESTAMP_FORMATS[number];

const FORMAT_WEIGHTS: Record<TimestampFormat, number> = {
  "iso-millis": 0.55,
  "epoch-ms": 0.35,
  "iso-seconds": 0.04,
  "iso-micros": 0.03,
  "iso-offset": 0.03,
};

/** What an event id's `value` looks like. */
type ValueKind = "count" | "integer" | "amount" | "refund" | "delta";

/**
 * The event ids and their kind of value. Names mix pages, buttons and
 * measurements; two are not ASCII, so that keys and partitions are computed
 * on UTF-8 bytes.
 */
export const EVENT_CATALOGUE: ReadonlyArray<readonly [string, ValueKind]> = [
  ["page-home", "count"],
  ["page-pricing", "count"],
  ["page-docs", "count"],
  ["page-blog", "count"],
  ["page-about", "count"],
  ["page-careers", "count"],
  ["page-über-uns", "count"],
  ["page-checkout", "count"],
  ["page-search", "count"],
  ["page-not-found", "count"],
  ["btn-signup", "count"],
  ["btn-login", "count"],
  ["btn-buy-now", "count"],
  ["btn-share", "count"],
  ["btn-like", "count"],
  ["btn-subscribe", "count"],
  ["btn-download", "count"],
  ["video-play", "count"],
  ["video-pause", "count"],
  ["video-complete", "count"],
  ["search-submit", "count"],
  ["form-abandon", "count"],
  ["error-js", "count"],
  ["café-menu-view", "count"],
  ["btn-add-to-cart", "integer"],
  ["video-watch-seconds", "integer"],
  ["search-results", "integer"],
  ["cart-items", "integer"],
  ["notifications-unread", "integer"],
  ["order-total", "amount"],
  ["payment-fee", "amount"],
  ["api-latency-ms", "amount"],
  ["order-refund", "refund"],
  ["stock-adjust", "delta"],
  ["score-change", "delta"],
  ["balance-change", "delta"],
];

/** Options of {@linkcode generateAnalytics}. */
export interface AnalyticsOptions {
  /** Seed of every random choice. Default: 20260315. */
  seed?: number;
  /** Lines of the file, bad records included. Default: 101,000. */
  messages?: number;
  /** First possible arrival, epoch ms. Default: 2026-03-15T08:00:00Z. */
  start_ms?: number;
  /** Span of arrival time. Default: 2 h. */
  duration_ms?: number;
  /** Partitions of the topic. Default: 4. */
  partitions?: number;
  /** Zipf exponent of event id popularity. Default: 1.1. */
  id_exponent?: number;
  /** Share of lines that are bad records (at least one per reason). Default: 0.002. */
  bad_fraction?: number;
  /** Share of valid events with extra fields. Default: 0.4. */
  extras_fraction?: number;
  /** Sliding window size the late count is computed for. Default: 30 s. */
  window_size_ms?: number;
  /** Sliding window slide the late count is computed for. Default: 10 s. */
  window_slide_ms?: number;
  /** Out-of-orderness bound of the watermark. Default: 5 s. */
  out_of_orderness_ms?: number;
}

/** One generated line, before it is written. */
interface TrackEvent {
  arrival_ms: number;
  event_ms: number;
  event_id: string;
  /** The value in hundredths; null when the event has no `value` (it counts 1). */
  value_centi: number | null;
  format: TimestampFormat;
  /** For `iso-offset`: the zone offset in minutes. */
  offset_minutes: number;
  /** For `iso-micros`: the three digits after the milliseconds. */
  micros: number;
  extras: Record<string, unknown> | null;
  bad: BadReason | null;
  /** Which of the reason's variants (nth bad record of that reason). */
  bad_variant: number;
}

/** A stretch of arrival time with no arrivals at all. */
export interface QuietPeriod {
  start_ms: number;
  end_ms: number;
}

/** What the generator prints and the README records. */
export interface AnalyticsStats {
  seed: number;
  lines: number;
  partition_lines: number[];
  valid_records: number;
  bad_records: number;
  bad_by_reason: Record<BadReason, number>;
  distinct_ids: number;
  /** Valid events per id, most frequent first. */
  id_counts: Array<[string, number]>;
  values_omitted: number;
  values_integer: number;
  values_fractional: number;
  values_negative: number;
  /** Sum of `value` over valid events, an omitted value counting 1, as a decimal. */
  value_sum: string;
  timestamp_formats: Record<TimestampFormat, number>;
  with_extras: number;
  arrival_ms_first: number;
  arrival_ms_last: number;
  event_ms_min: number;
  event_ms_max: number;
  bursts: number;
  burst_ms_total: number;
  quiet_periods: QuietPeriod[];
  /** Per partition: gaps between consecutive arrivals longer than 60 s. */
  partition_silences_over_1min: number[];
  /** Valid records behind their partition's max event time so far. */
  out_of_order: number;
  /** … by more than the out-of-orderness bound. */
  out_of_order_beyond_bound: number;
  /** Valid records late for every window containing them (go to `.late`). */
  late: number;
  /** Valid records late for some but not all of their windows (not `.late`). */
  partly_late: number;
  /**
   * Valid records late if the watermark were arrival time − bound − 1 ms:
   * an upper bound for an idle advance that never passes the clock − bound.
   */
  late_with_clock_watermark: number;
  /** Distinct (event id, window) pairs that receive at least one record. */
  windows_with_data: number;
}

/** The recorded lines and their statistics. */
export interface GeneratedAnalytics {
  lines: string[];
  stats: AnalyticsStats;
}

/** Generates the recorded `flink-events` records (one JSON line each). */
export function generateAnalytics(
  options: AnalyticsOptions = {},
): GeneratedAnalytics {
  const {
    seed = DEFAULT_SEED,
    messages = DEFAULT_MESSAGES,
    start_ms = Date.UTC(2026, 2, 15, 8),
    duration_ms = 2 * HOUR_MS,
    partitions = 4,
    id_exponent = 1.1,
    bad_fraction = 0.002,
    extras_fraction = 0.4,
    window_size_ms = 30 * SECOND_MS,
    window_slide_ms = 10 * SECOND_MS,
    out_of_orderness_ms = 5 * SECOND_MS,
  } = options;
  requirePositiveInteger("messages", messages);
  requirePositiveInteger("partitions", partitions);
  const random = createRandom(seed);
  const ranked = shuffled([...EVENT_CATALOGUE], random);
  const sampleId = zipfSampler(ranked.length, id_exponent, random);
  const { segments, quiets } = arrivalSchedule(
    start_ms,
    start_ms + duration_ms,
    random,
  );
  const arrivals = arrivalTimes(messages, segments, random);
  // At least one bad record of each reason, even in a small run.
  const badAt = oddPositions(
    messages,
    Math.max(BAD_REASONS.length, Math.round(messages * bad_fraction)),
    BAD_REASONS,
    random,
  );

  const events: TrackEvent[] = new Array(messages);
  for (let i = 0; i < messages; i++) {
    const arrival_ms = arrivals[i]!;
    const [event_id, kind] = ranked[sampleId()]!;
    const format = pickFormat(random);
    let event_ms = arrival_ms - Math.floor(delay(random));
    // A timestamp written without milliseconds is that second's start.
    if (format === "iso-seconds") event_ms -= event_ms % SECOND_MS;
    const bad = badAt.get(i);
    events[i] = {
      arrival_ms,
      event_ms,
      event_id,
      value_centi: value(kind, random),
      format,
      offset_minutes: [120, -300, 330, 0, -210][Math.floor(random() * 5)]!,
      micros: Math.floor(random() * 1000),
      extras: random() < extras_fraction ? extras(random) : null,
      bad: bad?.kind ?? null,
      bad_variant: bad?.variant ?? 0,
    };
  }

  const offsets: number[] = new Array(partitions).fill(0);
  const lines = events.map((event) => {
    // Bad records are keyed as their good version would have been: the job
    // must judge the payload, not the key.
    const partition = partitionOf(event.event_id, partitions);
    return JSON.stringify({
      topic: ANALYTICS_TOPIC,
      partition,
      offset: offsets[partition]!++,
      key: event.event_id,
      value: payload(event),
      timestamp: event.arrival_ms,
    });
  });
  const stats = summarize(events, segments, quiets, {
    seed,
    partitions,
    window_size_ms,
    window_slide_ms,
    out_of_orderness_ms,
  });
  return { lines, stats };
}

/**
 * Arrival-rate segments over [start_ms, end_ms): base-rate stretches
 * (exponential, mean 3 min), each followed by a burst (45 %: 20 s – 2 min at
 * 4–10× the base rate), a quiet period (27 %: no arrivals; alternately
 * 8–50 s and 65 s – 4 min, so both kinds exist), or nothing.
 */
function arrivalSchedule(
  start_ms: number,
  end_ms: number,
  random: () => number,
): { segments: RateSegment[]; quiets: QuietPeriod[] } {
  const segments: RateSegment[] = [];
  const quiets: QuietPeriod[] = [];
  let cursor_ms = start_ms;
  while (cursor_ms < end_ms) {
    const normal_end_ms = Math.min(
      end_ms,
      cursor_ms +
        Math.max(
          20 * SECOND_MS,
          Math.floor(exponential(random) * 3 * MINUTE_MS),
        ),
    );
    segments.push({
      start_ms: cursor_ms,
      end_ms: normal_end_ms,
      rate_multiplier: 1,
    });
    cursor_ms = normal_end_ms;
    if (cursor_ms >= end_ms) break;
    const roll = random();
    if (roll < 0.45) {
      const burst_end_ms = Math.min(
        end_ms,
        cursor_ms + Math.floor(uniform(random, 20 * SECOND_MS, 2 * MINUTE_MS)),
      );
      segments.push({
        start_ms: cursor_ms,
        end_ms: burst_end_ms,
        rate_multiplier: uniform(random, 4, 10),
      });
      cursor_ms = burst_end_ms;
    } else if (roll < 0.72) {
      const length_ms = quiets.length % 2 === 0
        ? uniform(random, 8 * SECOND_MS, 50 * SECOND_MS)
        : uniform(random, 65 * SECOND_MS, 4 * MINUTE_MS);
      const quiet_end_ms = Math.min(end_ms, cursor_ms + Math.floor(length_ms));
      quiets.push({ start_ms: cursor_ms, end_ms: quiet_end_ms });
      cursor_ms = quiet_end_ms;
    }
  }
  return { segments, quiets };
}

/**
 * Arrival minus event time: 92 % 0–2 s, 6.5 % 2–5 s (out of order within the
 * bound), 1 % 5–30 s (some late), 0.5 % 30 s – 10 min (late unless their
 * partition was quiet).
 */
function delay(random: () => number): number {
  const roll = random();
  if (roll < 0.92) return uniform(random, 0, 2 * SECOND_MS);
  if (roll < 0.985) return uniform(random, 2 * SECOND_MS, 5 * SECOND_MS);
  if (roll < 0.995) return uniform(random, 5 * SECOND_MS, 30 * SECOND_MS);
  return uniform(random, 30 * SECOND_MS, 10 * MINUTE_MS);
}

function pickFormat(random: () => number): TimestampFormat {
  let roll = random();
  for (const format of TIMESTAMP_FORMATS) {
    roll -= FORMAT_WEIGHTS[format];
    if (roll < 0) return format;
  }
  return "iso-millis";
}

/** A value in hundredths, or null for none (counts 1). */
function value(kind: ValueKind, random: () => number): number | null {
  switch (kind) {
    case "count":
      return random() < 0.85 ? null : 100;
    case "integer":
      return Math.floor(exponential(random) * 4) * 100;
    case "amount":
      return Math.floor(
        Math.exp(uniform(random, Math.log(50), Math.log(50_000))),
      );
    case "refund":
      return -Math.floor(
        Math.exp(uniform(random, Math.log(100), Math.log(30_000))),
      );
    case "delta":
      return random() < 0.5
        ? (Math.floor(random() * 41) - 20) * 100
        : Math.floor(random() * 10_001) - 5_000;
  }
}

function extras(random: () => number): Record<string, unknown> {
  const user_id = `u-${1 + Math.floor(random() * 5_000)}`;
  switch (Math.floor(random() * 4)) {
    case 0:
      return { user_id };
    case 1:
      return {
        user_id,
        path: ["/pricing?ref=ad", "/docs/start", "/"][Math.floor(random() * 3)],
      };
    case 2:
      return {
        props: {
          plan: random() < 0.7 ? "free" : "pro",
          ab: random() < 0.5 ? "A" : "B",
        },
        tags: random() < 0.5 ? ["beta"] : ["beta", "eu"],
      };
    default:
      return {
        ua: "Mozilla/5.0 (X11; Linux x86_64)",
        country: ["DE", "FR", "US", "JP", "BR"][Math.floor(random() * 5)],
      };
  }
}

/** The event's `timestamp` as its format writes it. */
function timestampField(event: TrackEvent): string | number {
  const iso = new Date(event.event_ms).toISOString();
  switch (event.format) {
    case "epoch-ms":
      return event.event_ms;
    case "iso-millis":
      return iso;
    case "iso-seconds":
      return `${iso.slice(0, 19)}Z`;
    case "iso-micros":
      return `${iso.slice(0, 23)}${String(event.micros).padStart(3, "0")}Z`;
    case "iso-offset": {
      const minutes = event.offset_minutes;
      const local = new Date(event.event_ms + minutes * MINUTE_MS)
        .toISOString().slice(0, 23);
      const sign = minutes < 0 ? "-" : "+";
      const hh = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, "0");
      const mm = String(Math.abs(minutes) % 60).padStart(2, "0");
      return `${local}${sign}${hh}:${mm}`;
    }
  }
}

/** The message JSON of `event`, good or bad. */
function payload(event: TrackEvent): string {
  const timestamp = timestampField(event);
  const value = event.value_centi === null
    ? undefined
    : event.value_centi / 100;
  const good = (fields: Record<string, unknown>) =>
    JSON.stringify({ ...fields, ...event.extras });
  const { event_id } = event;
  const v = event.bad_variant;
  switch (event.bad) {
    case null:
      return good({ event_id, value, timestamp });
    case "not-json":
      return [
        good({ event_id, value, timestamp }).slice(0, 30),
        `event_id=${event_id} value=${value ?? 1} timestamp=${timestamp}`,
        "<html><body>502 Bad Gateway</body></html>",
        "",
        `{"event_id": "${event_id}", value: 3}`,
      ][v % 5]!;
    case "not-object":
      return [
        JSON.stringify([event_id, value ?? 1]),
        JSON.stringify(event_id),
        "42",
        "null",
        "true",
      ][v % 5]!;
    case "event_id-missing":
      return good({ value, timestamp });
    case "event_id-empty":
      return good({ event_id: "", value, timestamp });
    case "event_id-not-string":
      return good({
        event_id: [42, { id: event_id }, [event_id], true][v % 4],
        value,
        timestamp,
      });
    case "value-not-number":
      return good({
        event_id,
        value: ["12.5", "abc", true, { amount: 3 }, [1, 2]][v % 5],
        timestamp,
      });
    case "timestamp-bad":
      return good({
        event_id,
        value,
        timestamp: [
          "yesterday",
          "2026-13-45T99:00:00Z",
          "",
          new Date(event.event_ms).toISOString().replace("T", " "),
          -1,
          true,
          event.event_ms + 0.5,
        ][v % 7],
      });
  }
}

function summarize(
  events: TrackEvent[],
  segments: RateSegment[],
  quiets: QuietPeriod[],
  options: {
    seed: number;
    partitions: number;
    window_size_ms: number;
    window_slide_ms: number;
    out_of_orderness_ms: number;
  },
): AnalyticsStats {
  const { partitions, window_size_ms, window_slide_ms, out_of_orderness_ms } =
    options;
  const bad_by_reason = Object.fromEntries(
    BAD_REASONS.map((reason) => [reason, 0]),
  ) as Record<BadReason, number>;
  const timestamp_formats = Object.fromEntries(
    TIMESTAMP_FORMATS.map((format) => [format, 0]),
  ) as Record<TimestampFormat, number>;
  const partition_lines: number[] = new Array(partitions).fill(0);
  const last_arrival_ms: number[] = new Array(partitions).fill(NaN);
  const silences: number[] = new Array(partitions).fill(0);
  const max_event_ms: number[] = new Array(partitions).fill(-Infinity);
  const id_counts = new Map<string, number>();
  const windows = new Set<string>();
  let bad_records = 0;
  let values_omitted = 0;
  let values_integer = 0;
  let values_fractional = 0;
  let values_negative = 0;
  let value_sum_centi = 0n;
  let with_extras = 0;
  let event_ms_min = Infinity;
  let event_ms_max = -Infinity;
  let out_of_order = 0;
  let out_of_order_beyond_bound = 0;
  let late = 0;
  let partly_late = 0;
  let late_with_clock_watermark = 0;
  for (const event of events) {
    const partition = partitionOf(event.event_id, partitions);
    partition_lines[partition]!++;
    if (event.arrival_ms - last_arrival_ms[partition]! > MINUTE_MS) {
      silences[partition]!++;
    }
    last_arrival_ms[partition] = event.arrival_ms;
    if (event.bad !== null) {
      bad_records++;
      bad_by_reason[event.bad]++;
      continue;
    }
    id_counts.set(event.event_id, (id_counts.get(event.event_id) ?? 0) + 1);
    const centi = event.value_centi;
    if (centi === null) values_omitted++;
    else if (centi % 100 === 0) values_integer++;
    else values_fractional++;
    if (centi !== null && centi < 0) values_negative++;
    value_sum_centi += BigInt(centi ?? 100);
    timestamp_formats[event.format]++;
    if (event.extras !== null) with_extras++;
    const t = event.event_ms;
    event_ms_min = Math.min(event_ms_min, t);
    event_ms_max = Math.max(event_ms_max, t);
    const seen_ms = max_event_ms[partition]!;
    if (seen_ms > t) out_of_order++;
    if (seen_ms - t > out_of_orderness_ms) out_of_order_beyond_bound++;
    // Flink's bounded out-of-orderness after every record (the strictest
    // cadence: a watermark emitted less often makes fewer records late).
    const watermark = seen_ms - out_of_orderness_ms - 1;
    const open = openWindowStarts(
      t,
      watermark,
      window_size_ms,
      window_slide_ms,
    );
    for (const start of open) windows.add(`${event.event_id}\u0000${start}`);
    if (open.length === 0) late++;
    else if (open.length < Math.ceil(window_size_ms / window_slide_ms)) {
      partly_late++;
    }
    const clock_watermark = event.arrival_ms - out_of_orderness_ms - 1;
    if (
      openWindowStarts(
        t,
        Math.max(watermark, clock_watermark),
        window_size_ms,
        window_slide_ms,
      ).length === 0
    ) {
      late_with_clock_watermark++;
    }
    max_event_ms[partition] = Math.max(seen_ms, t);
  }
  const bursts = segments.filter((segment) => segment.rate_multiplier > 1);
  const valid_records = events.length - bad_records;
  const sign = value_sum_centi < 0n ? "-" : "";
  const magnitude = value_sum_centi < 0n ? -value_sum_centi : value_sum_centi;
  return {
    seed: options.seed,
    lines: events.length,
    partition_lines,
    valid_records,
    bad_records,
    bad_by_reason,
    distinct_ids: id_counts.size,
    id_counts: [...id_counts.entries()].sort((a, b) =>
      b[1] - a[1] || (a[0] < b[0] ? -1 : 1)
    ),
    values_omitted,
    values_integer,
    values_fractional,
    values_negative,
    value_sum: `${sign}${magnitude / 100n}.${
      String(magnitude % 100n).padStart(2, "0")
    }`,
    timestamp_formats,
    with_extras,
    arrival_ms_first: events[0]?.arrival_ms ?? 0,
    arrival_ms_last: events[events.length - 1]?.arrival_ms ?? 0,
    event_ms_min,
    event_ms_max,
    bursts: bursts.length,
    burst_ms_total: bursts.reduce((sum, s) => sum + s.end_ms - s.start_ms, 0),
    quiet_periods: quiets,
    partition_silences_over_1min: silences,
    out_of_order,
    out_of_order_beyond_bound,
    late,
    partly_late,
    late_with_clock_watermark,
    windows_with_data: windows.size,
  };
}

/**
 * Starts of the epoch-aligned sliding windows (`size_ms` every `slide_ms`)
 * containing `event_ms` that still take records at `watermark`: Flink's
 * `isWindowLate` with allowed lateness 0, `end − 1 ≤ watermark`, closes the
 * others. An empty list means the record is late.
 */
export function openWindowStarts(
  event_ms: number,
  watermark: number,
  size_ms: number,
  slide_ms: number,
): number[] {
  const starts: number[] = [];
  const last_start = event_ms - mod(event_ms, slide_ms);
  for (let start = last_start; start > event_ms - size_ms; start -= slide_ms) {
    if (start + size_ms - 1 > watermark) starts.push(start);
  }
  return starts.reverse();
}

/** Renders `stats` as the lines the generator prints. */
export function formatAnalyticsStats(stats: AnalyticsStats): string {
  const seconds = (ms: number) => `${(ms / SECOND_MS).toFixed(1)} s`;
  const quiets = stats.quiet_periods;
  const longest = quiets.reduce(
    (max, q) => Math.max(max, q.end_ms - q.start_ms),
    0,
  );
  const rows = [
    `seed                       ${stats.seed}`,
    `lines                      ${stats.lines}`,
    `lines per partition        ${stats.partition_lines.join(" / ")}`,
    `valid records              ${stats.valid_records}`,
    `bad records                ${stats.bad_records}`,
    ...BAD_REASONS.map((reason) =>
      `  ${reason.padEnd(24)} ${stats.bad_by_reason[reason]}`
    ),
    `distinct event ids         ${stats.distinct_ids}`,
    `top ids                    ${
      stats.id_counts.slice(0, 5).map(([id, n]) => `${id}=${n}`).join(" ")
    }`,
    `rarest ids                 ${
      stats.id_counts.slice(-3).map(([id, n]) => `${id}=${n}`).join(" ")
    }`,
    `values omitted (count 1)   ${stats.values_omitted}`,
    `values integer             ${stats.values_integer}`,
    `values fractional          ${stats.values_fractional}`,
    `values negative            ${stats.values_negative}`,
    `sum of values              ${stats.value_sum}`,
    `timestamp formats          ${
      TIMESTAMP_FORMATS.map((f) => `${f}=${stats.timestamp_formats[f]}`).join(
        " ",
      )
    }`,
    `with extra fields          ${stats.with_extras}`,
    `arrival time span          ${iso(stats.arrival_ms_first)} .. ${
      iso(stats.arrival_ms_last)
    }`,
    `event time span            ${iso(stats.event_ms_min)} .. ${
      iso(stats.event_ms_max)
    }`,
    `bursts                     ${stats.bursts} (${
      (stats.burst_ms_total / MINUTE_MS).toFixed(1)
    } min in total)`,
    `quiet periods              ${quiets.length}, ${
      quiets.filter((q) => q.end_ms - q.start_ms > MINUTE_MS).length
    } over 1 min, longest ${seconds(longest)}`,
    ...quiets.map((q) =>
      `  ${iso(q.start_ms)} .. ${iso(q.end_ms)} (${
        seconds(q.end_ms - q.start_ms)
      })`
    ),
    `partition silences > 1 min ${
      stats.partition_silences_over_1min.join(" / ")
    }`,
    `out of order               ${stats.out_of_order}`,
    `  beyond the 5 s bound     ${stats.out_of_order_beyond_bound}`,
    `late (every window)        ${stats.late}`,
    `late for some windows only ${stats.partly_late}`,
    `late, clock watermark      ${stats.late_with_clock_watermark}`,
    `windows with data          ${stats.windows_with_data}`,
  ];
  return rows.join("\n");
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot generate the analytics fixture as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
}

/** Defaults of the command line: the committed fixture. */
export const DEFAULTS = {
  seed: DEFAULT_SEED,
  messages: DEFAULT_MESSAGES,
  out: DEFAULT_OUT,
} as const;

/** Flags of the small run whose SHA-256 the README pins to notice a changed generator. */
export const CHECK_RUN = { seed: 1, messages: 3_000 } as const;

/** SHA-256 of the gzipped check run ({@linkcode CHECK_RUN}). */
export async function checkRunSha256(): Promise<string> {
  const { lines } = generateAnalytics(CHECK_RUN);
  const text = new TextEncoder().encode(lines.join("\n") + "\n");
  return await sha256Hex(gzipDeterministic(text));
}

const USAGE =
  "deno run --allow-read --allow-write scripts/gen_analytics_fixture.ts";

const BAD_EXAMPLES: Record<BadReason, string> = {
  "not-json":
    'the first 30 characters of a good event; `event_id=… value=… timestamp=…`; `<html><body>502 Bad Gateway</body></html>`; the empty string; `{"event_id": "…", value: 3}`',
  "not-object": '`["btn-like",1]`, `"btn-like"`, `42`, `null`, `true`',
  "event_id-missing": "a good event without `event_id`",
  "event_id-empty": '`"event_id":""`',
  "event_id-not-string": '`"event_id":42`, `{"id":"…"}`, `["…"]` or `true`',
  "value-not-number":
    '`"value":"12.5"`, `"abc"`, `true`, `{"amount":3}` or `[1,2]`',
  "timestamp-bad":
    '`"yesterday"`, `"2026-13-45T99:00:00Z"`, `""`, `"2026-03-15 08:01:02.345Z"` (a space), `-1`, `true`, or a fractional epoch `1773562897227.5`',
};

/** The summary table's rows. */
function statRows(stats: AnalyticsStats): Array<[string, string]> {
  const quiets = stats.quiet_periods;
  const longest = quiets.reduce(
    (max, q) => Math.max(max, q.end_ms - q.start_ms),
    0,
  );
  const ids = (entries: Array<[string, number]>) =>
    entries.map(([id, n]) => `\`${id}\` ${thousands(n)}`).join("; ");
  return [
    ["lines", thousands(stats.lines)],
    [
      "lines per partition 0 / 1 / 2 / 3",
      stats.partition_lines.map(thousands).join(" / "),
    ],
    ["valid events", thousands(stats.valid_records)],
    [
      "bad records",
      `${thousands(stats.bad_records)}: ${
        BAD_REASONS.map((r) => `\`${r}\` ${stats.bad_by_reason[r]}`).join(", ")
      }`,
    ],
    ["distinct event ids", String(stats.distinct_ids)],
    ["most frequent", ids(stats.id_counts.slice(0, 5))],
    ["least frequent", ids(stats.id_counts.slice(-3))],
    [
      "values",
      `omitted (count 1) ${thousands(stats.values_omitted)}; integer ${
        thousands(stats.values_integer)
      }; fractional ${thousands(stats.values_fractional)}; negative ${
        thousands(stats.values_negative)
      }`,
    ],
    ["sum of values (omitted = 1)", stats.value_sum],
    [
      "timestamp forms",
      TIMESTAMP_FORMATS.map((f) =>
        `${f} ${thousands(stats.timestamp_formats[f])}`
      ).join("; "),
    ],
    ["with extra fields", thousands(stats.with_extras)],
    [
      "arrival time span",
      `${iso(stats.arrival_ms_first)} .. ${iso(stats.arrival_ms_last)}`,
    ],
    [
      "event time span",
      `${iso(stats.event_ms_min)} .. ${iso(stats.event_ms_max)}`,
    ],
    [
      "bursts",
      `${stats.bursts} (${
        (stats.burst_ms_total / MINUTE_MS).toFixed(1)
      } min in total)`,
    ],
    [
      "quiet periods (no arrivals)",
      `${quiets.length}, of which ${
        quiets.filter((q) => q.end_ms - q.start_ms > MINUTE_MS).length
      } over 1 min; the longest ${(longest / SECOND_MS).toFixed(1)} s`,
    ],
    [
      "silences over 1 min per partition",
      stats.partition_silences_over_1min.join(" / "),
    ],
    [
      "out of order (behind the partition's max so far)",
      thousands(stats.out_of_order),
    ],
    ["… more than 5 s behind", thousands(stats.out_of_order_beyond_bound)],
    ["**late** (every window late)", `**${thousands(stats.late)}**`],
    [
      "late for some windows only (counted in the open ones)",
      thousands(stats.partly_late),
    ],
    [
      "late with a clock watermark (upper bound with an idle advance)",
      thousands(stats.late_with_clock_watermark),
    ],
    [
      "(event id, window) pairs with at least one record",
      thousands(stats.windows_with_data),
    ],
  ];
}

/** The README of a fixture written with `flags`. */
export function readme(
  stats: AnalyticsStats,
  written: WrittenFixture,
  flags: Pick<GeneratorFlags, "seed" | "messages" | "out">,
  example: string,
  check_sha256: string,
): string {
  const file = flags.out.slice(flags.out.lastIndexOf("/") + 1);
  const badRows = BAD_REASONS.map((reason) =>
    `| \`${reason}\` | ${BAD_EXAMPLES[reason]} | ${
      stats.bad_by_reason[reason]
    } |`
  ).join("\n");
  const quiets = stats.quiet_periods.map((q) =>
    `${iso(q.start_ms)} .. ${iso(q.end_ms).slice(11)} (${
      ((q.end_ms - q.start_ms) / SECOND_MS).toFixed(1)
    } s)`
  ).join("\n");
  return `# \`analytics\` fixture

Recorded input of the \`analytics\` job (issue 10): topic \`${ANALYTICS_TOPIC}\`,
as \`POST /track\` writes it (keyed by \`event_id\`), written by
\`scripts/gen_analytics_fixture.ts\`. Generated, README included: do not edit
by hand, regenerate.

| file | lines | format |
|---|---|---|
| \`${file}\` | ${
    thousands(stats.lines)
  } | recorded log records, one JSON line each, arrival order, gzipped |

## Regenerate

\`\`\`sh
${USAGE}
${USAGE} --seed 7 --messages 5000 --out /tmp/analytics.jsonl.gz
\`\`\`

| flag | default | meaning |
|---|---|---|
| \`--seed N\` | \`${DEFAULT_SEED}\` | seed of every random choice |
| \`--messages N\` | \`${DEFAULT_MESSAGES}\` | lines, bad ones included |
| \`--out FILE\` | \`${DEFAULT_OUT}\` | fixture file; gzipped when it ends in \`.gz\` |
| \`--readme FILE\` | this README when \`--out\` is left alone | README to write |

The output is a pure function of the flags: two runs give identical bytes.
Gzip is written by fflate (pinned in \`deno.json\`) at level 9 with a zero time
in its header, so the compressed bytes do not depend on the Deno version
either; the readers gunzip any file that starts with the gzip magic bytes.

This file (seed ${flags.seed}, ${thousands(flags.messages)} messages):

| | bytes | SHA-256 |
|---|---|---|
| \`${file}\` | ${thousands(written.bytes)} | \`${written.sha256}\` |
| its JSON Lines text (gunzipped) | ${
    thousands(written.text_bytes)
  } | \`${written.text_sha256}\` |

\`\`\`
${written.sha256}  ${file}
${check_sha256}  check run --seed ${CHECK_RUN.seed} --messages ${CHECK_RUN.messages}
\`\`\`

The check run is small: its unit test regenerates it in a moment, so a changed
generator is noticed even though regenerating this file takes longer.

## Line format

Each line is one \`LogRecord\` (\`src/ports.ts\`) as compact JSON, fields in
this order, as in \`fixtures/views/README.md\`:

\`\`\`json
${example}
\`\`\`

- \`key\`: the event's \`event_id\`. Bad records are keyed as their good
  version would have been: the job must judge the payload, never the key.
- \`partition\`: FNV-1a 32-bit of the key's UTF-8 bytes mod 4 (the rule and
  test vectors are in \`fixtures/views/README.md\`); two ids are not ASCII
  (\`page-über-uns\`, \`café-menu-view\`).
- \`offset\`: 0, 1, 2, ... per partition in line order; \`timestamp\`: arrival
  time, epoch ms, non-decreasing over the file (partitions interleaved).
- \`value\`: the event as \`POST /track\` stores it, a JSON string, e.g.

\`\`\`json
{"event_id":"order-total","value":16.29,"timestamp":"2026-03-15T07:59:59.398Z","props":{"plan":"free","ab":"B"},"tags":["beta","eu"]}
{"event_id":"café-menu-view","timestamp":"2026-03-15T08:00:02.847821Z"}
{"event_id":"btn-add-to-cart","value":11,"timestamp":"2026-03-15T03:00:00.107-05:00"}
\`\`\`

Payload fields:

- \`event_id\`: one of ${EVENT_CATALOGUE.length} ids (pages, buttons, measurements).
- \`value\`: a number, or absent (the event counts 1). Counters (\`page-*\`,
  most \`btn-*\`, \`video-play\`, ...) omit it 85% of the time and send \`1\`
  otherwise; \`btn-add-to-cart\`, \`video-watch-seconds\`, \`search-results\`,
  \`cart-items\`, \`notifications-unread\` send integers ≥ 0 (\`0\` included);
  \`order-total\`, \`payment-fee\`, \`api-latency-ms\` send amounts 0.50–500.00;
  \`order-refund\` sends −1.00 … −300.00; \`stock-adjust\`, \`score-change\`,
  \`balance-change\` send integers −20…20 or amounts −50.00…50.00. No value has
  more than two decimals, so exact sums are decimals (a job summing doubles
  sees the usual rounding).
- \`timestamp\`: the event time in one of five forms, all accepted by
  \`parseEventTime\` (\`src/core/time.ts\`): \`iso-millis\`
  \`2026-03-15T08:00:00.132Z\` (55%); \`epoch-ms\`, a JSON number (35%);
  \`iso-seconds\` \`2026-03-15T07:59:59Z\` (4%; the event time is that
  second); \`iso-micros\` \`…:02.847821Z\` (3%; truncated to the millisecond);
  \`iso-offset\` with \`+02:00\`, \`-05:00\`, \`+05:30\`, \`+00:00\` or \`-03:30\`
  and milliseconds (3%).
- Extra fields on 40% of events, to be kept: \`user_id\`; \`user_id\` and
  \`path\`; \`props\` (an object) and \`tags\` (an array); or \`ua\` and
  \`country\`.

## Distributions

All drawn from one sfc32 generator seeded through splitmix32 (the views
generator's \`createRandom\`).

- **Arrivals**: 2026-03-15T08:00:00Z to 10:00:00Z (2 h). Base-rate stretches
  (exponential, mean 3 min, at least 20 s), each followed by a burst (45%:
  20 s – 2 min at 4–10 times the base rate), a quiet period (27%: nothing
  arrives on any partition; alternately 8–50 s and 65 s – 4 min, so the idle
  advance matters), or nothing. A Poisson process over that rate,
  conditioned on exactly \`--messages\` arrivals.
- **Event ids**: Zipf popularity with exponent 1.1 over the ids in a seeded
  order.
- **Event time** = arrival − delay: 0–2 s (92%); 2–5 s (6.5%, out of order
  within the bound); 5–30 s (1%, late only when far enough behind their
  partition); 30 s – 10 min (0.5%, late unless their partition was quiet).
- **Bad records**: 0.2% of lines at seeded positions, reasons round-robin and
  each reason's variants in turn; every bad record has exactly one fault.
  Nothing else is bad: events without \`value\`, \`"value":0\`, negative values
  and extra fields are valid. No record lacks \`timestamp\` (\`POST /track\`
  fills it in).

| reason | payload (the \`value\` string) | lines |
|---|---|---|
${badRows}

## Lateness

For the job's defaults (sliding windows of 30 s every 10 s aligned to the
epoch, out-of-orderness 5 s, allowed lateness 0), over valid events, per
partition in line order:

- a partition's watermark is \`max event time so far − 5 s − 1 ms\`, updated
  after every record (Flink's bounded out-of-orderness; a watermark emitted
  less often makes fewer records late);
- a window \`[start, end)\` is late when \`end − 1 ≤ watermark\` (Flink's
  \`isWindowLate\`); an event joins each of its three windows that is not
  late;
- an event is **late** (to \`${ANALYTICS_TOPIC}.late\`) when all its windows
  are, i.e. when its last window \`[⌊t / 10 s⌋·10 s, +30 s)\` is.

The idle advance only moves watermarks further, so it can only make more
events late, and only events that arrive after their partition was quiet. If
it never moves a watermark past \`arrival time − 5 s − 1 ms\` (a replay's
clock is the arrival time), at most the "clock watermark" count below is
late.

## Summary (seed ${flags.seed}, ${thousands(flags.messages)} messages)

| statistic | value |
|---|---|
${tableRows(statRows(stats))}

Quiet periods:

\`\`\`
${quiets}
\`\`\`
`;
}

/**
 * Runs the generator with command-line `args`: writes the fixture (and the
 * README) and returns what it prints.
 */
export async function main(args: readonly string[]): Promise<string> {
  const flags = parseGeneratorFlags(args, DEFAULTS);
  if (flags.help) {
    return generatorHelp(
      USAGE,
      "Generates the recorded input of the analytics job (see fixtures/analytics/README.md).",
      DEFAULTS,
    );
  }
  const { lines, stats } = generateAnalytics({
    seed: flags.seed,
    messages: flags.messages,
  });
  const written = await writeFixtureFile(flags.out, lines);
  const printed = [
    `wrote ${flags.out} (${
      thousands(written.bytes)
    } bytes, sha256 ${written.sha256})`,
  ];
  if (flags.readme !== null) {
    await Deno.writeTextFile(
      flags.readme,
      readme(stats, written, flags, lines[0]!, await checkRunSha256()),
    );
    printed.push(`wrote ${flags.readme}`);
  }
  printed.push(formatAnalyticsStats(stats));
  return printed.join("\n");
}

if (import.meta.main) {
  try {
    console.log(await main(Deno.args));
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof RangeError)) {
      throw error;
    }
    console.error(error.message);
    Deno.exit(2);
  }
}
