import assert from "node:assert/strict";
import {
  BAD_KINDS,
  EDGE_KINDS,
  generateTransactions,
  JOB_DEFAULTS,
  main,
  TRANSACTIONS_TOPIC,
} from "../../scripts/gen_transactions_fixture.ts";
import {
  countLate,
  eventTime,
  generatorSuite,
  recordedLines,
} from "./fixture_checks.ts";

/** Issue 7's rules, restated: the reason a payload is bad, or its facts. */
function classify(value: string):
  | { reason: string }
  | { reason: null; event_ms: number; amount: number; user_id: string } {
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch {
    return { reason: "not-json" };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { reason: "not-object" };
  }
  const fields = data as Record<string, unknown>;
  for (const name of ["transaction_id", "user_id", "category"]) {
    if (typeof fields[name] !== "string" || fields[name] === "") {
      return { reason: name };
    }
  }
  const { amount, quantity } = fields;
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
    return { reason: "amount" };
  }
  if (!Number.isInteger(quantity) || (quantity as number) < 1) {
    return { reason: "quantity" };
  }
  const event_ms = eventTime(fields.timestamp, { zoneless: true });
  if (event_ms === null) return { reason: "timestamp" };
  return { reason: null, event_ms, amount, user_id: fields.user_id as string };
}

/** The validator's reason for a generator's bad kind. */
function reasonOf(kind: string): string {
  return kind.startsWith("value-") ? kind.slice(6) : kind.split("-")[0]!;
}

generatorSuite({
  name: "gen_transactions_fixture",
  main,
  topic: TRANSACTIONS_TOPIC,
  partitions: 4,
  committed: "fixtures/transactions/transactions.jsonl.gz",
  readme: "fixtures/transactions/README.md",
  committed_lines_min: 100_000,
});

Deno.test("an independent reading of the lines finds the bad records, late records and kept records the generator reports", () => {
  const { lines, stats } = generateTransactions({ seed: 11, messages: 20_000 });
  const records = recordedLines(lines.join("\n"));
  const reasons = new Map<string, number>();
  const valid: Array<{ partition: number; event_ms: number }> = [];
  let kept = 0;
  let high_value = 0;
  for (const record of records) {
    const verdict = classify(record.value);
    if (verdict.reason !== null) {
      reasons.set(verdict.reason, (reasons.get(verdict.reason) ?? 0) + 1);
      continue;
    }
    assert.equal(record.key, verdict.user_id, `line ${record.line} key`);
    valid.push({ partition: record.partition, event_ms: verdict.event_ms });
    if (verdict.amount > JOB_DEFAULTS.min_amount) kept++;
    if (verdict.amount > JOB_DEFAULTS.high_value_amount) high_value++;
  }
  const expected = new Map<string, number>();
  for (const kind of BAD_KINDS) {
    assert.ok(stats.bad_by_kind[kind] > 0, `no ${kind} line`);
    const reason = reasonOf(kind);
    expected.set(reason, (expected.get(reason) ?? 0) + stats.bad_by_kind[kind]);
  }
  for (const kind of EDGE_KINDS) {
    assert.ok(stats.edge_by_kind[kind] > 0, `no ${kind} line`);
  }
  assert.deepEqual(
    [...reasons.entries()].sort(),
    [...expected.entries()].sort(),
  );
  assert.equal(valid.length, stats.valid_records);
  assert.equal(kept, stats.kept);
  assert.equal(high_value, stats.high_value);
  const late = countLate(valid, {
    bound_ms: JOB_DEFAULTS.out_of_orderness_ms,
    window_size_ms: JOB_DEFAULTS.window_size_ms,
  });
  assert.equal(late, stats.late);
  assert.ok(late > 0, "some records are late");
  assert.ok(stats.out_of_order > stats.beyond_bound);
  assert.ok(stats.beyond_bound > late / 2, "late records are far behind");
});
