/**
 * Generates the recorded input of the `transactions` job:
 * `fixtures/transactions/transactions.jsonl.gz` (recorded log records of topic
 * `transactions`, gzipped) and its `README.md`. Seeded and deterministic: the
 * same flags write the same bytes.
 *
 * ```sh
 * deno run --allow-read --allow-write scripts/gen_transactions_fixture.ts [--seed N] [--messages N] [--out FILE] [--readme FILE]
 * ```
 *
 * The README it writes documents the formats, the distributions and the
 * facts computed here (bad records per reason, late records, spans).
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
  integer,
  logNormal,
  oddPositions,
  type Random,
  shuffled,
  uniform,
  weighted,
} from "./fixture_gen/random.ts";
import { utc, withOffset, zoneless } from "./fixture_gen/timestamps.ts";
import { UsageError } from "../src/cli/args.ts";

/** Topic the `transactions` job consumes. */
export const TRANSACTIONS_TOPIC = "transactions";
/** Default seed of the committed fixture. */
export const DEFAULT_SEED = 20240115;
/** Default record count of the committed fixture. */
export const DEFAULT_MESSAGES = 120_000;
/** The committed fixture, relative to the repository root. */
export const DEFAULT_OUT = "fixtures/transactions/transactions.jsonl.gz";

/** The job's defaults the statistics are computed for (issue 7). */
export const JOB_DEFAULTS = {
  out_of_orderness_ms: 30_000,
  window_size_ms: 60_000,
  allowed_lateness_ms: 0,
  min_amount: 100,
  high_value_amount: 500,
} as const;

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Kinds of bad payloads, one fault each: the job must send every one to
 * `transactions.dead-letter`.
 */
export const BAD_KINDS = [
  "value-not-json",
  "value-not-object",
  "transaction_id-missing",
  "transaction_id-empty",
  "transaction_id-not-string",
  "user_id-missing",
  "user_id-empty",
  "user_id-not-string",
  "category-missing",
  "category-empty",
  "category-not-string",
  "amount-missing",
  "amount-negative",
  "amount-not-finite",
  "amount-not-number",
  "quantity-missing",
  "quantity-zero",
  "quantity-negative",
  "quantity-fraction",
  "quantity-not-number",
  "timestamp-missing",
  "timestamp-unparsable",
  "timestamp-wrong-type",
] as const;

/** Kinds of odd but valid payloads: boundaries and forms the job must accept. */
export const EDGE_KINDS = [
  "amount-zero",
  "amount-exactly-100",
  "amount-just-over-100",
  "amount-exactly-500",
  "amount-just-over-500",
  "extra-fields",
  "value-whitespace",
] as const;

/** One kind of bad payload. */
export type BadKind = typeof BAD_KINDS[number];
/** One kind of odd but valid payload. */
export type EdgeKind = typeof EDGE_KINDS[number];
type OddKind = BadKind | EdgeKind;

const BAD_SET: ReadonlySet<OddKind> = new Set<OddKind>(BAD_KINDS);

/** How a valid record's `timestamp` is written. */
export const TIMESTAMP_FORMATS = [
  "zoneless",
  "zoneless-ms",
  "utc",
  "offset",
  "epoch-ms",
] as const;
/** One form of a valid `timestamp`. */
export type TimestampFormat = typeof TIMESTAMP_FORMATS[number];

const FORMAT_WEIGHTS: ReadonlyArray<readonly [TimestampFormat, number]> = [
  ["zoneless", 0.80],
  ["zoneless-ms", 0.04],
  ["utc", 0.06],
  ["offset", 0.05],
  ["epoch-ms", 0.05],
];

const OFFSETS_MINUTES = [60, -300, 330, 540, -480, 0];

/** Categories by share; the last three have no discount rate in the job. */
const CATEGORY_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ["electronics", 0.20],
  ["clothing", 0.20],
  ["home", 0.15],
  ["books", 0.12],
  ["sports", 0.11],
  ["grocery", 0.10],
  ["toys", 0.08],
  ["beauty", 0.04],
];

