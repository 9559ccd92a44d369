/**
 * Generates the recorded input of the `clickstream` job:
 * `fixtures/clickstream/clickstream.jsonl.gz` (recorded log records of topic
 * `clickstream`, gzipped) and its `README.md`. Seeded and deterministic: the
 * same flags write the same bytes.
 *
 * ```sh
 * deno run --allow-read --allow-write scripts/gen_clickstream_fixture.ts [--seed N] [--messages N] [--out FILE] [--readme FILE]
 * ```
 *
 * Users browse in sessions (a landing page view, then views, clicks, searches,
 * cart changes, sometimes a checkout and a purchase); a few sessions happen
 * offline on a phone and arrive in one batch long after. The README it writes
 * documents the formats, the distributions and the facts computed here.
 *
 * @module
 */

import {
  arrivalTimes,
  burstSchedule,
  createRandom,
  partitionOf,
  type RateSegment,
  zipfSampler,
} from "./gen_views_fixture.ts";
import {
  type GeneratorDefaults,
  generatorHelp,
  parseGeneratorFlags,
} from "./fixture_gen/flags.ts";
import {
  alignedRows,
  bump,
  byCount,
  iso,
  percent,
  tableRows,
  thousands,
  zeroes,
} from "./fixture_gen/format.ts";
import { writeFixtureFile, type WrittenFixture } from "./fixture_gen/gzip.ts";
import { LatenessTally } from "./fixture_gen/lateness.ts";
import {
  exponential,
  integer,
  logNormal,
  oddPositions,
  type Random,
  shuffled,
  uniform,
  weighted,
} from "./fixture_gen/random.ts";
import { utc, withOffset } from "./fixture_gen/timestamps.ts";
import { UsageError } from "../src/cli/args.ts";

/** Topic the `clickstream` job consumes. */
export const CLICKSTREAM_TOPIC = "clickstream";
/** Default seed of the committed fixture. */
export const DEFAULT_SEED = 20241022;
/** Default record count of the committed fixture. */
export const DEFAULT_MESSAGES = 120_000;
/** The committed fixture, relative to the repository root. */
export const DEFAULT_OUT = "fixtures/clickstream/clickstream.jsonl.gz";

/** The job's defaults the statistics are computed for (issue 9). */
export const JOB_DEFAULTS = {
  out_of_orderness_ms: 10 * 60_000,
  window_size_ms: 5 * 60_000,
  allowed_lateness_ms: 0,
} as const;

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** Kinds of invalid payloads, one fault each: all go to `clickstream.dead-letter`. */
export const BAD_KINDS = [
  "value-not-json",
  "value-not-object",
  "event_id-missing",
  "event_id-null",
  "event_id-empty",
  "user_id-missing",
  "user_id-null",
  "user_id-empty",
  "event_type-missing",
  "event_type-null",
  "event_type-empty",
  "timestamp-missing",
  "timestamp-null",
  "timestamp-unparsable",
  "timestamp-wrong-type",
] as const;

/** Kinds of odd but valid payloads: fields the job must keep exactly as given. */
export const EDGE_KINDS = [
  "optional-fields-missing",
  "optional-fields-null",
  "extra-fields",
  "value-whitespace",
] as const;

/** One kind of invalid payload. */
export type BadKind = typeof BAD_KINDS[number];
/** One kind of odd but valid payload. */
export type EdgeKind = typeof EDGE_KINDS[number];
type OddKind = BadKind | EdgeKind;

const BAD_SET: ReadonlySet<OddKind> = new Set<OddKind>(BAD_KINDS);

/** How a valid event's `timestamp` is written. */
export const TIMESTAMP_FORMATS = ["epoch-ms", "utc", "offset"] as const;
/** One form of a valid `timestamp`. */
export type TimestampFormat = typeof TIMESTAMP_FORMATS[number];

const FORMAT_WEIGHTS: ReadonlyArray<readonly [TimestampFormat, number]> = [
  ["epoch-ms", 0.90],
  ["utc", 0.06],
  ["offset", 0.04],
];

const OFFSETS_MINUTES = [120, -240, 330, 540, -420, 0];

/** Event types in the order the README lists them. */
export const EVENT_TYPES = [
  "page_view",
  "click",
  "search",
  "add_to_cart",
  "remove_from_cart",
  "begin_checkout",
  "purchase",
] as const;
type EventType = typeof EVENT_TYPES[number];

const COUNTRY_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ["US", 0.34],
  ["IN", 0.10],
  ["GB", 0.08],
  ["DE", 0.08],
  ["FR", 0.06],
  ["BR", 0.06],
  ["JP", 0.05],
  ["CA", 0.05],
  ["AU", 0.03],
  ["NL", 0.03],
  ["ES", 0.03],
  ["IT", 0.03],
  ["MX", 0.03],
  ["KR", 0.03],
];

