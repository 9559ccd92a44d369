/**
 * The `transactions` job through the shared test driver (sim/driver.ts):
 * what it writes to its four topics and its side topics for small inputs —
 * validation, the filter, discounts and their rounding, high-value routing,
 * the user and category windows, lateness on both sides of the repartition,
 * the category stage waiting for every upstream partition — and that a
 * crash or a restart changes none of it.
 */

import assert from "node:assert/strict";
import {
  transactions,
  transactionsJob,
} from "../../src/jobs/transactions/job.ts";
import { cents } from "../../src/jobs/transactions/parse.ts";
import type { JobOverrides } from "../../src/flow/define.ts";
import { JobDriver, type JobDriverOptions } from "../../sim/driver.ts";

const TOPIC = "transactions";
const INTERNAL = "transactions-by-category-repartition";
const DEAD = "transactions.dead-letter";
const LATE = "transactions.late";
const OUTPUTS = [
  "processed_transactions",
  "high_value_transactions",
  "user_aggregations",
  "category_aggregations",
] as const;

/** 2024-01-15T10:00:00Z, the start of a 1-minute window. */
const T0 = Date.UTC(2024, 0, 15, 10, 0, 0);
const MINUTE = 60_000;

/** A zone-less ISO time (UTC to the job), `ms` after T0; milliseconds when not whole seconds. */
function at(ms: number): string {
  return new Date(T0 + ms).toISOString().slice(0, ms % 1_000 === 0 ? 19 : 23);
}

let serial = 0;

/** A transaction payload in the producer's field order; `fields` override. */
function txn(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    transaction_id: `txn_${++serial}`,
    user_id: "user_1",
    product: "laptop",
    category: "electronics",
    amount: 200,
    quantity: 1,
    payment_method: "credit_card",
    timestamp: at(0),
    location: "city_5",
    ...fields,
  });
}

/** A driver whose clock (append time) starts 10 min after T0. */
async function driver(
  options: Record<string, string> = {},
  more: JobDriverOptions = {},
): Promise<JobDriver> {
  const overrides: JobOverrides = { options };
  return await JobDriver.open(transactions, {
    partitions: 1,
    start_ms: T0 + 10 * MINUTE,
    overrides,
    ...more,
  });
}

/** Parsed message values of a topic, in log order. */
function values(d: JobDriver, topic: string): Array<Record<string, unknown>> {
  return d.records(topic).map((r) => JSON.parse(r.value));
}

/** Side messages of `topic` as [key, reason]. */
function side(d: JobDriver, topic: string): Array<[string | null, string]> {
  return d.records(topic).map((r) => [r.key, JSON.parse(r.value).reason]);
}

/**
 * The outputs as multisets of `key value` per topic; side topics (at least
 * once, keyed by source position) count each key once.
 */
function outputs(d: JobDriver): Record<string, string[]> {
  const all: Record<string, string[]> = {};
  for (const topic of OUTPUTS) {
    all[topic] = d.records(topic).map((r) => `${r.key} ${r.value}`).sort();
  }
  for (const topic of [DEAD, LATE]) {
    all[topic] = [
      ...new Set(d.records(topic).map((r) => `${r.key} ${r.value}`)),
    ].sort();
  }
  return all;
}

Deno.test("transactions describes itself: input, stages, output topics and options with defaults", () => {
  const job = transactions.create();
  assert.equal(job.name, "transactions");
  assert.equal(job.topic, TOPIC);
  assert.equal(job.partitions, 4);
  assert.equal(job.out_of_orderness_ms, 30_000);
  assert.equal(job.checkpoint_interval_ms, 1_000);
  assert.deepEqual(job.stages.map((s) => s.topic), [TOPIC, INTERNAL]);
  assert.deepEqual(job.outputTopics, [DEAD, LATE, ...OUTPUTS]);
  assert.deepEqual(transactions.optionHelp(), [
    "partitions=4",
    "out_of_orderness_ms=30000",
    "allowed_lateness_ms=0",
    "window_ms=60000",
    "min_amount=100",
    "high_value_amount=500",
    "discount_electronics=0.1",
    "discount_clothing=0.2",
    "discount_home=0.15",
    "discount_books=0.05",
    "discount_sports=0.1",
    "discount_other=0",
  ]);
  assert.deepEqual(transactions.create({ topic: "t2" }).outputTopics, [
    "t2.dead-letter",
    "t2.late",
    ...OUTPUTS,
  ]);
  assert.throws(
    () => transactions.create({ options: { discount_toys: "0.3" } }),
    /Cannot configure transactions as 'discount_toys' is not one of its options/,
  );
  assert.throws(
    () => transactions.create({ options: { min_amount: "lots" } }),
    /'min_amount' must be a number: current value is 'lots'/,
  );
});