/** Products of each category with the median of their unit price. */
const PRODUCTS: Readonly<Record<string, ReadonlyArray<[string, number]>>> = {
  electronics: [
    ["laptop", 900],
    ["smartphone", 650],
    ["headphones", 120],
    ["tablet", 400],
    ["monitor", 250],
    ["camera", 520],
    ["smartwatch", 260],
    ["keyboard", 60],
  ],
  clothing: [
    ["t-shirt", 20],
    ["jeans", 55],
    ["jacket", 120],
    ["sneakers", 90],
    ["dress", 70],
    ["sweater", 50],
  ],
  home: [
    ["lamp", 45],
    ["cookware set", 140],
    ["bedding", 80],
    ["vacuum cleaner", 220],
    ["office chair", 160],
    ["rug", 110],
  ],
  books: [
    ["novel", 15],
    ["cookbook", 28],
    ["textbook", 95],
    ["comic", 10],
    ["biography", 22],
  ],
  sports: [
    ["yoga mat", 30],
    ["dumbbells", 70],
    ["tennis racket", 120],
    ["bicycle helmet", 60],
    ["running shoes", 110],
  ],
  grocery: [
    ["coffee beans", 18],
    ["olive oil", 14],
    ["tea", 9],
    ["snacks", 6],
  ],
  toys: [
    ["building blocks", 60],
    ["puzzle", 20],
    ["board game", 35],
    ["plush toy", 18],
  ],
  beauty: [
    ["perfume", 85],
    ["skincare set", 60],
    ["shampoo", 12],
  ],
};

const PAYMENT_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ["credit_card", 0.45],
  ["debit_card", 0.25],
  ["paypal", 0.15],
  ["apple_pay", 0.08],
  ["bank_transfer", 0.04],
  ["gift_card", 0.03],
];

const QUANTITY_WEIGHTS: ReadonlyArray<readonly [number, number]> = [
  [1, 0.72],
  [2, 0.14],
  [3, 0.07],
  [4, 0.04],
  [5, 0.03],
];

/** Options of {@linkcode generateTransactions}. */
export interface GenerateOptions {
  /** Seed of every random choice. Default: {@linkcode DEFAULT_SEED}. */
  seed?: number;
  /** Number of records (lines), bad ones included. Default: {@linkcode DEFAULT_MESSAGES}. */
  messages?: number;
  /** First arrival time, epoch ms. Default: 2024-01-15T08:00:00Z. */
  start_ms?: number;
  /** Span of arrival time. Default: 6 h. */
  duration_ms?: number;
  /** Partitions of the topic. Default: 4. */
  partitions?: number;
  /** Distinct users. Default: 30,000. */
  users?: number;
  /** Zipf exponent of user activity. Default: 0.75. */
  user_exponent?: number;
  /** Distinct cities (`city_1` ..). Default: 50. */
  cities?: number;
  /** Share of records with an odd payload (bad or edge). Default: 0.0025. */
  odd_fraction?: number;
  /** Share of records 2–30 s behind their arrival. Default: 0.10. */
  unordered_fraction?: number;
  /** Share of records 30 s – 3 min behind their arrival. Default: 0.012. */
  beyond_bound_fraction?: number;
  /** Share of records 5 min – 2 h behind their arrival. Default: 0.003. */
  late_fraction?: number;
  /** Records arriving 26–30 h after their event time. Default: 3. */
  day_late_count?: number;
}

/** One generated transaction, before it is written. */
interface Transaction {
  arrival_ms: number;
  /** Event time as the payload's `timestamp` states it. */
  event_ms: number;
  seq: number;
  user_id: string;
  product: string;
  category: string;
  amount: number;
  quantity: number;
  payment_method: string;
  location: string;
  format: TimestampFormat;
  offset_minutes: number;
  odd: OddKind | null;
  variant: number;
}

/** What the generator prints and the README records. */
export interface TransactionsStats {
  seed: number;
  lines: number;
  partition_lines: number[];
  valid_records: number;
  bad_records: number;
  bad_by_kind: Record<BadKind, number>;
  edge_by_kind: Record<EdgeKind, number>;
  distinct_users: number;
  top_users: Array<[string, number]>;
  by_category: Array<[string, number]>;
  by_timestamp_format: Record<TimestampFormat, number>;
  by_quantity: number[];
  /** Valid records with amount > min_amount (kept by the job). */
  kept: number;
  /** Valid records with amount > high_value_amount. */
  high_value: number;
  amount_median: number;
  amount_max: number;
  arrival_ms_first: number;
  arrival_ms_last: number;
  event_ms_min: number;
  event_ms_max: number;
  bursts: number;
  burst_ms_total: number;
  out_of_order: number;
  beyond_bound: number;
  /** Valid records late for 1-minute windows (watermark from all valid records). */
  late: number;
  /** Of those, kept ones (amount > min_amount). */
  late_kept: number;
  /** Kept records late when only kept records advance the watermark. */
  late_kept_watermark_of_kept: number;
  arrival_beyond_1day: number;
  /** Distinct (user, minute) windows of kept on-time records. */
  user_windows: number;
  /** Distinct (category, minute) windows of kept on-time records. */
  category_windows: number;
}

