/**
 * The `transactions` job: the e-commerce example of the Kafka/Flink
 * learning project, Kafka to Kafka exactly once.
 *
 * Input: topic `transactions`, keyed by `user_id`. Bad records go to
 * `transactions.dead-letter` with the reason; transactions of at most
 * `min_amount` are `filtered`. Outputs (one Kafka transaction per input
 * partition and checkpoint: read them with `isolation.level=read_committed`):
 *
 * | topic | key | what |
 * |---|---|---|
 * | `processed_transactions` | `user_id` | every input field as given, plus `discount_rate` and `discounted_amount` (cents) |
 * | `high_value_transactions` | `user_id` | the same, for amounts over `high_value_amount` |
 * | `user_aggregations` | `user_id` | per user and tumbling window: count, totals, average and maximum amount |
 * | `category_aggregations` | `category` | per category and window, through a repartition by category: count, totals, units |
 *
 * Windows are event time with `out_of_orderness_ms` of disorder and
 * `allowed_lateness_ms` of lateness; a record too late for its window goes
 * to `transactions.late` (it still reaches the two transaction topics).
 * Amounts are summed in millionths and rounded to cents on output, so no
 * total depends on the order of its terms.
 *
 * @module
 */

import { defineJob, type JobSpec } from "../../flow/define.ts";
import type { Flow } from "../../flow/stream.ts";
import type { Log } from "../../ports.ts";
import { tumbling } from "../../core/windows.ts";
import { formatIso } from "../../core/time.ts";
import type { Aggregate } from "../../core/window_operator.ts";
import { kafkaSink } from "../../sinks/kafka.ts";
import { cents, parseTransaction, type Transaction } from "./parse.ts";

export const PROCESSED = "processed_transactions";
export const HIGH_VALUE = "high_value_transactions";
export const USER_AGGREGATIONS = "user_aggregations";
export const CATEGORY_AGGREGATIONS = "category_aggregations";

/** The options of `transactions`, with their defaults. */
export const TRANSACTIONS_OPTIONS = {
  partitions: 4,
  out_of_orderness_ms: 30_000,
  allowed_lateness_ms: 0,
  window_ms: 60_000,
  /** Transactions of at most this amount are filtered. */
  min_amount: 100,
  /** Transactions over this amount also go to `high_value_transactions`. */
  high_value_amount: 500,
  discount_electronics: 0.10,
  discount_clothing: 0.20,
  discount_home: 0.15,
  discount_books: 0.05,
  discount_sports: 0.10,
  /** Every other category's discount. */
  discount_other: 0,
};

/** A kept transaction with its discount. */
interface Kept extends Transaction {
  discount_rate: number;
  discounted_micros: number;
}

/** What crosses the repartition by category: only what its windows need. */
interface CategoryItem {
  category: string;
  amount_micros: number;
  discounted_micros: number;
  quantity: number;
}

type UserTotals = {
  count: number;
  total: number;
  discounted: number;
  max: number;
};

type CategoryTotals = {
  count: number;
  total: number;
  discounted: number;
  units: number;
};

/** A sum-like aggregate over plain-number fields (immutable accumulators). */
function totals<IN, ACC extends Record<string, number>>(
  zero: ACC,
  add: (acc: ACC, x: IN) => ACC,
  merge: (a: ACC, b: ACC) => ACC,
): Aggregate<IN, ACC, ACC> {
  return {
    create: () => ({ ...zero }),
    add,
    merge,
    result: (acc) => ({ ...acc }),
    encode: (acc) => acc,
    decode: (data) => ({ ...(data as ACC) }),
  };
}

const userTotals = totals<Kept, UserTotals>(
  { count: 0, total: 0, discounted: 0, max: 0 },
  (a, t) => ({
    count: a.count + 1,
    total: a.total + t.amount_micros,
    discounted: a.discounted + t.discounted_micros,
    max: Math.max(a.max, t.amount_micros),
  }),
  (a, b) => ({
    count: a.count + b.count,
    total: a.total + b.total,
    discounted: a.discounted + b.discounted,
    max: Math.max(a.max, b.max),
  }),
);

const categoryTotals = totals<CategoryItem, CategoryTotals>(
  { count: 0, total: 0, discounted: 0, units: 0 },
  (a, t) => ({
    count: a.count + 1,
    total: a.total + t.amount_micros,
    discounted: a.discounted + t.discounted_micros,
    units: a.units + t.quantity,
  }),
  (a, b) => ({
    count: a.count + b.count,
    total: a.total + b.total,
    discounted: a.discounted + b.discounted,
    units: a.units + b.units,
  }),
);

/** The four output topics of the job. */
export interface TransactionsTopics {
  processed: string;
  high_value: string;
  user_aggregations: string;
  category_aggregations: string;
}

/** Options of {@linkcode transactionsJob}: names a deployment may choose. */
export interface TransactionsJobOptions {
  /**
   * The job's name: it keys checkpoints, transactional ids, the default
   * consumer group and the internal topic of the repartition
   * (`<name>-by-category-repartition`, or `<name>-<topic>-by-category-repartition`
   * with `--topic`). Default: `"transactions"`.
   */
  name?: string;
  /** Output topics. Default: `processed_transactions`, `high_value_transactions`, `user_aggregations`, `category_aggregations`. */
  topics?: Partial<TransactionsTopics>;
}