Deno.test("transactionsJob() names a second deployment: its internal topic, transactional ids and outputs are its own", async () => {
  const spec = transactionsJob({
    name: "txn-eu",
    topics: { processed: "eu.processed", category_aggregations: "eu.cats" },
  });
  const job = spec.create({ topic: "eu.transactions" });
  assert.equal(job.name, "txn-eu");
  assert.deepEqual(job.stages.map((s) => s.topic), [
    "eu.transactions",
    "txn-eu-eu.transactions-by-category-repartition",
  ]);
  assert.deepEqual(job.outputTopics, [
    "eu.transactions.dead-letter",
    "eu.transactions.late",
    "eu.processed",
    "high_value_transactions",
    "user_aggregations",
    "eu.cats",
  ]);
  assert.deepEqual(spec.optionHelp(), transactions.optionHelp());
  const d = await JobDriver.open(spec, {
    partitions: 1,
    start_ms: T0 + 10 * MINUTE,
    overrides: { topic: "eu.transactions" },
  });
  await d.pipe([txn({ category: "books", amount: 600 })]);
  await d.endOfInput();
  assert.equal(d.records("eu.processed").length, 1);
  assert.equal(d.records("high_value_transactions").length, 1);
  assert.equal(d.records("eu.cats").length, 1);
  assert.equal(d.records("processed_transactions").length, 0);
});

Deno.test("transactions routes a payload by its user_id and event time, and a bad payload nowhere", () => {
  const job = transactions.create();
  assert.deepEqual(job.route(txn({ user_id: "user_7" })), {
    key: "user_7",
    timestamp: T0,
  });
  assert.deepEqual(job.route("{"), { key: null, timestamp: undefined });
  assert.deepEqual(job.route(txn({ quantity: 0 })), {
    key: null,
    timestamp: undefined,
  });
});