/** The recorded lines and their statistics. */
export interface GeneratedTransactions {
  lines: string[];
  stats: TransactionsStats;
}

/** Generates the recorded `transactions` records (one JSON line each). */
export function generateTransactions(
  options: GenerateOptions = {},
): GeneratedTransactions {
  const {
    seed = DEFAULT_SEED,
    messages = DEFAULT_MESSAGES,
    start_ms = Date.UTC(2024, 0, 15, 8),
    duration_ms = 6 * HOUR_MS,
    partitions = 4,
    users = 30_000,
    user_exponent = 0.75,
    cities = 50,
    odd_fraction = 0.0025,
    unordered_fraction = 0.10,
    beyond_bound_fraction = 0.012,
    late_fraction = 0.003,
    day_late_count = 3,
  } = options;
  requirePositiveInteger("messages", messages);
  requirePositiveInteger("partitions", partitions);
  const random = createRandom(seed);
  const userNumbers = shuffled(
    Array.from({ length: users }, (_, i) => i + 1),
    random,
  );
  const sampleUser = zipfSampler(users, user_exponent, random);
  const sampleCity = zipfSampler(cities, 0.8, random);
  const homeCity = Array.from({ length: users }, () => 1 + sampleCity());
  const sampleCategory = weighted(CATEGORY_WEIGHTS, random);
  const samplePayment = weighted(PAYMENT_WEIGHTS, random);
  const sampleQuantity = weighted(QUANTITY_WEIGHTS, random);
  const sampleFormat = weighted(FORMAT_WEIGHTS, random);
  const segments = burstSchedule(start_ms, start_ms + duration_ms, random);
  const arrivals = arrivalTimes(messages, segments, random);
  const odd = oddPositions(
    messages,
    Math.round(messages * odd_fraction),
    [...BAD_KINDS, ...EDGE_KINDS],
    random,
  );
  const dayLate = new Set(
    oddPositions(messages, day_late_count, [0], random).keys(),
  );

  const transactions: Transaction[] = new Array(messages);
  for (let i = 0; i < messages; i++) {
    const arrival_ms = arrivals[i]!;
    const format = sampleFormat();
    let event_ms = arrival_ms - delay(random, dayLate.has(i), {
      unordered_fraction,
      beyond_bound_fraction,
      late_fraction,
    });
    if (format === "zoneless" || format === "offset") {
      event_ms = Math.floor(event_ms / SECOND_MS) * SECOND_MS;
    }
    const rank = sampleUser();
    const category = sampleCategory();
    const products = PRODUCTS[category]!;
    const [product, median] = products[Math.floor(random() * products.length)]!;
    const quantity = sampleQuantity();
    const unit = logNormal(random, median, 0.35);
    const city = random() < 0.92 ? homeCity[rank]! : integer(random, 1, cities);
    const oddHere = odd.get(i);
    transactions[i] = {
      arrival_ms,
      event_ms,
      seq: i + 1,
      user_id: `user_${userNumbers[rank]!}`,
      product,
      category,
      amount: Math.max(0.5, cents(unit * quantity)),
      quantity,
      payment_method: samplePayment(),
      location: `city_${city}`,
      format,
      offset_minutes: OFFSETS_MINUTES[integer(random, 0, 5)]!,
      odd: oddHere?.kind ?? null,
      variant: oddHere?.variant ?? 0,
    };
    applyEdgeAmount(transactions[i]!);
  }

  const offsets: number[] = new Array(partitions).fill(0);
  const lines = transactions.map((t) => {
    const partition = partitionOf(t.user_id, partitions);
    return JSON.stringify({
      topic: TRANSACTIONS_TOPIC,
      partition,
      offset: offsets[partition]!++,
      key: t.user_id,
      value: payload(t),
      timestamp: t.arrival_ms,
    });
  });
  return {
    lines,
    stats: summarize(transactions, segments, { seed, partitions }),
  };
}

