/**
 * Generates the recorded input of the `views` job: `fixtures/views/views.jsonl`
 * (recorded log records of topic `video-views`) and
 * `fixtures/views/sample-raw.jsonl` (raw message payloads). Seeded and
 * deterministic: the same flags write the same bytes.
 *
 * ```sh
 * deno run --allow-write scripts/gen_views_fixture.ts [--seed N] [--messages N] [--out FILE]
 *   [--raw-out FILE] [--raw-messages N] [--help]
 * ```
 *
 * See `fixtures/views/README.md` for the formats and the distributions.
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  parseArgs,
  UsageError,
} from "../src/cli/args.ts";

/** Topic the `views` job consumes. */
export const VIEWS_TOPIC = "video-views";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Kinds of odd payloads; the first seven are bad records the job must reject. */
export const ODD_KINDS = [
  "value-not-json",
  "value-blank",
  "videoId-missing",
  "videoId-empty",
  "videoId-not-string",
  "timestamp-missing",
  "timestamp-unparsable",
  "timestamp-epoch-ms",
  "value-whitespace",
  "key-whitespace",
] as const;

/** One kind of odd payload. */
export type OddKind = typeof ODD_KINDS[number];

/** Odd kinds whose payload is still a valid view (the job must count it). */
export const VALID_ODD_KINDS: ReadonlySet<OddKind> = new Set<OddKind>([
  "timestamp-epoch-ms",
  "value-whitespace",
  "key-whitespace",
]);

/** FNV-1a 32-bit hash of the UTF-8 bytes of `text`, as a non-negative integer. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Partition of a record key: FNV-1a 32-bit of its UTF-8 bytes, mod `partitions`. */
export function partitionOf(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(
      `Cannot choose a partition as 'partitions' must be a positive integer: current value is ${partitions}`,
    );
  }
  return fnv1a32(key) % partitions;
}

/**
 * A seeded generator of floats in [0, 1): sfc32, its 128-bit state filled by
 * splitmix32 from `seed`, so that nearby seeds give unrelated streams.
 */