const DEVICE_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ["mobile", 0.55],
  ["desktop", 0.35],
  ["tablet", 0.10],
];

const SITE = "https://example.com";
const SECTIONS = [
  "electronics",
  "clothing",
  "home",
  "books",
  "sports",
  "toys",
  "grocery",
  "beauty",
];
const SEARCH_TERMS = [
  "laptop",
  "running+shoes",
  "coffee",
  "headphones",
  "desk+lamp",
  "yoga+mat",
  "board+game",
  "winter+jacket",
  "phone+case",
  "novel",
];
const IP_FIRST_OCTETS = [24, 31, 45, 62, 73, 81, 98, 103, 151, 176, 185, 203];

/** Options of {@linkcode generateClickstream}. */
export interface GenerateOptions {
  /** Seed of every random choice. Default: {@linkcode DEFAULT_SEED}. */
  seed?: number;
  /** Number of events (lines), invalid ones included. Default: {@linkcode DEFAULT_MESSAGES}. */
  messages?: number;
  /** Span in which sessions start (from 2024-10-22T18:00:00Z by default). Default: 6 h. */
  duration_ms?: number;
  /** When the first session may start, epoch ms. Default: 2024-10-22T18:00:00Z. */
  start_ms?: number;
  /** Partitions of the topic. Default: 4. */
  partitions?: number;
  /** Distinct users. Default: 40,000. */
  users?: number;
  /** Zipf exponent of how many sessions a user has. Default: 0.6. */
  user_exponent?: number;
  /** Distinct products (`/product/N`). Default: 5,000. */
  products?: number;
  /** Mean events per session (a session has at least one). Default: 8. */
  session_events_mean?: number;
  /** Median pause between events of a session (log-normal, σ = 1). Default: 15 s. */
  pause_ms_median?: number;
  /** Share of sessions recorded offline and sent 10–45 min after they end. Default: 0.01. */
  offline_session_fraction?: number;
  /** Share of events 3 s – 2 min behind their arrival. Default: 0.09. */
  unordered_fraction?: number;
  /** Share of events 2–10 min behind their arrival. Default: 0.025. */
  far_unordered_fraction?: number;
  /** Share of events 10 min – 2 h behind their arrival. Default: 0.002. */
  late_fraction?: number;
  /** Events whose event time is 25–30 h before their arrival. Default: 3. */
  day_late_count?: number;
  /** Share of events with an odd payload (invalid or edge). Default: 0.0016. */
  odd_fraction?: number;
}

/** One generated event, before it is written. */
interface ClickEvent {
  /** Order of generation (session by session); ties of arrival keep it. */
  index: number;
  arrival_ms: number;
  /** Event time as the payload's `timestamp` states it. */
  event_ms: number;
  event_id: string;
  user_id: string;
  session_id: string;
  event_type: EventType;
  page_url: string;
  ip_address: string;
  country: string;
  device_type: string;
  format: TimestampFormat;
  offset_minutes: number;
  offline: boolean;
  odd: OddKind | null;
  variant: number;
}

/** What the generator prints and the README records. */
export interface ClickstreamStats {
  seed: number;
  lines: number;
  partition_lines: number[];
  valid_records: number;
  bad_records: number;
  bad_by_kind: Record<BadKind, number>;
  edge_by_kind: Record<EdgeKind, number>;
  distinct_users: number;
  top_users: Array<[string, number]>;
  sessions: number;
  offline_sessions: number;
  session_events_max: number;
  by_event_type: Record<EventType, number>;
  by_device: Array<[string, number]>;
  top_countries: Array<[string, number]>;
  by_timestamp_format: Record<TimestampFormat, number>;
  arrival_ms_first: number;
  arrival_ms_last: number;
  event_ms_min: number;
  event_ms_max: number;
  bursts: number;
  burst_ms_total: number;
  out_of_order: number;
  beyond_bound: number;
  /** Valid events late for 5-minute windows. */
  late: number;
  /** Of those, events of offline sessions. */
  late_offline: number;
  arrival_beyond_1day: number;
  /** Distinct 5-minute windows holding on-time events. */
  windows: number;
  /** Distinct hours (`dt=…/hour=…`) holding on-time events. */
  hours: number;
}

/** The recorded lines and their statistics. */
export interface GeneratedClickstream {
  lines: string[];
  stats: ClickstreamStats;
}

