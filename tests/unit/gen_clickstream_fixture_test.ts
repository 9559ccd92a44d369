import assert from "node:assert/strict";
import {
  BAD_KINDS,
  CLICKSTREAM_TOPIC,
  EDGE_KINDS,
  EVENT_TYPES,
  generateClickstream,
  JOB_DEFAULTS,
  main,
} from "../../scripts/gen_clickstream_fixture.ts";
import {
  countLate,
  eventTime,
  generatorSuite,
  recordedLines,
} from "./fixture_checks.ts";

generatorSuite({
  name: "gen_clickstream_fixture",
  main,
  topic: CLICKSTREAM_TOPIC,
  partitions: 4,
  committed: "fixtures/clickstream/clickstream.jsonl.gz",
  readme: "fixtures/clickstream/README.md",
  committed_lines_min: 100_000,
});

/** Issue 9's rules, restated: the reason an event is invalid, or its facts. */
function classify(value: string):
  | { reason: string }
  | {
    reason: null;
    event_ms: number;
    fields: Record<string, unknown>;
  } {
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
  for (const name of ["event_id", "user_id", "event_type"]) {
    // "Missing, null or empty": any other value is the producer's business.
    if (fields[name] === undefined || fields[name] === null) {
      return { reason: name };
    }
    if (fields[name] === "") return { reason: name };
  }
  const event_ms = eventTime(fields.timestamp, { zoneless: false });
  if (event_ms === null) return { reason: "timestamp" };
  return { reason: null, event_ms, fields };
}

/** The validator's reason for a generator's invalid kind. */
function reasonOf(kind: string): string {
  return kind.startsWith("value-") ? kind.slice(6) : kind.split("-")[0]!;
}

Deno.test("an independent reading of the events finds the invalid events, late events and sessions the generator reports", () => {
  const { lines, stats } = generateClickstream({ seed: 11, messages: 20_000 });
  const records = recordedLines(lines.join("\n"));
  const reasons = new Map<string, number>();
  const valid: Array<{ partition: number; event_ms: number }> = [];
  const sessionUsers = new Map<unknown, unknown>();
  const types = new Set<unknown>();
  for (const record of records) {
    const verdict = classify(record.value);
    if (verdict.reason !== null) {
      reasons.set(verdict.reason, (reasons.get(verdict.reason) ?? 0) + 1);
      continue;
    }
    const { fields } = verdict;
    assert.equal(record.key, fields.user_id, `line ${record.line} key`);
    valid.push({ partition: record.partition, event_ms: verdict.event_ms });
    types.add(fields.event_type);
    if (typeof fields.session_id === "string") {
      // A session belongs to one user, so it sits in one partition.
      const user = sessionUsers.get(fields.session_id) ?? fields.user_id;
      assert.equal(fields.user_id, user, `session ${fields.session_id}`);
      sessionUsers.set(fields.session_id, user);
    }
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
  assert.deepEqual([...types].sort(), [...EVENT_TYPES].sort());
  const late = countLate(valid, {
    bound_ms: JOB_DEFAULTS.out_of_orderness_ms,
    window_size_ms: JOB_DEFAULTS.window_size_ms,
  });
  assert.equal(late, stats.late);
  assert.ok(late > 0, "some events are late");
  assert.ok(stats.late_offline > 0, "offline sessions arrive late");
  assert.ok(stats.out_of_order > stats.beyond_bound);
});

Deno.test("generateClickstream writes exactly the number of events asked, even fewer than one session holds", () => {
  for (const messages of [1, 2, 9, 1_001]) {
    const { lines, stats } = generateClickstream({ seed: 5, messages });
    assert.equal(lines.length, messages);
    assert.equal(stats.lines, messages);
  }
});