/**
 * The `transactions` job under other names, e.g. for a second deployment
 * on the same Kafka cluster (`--job-file` with
 * `export default transactionsJob({ name, topics })`); the registry's is
 * {@linkcode transactions}.
 */
export function transactionsJob(options: TransactionsJobOptions = {}): JobSpec {
  const topics: TransactionsTopics = {
    processed: PROCESSED,
    high_value: HIGH_VALUE,
    user_aggregations: USER_AGGREGATIONS,
    category_aggregations: CATEGORY_AGGREGATIONS,
    ...options.topics,
  };
  const outputs = [
    topics.processed,
    topics.high_value,
    topics.user_aggregations,
    topics.category_aggregations,
  ];
  return defineJob({
    name: options.name ?? "transactions",
    description:
      "e-commerce transactions: validate, filter, discount, per-user and per-category windows (Kafka, exactly once)",
    fixture: "fixtures/transactions/transactions.jsonl.gz",
    options: TRANSACTIONS_OPTIONS,
    // Outputs become visible when their transaction commits: a checkpoint
    // a second keeps them a second behind (Kafka Streams commits exactly-
    // once tasks every 100 ms).
    checkpoint_interval_ms: 1_000,
    build: (flow, o) => build(flow, o, topics),
    summarize: ({ log }) => summarize(log, outputs),
  });
}

/** The `transactions` job. */
export const transactions: JobSpec = transactionsJob();

function build(
  flow: Flow,
  o: typeof TRANSACTIONS_OPTIONS,
  topics: TransactionsTopics,
): void {
  const kafka = kafkaSink({
    topics: [
      topics.processed,
      topics.high_value,
      topics.user_aggregations,
      topics.category_aggregations,
    ],
  });
  const rates: Record<string, number> = {
    electronics: o.discount_electronics,
    clothing: o.discount_clothing,
    home: o.discount_home,
    books: o.discount_books,
    sports: o.discount_sports,
  };
  const min = o.min_amount * 1_000_000;
  const high = o.high_value_amount * 1_000_000;
  const windows = {
    assigner: tumbling({ size_ms: o.window_ms }),
    allowed_lateness_ms: o.allowed_lateness_ms,
  };

  const kept = flow
    .source("transactions", {
      parse: parseTransaction,
      out_of_orderness_ms: o.out_of_orderness_ms,
      partitions: o.partitions,
    })
    .filter((t) => t.amount_micros > min)
    .map((t): Kept => {
      const discount_rate = rates[t.category] ?? o.discount_other;
      const discounted_micros = Math.round(
        t.amount_micros * (1 - discount_rate),
      );
      return { ...t, discount_rate, discounted_micros };
    });

  kept.to(kafka, (t, out) => {
    const value = JSON.stringify({
      ...t.fields,
      discount_rate: t.discount_rate,
      discounted_amount: cents(t.discounted_micros),
    });
    out.send(topics.processed, t.user_id, value);
    if (t.amount_micros > high) out.send(topics.high_value, t.user_id, value);
  });

  kept.keyBy((t) => t.user_id)
    .window({ name: "user", aggregate: userTotals, ...windows })
    .to(kafka, (r, out) =>
      out.send(
        topics.user_aggregations,
        r.key,
        JSON.stringify({
          user_id: r.key,
          window_start: formatIso(r.window.start),
          window_end: formatIso(r.window.end),
          count: r.value.count,
          total_amount: cents(r.value.total),
          total_discounted_amount: cents(r.value.discounted),
          avg_amount: cents(r.value.total / r.value.count),
          max_amount: cents(r.value.max),
        }),
      ));

  kept
    .map((t): CategoryItem => ({
      category: t.category,
      amount_micros: t.amount_micros,
      discounted_micros: t.discounted_micros,
      quantity: t.quantity,
    }))
    .keyBy((t) => t.category, { repartition: true, name: "by-category" })
    .window({ name: "category", aggregate: categoryTotals, ...windows })
    .to(kafka, (r, out) =>
      out.send(
        topics.category_aggregations,
        r.key,
        JSON.stringify({
          category: r.key,
          window_start: formatIso(r.window.start),
          window_end: formatIso(r.window.end),
          count: r.value.count,
          total_amount: cents(r.value.total),
          total_discounted_amount: cents(r.value.discounted),
          units: r.value.units,
        }),
      ));
}

async function summarize(
  log: Log,
  topics: readonly string[],
): Promise<string[]> {
  const lines: string[] = [];
  for (const topic of topics) {
    const ends = await log.endOffsets(topic).catch(() => [] as number[]);
    let records = 0;
    for (let p = 0; p < ends.length; p++) {
      records += (await log.read(topic, p, 0, Number.MAX_SAFE_INTEGER))
        .length;
    }
    lines.push(`${topic}: ${records} records`);
  }
  return lines;
}