/** Arrival minus event time, by the delay classes of the options. */
function delay(
  random: Random,
  day_late: boolean,
  shares: {
    unordered_fraction: number;
    beyond_bound_fraction: number;
    late_fraction: number;
  },
): number {
  if (day_late) return Math.floor(uniform(random, 26 * HOUR_MS, 30 * HOUR_MS));
  const roll = random();
  let low = 0;
  let high = 2 * SECOND_MS;
  if (roll < shares.late_fraction) {
    [low, high] = [5 * MINUTE_MS, 2 * HOUR_MS];
  } else if (roll < shares.late_fraction + shares.beyond_bound_fraction) {
    [low, high] = [30 * SECOND_MS, 3 * MINUTE_MS];
  } else if (
    roll <
      shares.late_fraction + shares.beyond_bound_fraction +
        shares.unordered_fraction
  ) {
    [low, high] = [2 * SECOND_MS, 30 * SECOND_MS];
  }
  return Math.floor(uniform(random, low, high));
}

function applyEdgeAmount(t: Transaction): void {
  const amounts: Partial<Record<OddKind, number>> = {
    "amount-zero": 0,
    "amount-exactly-100": 100,
    "amount-just-over-100": 100.01,
    "amount-exactly-500": 500,
    "amount-just-over-500": 500.01,
  };
  const amount = t.odd === null ? undefined : amounts[t.odd];
  if (amount !== undefined) t.amount = amount;
}

function timestampValue(t: Transaction): string | number {
  switch (t.format) {
    case "zoneless":
      return zoneless(t.event_ms);
    case "zoneless-ms":
      return zoneless(t.event_ms, true);
    case "utc":
      return utc(t.event_ms);
    case "offset":
      return withOffset(t.event_ms, t.offset_minutes);
    case "epoch-ms":
      return t.event_ms;
  }
}

/** Which of `options` the record's variant picks. */
function pick<T>(t: Transaction, options: readonly T[]): T {
  return options[t.variant % options.length]!;
}

function payload(t: Transaction): string {
  const fields: Record<string, unknown> = {
    transaction_id: `txn_${Math.floor(t.event_ms / SECOND_MS)}_${t.seq}`,
    user_id: t.user_id,
    product: t.product,
    category: t.category,
    amount: t.amount,
    quantity: t.quantity,
    payment_method: t.payment_method,
    timestamp: timestampValue(t),
    location: t.location,
  };
  const json = () => JSON.stringify(fields);
  /** `fields` with `name`'s value written as raw JSON text (e.g. `1e999`). */
  const raw = (name: string, text: string) => {
    fields[name] = "\u0000raw\u0000";
    return json().replace('"\\u0000raw\\u0000"', text);
  };
  const userNumber = Number(t.user_id.slice("user_".length));
  switch (t.odd) {
    case null:
    case "amount-zero":
    case "amount-exactly-100":
    case "amount-just-over-100":
    case "amount-exactly-500":
    case "amount-just-over-500":
      return json();
    case "extra-fields":
      fields.coupon = "SPRING10";
      fields.channel = pick(t, ["mobile_app", "web", "pos"]);
      return json();
    case "value-whitespace":
      return `  ${json()}\t `;
    case "value-not-json": {
      const text = json();
      return pick(t, [
        text.slice(0, Math.floor(text.length / 2)),
        `transaction_id=${fields.transaction_id} user_id=${t.user_id} amount=${t.amount}`,
        "<html><body>502 Bad Gateway</body></html>",
        "",
      ]);
    }
    case "value-not-object":
      return pick(t, [
        JSON.stringify([fields]),
        JSON.stringify(fields.transaction_id),
        String(t.amount),
        "null",
        "true",
      ]);
    case "transaction_id-missing":
    case "user_id-missing":
    case "category-missing":
    case "amount-missing":
    case "quantity-missing":
    case "timestamp-missing":
      delete fields[t.odd.slice(0, t.odd.lastIndexOf("-"))];
      return json();
    case "transaction_id-empty":
    case "user_id-empty":
    case "category-empty":
      fields[t.odd.slice(0, t.odd.lastIndexOf("-"))] = "";
      return json();
    case "transaction_id-not-string":
      fields.transaction_id = pick(t, [t.seq, null, [fields.transaction_id]]);
      return json();
    case "user_id-not-string":
      fields.user_id = pick(t, [userNumber, null, { id: t.user_id }]);
      return json();
    case "category-not-string":
      fields.category = pick(t, [3, null, [t.category]]);
      return json();
    case "amount-negative":
      fields.amount = pick(t, [-t.amount, -0.01]);
      return json();
    case "amount-not-finite":
      // JSON has no NaN or Infinity, but JSON.parse reads an overflowing
      // literal as Infinity.
      return raw("amount", pick(t, ["1e999", "2e308"]));
    case "amount-not-number":
      fields.amount = pick(t, [String(t.amount), "NaN", null, true]);
      return json();
    case "quantity-zero":
      fields.quantity = 0;
      return json();
    case "quantity-negative":
      fields.quantity = pick(t, [-1, -2]);
      return json();
    case "quantity-fraction":
      fields.quantity = pick(t, [1.5, 0.5, 2.25]);
      return json();
    case "quantity-not-number":
      fields.quantity = pick(t, [String(t.quantity), null, "one"]);
      return json();
    case "timestamp-unparsable":
      fields.timestamp = pick(t, [
        "yesterday",
        "2024-13-45T99:00:00",
        "",
        "2024-01-15T25:61:00",
        "not-a-date",
      ]);
      return json();
    case "timestamp-wrong-type":
      fields.timestamp = pick(t, [
        null,
        true,
        { seconds: Math.floor(t.event_ms / SECOND_MS) },
        [t.event_ms],
      ]);
      return json();
  }
}

