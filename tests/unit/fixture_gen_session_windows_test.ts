import assert from "node:assert/strict";
import {
  type RepartitionedHeartbeat,
  sessionKey,
  simulateSessionWindows,
} from "../../scripts/fixture_gen/session_windows.ts";

const GAP = 60_000;

function simulate(heartbeats: Array<[number, string, number]>) {
  const input: RepartitionedHeartbeat[] = heartbeats.map((
    [partition, session_id, event_ms],
  ) => ({ partition, session_id, event_ms, arrival_ms: event_ms }));
  return simulateSessionWindows(input, {
    partitions: 2,
    gap_ms: GAP,
    out_of_orderness_ms: 5_000,
    watermark_lag_ms: 0,
  }, new Set());
}

Deno.test("simulateSessionWindows() joins heartbeats exactly the gap apart and splits them 1 ms further", () => {
  assert.equal(simulate([[0, "s", 0], [1, "x", 0], [0, "s", GAP]]).sessions, 2);
  assert.equal(
    simulate([[0, "s", 0], [1, "x", 0], [0, "s", GAP + 1]]).sessions,
    3,
  );
});

Deno.test("simulateSessionWindows() merges two sessions through an out-of-order heartbeat that arrives before the first closes", () => {
  // 62 s pause; the bridge at 31 s arrives after the heartbeat ending it.
  const run = simulate([
    [0, "s", 0],
    [0, "s", 62_000],
    [1, "x", 62_000],
    [0, "s", 31_000],
  ]);
  assert.deepEqual(run, { sessions: 2, late: 0, differing_sessions: 2 });
});

Deno.test("simulateSessionWindows() drops a heartbeat as late only when its window is late and it touches no live session", () => {
  // The first session of s fires once the watermark reaches 59,999 (here
  // 64,999: max event 70,000 on both partitions); its heartbeat at 4,000
  // arriving afterwards is late, as [4,000, 64,000) is late too.
  const late = simulate([
    [0, "s", 0],
    [0, "x", 70_000],
    [1, "y", 70_000],
    [0, "s", 4_000],
  ]);
  assert.equal(late.late, 1);
  // While the session is live (the other partition holds the watermark back)
  // the same heartbeat merges.
  const merged = simulate([
    [0, "s", 0],
    [0, "x", 70_000],
    [1, "y", 10_000],
    [0, "s", 4_000],
  ]);
  assert.equal(merged.late, 0);
  assert.equal(merged.sessions, 3);
});

Deno.test("simulateSessionWindows() with the clock watermark closes a session during a silence, so a heartbeat held back through it is late", () => {
  const input: RepartitionedHeartbeat[] = [
    { partition: 0, session_id: "s", event_ms: 0, arrival_ms: 0 },
    { partition: 0, session_id: "s", event_ms: 4_000, arrival_ms: 70_000 },
  ];
  const options = {
    partitions: 1,
    gap_ms: GAP,
    out_of_orderness_ms: 5_000,
    watermark_lag_ms: 0,
  };
  assert.equal(simulateSessionWindows(input, options, new Set()).late, 0);
  assert.equal(
    simulateSessionWindows(
      input,
      { ...options, clock_watermark: true },
      new Set(),
    )
      .late,
    1,
  );
  // Arriving at 68,000 the clock watermark is 62,999: the first session has
  // fired, but [4,000, 64,000) is not late yet, so the heartbeat opens a new
  // session instead of going to the late output.
  const reopened = simulateSessionWindows(
    [input[0]!, { ...input[1]!, arrival_ms: 68_000 }],
    { ...options, clock_watermark: true },
    new Set(),
  );
  assert.deepEqual(reopened, { sessions: 2, late: 0, differing_sessions: 2 });
});

Deno.test("simulateSessionWindows() counts as differing only the emitted sessions that are not event-time sessions", () => {
  const input: RepartitionedHeartbeat[] = [
    { partition: 0, session_id: "s", event_ms: 0, arrival_ms: 0 },
    { partition: 0, session_id: "s", event_ms: 4_000, arrival_ms: 4_000 },
    { partition: 0, session_id: "t", event_ms: 5_000, arrival_ms: 5_000 },
  ];
  const options = {
    partitions: 1,
    gap_ms: GAP,
    out_of_orderness_ms: 5_000,
    watermark_lag_ms: 0,
  };
  const known = new Set([sessionKey("s", 0, 4_000, 2)]);
  assert.deepEqual(simulateSessionWindows(input, options, known), {
    sessions: 2,
    late: 0,
    differing_sessions: 1,
  });
});
