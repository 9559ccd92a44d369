/**
 * Replays the whole transactions fixture and checks the outputs three ways:
 * against the facts the fixture generator computed on its own
 * (fixtures/transactions/README.md), against each other (every window sums
 * exactly the transactions it should hold), and against the golden files in
 * `fixtures/transactions/golden/`, with and without faults. When a change of
 * the job is meant to change them, regenerate them with
 * `deno run --allow-read --allow-write scripts/update_transactions_golden.ts`
 * and justify the change in the commit (see the golden README).
 */

import assert from "node:assert/strict";
import { FAULT_KINDS } from "../../sim/simulator.ts";
import {
  goldenFiles,
  TRANSACTIONS_GOLDEN_PATHS,
  transactionsFixture,
  type TransactionsGolden,
  transactionsGolden,
  type TransactionsSummary,
} from "../../scripts/update_transactions_golden.ts";
import {
  parseTransaction,
  toMicros,
} from "../../src/jobs/transactions/parse.ts";

const ROOT = new URL("../../", import.meta.url);
const UPDATE =
  "If the change is intended, run `deno run --allow-read --allow-write scripts/update_transactions_golden.ts` and say why in the commit.";

let cleanRun: Promise<TransactionsGolden> | undefined;
/** The fault-free replay, shared by the tests of this file. */
function clean(): Promise<TransactionsGolden> {
  cleanRun ??= transactionsGolden();
  return cleanRun;
}

async function golden(path: string): Promise<string> {
  return await Deno.readTextFile(new URL(path, ROOT));
}

function messages(g: TransactionsGolden, topic: string): string[] {
  const found = g.outputs.topics.find((t) => t.topic === topic);
  assert.ok(found !== undefined, `the replay wrote no topic '${topic}'`);
  return found.messages;
}

Deno.test("the replay of the transactions fixture agrees with the facts the fixture generator printed", async () => {
  // From fixtures/transactions/README.md, computed by the generator from its
  // own model of the job's rules, not by the job.
  const g = await clean();
  const { counts, category_stage_counts } = g.summary;
  assert.equal(counts.in, 120_000, "lines");
  assert.equal(counts.dead_lettered, 230, "bad records (dead letters)");
  assert.equal(counts.out + counts.filtered + counts.late, 119_770, "valid");
  assert.equal(counts.out + counts.late, 52_555, "kept (amount > 100)");
  assert.equal(counts.filtered, 119_770 - 52_555, "valid but not kept");
  assert.equal(counts.late, 668, "late for 1-min windows, of which kept");
  assert.equal(messages(g, "processed_transactions").length, 52_555);
  assert.equal(
    messages(g, "high_value_transactions").length,
    12_243,
    "high value (amount > 500)",
  );
  assert.equal(
    messages(g, "user_aggregations").length,
    48_568,
    "user windows (kept, on time)",
  );
  assert.equal(
    messages(g, "category_aggregations").length,
    2_521,
    "category windows (kept, on time)",
  );
  assert.equal(messages(g, "transactions.dead-letter").length, 230);
  // The category stage sees every kept record once, and (watermarks carried
  // with the records) judges the same ones late as the user stage.
  assert.deepEqual(category_stage_counts, {
    in: 52_555,
    out: 51_887,
    filtered: 0,
    dead_lettered: 0,
    late: 668,
  });
  assert.deepEqual(g.summary.late_reasons, {
    "late beyond allowed lateness of 0 ms for: category": 668,
    "late beyond allowed lateness of 0 ms for: user": 668,
  });
  // Every kind of bad payload of the README, each 10 lines; a `null` among
  // the not-a-string variants reads as missing.
  const rules = g.summary.dead_letter_rules;
  assert.equal(rules["payload is not valid JSON"], 10);
  assert.equal(rules["payload must be a JSON object"], 10);
  for (const field of ["transaction_id", "user_id", "category"]) {
    assert.equal(
      (rules[`'${field}' is missing`] ?? 0) +
        (rules[`'${field}' must be a non-empty string`] ?? 0),
      30,
      field,
    );
  }
  assert.equal(
    rules["'amount' is missing"]! +
      rules["'amount' must be a finite number >= 0"]!,
    40,
  );
  assert.equal(
    rules["'quantity' is missing"]! +
      rules["'quantity' must be an integer >= 1"]!,
    50,
  );
  assert.equal(
    rules["'timestamp' is missing"]! +
      rules["'timestamp' must be ISO-8601 or epoch milliseconds"]!,
    30,
  );
});