/** Generates the recorded `clickstream` records (one JSON line each). */
export function generateClickstream(
  options: GenerateOptions = {},
): GeneratedClickstream {
  const {
    seed = DEFAULT_SEED,
    messages = DEFAULT_MESSAGES,
    start_ms = Date.UTC(2024, 9, 22, 18),
    duration_ms = 6 * HOUR_MS,
    partitions = 4,
    users = 40_000,
    user_exponent = 0.6,
    products = 5_000,
    session_events_mean = 8,
    pause_ms_median = 15 * SECOND_MS,
    offline_session_fraction = 0.01,
    unordered_fraction = 0.09,
    far_unordered_fraction = 0.025,
    late_fraction = 0.002,
    day_late_count = 3,
    odd_fraction = 0.0016,
  } = options;
  requirePositiveInteger("messages", messages);
  requirePositiveInteger("partitions", partitions);
  const random = createRandom(seed);

  // Users: ids by a seeded shuffle of Zipf ranks, each with a country, a
  // usual device and a home IP address.
  const userNumbers = shuffled(
    Array.from({ length: users }, (_, i) => i + 1),
    random,
  );
  const sampleUser = zipfSampler(users, user_exponent, random);
  const sampleCountry = weighted(COUNTRY_WEIGHTS, random);
  const sampleDevice = weighted(DEVICE_WEIGHTS, random);
  const country = Array.from({ length: users }, () => sampleCountry());
  const device = Array.from({ length: users }, () => sampleDevice());
  const homeIp = Array.from({ length: users }, () => ipAddress(random));
  const sampleProduct = zipfSampler(products, 1.0, random);
  const sampleFormat = weighted(FORMAT_WEIGHTS, random);

  // Session sizes first, so that the events add up to exactly `messages`.
  const sizes: number[] = [];
  for (let total = 0; total < messages;) {
    const size = Math.min(
      messages - total,
      1 + Math.floor(exponential(random) * (session_events_mean - 1)),
    );
    sizes.push(size);
    total += size;
  }
  const segments = burstSchedule(start_ms, start_ms + duration_ms, random);
  const starts = arrivalTimes(sizes.length, segments, random);

  const events: ClickEvent[] = [];
  sizes.forEach((size, s) => {
    const rank = sampleUser();
    const user_id = `user_${userNumbers[rank]!}`;
    const session_id = `sess_${s + 1}`;
    const offline = random() < offline_session_fraction;
    const device_type = random() < 0.85 ? device[rank]! : sampleDevice();
    const ip_address = random() < 0.8 ? homeIp[rank]! : ipAddress(random);
    const pages = sessionPages(size, random, () => sampleProduct() + 1);
    let event_ms = starts[s]!;
    const session: ClickEvent[] = pages.map(([event_type, page_url], i) => {
      if (i > 0) {
        event_ms += Math.max(
          200,
          Math.floor(
            Math.min(10 * MINUTE_MS, logNormal(random, pause_ms_median, 1)),
          ),
        );
      }
      return {
        index: events.length + i,
        arrival_ms: 0,
        event_ms,
        event_id: `evt_${events.length + i + 1}`,
        user_id,
        session_id,
        event_type,
        page_url,
        ip_address,
        country: country[rank]!,
        device_type,
        format: "epoch-ms",
        offset_minutes: 0,
        offline,
        odd: null,
        variant: 0,
      };
    });
    // An offline session is sent in one batch when the phone is back online.
    const upload_ms = event_ms +
      Math.floor(uniform(random, 10 * MINUTE_MS, 45 * MINUTE_MS));
    for (const event of session) {
      event.format = sampleFormat();
      event.offset_minutes = OFFSETS_MINUTES[integer(random, 0, 5)]!;
      if (event.format === "offset") {
        event.event_ms = Math.floor(event.event_ms / SECOND_MS) * SECOND_MS;
      }
      event.arrival_ms = offline ? upload_ms : event.event_ms +
        delay(random, {
          unordered_fraction,
          far_unordered_fraction,
          late_fraction,
        });
      events.push(event);
    }
  });
  // A day late: the event time moves back, so arrivals stay in the span
  // (a replay paced by arrival time does not wait a day for them).
  for (const i of oddPositions(messages, day_late_count, [0], random).keys()) {
    const event = events[i]!;
    event.event_ms = event.arrival_ms -
      Math.floor(uniform(random, 25 * HOUR_MS, 30 * HOUR_MS));
    if (event.format === "offset") {
      event.event_ms = Math.floor(event.event_ms / SECOND_MS) * SECOND_MS;
    }
  }

  // Lines are in arrival order; odd payloads are placed by line.
  events.sort((a, b) => a.arrival_ms - b.arrival_ms || a.index - b.index);
  const odd = oddPositions(
    messages,
    Math.round(messages * odd_fraction),
    [...BAD_KINDS, ...EDGE_KINDS],
    random,
  );
  for (const [line, { kind, variant }] of odd) {
    events[line]!.odd = kind;
    events[line]!.variant = variant;
  }

  const offsets: number[] = new Array(partitions).fill(0);
  const lines = events.map((event) => {
    const partition = partitionOf(event.user_id, partitions);
    return JSON.stringify({
      topic: CLICKSTREAM_TOPIC,
      partition,
      offset: offsets[partition]!++,
      key: event.user_id,
      value: payload(event),
      timestamp: event.arrival_ms,
    });
  });
  return {
    lines,
    stats: summarize(events, segments, {
      seed,
      partitions,
      sessions: sizes.length,
    }),
  };
}