Deno.test("transactions dead-letters every kind of bad record with its reason, keyed by source position", async () => {
  const d = await driver();
  const cases: Array<[string, string]> = [
    [
      "<html>502 Bad Gateway</html>",
      'payload is not valid JSON: "<html>502 Bad Gateway</html>"',
    ],
    ["", 'payload is not valid JSON: ""'],
    [
      `[${txn({ transaction_id: "t" })}]`,
      `payload must be a JSON object: current value is [{"transaction_id":"t","user_id":"user_1","product":"laptop","category":"electro…`,
    ],
    ["null", "payload must be a JSON object: current value is null"],
    ['"txn"', 'payload must be a JSON object: current value is "txn"'],
    [txn({ transaction_id: undefined }), "'transaction_id' is missing"],
    [
      txn({ transaction_id: "" }),
      `'transaction_id' must be a non-empty string: current value is ""`,
    ],
    [
      txn({ transaction_id: 42 }),
      "'transaction_id' must be a non-empty string: current value is 42",
    ],
    [txn({ user_id: null }), "'user_id' is missing"],
    [
      txn({ user_id: "  " }),
      `'user_id' must be a non-empty string: current value is "  "`,
    ],
    [
      txn({ user_id: { id: 1 } }),
      `'user_id' must be a non-empty string: current value is {"id":1}`,
    ],
    [txn({ category: undefined }), "'category' is missing"],
    [
      txn({ category: "" }),
      `'category' must be a non-empty string: current value is ""`,
    ],
    [
      txn({ category: ["books"] }),
      `'category' must be a non-empty string: current value is ["books"]`,
    ],
    [txn({ amount: undefined }), "'amount' is missing"],
    [
      txn({ amount: -0.01 }),
      "'amount' must be a finite number >= 0: current value is -0.01",
    ],
    [
      txn({ amount: "149.99" }),
      `'amount' must be a finite number >= 0: current value is "149.99"`,
    ],
    [
      txn({ amount: true }),
      "'amount' must be a finite number >= 0: current value is true",
    ],
    [
      txn({ quantity: undefined }),
      "'quantity' is missing",
    ],
    [
      txn({ quantity: 0 }),
      "'quantity' must be an integer >= 1: current value is 0",
    ],
    [
      txn({ quantity: -2 }),
      "'quantity' must be an integer >= 1: current value is -2",
    ],
    [
      txn({ quantity: 1.5 }),
      "'quantity' must be an integer >= 1: current value is 1.5",
    ],
    [
      txn({ quantity: "2" }),
      `'quantity' must be an integer >= 1: current value is "2"`,
    ],
    [txn({ timestamp: undefined }), "'timestamp' is missing"],
    [
      txn({ timestamp: "yesterday" }),
      `'timestamp' must be ISO-8601 or epoch milliseconds: current value is "yesterday"`,
    ],
    [
      txn({ timestamp: "2024-01-15T25:61:00" }),
      `'timestamp' must be ISO-8601 or epoch milliseconds: current value is "2024-01-15T25:61:00"`,
    ],
    [
      txn({ timestamp: true }),
      "'timestamp' must be ISO-8601 or epoch milliseconds: current value is true",
    ],
    [
      txn({ timestamp: { seconds: 1 } }),
      `'timestamp' must be ISO-8601 or epoch milliseconds: current value is {"seconds":1}`,
    ],
    [
      txn({ timestamp: "1999-12-31T23:59:59" }),
      "event time 1999-12-31T23:59:59Z is before 2000-01-01T00:00:00Z, the earliest accepted",
    ],
    [
      txn({ timestamp: at(10 * MINUTE + 3_600_001) }),
      "event time 2024-01-15T11:10:00.001Z is more than 3600000 ms ahead of the record's append time 2024-01-15T10:10:00Z",
    ],
  ];
  // JSON has no Infinity: the producer's text `1e999` parses as one.
  const infinite = txn({ amount: 12345 }).replace("12345", "1e999");
  cases.push([
    infinite,
    "'amount' must be a finite number >= 0: current value is null",
  ]);
  await d.pipe([...cases.map(([payload]) => payload), txn()]);
  assert.deepEqual(
    side(d, DEAD),
    cases.map(([, reason], offset) => [`${TOPIC}:0:${offset}`, reason]),
  );
  const first = JSON.parse(d.records(DEAD)[0]!.value);
  assert.deepEqual(first.source, { topic: TOPIC, partition: 0, offset: 0 });
  assert.equal(first.value, "<html>502 Bad Gateway</html>");
  assert.equal(d.records("processed_transactions").length, 1);
  assert.deepEqual(d.counts(), {
    in: cases.length + 2, // the good one, once per stage
    out: 2,
    filtered: 0,
    dead_lettered: cases.length,
    late: 0,
  });
});

Deno.test("transactions keeps amounts over min_amount and counts the rest as filtered", async () => {
  const d = await driver();
  await d.pipe([
    txn({ amount: 0 }),
    txn({ amount: 99.99 }),
    txn({ amount: 100 }),
    txn({ amount: 100.01 }),
    txn({ amount: 2500 }),
  ]);
  assert.deepEqual(
    values(d, "processed_transactions").map((t) => t.amount),
    [100.01, 2500],
  );
  const counts = d.counts();
  assert.equal(counts.filtered, 3);
  assert.equal(counts.out, 2 + 2, "two kept, counted by both stages");
  assert.equal(counts.in, counts.out + counts.filtered);

  const lower = await driver({ min_amount: "50" });
  await lower.pipe([txn({ amount: 50 }), txn({ amount: 50.01 })]);
  assert.deepEqual(
    values(lower, "processed_transactions").map((t) => t.amount),
    [50.01],
  );
});