function summarize(
  transactions: Transaction[],
  segments: RateSegment[],
  options: { seed: number; partitions: number },
): TransactionsStats {
  const { min_amount, high_value_amount, window_size_ms } = JOB_DEFAULTS;
  const lateness = {
    partitions: options.partitions,
    bound_ms: JOB_DEFAULTS.out_of_orderness_ms,
    window_size_ms,
    allowed_lateness_ms: JOB_DEFAULTS.allowed_lateness_ms,
  };
  const all = new LatenessTally(lateness);
  const keptOnly = new LatenessTally(lateness);
  const bad_by_kind = zeroes(BAD_KINDS);
  const edge_by_kind = zeroes(EDGE_KINDS);
  const by_timestamp_format = zeroes(TIMESTAMP_FORMATS);
  const partition_lines: number[] = new Array(options.partitions).fill(0);
  const by_quantity = [0, 0, 0, 0, 0];
  const users = new Map<string, number>();
  const categories = new Map<string, number>();
  const userWindows = new Set<string>();
  const categoryWindows = new Set<string>();
  const amounts: number[] = [];
  let bad_records = 0;
  let kept = 0;
  let high_value = 0;
  let late_kept = 0;
  let arrival_beyond_1day = 0;
  let event_ms_min = Infinity;
  let event_ms_max = -Infinity;
  for (const t of transactions) {
    const partition = partitionOf(t.user_id, options.partitions);
    partition_lines[partition]!++;
    if (t.odd !== null && BAD_SET.has(t.odd)) {
      bad_by_kind[t.odd as BadKind]++;
      bad_records++;
      continue;
    }
    if (t.odd !== null) edge_by_kind[t.odd as EdgeKind]++;
    by_timestamp_format[t.format]++;
    by_quantity[t.quantity - 1]!++;
    bump(users, t.user_id);
    bump(categories, t.category);
    amounts.push(t.amount);
    event_ms_min = Math.min(event_ms_min, t.event_ms);
    event_ms_max = Math.max(event_ms_max, t.event_ms);
    if (t.arrival_ms - t.event_ms > 24 * HOUR_MS) arrival_beyond_1day++;
    const { late } = all.observe(partition, t.event_ms);
    if (t.amount > high_value_amount) high_value++;
    if (t.amount <= min_amount) continue;
    kept++;
    if (late) late_kept++;
    keptOnly.observe(partition, t.event_ms);
    if (!late) {
      const minute = Math.floor(t.event_ms / window_size_ms);
      userWindows.add(`${t.user_id}/${minute}`);
      categoryWindows.add(`${t.category}/${minute}`);
    }
  }
  amounts.sort((a, b) => a - b);
  const bursts = segments.filter((segment) => segment.rate_multiplier > 1);
  return {
    seed: options.seed,
    lines: transactions.length,
    partition_lines,
    valid_records: transactions.length - bad_records,
    bad_records,
    bad_by_kind,
    edge_by_kind,
    distinct_users: users.size,
    top_users: byCount(users).slice(0, 5),
    by_category: byCount(categories),
    by_timestamp_format,
    by_quantity,
    kept,
    high_value,
    amount_median: amounts[Math.floor(amounts.length / 2)] ?? 0,
    amount_max: amounts[amounts.length - 1] ?? 0,
    arrival_ms_first: transactions[0]?.arrival_ms ?? 0,
    arrival_ms_last: transactions[transactions.length - 1]?.arrival_ms ?? 0,
    event_ms_min,
    event_ms_max,
    bursts: bursts.length,
    burst_ms_total: bursts.reduce((sum, s) => sum + s.end_ms - s.start_ms, 0),
    out_of_order: all.out_of_order,
    beyond_bound: all.beyond_bound,
    late: all.late,
    late_kept,
    late_kept_watermark_of_kept: keptOnly.late,
    arrival_beyond_1day,
    user_windows: userWindows.size,
    category_windows: categoryWindows.size,
  };
}