Deno.test("over the fixture, processed_transactions holds each kept input as given plus its discount, and high value is its part over 500", async () => {
  const g = await clean();
  const inputs = new Map<string, Record<string, unknown>>();
  for (const message of await transactionsFixture()) {
    const parsed = parseTransaction(message.value);
    if ("value" in parsed) {
      inputs.set(parsed.value.transaction_id, parsed.value.fields);
    }
  }
  const processed = messages(g, "processed_transactions");
  const ids = new Set<string>();
  const high: string[] = [];
  for (const value of processed) {
    const { discount_rate, discounted_amount, ...fields } = JSON.parse(value);
    const amount = fields.amount as number;
    const id = fields.transaction_id as string;
    const input = inputs.get(id);
    assert.ok(input !== undefined, `unknown transaction ${value}`);
    assert.deepEqual(fields, input);
    // Field order too: the input's, then the two new fields.
    assert.deepEqual(Object.keys(JSON.parse(value)), [
      ...Object.keys(input),
      "discount_rate",
      "discounted_amount",
    ]);
    assert.ok(amount > 100);
    const exact = toMicros(amount) * (1 - discount_rate);
    assert.ok(
      Math.abs(toMicros(discounted_amount) - exact) <= 5_000 + 1,
      `${discounted_amount} is ${amount} × (1 − ${discount_rate}) to the cent`,
    );
    ids.add(id);
    if (amount > 500) high.push(value);
  }
  assert.equal(ids.size, processed.length, "each transaction once");
  assert.deepEqual(messages(g, "high_value_transactions"), high);
});

/** Window sums by key and window start, in millionths and units. */
type Sums = Map<string, { count: number; total: number; units: number }>;

function addTo(
  sums: Sums,
  key: string,
  count: number,
  total: number,
  units: number,
) {
  const entry = sums.get(key) ?? { count: 0, total: 0, units: 0 };
  entry.count += count;
  entry.total += total;
  entry.units += units;
  sums.set(key, entry);
}