Deno.test("processed_transactions holds every input field as given, in order, plus discount_rate and discounted_amount", async () => {
  const d = await driver();
  const given = [
    // Extra fields, an odd order, whitespace around the JSON, epoch ms.
    `  {"user_id":"user_9","transaction_id":"txn_a","category":"home","amount":150.5,"quantity":3,"timestamp":${
      T0 + 5
    },"coupon":"SPRING10","channel":{"app":"ios"}}\t `,
    // Only the required fields.
    `{"transaction_id":"txn_b","user_id":"user_9","category":"books","amount":120,"quantity":1,"timestamp":"${
      at(1_000)
    }"}`,
  ];
  await d.pipe(given);
  const records = d.records("processed_transactions");
  assert.deepEqual(records.map((r) => r.key), ["user_9", "user_9"]);
  assert.deepEqual(records.map((r) => r.value), [
    `{"user_id":"user_9","transaction_id":"txn_a","category":"home","amount":150.5,"quantity":3,"timestamp":${
      T0 + 5
    },"coupon":"SPRING10","channel":{"app":"ios"},"discount_rate":0.15,"discounted_amount":127.93}`,
    `{"transaction_id":"txn_b","user_id":"user_9","category":"books","amount":120,"quantity":1,"timestamp":"${
      at(1_000)
    }","discount_rate":0.05,"discounted_amount":114}`,
  ]);
});

Deno.test("discounts follow the category's default rate, 0 for any other category", async () => {
  const d = await driver();
  const categories = [
    "electronics",
    "clothing",
    "home",
    "books",
    "sports",
    "grocery",
    "Electronics", // categories are case-sensitive: not a known one
  ];
  await d.pipe(categories.map((category) => txn({ category, amount: 200 })));
  assert.deepEqual(
    values(d, "processed_transactions").map((
      t,
    ) => [t.category, t.discount_rate, t.discounted_amount]),
    [
      ["electronics", 0.1, 180],
      ["clothing", 0.2, 160],
      ["home", 0.15, 170],
      ["books", 0.05, 190],
      ["sports", 0.1, 180],
      ["grocery", 0, 200],
      ["Electronics", 0, 200],
    ],
  );
});

Deno.test("--job-options override each discount rate and the rate of other categories", async () => {
  const d = await driver({
    discount_electronics: "0.25",
    discount_books: "0",
    discount_other: "0.5",
  });
  await d.pipe([
    txn({ category: "electronics", amount: 200 }),
    txn({ category: "books", amount: 200 }),
    txn({ category: "toys", amount: 200 }),
    txn({ category: "clothing", amount: 200 }),
  ]);
  assert.deepEqual(
    values(d, "processed_transactions").map((
      t,
    ) => [t.category, t.discount_rate, t.discounted_amount]),
    [
      ["electronics", 0.25, 150],
      ["books", 0, 200],
      ["toys", 0.5, 100],
      ["clothing", 0.2, 160],
    ],
  );
});

Deno.test("discounted amounts are rounded to cents, half away from zero, without binary floating-point drift", async () => {
  const d = await driver();
  await d.pipe([
    // 100.05 × 0.9 = 90.045: a half cent (90.045 × 100 is 9004.4999… in floats).
    txn({ category: "electronics", amount: 100.05 }),
    // 100.01 × 0.85 = 85.0085 → 85.01; 100.03 × 0.8 = 80.024 → 80.02.
    txn({ category: "home", amount: 100.01 }),
    txn({ category: "clothing", amount: 100.03 }),
    // 1234.565 is not a whole cent: kept as given, discounted from it.
    txn({ category: "grocery", amount: 1234.565 }),
  ]);
  assert.deepEqual(
    values(d, "processed_transactions").map((t) => [
      t.amount,
      t.discounted_amount,
    ]),
    [[100.05, 90.05], [100.01, 85.01], [100.03, 80.02], [1234.565, 1234.57]],
  );
  assert.equal(cents(90_045_000), 90.05);
  assert.equal(cents(-90_045_000), -90.05);
  assert.equal(cents(90_044_999), 90.04);
});