export function createRandom(seed: number): () => number {
  let mix = seed >>> 0;
  const splitmix32 = (): number => {
    mix = (mix + 0x9e3779b9) >>> 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = splitmix32();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  // Warm-up: the first outputs of sfc32 still show the seed's structure.
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** A sampler of ranks 0..n-1 with P(rank k) proportional to (k + 1)^-exponent. */
export function zipfSampler(
  n: number,
  exponent: number,
  random: () => number,
): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += Math.pow(k + 1, -exponent);
    cdf[k] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (cdf[mid]! <= target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

/** A stretch of arrival time whose rate is `rate_multiplier` times the base rate. */
export interface RateSegment {
  start_ms: number;
  end_ms: number;
  rate_multiplier: number;
}

/** Splits [start_ms, end_ms) into base-rate stretches and bursts. */
export function burstSchedule(
  start_ms: number,
  end_ms: number,
  random: () => number,
  options: BurstOptions = {},
): RateSegment[] {
  const {
    gap_ms_mean = 25 * MINUTE_MS,
    length_ms_min = 2 * MINUTE_MS,
    length_ms_max = 6 * MINUTE_MS,
    multiplier_min = 3,
    multiplier_max = 6,
  } = options;
  const segments: RateSegment[] = [];
  let cursor_ms = start_ms;
  for (;;) {
    const burst_start_ms = Math.floor(
      cursor_ms + exponential(random) * gap_ms_mean,
    );
    if (burst_start_ms >= end_ms) break;
    const burst_end_ms = Math.min(
      end_ms,
      burst_start_ms +
        Math.floor(uniform(random, length_ms_min, length_ms_max)),
    );
    if (burst_start_ms > cursor_ms) {
      segments.push({
        start_ms: cursor_ms,
        end_ms: burst_start_ms,
        rate_multiplier: 1,
      });
    }
    segments.push({
      start_ms: burst_start_ms,
      end_ms: burst_end_ms,
      rate_multiplier: uniform(random, multiplier_min, multiplier_max),
    });
    cursor_ms = burst_end_ms;
  }
  if (cursor_ms < end_ms) {
    segments.push({ start_ms: cursor_ms, end_ms, rate_multiplier: 1 });
  }
  return segments;
}

/** Options of {@linkcode burstSchedule}. */
export interface BurstOptions {
  /** Mean quiet time before a burst starts (exponential). Default: 25 min. */
  gap_ms_mean?: number;
  /** Shortest burst. Default: 2 min. */
  length_ms_min?: number;
  /** Longest burst. Default: 6 min. */
  length_ms_max?: number;
  /** Lowest burst rate, as a multiple of the base rate. Default: 3. */
  multiplier_min?: number;
  /** Highest burst rate, as a multiple of the base rate. Default: 6. */
  multiplier_max?: number;
}

/**
 * Exactly `count` arrival times (epoch ms, non-decreasing) of a Poisson process
 * whose rate follows `segments`. Conditioning on the count makes the arrivals
 * order statistics of the cumulative rate, so the span is always filled.
 */
export function arrivalTimes(
  count: number,
  segments: RateSegment[],
  random: () => number,
): number[] {
  const cumulative: number[] = [];
  let total = 0;
  for (const segment of segments) {
    cumulative.push(total);
    total += (segment.end_ms - segment.start_ms) * segment.rate_multiplier;
  }
  const gaps = new Float64Array(count + 1);
  let gap_sum = 0;
  for (let i = 0; i <= count; i++) {
    gaps[i] = exponential(random);
    gap_sum += gaps[i]!;
  }
  const arrivals: number[] = new Array(count);
  let running = 0;
  let index = 0;
  for (let i = 0; i < count; i++) {
    running += gaps[i]!;
    const mass = (running / gap_sum) * total;
    while (
      index + 1 < segments.length && cumulative[index + 1]! <= mass
    ) index++;
    const segment = segments[index]!;
    const time_ms = segment.start_ms +
      (mass - cumulative[index]!) / segment.rate_multiplier;
    arrivals[i] = Math.min(segment.end_ms - 1, Math.floor(time_ms));
  }
  return arrivals;
}

/** One generated view, before it is written in either format. */
interface View {
  arrival_ms: number;
  event_ms: number;
  userId: string;
  videoId: string;
  odd: OddKind | null;
  /** Which of the kind's variants (nth record of that kind). */
  odd_variant: number;
}

/** What the generator prints and the README records. */
export interface FixtureStats {
  seed: number;
  lines: number;
  partition_lines: number[];
  distinct_videos: number;
  distinct_users: number;
  arrival_ms_first: number;
  arrival_ms_last: number;
  event_ms_min: number;
  event_ms_max: number;
  bursts: number;
  burst_ms_total: number;
  odd_by_kind: Record<OddKind, number>;
  bad_records: number;
  valid_records: number;
  /** Valid records whose event time is below the partition's max so far. */
  out_of_order: number;
  out_of_order_beyond_3s: number;
  out_of_order_beyond_30s: number;
  /**
   * Valid records that arrive after their hourly window closed for a 5 min
   * allowed lateness, by out-of-orderness bound (ms).
   */
  late_beyond_5min_by_bound_ms: Record<string, number>;
  arrival_beyond_1day: number;
  top_videos: Array<[string, number]>;
}

/** The recorded records, the raw sample and their statistics. */
export interface GeneratedFixture {
  lines: string[];
  stats: FixtureStats;
}

/** Generates the recorded `video-views` records (one JSON line each). */
export function generateViews(options: GenerateOptions = {}): GeneratedFixture {
  const {
    seed = DEFAULT_SEED,
    messages = DEFAULT_MESSAGES,
    start_ms = Date.UTC(2026, 2, 14, 6),
    duration_ms = 6 * HOUR_MS,
    partitions = 4,
    videos = 20_000,
    video_exponent = 1.1,
    users = 30_000,
    odd_fraction = 0.0005,
    odd_kinds = ODD_KINDS,
    late_fraction = 0.002,
    day_late_count = 5,
    unordered_fraction = 0.02,
  } = options;
  requirePositiveInteger("messages", messages);
  requirePositiveInteger("partitions", partitions);
  const random = createRandom(seed);
  const videoIds = shuffled(
    Array.from({ length: videos }, (_, i) => videoId(i + 1)),
    random,
  );
  const sampleVideo = zipfSampler(videos, video_exponent, random);
  const segments = burstSchedule(start_ms, start_ms + duration_ms, random);
  const arrivals = arrivalTimes(messages, segments, random);
  const oddAt = pickOddPositions(
    messages,
    Math.round(messages * odd_fraction),
    odd_kinds,
    random,
  );
  const dayLateAt = new Set(distinctIndices(messages, day_late_count, random));

  const views: View[] = new Array(messages);
  for (let i = 0; i < messages; i++) {
    const arrival_ms = arrivals[i]!;
    const roll = random();
    let event_ms: number;
    if (dayLateAt.has(i)) {
      event_ms = arrival_ms -
        Math.floor(uniform(random, DAY_MS + HOUR_MS, 2 * DAY_MS));
    } else if (roll < late_fraction) {
      event_ms = lateEventTime(arrival_ms, random);
    } else if (roll < late_fraction + unordered_fraction) {
      event_ms = arrival_ms - Math.floor(uniform(random, 3_000, 30_000));
    } else {
      event_ms = arrival_ms - Math.floor(uniform(random, 0, 3_000));
    }
    views[i] = {
      arrival_ms,
      event_ms,
      userId: `u-${1 + Math.floor(random() * users)}`,
      videoId: videoIds[sampleVideo()]!,
      odd: oddAt.get(i)?.kind ?? null,
      odd_variant: oddAt.get(i)?.variant ?? 0,
    };
  }

  const offsets: number[] = new Array(partitions).fill(0);
  const lines = views.map((view) => {
    const key = view.odd === "key-whitespace"
      ? ` ${view.videoId} `
      : view.videoId;
    const partition = partitionOf(key, partitions);
    return JSON.stringify({
      topic: VIEWS_TOPIC,
      partition,
      offset: offsets[partition]!++,
      key,
      value: payload(view),
      timestamp: view.arrival_ms,
    });
  });
  const stats = summarize(views, segments, { seed, partitions });
  return { lines, stats };
}

/** Generates raw payload lines (the message JSON alone), as a producer sends them. */
export function generateRawSample(options: GenerateOptions = {}): string[] {
  const raw_kinds = ODD_KINDS.filter((kind) =>
    kind !== "key-whitespace" && kind !== "value-blank"
  );
  const fixture = generateViews({
    duration_ms: 15 * MINUTE_MS,
    odd_fraction: 0.01,
    day_late_count: 1,
    ...options,
    odd_kinds: raw_kinds,
  });
  return fixture.lines.map((line) => JSON.parse(line).value as string);
}

/** Options of {@linkcode generateViews}. */
export interface GenerateOptions {
  /** Seed of every random choice. Default: 20260314. */
  seed?: number;
  /** Number of records (lines), odd ones included. Default: 201,000. */
  messages?: number;
  /** First arrival time, epoch ms. Default: 2026-03-14T06:00:00Z. */
  start_ms?: number;
  /** Span of arrival time. Default: 6 h. */
  duration_ms?: number;
  /** Partitions of the topic. Default: 4. */
  partitions?: number;
  /** Distinct videos. Default: 20,000. */
  videos?: number;
  /** Zipf exponent of video popularity. Default: 1.1. */
  video_exponent?: number;
  /** Distinct users (uniform). Default: 30,000. */
  users?: number;
  /** Share of records with an odd payload. Default: 0.0005. */
  odd_fraction?: number;
  /** Odd kinds to use, spread evenly. Default: all of {@linkcode ODD_KINDS}. */
  odd_kinds?: readonly OddKind[];
  /** Share of records late by 10 min to 2 h of event time. Default: 0.002. */
  late_fraction?: number;
  /** Records arriving more than a day after their event time. Default: 5. */
  day_late_count?: number;
  /** Share of records 3–30 s behind their arrival. Default: 0.02. */
  unordered_fraction?: number;
}

/** Default seed of the committed fixture. */
export const DEFAULT_SEED = 20260314;
/** Default record count of the committed fixture. */
export const DEFAULT_MESSAGES = 201_000;

/** Renders `stats` as the lines the generator prints. */
export function formatStats(stats: FixtureStats): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const rows: string[] = [
    `seed                       ${stats.seed}`,
    `lines                      ${stats.lines}`,
    `lines per partition        ${stats.partition_lines.join(" / ")}`,
    `distinct videos            ${stats.distinct_videos}`,
    `distinct users             ${stats.distinct_users}`,
    `arrival time span          ${iso(stats.arrival_ms_first)} .. ${
      iso(stats.arrival_ms_last)
    }`,
    `event time span            ${iso(stats.event_ms_min)} .. ${
      iso(stats.event_ms_max)
    }`,
    `bursts                     ${stats.bursts} (${
      (stats.burst_ms_total / MINUTE_MS).toFixed(1)
    } min in total)`,
    `valid records              ${stats.valid_records}`,
    `bad records                ${stats.bad_records}`,
  ];
  for (const kind of ODD_KINDS) {
    const note = VALID_ODD_KINDS.has(kind) ? "valid" : "bad";
    rows.push(
      `  ${kind.padEnd(24)} ${stats.odd_by_kind[kind]} (${note})`,
    );
  }
  rows.push(
    `out of order               ${stats.out_of_order}`,
    `  more than 3 s behind     ${stats.out_of_order_beyond_3s}`,
    `  more than 30 s behind    ${stats.out_of_order_beyond_30s}`,
    `late beyond 5 min (hourly windows), by out-of-orderness bound:`,
  );
  for (
    const [bound_ms, count] of Object.entries(
      stats.late_beyond_5min_by_bound_ms,
    )
  ) {
    rows.push(`  bound ${bound_ms.padStart(5)} ms          ${count}`);
  }
  rows.push(
    `arriving > 1 day late      ${stats.arrival_beyond_1day}`,
    `top videos                 ${
      stats.top_videos.map(([id, n]) => `${id}=${n}`).join(" ")
    }`,
  );
  return rows.join("\n");
}

function summarize(
  views: View[],
  segments: RateSegment[],
  options: { seed: number; partitions: number },
): FixtureStats {
  const bounds_ms = [0, 5_000, 30_000];
  const lateness_ms = 5 * MINUTE_MS;
  const odd_by_kind = Object.fromEntries(
    ODD_KINDS.map((kind) => [kind, 0]),
  ) as Record<OddKind, number>;
  const partition_lines: number[] = new Array(options.partitions).fill(0);
  const max_event_ms: number[] = new Array(options.partitions).fill(-Infinity);
  const late_by_bound = bounds_ms.map(() => 0);
  const video_counts = new Map<string, number>();
  const user_set = new Set<string>();
  let bad_records = 0;
  let out_of_order = 0;
  let out_of_order_beyond_3s = 0;
  let out_of_order_beyond_30s = 0;
  let arrival_beyond_1day = 0;
  let event_ms_min = Infinity;
  let event_ms_max = -Infinity;
  for (const view of views) {
    const key = view.odd === "key-whitespace"
      ? ` ${view.videoId} `
      : view.videoId;
    const partition = partitionOf(key, options.partitions);
    partition_lines[partition]!++;
    if (view.odd !== null) odd_by_kind[view.odd]++;
    if (view.odd !== null && !VALID_ODD_KINDS.has(view.odd)) {
      bad_records++;
      continue;
    }
    video_counts.set(view.videoId, (video_counts.get(view.videoId) ?? 0) + 1);
    user_set.add(view.userId);
    event_ms_min = Math.min(event_ms_min, view.event_ms);
    event_ms_max = Math.max(event_ms_max, view.event_ms);
    if (view.arrival_ms - view.event_ms > DAY_MS) arrival_beyond_1day++;
    const seen_ms = max_event_ms[partition]!;
    const behind_ms = seen_ms - view.event_ms;
    if (behind_ms > 0) out_of_order++;
    if (behind_ms > 3_000) out_of_order_beyond_3s++;
    if (behind_ms > 30_000) out_of_order_beyond_30s++;
    const window_end_ms = Math.floor(view.event_ms / HOUR_MS) * HOUR_MS +
      HOUR_MS;
    // Flink drops a record once watermark >= window_end - 1 + lateness, with
    // watermark = max - bound - 1.
    bounds_ms.forEach((bound_ms, i) => {
      if (seen_ms >= window_end_ms + lateness_ms + bound_ms) {
        late_by_bound[i]!++;
      }
    });
    max_event_ms[partition] = Math.max(seen_ms, view.event_ms);
  }
  const bursts = segments.filter((segment) => segment.rate_multiplier > 1);
  const top_videos = [...video_counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5);
  return {
    seed: options.seed,
    lines: views.length,
    partition_lines,
    distinct_videos: video_counts.size,
    distinct_users: user_set.size,
    arrival_ms_first: views[0]?.arrival_ms ?? 0,
    arrival_ms_last: views[views.length - 1]?.arrival_ms ?? 0,
    event_ms_min,
    event_ms_max,
    bursts: bursts.length,
    burst_ms_total: bursts.reduce((sum, s) => sum + s.end_ms - s.start_ms, 0),
    odd_by_kind,
    bad_records,
    valid_records: views.length - bad_records,
    out_of_order,
    out_of_order_beyond_3s,
    out_of_order_beyond_30s,
    late_beyond_5min_by_bound_ms: Object.fromEntries(
      bounds_ms.map((bound_ms, i) => [String(bound_ms), late_by_bound[i]!]),
    ),
    arrival_beyond_1day,
    top_videos,
  };
}

/**
 * An event time 10 min to 2 h before arrival whose hourly window ended at least
 * 6 min before arrival, so that a 5 min allowed lateness cannot save it.
 */
function lateEventTime(arrival_ms: number, random: () => number): number {
  let event_ms = arrival_ms -
    Math.floor(uniform(random, 10 * MINUTE_MS, 2 * HOUR_MS));
  const windowEnd = (ms: number) =>
    Math.floor(ms / HOUR_MS) * HOUR_MS + HOUR_MS;
  while (windowEnd(event_ms) + 6 * MINUTE_MS > arrival_ms) event_ms -= HOUR_MS;
  return event_ms;
}

function payload(view: View): string {
  const timestamp = new Date(view.event_ms).toISOString();
  const { userId, videoId } = view;
  switch (view.odd) {
    case null:
    case "key-whitespace":
      return JSON.stringify({ userId, videoId, timestamp });
    case "value-not-json":
      return [
        `{"userId":"${userId}","videoId":"${videoId}","timest`,
        `userId=${userId} videoId=${videoId} timestamp=${timestamp}`,
        `<html><body>502 Bad Gateway</body></html>`,
      ][view.odd_variant % 3]!;
    case "value-blank":
      return view.odd_variant % 2 === 0 ? "" : "  \t ";
    case "videoId-missing":
      return JSON.stringify({ userId, timestamp });
    case "videoId-empty":
      return JSON.stringify({ userId, videoId: "", timestamp });
    case "videoId-not-string":
      return JSON.stringify({
        userId,
        videoId: [Number(videoId.slice(4)), null, { id: videoId }][
          view.odd_variant % 3
        ],
        timestamp,
      });
    case "timestamp-missing":
      return JSON.stringify({ userId, videoId });
    case "timestamp-unparsable":
      return JSON.stringify({
        userId,
        videoId,
        timestamp: ["yesterday", "2026-13-45T99:00:00Z", ""][
          view.odd_variant % 3
        ],
      });
    case "timestamp-epoch-ms":
      return JSON.stringify({ userId, videoId, timestamp: view.event_ms });
    case "value-whitespace":
      return `  ${JSON.stringify({ userId, videoId, timestamp })}\t `;
  }
}

/** Positions of odd records, kinds spread round-robin in position order. */
function pickOddPositions(
  messages: number,
  count: number,
  kinds: readonly OddKind[],
  random: () => number,
): Map<number, { kind: OddKind; variant: number }> {
  const positions = distinctIndices(messages, count, random).sort((a, b) =>
    a - b
  );
  return new Map(
    positions.map((position, i) => [position, {
      kind: kinds[i % kinds.length]!,
      variant: Math.floor(i / kinds.length),
    }]),
  );
}

function distinctIndices(
  limit: number,
  count: number,
  random: () => number,
): number[] {
  const chosen = new Set<number>();
  const wanted = Math.min(count, limit);
  while (chosen.size < wanted) chosen.add(Math.floor(random() * limit));
  return [...chosen];
}

function shuffled<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function videoId(number: number): string {
  return `vid-${String(number).padStart(5, "0")}`;
}

function exponential(random: () => number): number {
  return -Math.log(1 - random());
}

function uniform(random: () => number, low: number, high: number): number {
  return low + random() * (high - low);
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot generate the views fixture as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
}

const FLAGS: FlagSpec = {
  values: {
    seed: `seed of every random choice (default ${DEFAULT_SEED})`,
    messages: `recorded records to write (default ${DEFAULT_MESSAGES})`,
    out: "fixture file (default fixtures/views/views.jsonl)",
    "raw-out": "file of raw payloads (default sample-raw.jsonl beside --out)",
    "raw-messages": "raw payload lines to write; 0 for none (default 2000)",
  },
  booleans: { help: "print this help and exit" },
};

const HELP =
  `Generates the recorded input of the views job and a sample of raw payloads (see fixtures/views/README.md).

Usage: deno run --allow-write scripts/gen_views_fixture.ts [flags]

Flags:
${flagHelp(FLAGS)}`;

/** The generator's flags, or null for --help. */
function parseFlags(args: string[]): {
  seed: number;
  messages: number;
  out: string;
  raw_out: string;
  raw_messages: number;
} | null {
  const parsed = parseArgs(args, FLAGS);
  if (parsed.booleans.has("help")) return null;
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `Cannot parse arguments as every argument must be a --flag: current value is '${
        parsed.positional[0]
      }'`,
    );
  }
  const integer = (name: string, fallback: number): number => {
    const text = parsed.values.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new UsageError(
        `Cannot parse '--${name}' as it must be a non-negative integer: current value is '${text}'`,
      );
    }
    return value;
  };
  const out = parsed.values.get("out") ?? "fixtures/views/views.jsonl";
  const directory = out.includes("/")
    ? out.slice(0, out.lastIndexOf("/"))
    : ".";
  return {
    seed: integer("seed", DEFAULT_SEED),
    messages: integer("messages", DEFAULT_MESSAGES),
    out,
    raw_out: parsed.values.get("raw-out") ?? `${directory}/sample-raw.jsonl`,
    raw_messages: integer("raw-messages", 2_000),
  };
}

function writeLines(path: string, lines: string[]): void {
  const directory = path.includes("/")
    ? path.slice(0, path.lastIndexOf("/"))
    : "";
  if (directory !== "") Deno.mkdirSync(directory, { recursive: true });
  Deno.writeTextFileSync(path, lines.join("\n") + "\n");
}

if (import.meta.main) {
  let flags;
  try {
    flags = parseFlags(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`gen_views_fixture: ${error.message}`);
    Deno.exit(2);
  }
  if (flags === null) {
    console.log(HELP);
    Deno.exit(0);
  }
  const fixture = generateViews({ seed: flags.seed, messages: flags.messages });
  writeLines(flags.out, fixture.lines);
  console.log(`wrote ${flags.out}`);
  console.log(formatStats(fixture.stats));
  if (flags.raw_messages > 0) {
    const raw = generateRawSample({
      seed: flags.seed + 1,
      messages: flags.raw_messages,
    });
    writeLines(flags.raw_out, raw);
    console.log(`wrote ${flags.raw_out} (${raw.length} raw payload lines)`);
  }
}
