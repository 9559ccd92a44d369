/**
 * Golden outputs of the `transactions` job: replays
 * `fixtures/transactions/transactions.jsonl.gz` through the simulator (seed
 * 1, no faults, the CLI's defaults) and writes
 * `fixtures/transactions/golden/transactions.digest` (SHA-256 of the
 * canonical outputs, the digest `deno task sim --job transactions` prints)
 * and `fixtures/transactions/golden/transactions.summary.json` (what a
 * person can review). `tests/replay/transactions_replay_test.ts` compares a
 * fresh replay with them.
 *
 * Usage: `deno run --allow-read --allow-write scripts/update_transactions_golden.ts`
 * (`--check` compares instead of writing, and exits 1 on a difference).
 *
 * A change of the golden files changes what the job computes: say why in the
 * commit that carries it (see fixtures/transactions/golden/README.md).
 *
 * @module
 */

import { decodeFixture, parseFixture } from "../src/core/fixture.ts";
import type { Counts } from "../src/core/job.ts";
import {
  CATEGORY_AGGREGATIONS,
  HIGH_VALUE,
  PROCESSED,
  transactions,
  USER_AGGREGATIONS,
} from "../src/jobs/transactions/job.ts";
import { cents, toMicros } from "../src/jobs/transactions/parse.ts";
import {
  type CanonicalOutputs,
  canonicalOutputs,
  digest,
} from "../sim/outputs.ts";
import { type FaultKind, simulate } from "../sim/simulator.ts";

/** Where the fixture and the golden files live, relative to the repository root. */
export const TRANSACTIONS_GOLDEN_PATHS = {
  fixture: "fixtures/transactions/transactions.jsonl.gz",
  digest: "fixtures/transactions/golden/transactions.digest",
  summary: "fixtures/transactions/golden/transactions.summary.json",
} as const;

/** The seed of the golden run. */
export const TRANSACTIONS_GOLDEN_SEED = 1;

/** Virtual time between checkpoints: the simulator CLI's default. */
export const TRANSACTIONS_GOLDEN_CHECKPOINT_INTERVAL_MS = 600_000;

const ROOT = new URL("../", import.meta.url);

/** Totals of a set of windows or transactions, amounts in units (cents). */
export interface Totals {
  /** Windows (aggregation topics) or messages. */
  records: number;
  /** Transactions counted in them. */
  transactions: number;
  total_amount: number;
  total_discounted_amount: number;
}

/** What a reviewer reads in `transactions.summary.json`. */
export interface TransactionsSummary {
  fixture: string;
  seed: number;
  /** Where the input records went (the first stage). */
  counts: Counts;
  /** The stage after the repartition by category. */
  category_stage_counts: Counts;
  /** Messages per output topic (side topics: distinct keys). */
  messages_by_topic: Record<string, number>;
  processed: Totals;
  high_value: Totals;
  user_windows: Totals;
  category_windows: Totals;
  /** Per category: its windows, transactions, amounts and units. */
  categories: Record<string, Totals & { units: number }>;
  /** The 5 users with the largest total amount over their windows, as "user_id total (transactions)". */
  top_users: string[];
  /** Earliest window start and latest window end over both aggregations. */
  window_span: [string, string];
  /** Dead-letter reasons, grouped by the rule broken (values left out), and how many records got each. */
  dead_letter_rules: Record<string, number>;
  /** Late-record reasons and how many records got each. */
  late_reasons: Record<string, number>;
}

/** The golden run's outputs, in canonical form and digested. */
export interface TransactionsGolden {
  outputs: CanonicalOutputs;
  digest: string;
  summary: TransactionsSummary;
}

/** The parsed fixture, read once per process. */
let fixtureCache: ReturnType<typeof parseFixture> | undefined;

/** The recorded fixture's messages. */
export async function transactionsFixture(): Promise<
  ReturnType<typeof parseFixture>
> {
  fixtureCache ??= parseFixture(
    await decodeFixture(
      await Deno.readFile(new URL(TRANSACTIONS_GOLDEN_PATHS.fixture, ROOT)),
    ),
  );
  return fixtureCache;
}

/**
 * A side message's reason without the value it shows, so that reasons group
 * by the rule broken: `'amount' must be a finite number >= 0`.
 */
export function ruleOf(reason: string): string {
  return reason
    .replace(/: current value is [\s\S]*$/, "")
    .replace(/^(payload is not valid JSON): [\s\S]*$/, "$1");
}