Deno.test("high_value_transactions gets the processed records over high_value_amount, keyed by user", async () => {
  const d = await driver();
  await d.pipe([
    txn({ user_id: "user_1", amount: 499.99 }),
    txn({ user_id: "user_2", amount: 500 }),
    txn({ user_id: "user_3", amount: 500.01 }),
    txn({ user_id: "user_4", amount: 9000 }),
  ]);
  const high = d.records("high_value_transactions");
  assert.deepEqual(high.map((r) => r.key), ["user_3", "user_4"]);
  const processed = d.records("processed_transactions").map((r) => r.value);
  assert.deepEqual(high.map((r) => r.value), processed.slice(2));

  const options = await driver({ high_value_amount: "200" });
  await options.pipe([txn({ amount: 200 }), txn({ amount: 200.01 })]);
  assert.deepEqual(
    values(options, "high_value_transactions").map((t) => t.amount),
    [200.01],
  );
});

Deno.test("user_aggregations: per user and 1-minute window, count, totals, average and maximum, with Z times", async () => {
  const d = await driver();
  await d.pipe([
    txn({ user_id: "user_1", amount: 100.01, timestamp: at(1_000) }),
    txn({ user_id: "user_1", amount: 100.01, timestamp: at(59_999) }),
    txn({
      user_id: "user_1",
      amount: 100.02,
      category: "clothing",
      timestamp: at(30_000),
    }),
    txn({ user_id: "user_2", amount: 300, timestamp: at(2_000) }),
    // Filtered: not in any window.
    txn({ user_id: "user_1", amount: 50, timestamp: at(3_000) }),
    // The next minute of user_1.
    txn({ user_id: "user_1", amount: 700, timestamp: at(MINUTE) }),
  ]);
  await d.endOfInput();
  const records = d.records("user_aggregations");
  assert.deepEqual(records.map((r) => r.key).sort(), [
    "user_1",
    "user_1",
    "user_2",
  ]);
  const byWindow = records.map((r) => r.value).sort();
  assert.deepEqual(byWindow, [
    JSON.stringify({
      user_id: "user_1",
      window_start: "2024-01-15T10:00:00Z",
      window_end: "2024-01-15T10:01:00Z",
      count: 3,
      total_amount: 300.04,
      // 90.009 + 90.009 + 80.016 = 260.034
      total_discounted_amount: 260.03,
      // 300.04 / 3 = 100.01333…
      avg_amount: 100.01,
      max_amount: 100.02,
    }),
    JSON.stringify({
      user_id: "user_1",
      window_start: "2024-01-15T10:01:00Z",
      window_end: "2024-01-15T10:02:00Z",
      count: 1,
      total_amount: 700,
      total_discounted_amount: 630,
      avg_amount: 700,
      max_amount: 700,
    }),
    JSON.stringify({
      user_id: "user_2",
      window_start: "2024-01-15T10:00:00Z",
      window_end: "2024-01-15T10:01:00Z",
      count: 1,
      total_amount: 300,
      total_discounted_amount: 270,
      avg_amount: 300,
      max_amount: 300,
    }),
  ]);
});

Deno.test("category_aggregations: per category and window after the repartition, with units the sum of quantities", async () => {
  const d = await driver();
  await d.pipe([
    txn({ user_id: "user_1", category: "books", amount: 120, quantity: 2 }),
    txn({ user_id: "user_2", category: "books", amount: 130.5, quantity: 3 }),
    txn({ user_id: "user_3", category: "toys", amount: 101, quantity: 1 }),
    txn({ user_id: "user_3", category: "toys", amount: 99, quantity: 5 }),
  ]);
  await d.endOfInput();
  const records = d.records("category_aggregations");
  assert.deepEqual(records.map((r) => r.key).sort(), ["books", "toys"]);
  assert.deepEqual(records.map((r) => r.value).sort(), [
    JSON.stringify({
      category: "books",
      window_start: "2024-01-15T10:00:00Z",
      window_end: "2024-01-15T10:01:00Z",
      count: 2,
      total_amount: 250.5,
      // 114 + 123.975 = 237.975 → 237.98
      total_discounted_amount: 237.98,
      units: 5,
    }),
    JSON.stringify({
      category: "toys",
      window_start: "2024-01-15T10:00:00Z",
      window_end: "2024-01-15T10:01:00Z",
      count: 1,
      total_amount: 101,
      total_discounted_amount: 101,
      units: 1,
    }),
  ]);
});

