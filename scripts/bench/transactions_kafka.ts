/**
 * Kafka → Kafka, two ways, on one topic filled with the `transactions`
 * fixture: the production runner running `transactions` exactly once
 * (validation, filter, discount, user windows, the repartition by category
 * and its windows; one Kafka transaction per input partition, stage and
 * checkpoint; snapshots in S3), and the baseline, a raw kafkajs consume →
 * produce loop at least once: `eachBatch`, the same parsing
 * (`parseTransaction`), filter and discount, each batch's
 * `processed_transactions` and `high_value_transactions` messages sent and
 * awaited before kafkajs commits the batch's offsets, and no windows. Each
 * run writes to topics of its own, deleted afterwards.
 *
 * @module
 */

import type { Message } from "kafkajs";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { SystemClock } from "../../src/adapters/clock.ts";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import type { Counts } from "../../src/core/job.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import { formatIso } from "../../src/core/time.ts";
import { Runner } from "../../src/core/runner.ts";
import {
  TRANSACTIONS_OPTIONS,
  transactionsJob,
  type TransactionsTopics,
} from "../../src/jobs/transactions/job.ts";
import { cents, parseTransaction } from "../../src/jobs/transactions/parse.ts";
import { deadLetterTopic, lateTopic } from "../../src/sinks/side_topics.ts";
import { withTimeout } from "./consume.ts";
import { sleep } from "./stats.ts";
import {
  type CallStats,
  type ObjectStats,
  observedLog,
  TimedObjectStore,
} from "./instrument.ts";
import type {
  Log,
  LogTransaction,
  TransactionalProducer,
} from "../../src/ports.ts";
import {
  benchKafka,
  benchObjectStore,
  createTopics,
  deleteObjectsPrefix,
  deleteTopics,
  fillTopic,
  groupName,
  type PlacedMessage,
  SERVICES,
  uniqueName,
} from "./services.ts";

/**
 * Creates topics, again when waiting for their leaders failed: right after
 * a run deleted its topics, the broker may answer the metadata of new ones
 * with UNKNOWN_TOPIC_OR_PARTITION for a while.
 */
async function createTopicsPatiently(
  topics: readonly string[],
  partitions: number,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await createTopics(topics, partitions);
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(1_000 * attempt);
    }
  }
}

/** The recorded `transactions` fixture. */
export const TRANSACTIONS_FIXTURE =
  "fixtures/transactions/transactions.jsonl.gz";
const PARTITIONS = 4;

/**
 * The first `limit` fixture records as recorded, then one filtered record
 * per partition an hour of event time after the latest: it moves every
 * partition's watermark past every window (a bounded replay's end of input).
 */
export function transactionsMessages(
  text: string,
  limit: number,
): { messages: PlacedMessage[]; kept: number } {
  const messages: PlacedMessage[] = [];
  let latest = 0;
  let kept = 0;
  const min = TRANSACTIONS_OPTIONS.min_amount * 1_000_000;
  for (const m of parseFixture(text)) {
    if (messages.length >= limit) break;
    messages.push({
      key: m.key ?? null,
      value: m.value,
      partition: (m.partition ?? 0) % PARTITIONS,
    });
    const parsed = parseTransaction(m.value);
    if ("value" in parsed) {
      latest = Math.max(latest, parsed.time);
      if (parsed.value.amount_micros > min) kept++;
    }
  }
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const id = `closing-${partition}`;
    messages.push({
      key: id,
      partition,
      value: JSON.stringify({
        transaction_id: id,
        user_id: id,
        category: "none",
        amount: 0,
        quantity: 1,
        timestamp: formatIso(latest + 3_600_000),
      }),
    });
  }
  return { messages, kept };
}

/** A topic filled with {@linkcode transactionsMessages}. */
export class TransactionsTopic {
  readonly topic: string;
  /** Messages in the topic. */
  readonly count: number;
  /** Of them, transactions the job keeps (they cross the repartition). */
  readonly kept: number;

  private constructor(topic: string, count: number, kept: number) {
    this.topic = topic;
    this.count = count;
    this.kept = kept;
  }

  static async open(text: string, limit: number): Promise<TransactionsTopic> {
    const topic = uniqueName("bench-transactions");
    const { messages, kept } = transactionsMessages(text, limit);
    await createTopicsPatiently([topic], PARTITIONS);
    await fillTopic(topic, messages);
    return new TransactionsTopic(topic, messages.length, kept);
  }

  async close(): Promise<void> {
    await deleteTopics([this.topic]);
  }
}