function histogram(
  messages: readonly string[],
  group: (reason: string) => string = (reason) => reason,
): Record<string, number> {
  const counts = new Map<string, number>();
  for (const message of messages) {
    const reason = group(String(JSON.parse(message).reason));
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return Object.fromEntries(
    [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
  );
}

/** Sums of amounts kept in millionths, so that the totals are exact. */
class Sum {
  records = 0;
  transactions = 0;
  total = 0;
  discounted = 0;

  add(transactions: number, amount: number, discounted: number): void {
    this.records++;
    this.transactions += transactions;
    this.total += toMicros(amount);
    this.discounted += toMicros(discounted);
  }

  totals(): Totals {
    return {
      records: this.records,
      transactions: this.transactions,
      total_amount: cents(this.total),
      total_discounted_amount: cents(this.discounted),
    };
  }
}

/** A `user_aggregations` or `category_aggregations` message. */
interface WindowMessage {
  user_id: string;
  category: string;
  window_start: string;
  window_end: string;
  count: number;
  total_amount: number;
  total_discounted_amount: number;
  units: number;
}

/** A `processed_transactions` or `high_value_transactions` message. */
interface TransactionMessage {
  amount: number;
  discounted_amount: number;
}

/** The human-readable summary of canonical outputs and stage counts. */
export function summarize(
  outputs: CanonicalOutputs,
  category_stage_counts: Counts,
): TransactionsSummary {
  const topic = (name: string) =>
    outputs.topics.find((t) => t.topic === name)?.messages ?? [];
  const windows = (name: string) =>
    topic(name).map((m) => JSON.parse(m) as WindowMessage);
  const messages = (name: string) => {
    const sum = new Sum();
    for (const m of topic(name)) {
      const t = JSON.parse(m) as TransactionMessage;
      sum.add(1, t.amount, t.discounted_amount);
    }
    return sum.totals();
  };

  const users = new Sum();
  const byUser = new Map<string, { total: number; count: number }>();
  let first = "";
  let last = "";
  const span = (start: string, end: string) => {
    if (first === "" || start < first) first = start;
    if (end > last) last = end;
  };
  for (const w of windows(USER_AGGREGATIONS)) {
    users.add(w.count, w.total_amount, w.total_discounted_amount);
    const user = byUser.get(w.user_id) ?? { total: 0, count: 0 };
    user.total += toMicros(w.total_amount);
    user.count += w.count;
    byUser.set(w.user_id, user);
    span(w.window_start, w.window_end);
  }
  const categories = new Sum();
  const byCategory = new Map<string, { sum: Sum; units: number }>();
  for (const w of windows(CATEGORY_AGGREGATIONS)) {
    categories.add(w.count, w.total_amount, w.total_discounted_amount);
    const entry = byCategory.get(w.category) ??
      { sum: new Sum(), units: 0 };
    entry.sum.add(w.count, w.total_amount, w.total_discounted_amount);
    entry.units += w.units;
    byCategory.set(w.category, entry);
    span(w.window_start, w.window_end);
  }
  const dead = `${transactions.create().topic}.dead-letter`;
  const late = `${transactions.create().topic}.late`;
  return {
    fixture: TRANSACTIONS_GOLDEN_PATHS.fixture,
    seed: TRANSACTIONS_GOLDEN_SEED,
    counts: outputs.counts,
    category_stage_counts,
    messages_by_topic: Object.fromEntries(
      outputs.topics.map((t) => [t.topic, t.messages.length]),
    ),
    processed: messages(PROCESSED),
    high_value: messages(HIGH_VALUE),
    user_windows: users.totals(),
    category_windows: categories.totals(),
    categories: Object.fromEntries(
      [...byCategory].sort((a, b) => a[0] < b[0] ? -1 : 1).map((
        [name, { sum, units }],
      ) => [name, { ...sum.totals(), units }]),
    ),
    top_users: [...byUser]
      .sort((a, b) => b[1].total - a[1].total || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([user, { total, count }]) => `${user} ${cents(total)} (${count})`),
    window_span: [first, last],
    dead_letter_rules: histogram(topic(dead), ruleOf),
    late_reasons: histogram(topic(late)),
  };
}

/** Replays the whole transactions fixture with `seed` and `faults`. */
export async function transactionsGolden(
  options: {
    /** Default: {@linkcode TRANSACTIONS_GOLDEN_SEED}. */
    seed?: number;
    /** Default: none. */
    faults?: readonly FaultKind[];
    /** Instances in one consumer group. Default: 1. */
    instances?: number;
    /**
     * Virtual time between checkpoints; outputs do not depend on it.
     * Default: {@linkcode TRANSACTIONS_GOLDEN_CHECKPOINT_INTERVAL_MS}.
     */
    checkpoint_interval_ms?: number;
  } = {},
): Promise<TransactionsGolden> {
  const job = transactions.create();
  const result = await simulate({
    job,
    fixture: await transactionsFixture(),
    seed: options.seed ?? TRANSACTIONS_GOLDEN_SEED,
    faults: options.faults ?? [],
    instances: options.instances ?? 1,
    checkpoint_interval_ms: options.checkpoint_interval_ms ??
      TRANSACTIONS_GOLDEN_CHECKPOINT_INTERVAL_MS,
  });
  const outputs = await canonicalOutputs(result, [job.topic]);
  return {
    outputs,
    digest: await digest(outputs),
    summary: summarize(outputs, result.counts_by_stage[1]!),
  };
}

/** The golden files' text for a run. */
export function goldenFiles(
  golden: TransactionsGolden,
): { digest: string; summary: string } {
  return {
    digest: `${golden.digest}\n`,
    summary: `${JSON.stringify(golden.summary, null, 2)}\n`,
  };
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const files = goldenFiles(await transactionsGolden());
  let differs = false;
  for (
    const [path, text] of [
      [TRANSACTIONS_GOLDEN_PATHS.digest, files.digest],
      [TRANSACTIONS_GOLDEN_PATHS.summary, files.summary],
    ] as const
  ) {
    const url = new URL(path, ROOT);
    const current = await Deno.readTextFile(url).catch(() => null);
    if (current === text) {
      console.log(`${path}: unchanged`);
      continue;
    }
    differs = true;
    if (check) {
      console.log(`${path}: differs from a fresh replay`);
    } else {
      await Deno.mkdir(new URL(".", url), { recursive: true });
      await Deno.writeTextFile(url, text);
      console.log(`${path}: written`);
    }
  }
  if (differs && !check) {
    console.log(
      "Review the change (git diff fixtures/transactions/golden) and say why it is right in the commit.",
    );
  }
  return check && differs ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