Deno.test("window_ms sets the size of both windows", async () => {
  const d = await driver({ window_ms: "300000" });
  await d.pipe([
    txn({ category: "books", timestamp: at(0) }),
    txn({ category: "books", timestamp: at(4 * MINUTE) }),
  ]);
  await d.endOfInput();
  for (const topic of ["user_aggregations", "category_aggregations"]) {
    assert.deepEqual(
      values(d, topic).map((a) => [a.window_start, a.window_end, a.count]),
      [["2024-01-15T10:00:00Z", "2024-01-15T10:05:00Z", 2]],
      topic,
    );
  }
});

Deno.test("no total depends on the order transactions arrive in: sums are kept in millionths", async () => {
  // 90.018 + 90.342 + 90.045 = 270.405 → 270.41. Summed as binary floats,
  // one order gives 270.40499999999997 and rounds to 270.40.
  const amounts = [100.02, 100.38, 100.05];
  const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [
    2,
    1,
    0,
  ]];
  const floats = new Set(
    orders.map((o) =>
      Math.round(o.reduce((sum, i) => sum + amounts[i]! * 0.9, 0) * 100) / 100
    ),
  );
  assert.ok(floats.size > 1, "the amounts must expose float drift");
  const seen = new Set<string>();
  for (const order of orders) {
    const d = await driver();
    await d.pipe(
      order.map((i) => txn({ amount: amounts[i], timestamp: at(i * 1_000) })),
    );
    await d.endOfInput();
    const user = values(d, "user_aggregations");
    const category = values(d, "category_aggregations");
    assert.equal(user.length, 1);
    assert.equal(user[0]!.total_amount, 300.45);
    assert.equal(user[0]!.total_discounted_amount, 270.41);
    assert.equal(user[0]!.avg_amount, 100.15);
    assert.equal(category[0]!.total_discounted_amount, 270.41);
    seen.add(JSON.stringify([user, category]));
  }
  assert.equal(seen.size, 1);
});

Deno.test("zone-less timestamps are UTC; zoned and epoch-ms ones fall in the window of their instant", async () => {
  const d = await driver();
  await d.pipe([
    txn({ user_id: "a", timestamp: "2024-01-15T10:00:30" }),
    txn({ user_id: "a", timestamp: "2024-01-15T10:00:40.250" }),
    txn({ user_id: "a", timestamp: "2024-01-15T11:00:50+01:00" }),
    txn({ user_id: "a", timestamp: T0 + 55_000 }),
    // 10:00:20 in New York is 15:00:20Z: refused as over an hour ahead of
    // its append time (10:10Z), not read as 10:00:20.
    txn({ user_id: "a", timestamp: "2024-01-15T10:00:20-05:00" }),
  ]);
  await d.endOfInput();
  assert.deepEqual(
    values(d, "user_aggregations").map((a) => [a.window_start, a.count]),
    [["2024-01-15T10:00:00Z", 4]],
  );
  assert.equal(d.records(DEAD).length, 1);
});

Deno.test("a transaction too late for its user window goes to transactions.late; it still reaches the transaction topics", async () => {
  const d = await driver();
  await d.pipe([
    txn({ user_id: "u", category: "books", amount: 200, timestamp: at(0) }),
    // Watermark: 10:01:40 - 30 s - 1 ms = 10:01:09.999, past [10:00, 10:01).
    txn({
      user_id: "u",
      category: "books",
      amount: 300,
      timestamp: at(100_000),
    }),
    txn({
      user_id: "u",
      category: "books",
      amount: 600,
      timestamp: at(59_000),
    }),
  ]);
  await d.endOfInput();
  assert.equal(d.records("processed_transactions").length, 3);
  assert.equal(d.records("high_value_transactions").length, 1);
  assert.deepEqual(
    values(d, "user_aggregations").map((a) => [a.window_start, a.count]),
    [["2024-01-15T10:00:00Z", 1], ["2024-01-15T10:01:00Z", 1]],
  );
  assert.deepEqual(side(d, LATE), [
    [`${TOPIC}:0:2`, "late beyond allowed lateness of 0 ms for: user"],
    [`${INTERNAL}:0:2`, "late beyond allowed lateness of 0 ms for: category"],
  ]);
  const [user, category] = d.records(LATE).map((r) => JSON.parse(r.value));
  // The user window's late record is the input record itself.
  assert.deepEqual(user.source, { topic: TOPIC, partition: 0, offset: 2 });
  assert.equal(user.key, "u");
  assert.equal(JSON.parse(user.value).amount, 600);
  // After the repartition, the side key names the internal topic, the
  // upstream partition and the input offset; the value is what crossed it.
  assert.deepEqual(category.source, {
    topic: INTERNAL,
    partition: 0,
    offset: 2,
  });
  assert.equal(category.key, "books");
  assert.deepEqual(JSON.parse(category.value), {
    category: "books",
    amount_micros: 600_000_000,
    discounted_micros: 570_000_000,
    quantity: 1,
  });
  assert.deepEqual(
    values(d, "category_aggregations").map((a) => [a.window_start, a.count]),
    [["2024-01-15T10:00:00Z", 1], ["2024-01-15T10:01:00Z", 1]],
  );
  assert.deepEqual(d.counts(), {
    in: 6,
    out: 4,
    filtered: 0,
    dead_lettered: 0,
    late: 2,
  });
});