/**
 * The event types and pages of one session of `size` events: it lands on a
 * page, browses, and may fill a cart, check out, buy and browse on.
 */
function sessionPages(
  size: number,
  random: Random,
  product: () => number,
): Array<[EventType, string]> {
  const landing = random();
  let page = landing < 0.3
    ? `${SITE}/`
    : landing < 0.55
    ? `${SITE}/category/${SECTIONS[integer(random, 0, SECTIONS.length - 1)]}`
    : `${SITE}/product/${product()}`;
  const pages: Array<[EventType, string]> = [["page_view", page]];
  let cart = 0;
  let last: EventType = "page_view";
  while (pages.length < size) {
    let type: EventType;
    if (last === "begin_checkout") {
      type = random() < 0.6 ? "purchase" : "page_view";
    } else {
      const roll = random();
      type = roll < 0.42
        ? "page_view"
        : roll < 0.75
        ? "click"
        : roll < 0.85
        ? "search"
        : roll < 0.95
        ? "add_to_cart"
        : cart === 0
        ? "page_view"
        : roll < 0.97
        ? "remove_from_cart"
        : "begin_checkout";
    }
    if (type === "page_view" || type === "click") {
      page = `${SITE}/product/${product()}`;
    } else if (type === "search") {
      page = `${SITE}/search?q=${
        SEARCH_TERMS[integer(random, 0, SEARCH_TERMS.length - 1)]
      }`;
    } else if (type === "add_to_cart") {
      cart++;
    } else if (type === "remove_from_cart") {
      cart--;
    } else if (type === "begin_checkout") {
      page = `${SITE}/checkout`;
    } else {
      page = `${SITE}/checkout/confirmation`;
      cart = 0;
    }
    pages.push([type, page]);
    last = type;
  }
  return pages;
}

/** Arrival minus event time of an online event. */
function delay(
  random: Random,
  shares: {
    unordered_fraction: number;
    far_unordered_fraction: number;
    late_fraction: number;
  },
): number {
  const roll = random();
  let low = 0;
  let high = 3 * SECOND_MS;
  if (roll < shares.late_fraction) {
    [low, high] = [10 * MINUTE_MS, 2 * HOUR_MS];
  } else if (roll < shares.late_fraction + shares.far_unordered_fraction) {
    [low, high] = [2 * MINUTE_MS, 10 * MINUTE_MS];
  } else if (
    roll <
      shares.late_fraction + shares.far_unordered_fraction +
        shares.unordered_fraction
  ) {
    [low, high] = [3 * SECOND_MS, 2 * MINUTE_MS];
  }
  return Math.floor(uniform(random, low, high));
}

function ipAddress(random: Random): string {
  const first = IP_FIRST_OCTETS[integer(random, 0, IP_FIRST_OCTETS.length - 1)];
  return `${first}.${integer(random, 0, 255)}.${integer(random, 0, 255)}.${
    integer(random, 1, 254)
  }`;
}

function timestampValue(event: ClickEvent): string | number {
  switch (event.format) {
    case "epoch-ms":
      return event.event_ms;
    case "utc":
      return utc(event.event_ms);
    case "offset":
      return withOffset(event.event_ms, event.offset_minutes);
  }
}

/** Which of `options` the event's variant picks. */
function pick<T>(event: ClickEvent, options: readonly T[]): T {
  return options[event.variant % options.length]!;
}

