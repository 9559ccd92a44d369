import assert from "node:assert/strict";
import { decodeFixture } from "../../src/core/fixture.ts";
import { parseEventTime } from "../../src/core/time.ts";
import {
  BAD_REASONS,
  CHECK_RUN,
  checkRunSha256,
  generateSessions,
  main,
  SESSIONS_TOPIC,
} from "../../scripts/gen_sessions_fixture.ts";
import {
  pinnedHashes,
  recordedLines,
  sha256,
  structuralProblems,
} from "./fixture_checks.ts";

const ROOT = new URL("../../", import.meta.url);
const GAP = 60_000;

async function inTempDir(body: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function generateInto(dir: string, ...args: string[]) {
  await main([
    "--sessions",
    "40",
    "--out",
    `${dir}/f.jsonl.gz`,
    "--readme",
    `${dir}/README.md`,
    ...args,
  ]);
  return {
    fixture: await Deno.readFile(`${dir}/f.jsonl.gz`),
    readme: await Deno.readTextFile(`${dir}/README.md`),
  };
}

/** Issue 11's rules, restated: the reason a heartbeat is bad, or null. */
function reasonOf(value: string): string | null {
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch {
    return "not-json";
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return "not-object";
  }
  const heartbeat = data as Record<string, unknown>;
  for (const id of ["user_id", "program_id", "session_id"]) {
    if (!(id in heartbeat)) return `${id}-missing`;
    if (heartbeat[id] === "") return `${id}-empty`;
    if (typeof heartbeat[id] !== "string") return `${id}-not-string`;
  }
  if (!("event_time" in heartbeat)) return "event_time-missing";
  if (parseEventTime(heartbeat.event_time) === undefined) {
    return "event_time-bad";
  }
  return null;
}

const small = generateSessions({ seed: 7, sessions: 120 });
const small_records = recordedLines(small.lines.join("\n"));

Deno.test("gen_sessions_fixture writes the same bytes for the same flags and other bytes for another seed", () =>
  inTempDir(async (dir) => {
    const first = await generateInto(`${dir}/a`);
    const second = await generateInto(`${dir}/b`);
    assert.deepEqual(second.fixture, first.fixture);
    assert.equal(second.readme, first.readme);
    const other = await generateInto(`${dir}/c`, "--seed", "7");
    assert.notDeepEqual(other.fixture, first.fixture);
    assert.deepEqual([...first.fixture.slice(0, 2)], [0x1f, 0x8b], "gzip");
  }));

Deno.test("gen_sessions_fixture pins the SHA-256 of what it wrote in the README it wrote, and writes recorded viewing-events records in arrival order, partitioned by FNV-1a of their keys", () =>
  inTempDir(async (dir) => {
    const { fixture, readme } = await generateInto(dir);
    const pinned = pinnedHashes(readme, "f.jsonl.gz");
    assert.equal(pinned.file, await sha256(fixture));
    const text = await decodeFixture(fixture);
    assert.equal(pinned.text, await sha256(new TextEncoder().encode(text)));
    assert.deepEqual(
      structuralProblems(text, { topic: SESSIONS_TOPIC, partitions: 4 }),
      [],
    );
  }));

Deno.test("the committed viewing-events fixture matches the SHA-256 pinned in its README, holds what the README says, and its check run is what the generator still writes", async () => {
  const fixture = await Deno.readFile(
    new URL("fixtures/sessions/sessions.jsonl.gz", ROOT),
  );
  const readme = await Deno.readTextFile(
    new URL("fixtures/sessions/README.md", ROOT),
  );
  assert.equal(
    await sha256(fixture),
    pinnedHashes(readme, "sessions.jsonl.gz").file,
  );
  const text = await decodeFixture(fixture);
  let lines = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) {
    lines++;
  }
  assert.ok(readme.includes(`| ${lines.toLocaleString("en-US")} |`));
  const first = text.slice(0, text.indexOf("\n"));
  assert.deepEqual(
    structuralProblems(first, { topic: SESSIONS_TOPIC, partitions: 4 }),
    [],
  );
  const check =
    `${await checkRunSha256()}  check run --seed ${CHECK_RUN.seed} --sessions ${CHECK_RUN.sessions}`;
  assert.ok(
    readme.includes(check),
    "the generator changed: regenerate the fixture and its README",
  );
});

Deno.test("gen_sessions_fixture answers --help and -h without writing, and rejects a bad flag with its rule and value", async () => {
  for (const flag of ["--help", "-h"]) {
    const help = await main([flag]);
    for (const known of ["--seed", "--sessions", "--out", "--readme"]) {
      assert.ok(help.includes(known), `${flag} does not mention ${known}`);
    }
  }
  await assert.rejects(
    () => main(["--sessions", "0"]),
    /'--sessions' as it must be an integer of at least 1: current value is '0'/,
  );
  await assert.rejects(
    () => main(["--messages", "1"]),
    /unknown flag '--messages'/,
  );
});

Deno.test("gen_sessions_fixture keys every heartbeat by its user_id, and its bad records are bad for exactly the reasons it counts", () => {
  const { stats } = small;
  const reasons = new Map<string, number>();
  for (const record of small_records) {
    const reason = reasonOf(record.value);
    if (reason !== null) {
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      continue;
    }
    assert.equal(JSON.parse(record.value).user_id, record.key);
  }
  for (const reason of BAD_REASONS) {
    assert.ok(stats.bad_by_reason[reason] > 0, `no ${reason} record`);
    assert.equal(reasons.get(reason) ?? 0, stats.bad_by_reason[reason], reason);
  }
  assert.equal(reasons.size, BAD_REASONS.length);
  assert.equal(small_records.length - stats.bad_records, stats.heartbeats);
});

Deno.test("gen_sessions_fixture's sessions and pauses are those of an independent grouping of the heartbeats by event time", () => {
  const { stats } = small;
  const times = new Map<string, number[]>();
  for (const record of small_records) {
    if (reasonOf(record.value) !== null) continue;
    const heartbeat = JSON.parse(record.value);
    const list = times.get(heartbeat.session_id) ?? [];
    list.push(parseEventTime(heartbeat.event_time)!);
    times.set(heartbeat.session_id, list);
  }
  let sessions = 0;
  const gaps: number[] = [];
  for (const list of times.values()) {
    list.sort((a, b) => a - b);
    sessions++;
    for (let i = 1; i < list.length; i++) {
      const gap = list[i]! - list[i - 1]!;
      gaps.push(gap);
      if (gap > GAP) sessions++;
    }
  }
  assert.equal(times.size, stats.session_ids);
  assert.equal(sessions, stats.sessions);
  assert.equal(gaps.filter((g) => g === GAP).length, 5);
  assert.equal(gaps.filter((g) => g === GAP + 1).length, 5);
  assert.equal(stats.pauses.exact_gap, 5);
  assert.equal(stats.pauses.gap_plus_1ms, 5);
  assert.equal(gaps.filter((g) => g > GAP + 1).length, stats.pauses.long);
  assert.ok(stats.pauses.short > 0 && stats.pauses.long > 0);
});