Deno.test("a record exactly out_of_orderness behind the largest event time is on time; a millisecond more is late", async () => {
  const d = await driver();
  await d.pipe([
    // Watermark 10:01:30 - 30 s - 1 ms = 10:00:59.999: [10:00, 10:01) is closed.
    txn({ timestamp: at(90_000) }),
    // Exactly 30 s behind: in [10:01, 10:02), open.
    txn({ timestamp: at(60_000) }),
    // 30.001 s behind: in the closed [10:00, 10:01).
    txn({ timestamp: at(59_999) }),
  ]);
  assert.deepEqual(side(d, LATE).map(([key]) => key), [
    `${TOPIC}:0:2`,
    `${INTERNAL}:0:2`,
  ]);
  await d.endOfInput();
  assert.deepEqual(
    values(d, "user_aggregations").map((a) => [a.window_start, a.count]),
    [["2024-01-15T10:01:00Z", 2]],
  );
});

Deno.test("with allowed_lateness_ms a late transaction updates its fired window, which is emitted again", async () => {
  const d = await driver({ allowed_lateness_ms: "60000" });
  await d.pipe([
    txn({ timestamp: at(0) }),
    // Watermark 10:01:48.999: [10:00, 10:01) fires, within lateness until 10:01:59.999.
    txn({ timestamp: at(139_000) }),
    txn({ timestamp: at(10_000) }),
  ]);
  assert.deepEqual(d.records(LATE), []);
  assert.deepEqual(
    values(d, "user_aggregations").map((a) => [a.window_start, a.count]),
    [["2024-01-15T10:00:00Z", 1], ["2024-01-15T10:00:00Z", 2]],
  );
  // Watermark 10:02:00: beyond lateness for [10:00, 10:01).
  await d.pipe([
    txn({ timestamp: at(150_001) }),
    txn({ timestamp: at(20_000) }),
  ]);
  assert.deepEqual(side(d, LATE).map(([, reason]) => reason), [
    "late beyond allowed lateness of 60000 ms for: user",
    "late beyond allowed lateness of 60000 ms for: category",
  ]);
});

Deno.test("the category windows wait for every upstream partition's watermark; the user windows do not", async () => {
  const d = await driver({}, { partitions: 2 });
  // Every record on partition 0; partition 1 stays quiet.
  await d.pipe([
    { value: txn({ category: "books", timestamp: at(0) }), partition: 0 },
    {
      value: txn({ category: "books", timestamp: at(5 * MINUTE) }),
      partition: 0,
    },
  ]);
  // Partition 0's watermark (10:04:29.999) closed [10:00, 10:01) for its users…
  assert.deepEqual(
    values(d, "user_aggregations").map((a) => a.window_start),
    ["2024-01-15T10:00:00Z"],
  );
  // …but the category stage has heard nothing from partition 1.
  assert.deepEqual(d.records("category_aggregations"), []);
  // Partition 1's watermark 10:00:29.999 closes nothing.
  await d.pipe([
    { value: txn({ category: "toys", timestamp: at(MINUTE) }), partition: 1 },
  ]);
  assert.deepEqual(d.records("category_aggregations"), []);
  // Now 10:03:29.999, the minimum over both: the windows before it fire.
  await d.pipe([
    {
      value: txn({ category: "toys", timestamp: at(4 * MINUTE) }),
      partition: 1,
    },
  ]);
  assert.deepEqual(
    values(d, "category_aggregations").map((a) => [
      a.category,
      a.window_start,
    ]).sort(),
    [["books", "2024-01-15T10:00:00Z"], ["toys", "2024-01-15T10:01:00Z"]],
  );
  await d.endOfInput();
  assert.equal(d.records("category_aggregations").length, 4);
  assert.equal(d.records(LATE).length, 0);
});