function payload(event: ClickEvent): string {
  const fields: Record<string, unknown> = {
    event_id: event.event_id,
    user_id: event.user_id,
    session_id: event.session_id,
    event_type: event.event_type,
    page_url: event.page_url,
    timestamp: timestampValue(event),
    ip_address: event.ip_address,
    country: event.country,
    device_type: event.device_type,
  };
  const json = () => JSON.stringify(fields);
  const field = (kind: OddKind) => kind.slice(0, kind.lastIndexOf("-"));
  switch (event.odd) {
    case null:
      return json();
    case "optional-fields-missing":
      for (
        const name of pick(event, [
          ["page_url"],
          ["ip_address", "country"],
          ["session_id", "page_url", "ip_address", "country", "device_type"],
        ])
      ) delete fields[name];
      return json();
    case "optional-fields-null":
      for (
        const name of pick(event, [
          ["country"],
          ["session_id", "device_type"],
        ])
      ) fields[name] = null;
      return json();
    case "extra-fields":
      fields.referrer = pick(event, [
        "https://www.google.com/",
        "https://news.example.org/deals",
        "",
      ]);
      fields.utm_campaign = "autumn_sale";
      fields.screen = { width: 390, height: 844 };
      return json();
    case "value-whitespace":
      return `  ${json()}\t `;
    case "value-not-json": {
      const text = json();
      return pick(event, [
        text.slice(0, Math.floor(text.length / 2)),
        `event_id=${event.event_id} user_id=${event.user_id} event_type=${event.event_type}`,
        "<html><body>504 Gateway Timeout</body></html>",
        "",
      ]);
    }
    case "value-not-object":
      return pick(event, [
        JSON.stringify([fields]),
        JSON.stringify(event.event_id),
        String(event.event_ms),
        "null",
      ]);
    case "event_id-missing":
    case "user_id-missing":
    case "event_type-missing":
    case "timestamp-missing":
      delete fields[field(event.odd)];
      return json();
    case "event_id-null":
    case "user_id-null":
    case "event_type-null":
    case "timestamp-null":
      fields[field(event.odd)] = null;
      return json();
    case "event_id-empty":
    case "user_id-empty":
    case "event_type-empty":
      fields[field(event.odd)] = "";
      return json();
    case "timestamp-unparsable":
      fields.timestamp = pick(event, [
        "yesterday",
        "2024-10-32T18:00:00Z",
        "",
        "2024-10-22T18:61:00Z",
        "soon",
      ]);
      return json();
    case "timestamp-wrong-type":
      fields.timestamp = pick(event, [
        true,
        { ms: event.event_ms },
        [event.event_ms],
      ]);
      return json();
  }
}

function summarize(
  events: ClickEvent[],
  segments: RateSegment[],
  options: { seed: number; partitions: number; sessions: number },
): ClickstreamStats {
  const tally = new LatenessTally({
    partitions: options.partitions,
    bound_ms: JOB_DEFAULTS.out_of_orderness_ms,
    window_size_ms: JOB_DEFAULTS.window_size_ms,
    allowed_lateness_ms: JOB_DEFAULTS.allowed_lateness_ms,
  });
  const bad_by_kind = zeroes(BAD_KINDS);
  const edge_by_kind = zeroes(EDGE_KINDS);
  const by_timestamp_format = zeroes(TIMESTAMP_FORMATS);
  const by_event_type = zeroes(EVENT_TYPES);
  const partition_lines: number[] = new Array(options.partitions).fill(0);
  const users = new Map<string, number>();
  const sessions = new Map<string, number>();
  const offlineSessions = new Set<string>();
  const devices = new Map<string, number>();
  const countries = new Map<string, number>();
  const windows = new Set<number>();
  const hours = new Set<number>();
  let bad_records = 0;
  let late_offline = 0;
  let arrival_beyond_1day = 0;
  let event_ms_min = Infinity;
  let event_ms_max = -Infinity;
  for (const event of events) {
    const partition = partitionOf(event.user_id, options.partitions);
    partition_lines[partition]!++;
    if (event.odd !== null && BAD_SET.has(event.odd)) {
      bad_by_kind[event.odd as BadKind]++;
      bad_records++;
      continue;
    }
    if (event.odd !== null) edge_by_kind[event.odd as EdgeKind]++;
    by_timestamp_format[event.format]++;
    by_event_type[event.event_type]++;
    bump(users, event.user_id);
    bump(sessions, event.session_id);
    bump(devices, event.device_type);
    bump(countries, event.country);
    if (event.offline) offlineSessions.add(event.session_id);
    event_ms_min = Math.min(event_ms_min, event.event_ms);
    event_ms_max = Math.max(event_ms_max, event.event_ms);
    if (event.arrival_ms - event.event_ms > 24 * HOUR_MS) arrival_beyond_1day++;
    const { late } = tally.observe(partition, event.event_ms);
    if (late) {
      if (event.offline) late_offline++;
      continue;
    }
    windows.add(Math.floor(event.event_ms / JOB_DEFAULTS.window_size_ms));
    hours.add(Math.floor(event.event_ms / HOUR_MS));
  }
  const bursts = segments.filter((segment) => segment.rate_multiplier > 1);
  return {
    seed: options.seed,
    lines: events.length,
    partition_lines,
    valid_records: events.length - bad_records,
    bad_records,
    bad_by_kind,
    edge_by_kind,
    distinct_users: users.size,
    top_users: byCount(users).slice(0, 5),
    sessions: options.sessions,
    offline_sessions: offlineSessions.size,
    session_events_max: Math.max(0, ...sessions.values()),
    by_event_type,
    by_device: byCount(devices),
    top_countries: byCount(countries).slice(0, 5),
    by_timestamp_format,
    arrival_ms_first: events[0]?.arrival_ms ?? 0,
    arrival_ms_last: events[events.length - 1]?.arrival_ms ?? 0,
    event_ms_min,
    event_ms_max,
    bursts: bursts.length,
    burst_ms_total: bursts.reduce((sum, s) => sum + s.end_ms - s.start_ms, 0),
    out_of_order: tally.out_of_order,
    beyond_bound: tally.beyond_bound,
    late: tally.late,
    late_offline,
    arrival_beyond_1day,
    windows: windows.size,
    hours: hours.size,
  };
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot generate the clickstream fixture as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
}

