import assert from "node:assert/strict";
import { JobDriver } from "../../sim/driver.ts";
import { sessions } from "../../src/jobs/sessions/job.ts";
import {
  readSessionFile,
  type SessionRow,
} from "../../src/jobs/sessions/row.ts";
import { formatIso } from "../../src/core/time.ts";

const T0 = Date.UTC(2026, 2, 14, 18, 0, 0);

function beat(
  session_id: string,
  time_ms: number,
  extra: Record<string, unknown> = {},
): { value: string; key: string; timestamp: number } {
  return {
    key: "u-1",
    value: JSON.stringify({
      user_id: "u-1",
      program_id: "prog-1",
      session_id,
      device: "tv",
      event_time: formatIso(time_ms),
      ...extra,
    }),
    // Arrives half a second after it happened, unless the test says.
    timestamp: time_ms + 500,
  };
}

async function driver(options: Record<string, string> = {}) {
  return await JobDriver.open(sessions, {
    partitions: 1,
    start_ms: T0,
    overrides: { options },
  });
}

/** Every published row, by file key order. */
async function rows(
  d: JobDriver,
): Promise<Array<SessionRow & { key: string }>> {
  const out: Array<SessionRow & { key: string }> = [];
  for (const { key, body } of d.objects.dump()) {
    if (!key.startsWith("sessions/")) continue;
    for (const row of await readSessionFile(body)) out.push({ ...row, key });
  }
  return out;
}

/** Pipes each message at its own arrival time. */
async function arrive(
  d: JobDriver,
  messages: Array<{ value: string; key: string; timestamp: number }>,
) {
  for (const m of messages) {
    if (m.timestamp > d.clock.now()) d.clock.advanceTo(m.timestamp);
    await d.pipe([m]);
  }
}

Deno.test("sessions: heartbeats exactly 60 s apart are one session, 60.001 s apart two", async () => {
  const d = await driver();
  await arrive(d, [
    beat("joined", T0),
    beat("split", T0 + 1),
    beat("joined", T0 + 60_000),
    beat("split", T0 + 60_002),
  ]);
  await d.endOfInput();
  const got = (await rows(d)).map((r) => [
    r.session_id,
    formatIso(r.start_ms),
    formatIso(r.end_ms),
    r.events,
  ]);
  assert.deepEqual(got.sort(), [
    ["joined", "2026-03-14T18:00:00Z", "2026-03-14T18:01:00Z", 2],
    ["split", "2026-03-14T18:00:00.001Z", "2026-03-14T18:00:00.001Z", 1],
    ["split", "2026-03-14T18:01:00.002Z", "2026-03-14T18:01:00.002Z", 1],
  ]);
  await d.close();
});

Deno.test("sessions: a heartbeat arriving out of order between two sessions merges them into one", async () => {
  const d = await driver();
  // 62 s apart: two sessions, neither closed yet (the watermark is 5 s
  // behind the latest heartbeat) ...
  await arrive(d, [beat("s", T0), beat("s", T0 + 62_000)]);
  assert.deepEqual(await rows(d), []);
  // ... until the heartbeat from between them arrives, 31 s behind.
  await arrive(d, [{ ...beat("s", T0 + 31_000), timestamp: T0 + 63_000 }]);
  await d.endOfInput();
  const got = await rows(d);
  assert.equal(got.length, 1);
  assert.deepEqual(
    [got[0]!.start_ms - T0, got[0]!.end_ms - T0, got[0]!.events],
    [0, 62_000, 3],
  );
  assert.equal(d.records("viewing-events.late").length, 0);
  await d.close();
});

Deno.test("sessions: a heartbeat of a session already written goes to viewing-events.late", async () => {
  const d = await driver();
  await arrive(d, [
    beat("early", T0),
    beat("early", T0 + 4_000),
    beat("other", T0 + 200_000),
  ]);
  // "early" closed when the watermark passed T0 + 64 s: written.
  assert.deepEqual((await rows(d)).map((r) => r.session_id), ["early"]);
  await arrive(d, [{ ...beat("early", T0 + 8_000), timestamp: T0 + 201_000 }]);
  await d.endOfInput();
  const late = d.records("viewing-events.late");
  assert.equal(late.length, 1);
  const side = JSON.parse(late[0]!.value);
  assert.match(side.reason, /late beyond allowed lateness of 0 ms/);
  assert.equal(JSON.parse(side.value).time_ms, T0 + 8_000);
  const early = (await rows(d)).filter((r) => r.session_id === "early");
  assert.deepEqual(early.map((r) => r.events), [2]);
  await d.close();
});

Deno.test("sessions: on a quiet stream the idle advance alone closes and publishes a session", async () => {
  const d = await driver();
  await arrive(d, [beat("quiet", T0), beat("quiet", T0 + 4_000)]);
  // Nothing else arrives; processing time goes on: the session (ending at
  // T0 + 64 s) closes a gap after its end, at T0 + 124 s, and its close-time
  // minute is sealed at T0 + 180 s.
  await d.advanceClock(190_000);
  const got = await rows(d);
  assert.deepEqual(got.map((r) => [r.session_id, r.events]), [["quiet", 2]]);
  assert.equal(got[0]!.key.startsWith("sessions/date=2026-03-14/part-"), true);
  await d.close();

  // Without the idle advance, the same run publishes nothing.
  const stuck = await driver({ idle_advance_ms: "0" });
  await arrive(stuck, [beat("quiet", T0), beat("quiet", T0 + 4_000)]);
  await stuck.advanceClock(190_000);
  assert.deepEqual(await rows(stuck), []);
  await stuck.close();
});

Deno.test("sessions: a row takes device and program of the first heartbeat by event time, whatever the arrival order", async () => {
  const d = await driver();
  await arrive(d, [
    { ...beat("s", T0 + 2_000, { device: "web", program_id: "p2" }) },
    {
      ...beat("s", T0, { device: "tv", program_id: "p1" }),
      timestamp: T0 + 2_600,
    },
    beat("s", T0 + 6_000, { device: "mobile", program_id: "p3" }),
  ]);
  await d.endOfInput();
  const [row] = await rows(d);
  assert.deepEqual(
    [row!.device, row!.program_id, row!.start_ms - T0, row!.end_ms - T0],
    ["tv", "p1", 0, 6_000],
  );
  await d.close();
});

Deno.test("sessions: bad records go to viewing-events.dead-letter with the reason", async () => {
  const d = await driver();
  const good = JSON.parse(beat("s", T0).value);
  const bad = [
    "{not json",
    "[1,2]",
    JSON.stringify({ ...good, user_id: "" }),
    JSON.stringify({ ...good, session_id: undefined }),
    JSON.stringify({ ...good, program_id: "  " }),
    JSON.stringify({ ...good, event_time: "yesterday" }),
  ];
  await d.pipe(bad.map((value) => ({ value, key: "u-1" })));
  await d.endOfInput();
  const reasons = d.records("viewing-events.dead-letter").map((r) =>
    JSON.parse(r.value).reason as string
  );
  assert.equal(reasons.length, 6);
  assert.match(reasons[0]!, /not valid JSON/);
  assert.match(reasons[1]!, /must be a JSON object/);
  assert.match(reasons[2]!, /'user_id' must be a non-empty string/);
  assert.match(reasons[3]!, /'session_id' is missing/);
  assert.match(reasons[4]!, /'program_id' must be a non-empty string/);
  assert.match(reasons[5]!, /'event_time' must be ISO-8601/);
  assert.deepEqual(await rows(d), []);
  await d.close();
});