Deno.test("a quiet partition holds the category windows back until end of input, which fires them all", async () => {
  const d = await driver({}, { partitions: 3 });
  await d.pipe(
    Array.from({ length: 10 }, (_, i) => ({
      value: txn({ category: "home", timestamp: at(i * MINUTE) }),
      partition: i % 2, // partition 2 never gets a record
    })),
  );
  assert.equal(d.records("category_aggregations").length, 0);
  assert.ok(d.records("user_aggregations").length > 0);
  await d.endOfInput();
  assert.deepEqual(
    values(d, "category_aggregations").map((a) => a.count),
    Array(10).fill(1),
  );
});

/** Input spread over partitions and windows, with bad, filtered and late records. */
function mixedInput(n: number): Array<{ value: string; partition: number }> {
  const categories = ["electronics", "clothing", "home", "books", "toys"];
  return Array.from({ length: n }, (_, i) => {
    const partition = i % 3;
    if (i % 17 === 5) return { value: "{oops", partition };
    const late = i % 23 === 7;
    return {
      value: txn({
        transaction_id: `txn_mixed_${i}`,
        user_id: `user_${i % 7}`,
        category: categories[i % categories.length],
        amount: (5_000 + ((i * 7919) % 90_000)) / 100,
        quantity: 1 + (i % 4),
        timestamp: at(late ? Math.max(0, i * 4_000 - 200_000) : i * 4_000),
      }),
      partition,
    };
  });
}

async function runMixed(
  steps: (d: JobDriver, input: ReturnType<typeof mixedInput>) => Promise<void>,
): Promise<Record<string, string[]>> {
  const d = await driver({}, {
    partitions: 3,
    checkpoint_interval_ms: 30_000,
    max_batch_records: 7,
  });
  await steps(d, mixedInput(150));
  await d.endOfInput();
  return outputs(d);
}

Deno.test("a crash or a clean restart between batches changes none of the outputs", async () => {
  const expected = await runMixed(async (d, input) => {
    for (let i = 0; i < input.length; i += 25) {
      await d.pipe(input.slice(i, i + 25));
      await d.advanceClock(20_000);
    }
  });
  assert.ok(expected.category_aggregations!.length > 10);
  assert.ok(expected[LATE]!.length > 0);
  assert.ok(expected[DEAD]!.length > 0);
  const crashed = await runMixed(async (d, input) => {
    for (let i = 0; i < input.length; i += 25) {
      await d.pipe(input.slice(i, i + 25));
      if (i % 50 === 0) await d.crash();
      else await d.restart();
      await d.advanceClock(20_000);
    }
  });
  assert.deepEqual(crashed, expected);
});

Deno.test("a crash in the middle of a checkpoint interval discards its open transaction and computes it again", async () => {
  const d = await driver({}, { checkpoint_interval_ms: 60_000 });
  await d.pipe([txn({ amount: 150 }), txn({ amount: 250 })]);
  await d.advanceClock(61_000);
  await d.pipe([txn({ amount: 350 })]);
  // The third record's transaction is open: not visible to committed reads.
  const before = d.records("processed_transactions").length;
  await d.crash();
  await d.pipe([txn({ amount: 450 })]);
  await d.endOfInput();
  assert.deepEqual(
    values(d, "processed_transactions").map((t) => t.amount),
    [150, 250, 350, 450],
  );
  assert.equal(before, 2, "the open transaction is invisible");
  assert.deepEqual(
    values(d, "user_aggregations").map((a) => a.count),
    [4],
  );
});