function cents(value: number): number {
  return Math.round(value * 100) / 100;
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot generate the transactions fixture as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
}

/** The statistics as `name value` lines, as the generator prints them. */
export function formatStats(stats: TransactionsStats): string {
  return alignedRows([...statRows(stats), ...kindRows(stats)]);
}

function statRows(stats: TransactionsStats): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ["seed", String(stats.seed)],
    ["lines", thousands(stats.lines)],
    [
      "lines per partition 0 / 1 / 2 / 3",
      stats.partition_lines.map(thousands).join(" / "),
    ],
    ["valid records", thousands(stats.valid_records)],
    ["bad records (dead letters)", thousands(stats.bad_records)],
    [
      "odd but valid records",
      thousands(Object.values(stats.edge_by_kind).reduce((a, b) => a + b, 0)),
    ],
    ["distinct users (valid records)", thousands(stats.distinct_users)],
    [
      "top users",
      stats.top_users.map(([user, n]) => `${user} ${thousands(n)}`).join(", "),
    ],
    [
      "categories (valid records)",
      stats.by_category.map(([c, n]) => `${c} ${thousands(n)}`).join(", "),
    ],
    [
      "timestamp forms (valid records)",
      TIMESTAMP_FORMATS.map((f) =>
        `${f} ${thousands(stats.by_timestamp_format[f])}`
      ).join(", "),
    ],
    [
      "quantity 1 / 2 / 3 / 4 / 5",
      stats.by_quantity.map(thousands).join(" / "),
    ],
    [
      `kept (amount > ${JOB_DEFAULTS.min_amount})`,
      `${thousands(stats.kept)} (${
        percent(stats.kept, stats.valid_records)
      } of valid)`,
    ],
    [
      `high value (amount > ${JOB_DEFAULTS.high_value_amount})`,
      `${thousands(stats.high_value)} (${
        percent(stats.high_value, stats.valid_records)
      } of valid)`,
    ],
    ["amount median / max", `${stats.amount_median} / ${stats.amount_max}`],
    [
      "arrival time span",
      `${iso(stats.arrival_ms_first)} .. ${iso(stats.arrival_ms_last)}`,
    ],
    [
      "event time span (valid records)",
      `${iso(stats.event_ms_min)} .. ${iso(stats.event_ms_max)}`,
    ],
    [
      "bursts",
      `${stats.bursts} (${
        (stats.burst_ms_total / MINUTE_MS).toFixed(1)
      } min in total)`,
    ],
    ["out of order (behind partition max)", thousands(stats.out_of_order)],
    ["… more than 30 s behind", thousands(stats.beyond_bound)],
    ["late for 1-min windows (valid records)", thousands(stats.late)],
    ["… of which kept (amount > 100)", thousands(stats.late_kept)],
    [
      "late kept, watermark from kept records only",
      thousands(stats.late_kept_watermark_of_kept),
    ],
    ["arriving more than 1 day late", thousands(stats.arrival_beyond_1day)],
    [
      "user windows (kept, on time)",
      thousands(stats.user_windows),
    ],
    [
      "category windows (kept, on time)",
      thousands(stats.category_windows),
    ],
  ];
  return rows;
}