Deno.test("over the fixture, each user and category window holds exactly its on-time transactions", async () => {
  const g = await clean();
  const window = (iso: string) =>
    new Date(Math.floor(Date.parse(iso) / 60_000) * 60_000).toISOString()
      .replace(".000Z", "Z");
  // Late records, by what the side messages say: the user stage's carry the
  // input payload, the category stage's the element that crossed.
  const lateUser = new Set<string>();
  const lateCategory = new Map<string, number>();
  for (const m of messages(g, "transactions.late")) {
    const late = JSON.parse(m);
    const value = JSON.parse(late.value);
    if (late.reason.endsWith("for: user")) {
      lateUser.add(value.transaction_id);
    } else {
      const key = `${value.category} ${value.amount_micros} ${value.quantity}`;
      lateCategory.set(key, (lateCategory.get(key) ?? 0) + 1);
    }
  }
  assert.equal(lateUser.size, 668);
  const wantUsers: Sums = new Map();
  const wantCategories: Sums = new Map();
  let lateCategoryLeft = 668;
  for (const value of messages(g, "processed_transactions")) {
    const t = JSON.parse(value);
    const parsed = parseTransaction(value);
    assert.ok("value" in parsed);
    const start = window(new Date(parsed.time).toISOString());
    const total = toMicros(t.amount);
    if (!lateUser.has(t.transaction_id)) {
      addTo(wantUsers, `${t.user_id} ${start}`, 1, total, t.quantity);
    }
    const key = `${t.category} ${total} ${t.quantity}`;
    const late = lateCategory.get(key) ?? 0;
    if (late > 0 && lateUser.has(t.transaction_id)) {
      lateCategory.set(key, late - 1);
      lateCategoryLeft--;
    } else {
      addTo(wantCategories, `${t.category} ${start}`, 1, total, t.quantity);
    }
  }
  assert.equal(lateCategoryLeft, 0, "late at both stages: the same records");
  const gotUsers: Sums = new Map();
  for (const m of messages(g, "user_aggregations")) {
    const w = JSON.parse(m);
    assert.match(w.window_start, /^2024-01-15T\d\d:\d\d:00Z$/);
    assert.equal(Date.parse(w.window_end) - Date.parse(w.window_start), 60_000);
    assert.ok(w.max_amount <= w.total_amount && w.avg_amount <= w.max_amount);
    const key = `${w.user_id} ${w.window_start}`;
    assert.ok(!gotUsers.has(key), `window ${key} emitted twice`);
    addTo(gotUsers, key, w.count, toMicros(w.total_amount), 0);
  }
  const gotCategories: Sums = new Map();
  for (const m of messages(g, "category_aggregations")) {
    const w = JSON.parse(m);
    const key = `${w.category} ${w.window_start}`;
    assert.ok(!gotCategories.has(key), `window ${key} emitted twice`);
    addTo(gotCategories, key, w.count, toMicros(w.total_amount), w.units);
  }
  assert.equal(gotUsers.size, wantUsers.size);
  for (const [key, want] of wantUsers) {
    assert.deepEqual(gotUsers.get(key), { ...want, units: 0 }, key);
  }
  assert.equal(gotCategories.size, wantCategories.size);
  for (const [key, want] of wantCategories) {
    assert.deepEqual(gotCategories.get(key), want, key);
  }
});

Deno.test("a replay of the transactions fixture (seed 1, no faults) gives the golden summary", async () => {
  const expected = JSON.parse(
    await golden(TRANSACTIONS_GOLDEN_PATHS.summary),
  ) as TransactionsSummary;
  const { summary } = await clean();
  // Field by field, so that a failure names what changed.
  for (
    const field of Object.keys(expected) as Array<keyof TransactionsSummary>
  ) {
    assert.deepEqual(
      summary[field],
      expected[field],
      `'${field}' differs from ${TRANSACTIONS_GOLDEN_PATHS.summary}. ${UPDATE}`,
    );
  }
  assert.deepEqual(Object.keys(summary), Object.keys(expected));
  assert.equal(
    goldenFiles(await clean()).summary,
    await golden(TRANSACTIONS_GOLDEN_PATHS.summary),
  );
});

Deno.test("a replay of the transactions fixture (seed 1, no faults) gives the golden digest", async () => {
  const { digest } = await clean();
  assert.equal(
    `${digest}\n`,
    await golden(TRANSACTIONS_GOLDEN_PATHS.digest),
    `The canonical outputs changed (the summary test names what a person sees). ${UPDATE}`,
  );
});

Deno.test("a replay of the transactions fixture with every fault and two instances (seed 1) gives the golden digest", async () => {
  // Checkpoints every virtual minute: a failed transaction restarts its
  // instance from its last checkpoints, so with the 10 minutes of the golden
  // run, failures would keep the replay from getting through the bursts.
  const faulty = await transactionsGolden({
    faults: FAULT_KINDS,
    instances: 2,
    checkpoint_interval_ms: 60_000,
  });
  assert.equal(
    `${faulty.digest}\n`,
    await golden(TRANSACTIONS_GOLDEN_PATHS.digest),
    "Faults changed the outputs: exactly-once is broken. Reproduce with `deno task sim --job transactions --seed 1 --faults all --instances 2 --checkpoint-interval-ms 60000`.",
  );
});