/** The statistics as `name value` lines, as the generator prints them. */
export function formatStats(stats: ClickstreamStats): string {
  return alignedRows([...statRows(stats), ...kindRows(stats)]);
}

function statRows(stats: ClickstreamStats): Array<[string, string]> {
  const counts = (entries: Array<[string, number]>) =>
    entries.map(([name, n]) => `${name} ${thousands(n)}`).join(", ");
  return [
    ["seed", String(stats.seed)],
    ["lines", thousands(stats.lines)],
    [
      "lines per partition 0 / 1 / 2 / 3",
      stats.partition_lines.map(thousands).join(" / "),
    ],
    ["valid events", thousands(stats.valid_records)],
    ["invalid events (dead letters)", thousands(stats.bad_records)],
    [
      "odd but valid events",
      thousands(Object.values(stats.edge_by_kind).reduce((a, b) => a + b, 0)),
    ],
    ["distinct users (valid events)", thousands(stats.distinct_users)],
    ["top users", counts(stats.top_users)],
    [
      "sessions (offline ones)",
      `${thousands(stats.sessions)} (${thousands(stats.offline_sessions)})`,
    ],
    ["most events in one session", thousands(stats.session_events_max)],
    [
      "event types (valid events)",
      counts(EVENT_TYPES.map((t) => [t, stats.by_event_type[t]])),
    ],
    ["devices (valid events)", counts(stats.by_device)],
    ["top countries (valid events)", counts(stats.top_countries)],
    [
      "timestamp forms (valid events)",
      counts(TIMESTAMP_FORMATS.map((f) => [f, stats.by_timestamp_format[f]])),
    ],
    [
      "arrival time span",
      `${iso(stats.arrival_ms_first)} .. ${iso(stats.arrival_ms_last)}`,
    ],
    [
      "event time span (valid events)",
      `${iso(stats.event_ms_min)} .. ${iso(stats.event_ms_max)}`,
    ],
    [
      "bursts of session starts",
      `${stats.bursts} (${
        (stats.burst_ms_total / MINUTE_MS).toFixed(1)
      } min in total)`,
    ],
    [
      "out of order (behind partition max)",
      `${thousands(stats.out_of_order)} (${
        percent(stats.out_of_order, stats.valid_records)
      })`,
    ],
    ["… more than 10 min behind", thousands(stats.beyond_bound)],
    ["late for 5-min windows (valid events)", thousands(stats.late)],
    ["… of which from offline sessions", thousands(stats.late_offline)],
    ["arriving more than 1 day late", thousands(stats.arrival_beyond_1day)],
    ["5-min windows with on-time events", thousands(stats.windows)],
    ["hours with on-time events", thousands(stats.hours)],
  ];
}

function kindRows(stats: ClickstreamStats): Array<[string, string]> {
  return [
    ...BAD_KINDS.map((kind): [string, string] => [
      `invalid ${kind}`,
      String(stats.bad_by_kind[kind]),
    ]),
    ...EDGE_KINDS.map((kind): [string, string] => [
      `valid ${kind}`,
      String(stats.edge_by_kind[kind]),
    ]),
  ];
}

const DEFAULTS: GeneratorDefaults = {
  seed: DEFAULT_SEED,
  messages: DEFAULT_MESSAGES,
  out: DEFAULT_OUT,
};