function kindRows(stats: TransactionsStats): Array<[string, string]> {
  return [
    ...BAD_KINDS.map((kind): [string, string] => [
      `bad ${kind}`,
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
  "deno run --allow-read --allow-write scripts/gen_transactions_fixture.ts";

/** The README of a fixture written with `flags`. */
export function readme(
  stats: TransactionsStats,
  written: WrittenFixture,
  flags: { seed: number; messages: number; out: string },
  example: string,
): string {
  const file = flags.out.slice(flags.out.lastIndexOf("/") + 1);
  const table = tableRows(statRows(stats));
  const badRows = BAD_KINDS.map((kind) =>
    `| \`${kind}\` | ${BAD_EXAMPLES[kind]} | ${stats.bad_by_kind[kind]} |`
  ).join("\n");
  const edgeRows = EDGE_KINDS.map((kind) =>
    `| \`${kind}\` | ${EDGE_EXAMPLES[kind]} | ${stats.edge_by_kind[kind]} |`
  ).join("\n");
  return `# \`transactions\` fixture

Recorded input of the \`transactions\` job (topic \`${TRANSACTIONS_TOPIC}\`, issue 7),
written by \`scripts/gen_transactions_fixture.ts\`. Generated, README included: do
not edit by hand, regenerate.

| file | lines | format |
|---|---|---|
| \`${file}\` | ${
    thousands(stats.lines)
  } | recorded log records, one JSON line each, gzipped |

## Regenerate

\`\`\`sh
${USAGE}
${USAGE} --seed 7 --messages 5000 --out /tmp/t.jsonl.gz
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

- \`key\`: the \`user_id\` the producer keyed by (also on bad records, whose
  payload may lack it); \`partition\` = FNV-1a 32-bit of the key's UTF-8 bytes
  mod 4 (the rule and test vectors are in \`fixtures/views/README.md\`).
- \`offset\`: 0, 1, 2, ... per partition in line order; \`timestamp\`: arrival
  time, epoch ms, non-decreasing over the file (partitions interleaved).
- \`value\`: the payload as a JSON string. Event time is its \`timestamp\`.

Payload fields, in order: \`transaction_id\` (\`txn_<epoch s of event time>_<line
number>\`, unique), \`user_id\` (\`user_N\`), \`product\`, \`category\`, \`amount\`
(a number, the line's total = unit price × quantity, in cents), \`quantity\`,
\`payment_method\`, \`timestamp\`, \`location\` (\`city_N\`).

## Distributions

All drawn from one sfc32 generator seeded through splitmix32 (the views
generator's \`createRandom\`).

- **Arrivals**: 2024-01-15T08:00:00Z to 14:00:00Z (6 h), a Poisson process
  with flash-sale bursts (the views fixture's schedule: a burst after an
  exponential quiet time of mean 25 min, 2–6 min long, 3–6 times the base
  rate), conditioned on exactly \`--messages\` arrivals.
- **Users**: 30,000 ids \`user_1\` .. \`user_30000\`, activity Zipf with
  exponent 0.75 over ranks mapped to ids by a seeded shuffle; each user has a
  home city (\`city_1\` .. \`city_50\`, Zipf 0.8) used for 92% of their
  transactions.
- **Categories**: electronics 20%, clothing 20%, home 15%, books 12%, sports
  11%, grocery 10%, toys 8%, beauty 4%. The last three have no discount rate
  in the job (the "any other: 0" path). Products per category, each with its
  own median unit price (laptop 900, t-shirt 20, ...); unit prices are
  log-normal around it (σ = 0.35).
- **Quantity**: 1 (72%), 2 (14%), 3 (7%), 4 (4%), 5 (3%).
- **Payment methods**: credit_card 45%, debit_card 25%, paypal 15%, apple_pay
  8%, bank_transfer 4%, gift_card 3%.
- **Timestamp forms**: 80% zone-less \`2024-01-15T10:30:00\` (the original
  producer's; zone-less means UTC), 4% zone-less with milliseconds, 6% UTC
  with \`Z\` and milliseconds, 5% with an offset (\`+01:00\`, \`-05:00\`,
  \`+05:30\`, \`+09:00\`, \`-08:00\`, \`+00:00\`; whole seconds), 5% epoch ms (a
  number). Forms without milliseconds state whole seconds, and the event time
  used below is exactly what the text states.
- **Event time** = arrival − delay: 0–2 s (88.5%), 2–30 s (10%: out of order
  within the job's 30 s bound), 30 s – 3 min (1.2%), 5 min – 2 h (0.3%), and 3
  records 26–30 h.
- **Odd payloads**: 0.25% of lines at seeded positions, the kinds below taken
  round-robin and each kind's variants in turn. Every odd payload has exactly
  one fault, inside a well-formed recorded line.

### Bad payloads (to \`transactions.dead-letter\`)

| kind | payload | lines |
|---|---|---|
${badRows}

### Odd but valid payloads

| kind | payload | lines |
|---|---|---|
${edgeRows}

## Summary (seed ${flags.seed}, ${thousands(flags.messages)} messages)

Computed by the generator over valid records (clean and odd-but-valid),
per partition in line order, for the job's defaults: out-of-orderness 30 s,
tumbling 1-minute windows, allowed lateness 0, \`min_amount\` 100,
\`high_value_amount\` 500.

| statistic | value |
|---|---|
${table}

"Late" uses one watermark per input partition, \`max event time so far − 30 s −
1 ms\` over the valid records before it (as \`BoundedOutOfOrderness\`), and
Flink's \`isWindowLate\`: a record is late when its window's \`end − 1 ≤
watermark\`. The first count lets every valid record advance the watermark
(filtered ones included); the job may filter before the watermark, hence the
count with kept records only. After the repartition by category the window
operator's watermark is the minimum over upstream partitions: if watermarks
travel behind the records as issue 7 says, a record on time at the user stage
is on time there too, and which records are late there depends on how the
partitions interleave at run time.
`;
}

const BAD_EXAMPLES: Record<BadKind, string> = {
  "value-not-json":
    "first half of the JSON; `transaction_id=… user_id=… amount=…`; `<html>…502 Bad Gateway…`; empty",
  "value-not-object":
    "the record in an array; a JSON string; a number; `null`; `true`",
  "transaction_id-missing": "field absent",
  "transaction_id-empty": '`""`',
  "transaction_id-not-string": "a number, `null` or an array",
  "user_id-missing": "field absent",
  "user_id-empty": '`""`',
  "user_id-not-string": 'a number, `null` or `{"id":…}`',
  "category-missing": "field absent",
  "category-empty": '`""`',
  "category-not-string": "`3`, `null` or an array",
  "amount-missing": "field absent",
  "amount-negative": "the amount negated, or `-0.01`",
  "amount-not-finite": "`1e999` or `2e308` (JSON.parse reads them as Infinity)",
  "amount-not-number": '`"149.99"` (a string), `"NaN"`, `null` or `true`',
  "quantity-missing": "field absent",
  "quantity-zero": "`0`",
  "quantity-negative": "`-1` or `-2`",
  "quantity-fraction": "`1.5`, `0.5` or `2.25`",
  "quantity-not-number": '`"2"` (a string), `null` or `"one"`',
  "timestamp-missing": "field absent",
  "timestamp-unparsable":
    '`"yesterday"`, `"2024-13-45T99:00:00"`, `""`, `"2024-01-15T25:61:00"` or `"not-a-date"`',
  "timestamp-wrong-type": '`null`, `true`, `{"seconds":…}` or `[epoch ms]`',
};

const EDGE_EXAMPLES: Record<EdgeKind, string> = {
  "amount-zero": "`0`: valid, filtered (not > 100)",
  "amount-exactly-100": "`100`: valid, filtered (not > 100)",
  "amount-just-over-100": "`100.01`: kept, not high value",
  "amount-exactly-500": "`500`: kept, not high value (not > 500)",
  "amount-just-over-500": "`500.01`: kept and high value",
  "extra-fields":
    '`"coupon":"SPRING10","channel":…` after the usual fields: kept as given',
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
      "Generates the recorded input of the transactions job (see fixtures/transactions/README.md).",
      DEFAULTS,
    );
  }
  const { lines, stats } = generateTransactions({
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