/** Time awaited on Kafka transaction calls, by call. */
export interface TransactionStats {
  claims: CallStats;
  begins: CallStats;
  produces: CallStats;
  send_offsets: CallStats;
  commits: CallStats;
}

function calls(): CallStats {
  return { calls: 0, ms: 0 };
}

async function timed<T>(stats: CallStats, call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await call();
  } finally {
    stats.ms += performance.now() - started;
    stats.calls++;
  }
}

/** `log`, whose transactional producers' calls are counted and timed in `stats`. */
function timedTransactions(log: Log, stats: TransactionStats): Log {
  const transaction = (txn: LogTransaction): LogTransaction => ({
    produce: (topic, messages) =>
      timed(stats.produces, () => txn.produce(topic, messages)),
    sendOffsets: (group, offsets) =>
      timed(stats.send_offsets, () => txn.sendOffsets(group, offsets)),
    commit: () => timed(stats.commits, () => txn.commit()),
    abort: () => txn.abort(),
  });
  return {
    ...log,
    transactionalProducer: async (id): Promise<TransactionalProducer> => {
      const producer = await timed(
        stats.claims,
        () => log.transactionalProducer(id),
      );
      return {
        begin: async () =>
          transaction(await timed(stats.begins, () => producer.begin())),
        close: () => producer.close(),
      };
    },
  };
}

/** One run of the runner. */
export interface TransactionsTiming {
  /** Processing time between checkpoints. */
  checkpoint_interval_ms: number;
  /** Input records handled (the first stage's). */
  count: number;
  /** Counts of both stages together. */
  counts: Counts;
  /** First batch polled to the last record handled. */
  steady_ms: number;
  /** The final checkpoint, committing what was still open. */
  close_ms: number;
  /** First batch to the final commit: the measured window. */
  measured_ms: number;
  startup_ms: number;
  checkpoints: number;
  /** Time awaited in polls (the consumer's fetches and waits). */
  poll: CallStats;
  /** Side outputs (dead letters, late records): plain produce calls. */
  side: CallStats;
  transactions: TransactionStats;
  /** State snapshots in S3. */
  objects: ObjectStats;
}

/**
 * Runs `transactions` on `topic` with the production adapters (output,
 * internal and side topics named after the run) until both stages handled
 * every record, then closes it (its last checkpoint commits the rest).
 */
export async function runTransactions(
  topic: TransactionsTopic,
  options: {
    /** Default: the job's (as `deno task run`). */
    checkpoint_interval_ms?: number;
    timeout_ms?: number;
    /**
     * `KafkaLog`'s wait for a commit's writes to be readable. Default: 0,
     * as `deno task run` (`src/cli/services.ts`).
     */
    txn_visible_wait_ms?: number;
  } = {},
): Promise<TransactionsTiming> {
  const name = uniqueName("bench-txn");
  const outputs: TransactionsTopics = {
    processed: `${name}.processed`,
    high_value: `${name}.high_value`,
    user_aggregations: `${name}.users`,
    category_aggregations: `${name}.categories`,
  };
  const job = transactionsJob({ name, topics: outputs }).create({
    topic: topic.topic,
  });
  const created = [
    ...Object.values(outputs),
    deadLetterTopic(topic.topic),
    lateTopic(topic.topic),
    ...job.stages.slice(1).map((s) => s.topic),
  ];
  await createTopicsPatiently(created, PARTITIONS);
  const kafka = new KafkaLog({
    brokers: [...SERVICES.kafka_brokers],
    clientId: "freshet-bench-transactions",
    log_level: "error",
    txn_visible_wait_ms: options.txn_visible_wait_ms ?? 0,
  });
  const s3 = benchObjectStore(`${name}/`);
  const objects = new TimedObjectStore(s3);
  const { log: observed, stats: polls } = observedLog(kafka, () => {});
  const transactions: TransactionStats = {
    claims: calls(),
    begins: calls(),
    produces: calls(),
    send_offsets: calls(),
    commits: calls(),
  };
  const log = timedTransactions(observed, transactions);
  let checkpoints = 0;
  const runner = new Runner({
    job,
    log,
    objects,
    checkpoints: new CheckpointStore(objects),
    clock: new SystemClock(),
    group_id: groupName(`${name}-group`),
    checkpoint_interval_ms: options.checkpoint_interval_ms ??
      job.checkpoint_interval_ms,
    onEvent: (event) => {
      if (event.type === "checkpoint") checkpoints++;
    },
  });
  const expected = topic.count + topic.kept;
  const started = performance.now();
  const deadline = started + (options.timeout_ms ?? 300_000);
  try {
    runner.start();
    while (runner.counts().in < expected) {
      if (performance.now() > deadline) {
        throw new Error(
          `Cannot finish the benchmark as the runner had handled only ${runner.counts().in} of ${expected} records when its time was up`,
        );
      }
      await runner.step();
    }
    // The last watermark markers fire the last category windows.
    while (await runner.step()) {
      if (performance.now() > deadline) break;
    }
    const last_ms = performance.now();
    const counts = runner.counts();
    await runner.close();
    const closed_ms = performance.now();
    return {
      checkpoint_interval_ms: options.checkpoint_interval_ms ??
        job.checkpoint_interval_ms ?? 10_000,
      count: topic.count,
      counts,
      steady_ms: last_ms - polls.first_batch_at,
      close_ms: closed_ms - last_ms,
      measured_ms: closed_ms - polls.first_batch_at,
      startup_ms: polls.first_batch_at - started,
      checkpoints,
      poll: polls.polls,
      side: polls.produce,
      transactions,
      objects: objects.stats,
    };
  } finally {
    await kafka.close();
    await s3.close();
    await deleteObjectsPrefix(`${name}/`);
    await deleteTopics(created);
  }
}