const USAGE =
  "deno run --allow-read --allow-write scripts/gen_clickstream_fixture.ts";

/** The README of a fixture written with `flags`; `example` is its first line. */
export function readme(
  stats: ClickstreamStats,
  written: WrittenFixture,
  flags: { seed: number; messages: number; out: string },
  example: string,
): string {
  const file = flags.out.slice(flags.out.lastIndexOf("/") + 1);
  const badRows = BAD_KINDS.map((kind) =>
    `| \`${kind}\` | ${BAD_EXAMPLES[kind]} | ${stats.bad_by_kind[kind]} |`
  ).join("\n");
  const edgeRows = EDGE_KINDS.map((kind) =>
    `| \`${kind}\` | ${EDGE_EXAMPLES[kind]} | ${stats.edge_by_kind[kind]} |`
  ).join("\n");
  return `# \`clickstream\` fixture

Recorded input of the \`clickstream\` job (topic \`${CLICKSTREAM_TOPIC}\`, issue 9),
written by \`scripts/gen_clickstream_fixture.ts\`. Generated, README included: do
not edit by hand, regenerate.

| file | lines | format |
|---|---|---|
| \`${file}\` | ${
    thousands(stats.lines)
  } | recorded log records, one JSON line each, gzipped |

## Regenerate

\`\`\`sh
${USAGE}
${USAGE} --seed 7 --messages 5000 --out /tmp/c.jsonl.gz
\`\`\`

| flag | default | meaning |
|---|---|---|
| \`--seed N\` | \`${DEFAULT_SEED}\` | seed of every random choice |
| \`--messages N\` | \`${DEFAULT_MESSAGES}\` | lines, invalid ones included |
| \`--out FILE\` | \`${DEFAULT_OUT}\` | fixture file; gzipped when it ends in \`.gz\` |
| \`--readme FILE\` | this README when \`--out\` is left alone | README to write |

The output is a pure function of the flags: two runs give identical bytes.
Gzip is written by fflate (pinned in \`deno.json\`) at level 9 with a zero time
in its header, so the compressed bytes do not depend on the Deno version
either. The readers (\`freshet sim\`, \`freshet produce\`, the benchmarks)
gunzip any file that starts with the gzip magic bytes.

This file (seed ${flags.seed}, ${thousands(flags.messages)} messages):

| | bytes | SHA-256 |
|---|---|---|
| \`${file}\` | ${thousands(written.bytes)} | \`${written.sha256}\` |
| its JSON Lines text (gunzipped) | ${
    thousands(written.text_bytes)
  } | \`${written.text_sha256}\` |

\`\`\`
${written.sha256}  ${file}
\`\`\`

## Line format

Each line is one \`LogRecord\` (\`src/ports.ts\`) as compact JSON, fields in
this order, as in \`fixtures/views/README.md\`:

\`\`\`json
${example}
\`\`\`

- \`key\`: the \`user_id\` the producer keyed by (also on invalid events, whose
  payload may lack it); \`partition\` = FNV-1a 32-bit of the key's UTF-8 bytes
  mod 4 (the rule and test vectors are in \`fixtures/views/README.md\`), so all
  events of a user, and of a session, share a partition.
- \`offset\`: 0, 1, 2, ... per partition in line order; \`timestamp\`: arrival
  time, epoch ms, non-decreasing over the file (partitions interleaved).
- \`value\`: the payload as a JSON string. Event time is its \`timestamp\`.

Payload fields, in order: \`event_id\` (\`evt_N\`, unique), \`user_id\`
(\`user_N\`), \`session_id\` (\`sess_N\`), \`event_type\`, \`page_url\`,
\`timestamp\`, \`ip_address\`, \`country\` (ISO 3166 alpha-2), \`device_type\`.

## Distributions

All drawn from one sfc32 generator seeded through splitmix32 (the views
generator's \`createRandom\`).

- **Sessions**: sizes 1 + ⌊Exp × 7⌋ events (mean 8), drawn until they add up
  to \`--messages\` (the last one cut to fit). Sessions start from
  2024-10-22T18:00:00Z over 6 h: a Poisson process with bursts (the views
  fixture's schedule), conditioned on the number of sessions. Pauses between
  a session's events are log-normal (median 15 s, σ = 1, 0.2 s – 10 min), so
  sessions run past the 6 h.
- **Pages**: a session lands on the home page (30%), a category page (25%) or
  a product page (45%), then each event is a page view (42%), click (33%),
  search (10%), add to cart (10%), or, with a non-empty cart, remove from
  cart (2%) or begin checkout (3%); a checkout ends in a purchase 60% of the
  time (which empties the cart; browsing goes on). Products \`/product/1\` ..
  \`/product/5000\`, Zipf 1.0.
- **Users**: 40,000 ids \`user_1\` .. \`user_40000\`, sessions per user Zipf with
  exponent 0.6 over ranks mapped to ids by a seeded shuffle. Each user has a
  country (US 34%, IN 10%, GB 8%, DE 8%, ...), a usual device (mobile 55%,
  desktop 35%, tablet 10%; 85% of sessions) and a home IP address (80% of
  sessions).
- **Timestamp forms**: 90% epoch ms (a number), 6% ISO-8601 UTC with \`Z\` and
  milliseconds, 4% ISO-8601 with an offset (\`+02:00\`, \`-04:00\`, \`+05:30\`,
  \`+09:00\`, \`-07:00\`, \`+00:00\`; whole seconds, and the event time below is
  what the text states).
- **Arrival** = event time + delay: 0–3 s (88.3%), 3 s – 2 min (9%), 2–10 min
  (2.5%: out of order within the job's 10 min bound), 10 min – 2 h (0.2%).
  1% of sessions are offline: all their events arrive together 10–45 min
  after the session's last event. 3 events have an event time 25–30 h before
  their arrival. Lines are in arrival order (ties in generation order).
- **Odd payloads**: 0.16% of lines at seeded positions, the kinds below taken
  round-robin and each kind's variants in turn. Every odd payload has exactly
  one fault, inside a well-formed recorded line.

### Invalid payloads (to \`clickstream.dead-letter\`)

| kind | payload | lines |
|---|---|---|
${badRows}

### Odd but valid payloads

| kind | payload | lines |
|---|---|---|
${edgeRows}

## Summary (seed ${flags.seed}, ${thousands(flags.messages)} messages)

Computed by the generator over valid events (clean and odd-but-valid), per
partition in line order, for the job's defaults: out-of-orderness 10 min,
tumbling 5-minute windows, allowed lateness 0.

| statistic | value |
|---|---|
${tableRows(statRows(stats))}

"Late" uses one watermark per input partition, \`max event time so far − 10 min
− 1 ms\` over the valid events before it (as \`BoundedOutOfOrderness\`), and
Flink's \`isWindowLate\`: an event is late when its window's \`end − 1 ≤
watermark\`. Those events go to \`clickstream.late\`; every other valid event
is written once to S3.
`;
}

const BAD_EXAMPLES: Record<BadKind, string> = {
  "value-not-json":
    "first half of the JSON; `event_id=… user_id=… event_type=…`; `<html>…504 Gateway Timeout…`; empty",
  "value-not-object": "the event in an array; a JSON string; a number; `null`",
  "event_id-missing": "field absent",
  "event_id-null": "`null`",
  "event_id-empty": '`""`',
  "user_id-missing": "field absent",
  "user_id-null": "`null`",
  "user_id-empty": '`""`',
  "event_type-missing": "field absent",
  "event_type-null": "`null`",
  "event_type-empty": '`""`',
  "timestamp-missing": "field absent",
  "timestamp-null": "`null`",
  "timestamp-unparsable":
    '`"yesterday"`, `"2024-10-32T18:00:00Z"`, `""`, `"2024-10-22T18:61:00Z"` or `"soon"`',
  "timestamp-wrong-type": '`true`, `{"ms":…}` or `[epoch ms]`',
};

const EDGE_EXAMPLES: Record<EdgeKind, string> = {
  "optional-fields-missing":
    "without `page_url`; without `ip_address` and `country`; or with only `event_id`, `user_id`, `event_type` and `timestamp`",
  "optional-fields-null": "`country` or `session_id` and `device_type` `null`",
  "extra-fields":
    '`referrer` (sometimes `""`), `utm_campaign` and a nested `screen` object after the usual fields',
  "value-whitespace":
    "the JSON with two leading spaces and a trailing tab and space",
};

/**
 * Runs the generator with command-line `args`: writes the fixture (and the
 * README) and returns what it prints.
 */
export async function main(args: readonly string[]): Promise<string> {
  const flags = parseGeneratorFlags(args, DEFAULTS);
  if (flags.help) {
    return generatorHelp(
      USAGE,
      "Generates the recorded input of the clickstream job (see fixtures/clickstream/README.md).",
      DEFAULTS,
    );
  }
  const { lines, stats } = generateClickstream({
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
      readme(stats, written, flags, lines[0]!),
    );
    printed.push(`wrote ${flags.readme}`);
  }
  printed.push(formatStats(stats));
  return printed.join("\n");
}

if (import.meta.main) {
  try {
    console.log(await main(Deno.args));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    Deno.exit(2);
  }
}