/** One run of the baseline. */
export interface RawLoopTiming {
  count: number;
  /** First message delivered to the last batch's produce acknowledged. */
  steady_ms: number;
  produced: number;
}

const RATES: Record<string, number> = {
  electronics: TRANSACTIONS_OPTIONS.discount_electronics,
  clothing: TRANSACTIONS_OPTIONS.discount_clothing,
  home: TRANSACTIONS_OPTIONS.discount_home,
  books: TRANSACTIONS_OPTIONS.discount_books,
  sports: TRANSACTIONS_OPTIONS.discount_sports,
};

/**
 * Reads `topic` to its end with raw kafkajs (`eachBatch`, a new group),
 * parses, filters and discounts each message as the job does and sends the
 * batch's outputs to two topics with one awaited `sendBatch` (acks from all
 * replicas); kafkajs commits the batch's offsets after it: at least once.
 */
export async function rawConsumeProduce(
  topic: TransactionsTopic,
  options: { timeout_ms?: number } = {},
): Promise<RawLoopTiming> {
  const name = uniqueName("bench-raw-txn");
  const processed = `${name}.processed`;
  const high = `${name}.high_value`;
  await createTopicsPatiently([processed, high], PARTITIONS);
  const client = benchKafka("freshet-bench-raw-txn");
  const consumer = client.consumer({ groupId: groupName("bench-raw-txn") });
  const producer = client.producer();
  const min = TRANSACTIONS_OPTIONS.min_amount * 1_000_000;
  const over = TRANSACTIONS_OPTIONS.high_value_amount * 1_000_000;
  let count = 0;
  let produced = 0;
  let first_ms = 0;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => finish = resolve);
  await Promise.all([consumer.connect(), producer.connect()]);
  try {
    await consumer.subscribe({ topics: [topic.topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (count === 0) first_ms = performance.now();
        const out: Message[] = [];
        const big: Message[] = [];
        for (const message of batch.messages) {
          const parsed = parseTransaction(message.value?.toString() ?? "");
          if (!("value" in parsed)) continue;
          const t = parsed.value;
          if (t.amount_micros <= min) continue;
          const rate = RATES[t.category] ?? TRANSACTIONS_OPTIONS.discount_other;
          const value = JSON.stringify({
            ...t.fields,
            discount_rate: rate,
            discounted_amount: cents(Math.round(t.amount_micros * (1 - rate))),
          });
          out.push({ key: t.user_id, value });
          if (t.amount_micros > over) big.push({ key: t.user_id, value });
        }
        if (out.length > 0) {
          await producer.sendBatch({
            topicMessages: [
              { topic: processed, messages: out },
              ...(big.length > 0 ? [{ topic: high, messages: big }] : []),
            ],
          });
          produced += out.length + big.length;
        }
        count += batch.messages.length;
        if (count >= topic.count) finish();
      },
    });
    await withTimeout(
      finished,
      options.timeout_ms ?? 300_000,
      () => `raw kafkajs loop read ${count} of ${topic.count} messages`,
    );
    return { count, steady_ms: performance.now() - first_ms, produced };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await deleteTopics([processed, high]);
  }
}
