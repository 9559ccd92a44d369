/**
 * `POST /track` against the Log twin on a virtual clock: every status with its
 * reason, all-or-nothing requests, batching across concurrent requests, the
 * in-flight budget and the body limit enforced while streaming.
 */

import assert from "node:assert/strict";
import { VirtualClock } from "../../../sim/clock.ts";
import { LogTwin } from "../../../sim/log.ts";
import type { LogMessage, LogRecord } from "../../../src/ports.ts";
import { BearerToken } from "../../../src/http/auth.ts";
import {
  Tracker,
  type TrackerOptions,
  type TrackOutcome,
} from "../../../src/http/track.ts";

const START_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const TOPIC = "flink-events";

/**
 * The Log twin with a gate on `produce`: while closed, produce calls wait;
 * every call's message count is recorded.
 */
class GatedLog extends LogTwin {
  readonly calls: number[] = [];
  #open = true;
  #waiting: Array<() => void> = [];

  close(): void {
    this.#open = false;
  }

  open(): void {
    this.#open = true;
    for (const release of this.#waiting.splice(0)) release();
  }

  override produce(topic: string, messages: LogMessage[]): Promise<void> {
    this.calls.push(messages.length);
    if (this.#open) return super.produce(topic, messages);
    return new Promise<void>((resolve) => this.#waiting.push(resolve))
      .then(() => super.produce(topic, messages));
  }
}

interface Setup {
  clock: VirtualClock;
  log: GatedLog;
  tracker: Tracker;
  outcomes: TrackOutcome[];
  errors: unknown[];
}

async function setup(options: Partial<TrackerOptions> = {}): Promise<Setup> {
  const clock = new VirtualClock(START_MS);
  const log = new GatedLog({ clock });
  await log.createTopic(TOPIC, 3);
  const outcomes: TrackOutcome[] = [];
  const errors: unknown[] = [];
  const tracker = new Tracker({
    log,
    clock,
    on_outcome: (o) => outcomes.push(o),
    ...options,
    producer: { on_error: (e) => errors.push(e), ...options.producer },
  });
  return { clock, log, tracker, outcomes, errors };
}

function post(
  body: BodyInit | null,
  headers: Record<string, string> = { "content-type": "application/json" },
): Request {
  return new Request("http://127.0.0.1/track", {
    method: "POST",
    headers,
    body,
  });
}

async function records(log: LogTwin): Promise<LogRecord[]> {
  const ends = await log.endOffsets(TOPIC);
  const all: LogRecord[] = [];
  for (let p = 0; p < ends.length; p++) {
    all.push(...await log.read(TOPIC, p, 0, 1_000_000));
  }
  return all;
}

/** A /track answer; each status fills some of the fields. */
interface Answer {
  accepted: number;
  error: string;
  invalid: Array<{ index: number; line?: number; reason: string }>;
  invalid_total: number;
}

async function answer(response: Response): Promise<[number, Answer]> {
  return [response.status, await response.json() as Answer];
}

/** Lets pending promise chains (not timers of the virtual clock) run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("/track answers 202 for one event once the log has it, with value and timestamp filled in", async () => {
  const { log, tracker, outcomes } = await setup();
  const [status, body] = await answer(
    await tracker.handle(
      post(JSON.stringify({ event_id: "click", page: "/a" })),
    ),
  );
  assert.equal(status, 202);
  assert.deepEqual(body, { accepted: 1 });
  const [record] = await records(log);
  assert.equal(record?.key, "click");
  assert.deepEqual(JSON.parse(record!.value), {
    event_id: "click",
    page: "/a",
    value: 1,
    timestamp: "2026-01-15T12:00:00.000Z",
  });
  assert.deepEqual(outcomes, [{ status: 202, events: 1, invalid: 0 }]);
});

Deno.test("/track keeps a given value and timestamp as they are (ISO or epoch ms)", async () => {
  const { log, tracker } = await setup();
  const events = [
    { event_id: "a", value: 2.5, timestamp: 1_700_000_000_000 },
    { timestamp: "2026-01-15T11:59:59+01:00", event_id: "b", value: -3 },
  ];
  const response = await tracker.handle(post(JSON.stringify(events)));
  assert.equal(response.status, 202);
  assert.deepEqual(await response.json(), { accepted: 2 });
  const values = (await records(log)).map((r) => r.value).sort();
  assert.deepEqual(values, events.map((e) => JSON.stringify(e)).sort());
});

Deno.test("/track reads NDJSON, skipping blank lines and tolerating CRLF", async () => {
  const { log, tracker } = await setup();
  const body = '{"event_id":"a"}\r\n\n  \n{"event_id":"b","value":4}\n';
  for (
    const type of ["application/x-ndjson", "application/ndjson; charset=utf-8"]
  ) {
    const response = await tracker.handle(post(body, { "content-type": type }));
    assert.deepEqual(await answer(response), [202, { accepted: 2 }]);
  }
  const keys = (await records(log)).map((r) => r.key).sort();
  assert.deepEqual(keys, ["a", "a", "b", "b"]);
});

Deno.test("/track answers 400 naming each invalid event, and writes none of the request", async () => {
  const { log, tracker, outcomes } = await setup();
  const events = [
    { event_id: "fine" },
    { value: 1 },
    { event_id: 7 },
    { event_id: "" },
    { event_id: "x", value: "3" },
    { event_id: "x", timestamp: "yesterday" },
    { event_id: "x", timestamp: -5 },
    "not an object",
    { event_id: "x", value: "HUGE" },
  ];
  // JSON reads 1e999 as Infinity (JSON.stringify cannot write it).
  const text = JSON.stringify(events).replace('"HUGE"', "1e999");
  const [status, body] = await answer(await tracker.handle(post(text)));
  assert.equal(status, 400);
  assert.equal(body.error, "8 of 9 events are invalid: nothing was accepted");
  assert.equal(body.invalid_total, 8);
  assert.deepEqual(body.invalid.map((i) => i.index), [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
  const reasons = body.invalid.map((i) => i.reason);
  assert.deepEqual(reasons.slice(0, 5), [
    "'event_id' is required",
    "'event_id' must be a string: current value is 7",
    "'event_id' must not be empty",
    `'value' must be a finite number: current value is "3"`,
    `'timestamp' must be ISO-8601 date and time (2024-05-01T12:00:00Z; without a zone, UTC) or epoch milliseconds (a non-negative integer): current value is "yesterday"`,
  ]);
  assert.match(reasons[5]!, /'timestamp' must be .* current value is -5$/);
  assert.equal(
    reasons[6],
    `an event must be a JSON object: current value is "not an object"`,
  );
  assert.equal(
    reasons[7],
    "'value' must be a finite number: current value is Infinity",
  );
  assert.deepEqual(await records(log), []);
  assert.deepEqual(log.calls, []);
  assert.deepEqual(outcomes, [{ status: 400, events: 0, invalid: 8 }]);
});

Deno.test("/track names the line of an invalid NDJSON event", async () => {
  const { log, tracker } = await setup();
  const body = '{"event_id":"a"}\n\n{"event_id":\n{"value":1}\n';
  const [status, answered] = await answer(
    await tracker.handle(
      post(body, { "content-type": "application/x-ndjson" }),
    ),
  );
  assert.equal(status, 400);
  assert.equal(answered.invalid.length, 2);
  assert.deepEqual(
    answered.invalid.map((i) => [i.index, i.line]),
    [[1, 3], [2, 4]],
  );
  assert.match(answered.invalid[0]!.reason, /^not valid JSON: /);
  assert.equal(answered.invalid[1]!.reason, "'event_id' is required");
  assert.deepEqual(await records(log), []);
});

Deno.test("/track answers 400 for a body that is not JSON, empty, not UTF-8 or not events", async () => {
  const { tracker } = await setup();
  const cases: Array<[BodyInit, RegExp]> = [
    ["{", /^the body is not valid JSON: /],
    ["", /^the body is not valid JSON: /],
    ["[]", /^the body holds no event$/],
    [
      "42",
      /^the body must be a JSON object or an array of objects: current value is 42$/,
    ],
    [new Uint8Array([0x7b, 0xff, 0x7d]), /^the body is not valid UTF-8$/],
  ];
  for (const [body, error] of cases) {
    const [status, answered] = await answer(await tracker.handle(post(body)));
    assert.equal(status, 400, String(body));
    assert.match(answered.error, error);
  }
  const ndjson = await tracker.handle(
    post("\n \n", { "content-type": "application/x-ndjson" }),
  );
  assert.deepEqual(await answer(ndjson), [400, {
    error: "the body holds no event",
    invalid: [],
    invalid_total: 0,
  }]);
});

Deno.test("/track lists at most invalid_listed_max invalid events and counts them all", async () => {
  const { tracker } = await setup({ invalid_listed_max: 3 });
  const events = Array.from({ length: 10 }, () => ({ value: 1 }));
  const [status, body] = await answer(
    await tracker.handle(post(JSON.stringify(events))),
  );
  assert.equal(status, 400);
  assert.equal(body.invalid.length, 3);
  assert.equal(body.invalid_total, 10);
});

Deno.test("/track refuses an event_id or an event over its size limit", async () => {
  const { tracker } = await setup({
    event_id_length_max: 8,
    event_bytes_max: 200,
  });
  const [status, body] = await answer(
    await tracker.handle(post(JSON.stringify([
      { event_id: "123456789" },
      { event_id: "ok", note: "x".repeat(200) },
      { event_id: "ok" },
    ]))),
  );
  assert.equal(status, 400);
  assert.equal(body.error, "2 of 3 events are invalid: nothing was accepted");
  assert.deepEqual(body.invalid.map((i) => i.reason), [
    "'event_id' must be at most 8 characters: current length is 9",
    "an event must be at most 200 bytes as a message: current size is 342",
  ]);
});

Deno.test("/track answers 401 without the configured token and never shows it", async () => {
  const token = "s3cret-token-value";
  const { log, tracker } = await setup({ token });
  const attempts: Array<[Record<string, string>, RegExp]> = [
    [{}, /the request has none/],
    [{ authorization: "Basic abc" }, /the request has none/],
    [{ authorization: "Bearer wrong" }, /the request's token is wrong/],
    [{ authorization: `Bearer ${token}x` }, /wrong/],
  ];
  for (const [headers, reason] of attempts) {
    const response = await tracker.handle(
      post('{"event_id":"a"}', {
        "content-type": "application/json",
        ...headers,
      }),
    );
    assert.equal(response.status, 401);
    assert.equal(
      response.headers.get("www-authenticate"),
      'Bearer realm="freshet"',
    );
    const text = await response.text();
    assert.match(JSON.parse(text).error, reason);
    assert.ok(!text.includes(token));
  }
  assert.deepEqual(log.calls, []);
  const ok = await tracker.handle(
    post('{"event_id":"a"}', {
      "content-type": "application/json",
      authorization: `bearer ${token}`,
    }),
  );
  assert.equal(ok.status, 202);
  await ok.body?.cancel();
});

Deno.test("a bearer token prints as *** however it is shown", () => {
  const token = new BearerToken("s3cret");
  for (
    const shown of [
      String(token),
      JSON.stringify({ token }),
      Deno.inspect(token),
    ]
  ) {
    assert.ok(!shown.includes("s3cret"), shown);
    assert.match(shown, /\*\*\*/);
  }
  assert.equal(token.check("Bearer s3cret"), "ok");
  assert.equal(token.check("Bearer s3cre"), "wrong");
  assert.equal(token.check(null), "missing");
});

Deno.test("/track answers 415 for another content type or charset", async () => {
  const { log, tracker } = await setup();
  for (
    const headers of [
      { "content-type": "text/plain" },
      { "content-type": "application/json; charset=latin1" },
      { "content-type": "constructor" },
      {} as Record<string, string>,
    ]
  ) {
    const [status, body] = await answer(
      await tracker.handle(post('{"event_id":"a"}', headers)),
    );
    assert.equal(status, 415);
    assert.match(
      body.error,
      /^the content type must be application\/json or application\/x-ndjson \(UTF-8\): current value is /,
    );
  }
  assert.deepEqual(log.calls, []);
});

Deno.test("/track answers 405 to another method", async () => {
  const { tracker } = await setup();
  const response = await tracker.handle(
    new Request("http://127.0.0.1/track", { method: "GET" }),
  );
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "POST");
  assert.match((await response.json()).error, /current method is GET/);
});

Deno.test("/track answers 413 from Content-Length without reading the body", async () => {
  const { tracker } = await setup({ body_limit_bytes: 100 });
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(10));
    },
  });
  const request = new Request("http://127.0.0.1/track", {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": "101" },
    body,
  });
  const [status, answered] = await answer(await tracker.handle(request));
  assert.equal(status, 413);
  assert.equal(
    answered.error,
    "the body must be at most 100 bytes: Content-Length is 101",
  );
  // A ReadableStream pulls once to fill its queue; the handler reads nothing.
  assert.ok(pulled <= 1, `pulled ${pulled} chunks`);
});

Deno.test("/track stops reading a streamed body at the first chunk past the limit", async () => {
  const { tracker } = await setup({ body_limit_bytes: 1000 });
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new TextEncoder().encode(" ".repeat(64)));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const [status, answered] = await answer(await tracker.handle(post(body)));
  assert.equal(status, 413);
  assert.equal(
    answered.error,
    "the body must be at most 1000 bytes: it is larger",
  );
  // 16 chunks of 64 bytes reach 1024 > 1000: reading stops there.
  assert.ok(pulled <= 17, `pulled ${pulled} chunks`);
  assert.ok(cancelled, "the stream was cancelled");
  assert.equal(tracker.budget.bytes, 0);
});

Deno.test("/track answers 503 with Retry-After when the log fails, then refuses at once until the backoff ends", async () => {
  const { clock, log, tracker, errors } = await setup({ retry_after_s: 2 });
  log.failNext(1);
  const response = await tracker.handle(post('{"event_id":"a"}'));
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "2");
  assert.match(
    (await response.json()).error,
    /^the log did not acknowledge the events: nothing is acknowledged; try again after Retry-After$/,
  );
  assert.equal(errors.length, 1);
  assert.deepEqual(log.calls, [1]);
  // Within the backoff: refused without a produce call, before reading.
  clock.advanceBy(1999);
  const refused = await tracker.handle(post('{"event_id":"b"}'));
  assert.equal(refused.status, 503);
  assert.match((await refused.json()).error, /the log failed recently/);
  assert.deepEqual(log.calls, [1]);
  clock.advanceBy(1);
  const accepted = await tracker.handle(post('{"event_id":"c"}'));
  assert.equal(accepted.status, 202);
  await accepted.body?.cancel();
  assert.deepEqual((await records(log)).map((r) => r.key), ["c"]);
  assert.equal(tracker.budget.events, 0);
  assert.equal(tracker.budget.bytes, 0);
});

Deno.test("/track answers 503 when the log does not answer in time, and holds the budget until it does", async () => {
  const { clock, log, tracker } = await setup({
    producer: { produce_timeout_ms: 5000 },
  });
  log.close();
  const pending = tracker.handle(post('[{"event_id":"a"},{"event_id":"b"}]'));
  await tick();
  assert.deepEqual(log.calls, [2]);
  assert.equal(tracker.budget.events, 2);
  clock.advanceBy(4999);
  await tick();
  clock.advanceBy(1);
  await tick();
  const response = await pending;
  assert.equal(response.status, 503);
  assert.match(
    (await response.json()).error,
    /^the log did not answer within 5000 ms: the events may or may not be written/,
  );
  // The call is still in flight: its events stay counted.
  assert.equal(tracker.budget.events, 2);
  log.open();
  await tick();
  assert.equal(tracker.budget.events, 0);
  assert.equal(tracker.budget.bytes, 0);
});

Deno.test("/track shares one produce call among requests that arrive while the log is busy", async () => {
  const { log, tracker } = await setup();
  log.close();
  // Two calls run at once by default: the first two requests get one each.
  const early = [
    tracker.handle(post('{"event_id":"first"}')),
    tracker.handle(post('{"event_id":"second"}')),
  ];
  await tick();
  assert.deepEqual(log.calls, [1, 1]);
  const others = Array.from({ length: 5 }, (_, i) =>
    tracker.handle(
      post(JSON.stringify([{ event_id: `r${i}` }, { event_id: `r${i}` }])),
    ));
  await tick();
  // The five requests wait for a free call, then share it.
  assert.deepEqual(log.calls, [1, 1]);
  log.open();
  const answers = await Promise.all([...early, ...others]);
  assert.deepEqual(
    answers.map((r) => r.status),
    [202, 202, 202, 202, 202, 202, 202],
  );
  assert.deepEqual(
    await Promise.all(answers.map((r) => r.json())),
    [{ accepted: 1 }, { accepted: 1 }, ...Array(5).fill({ accepted: 2 })],
  );
  assert.deepEqual(log.calls, [1, 1, 10]);
  assert.equal((await records(log)).length, 12);
});

Deno.test("/track cuts a large request into batches and answers 202 once all are acknowledged", async () => {
  const { log, tracker } = await setup({
    producer: { batch_messages_max: 3 },
  });
  const events = Array.from({ length: 7 }, (_, i) => ({ event_id: `e${i}` }));
  const response = await tracker.handle(post(JSON.stringify(events)));
  assert.deepEqual(await answer(response), [202, { accepted: 7 }]);
  assert.deepEqual(log.calls, [3, 3, 1]);
  assert.equal((await records(log)).length, 7);
});

Deno.test("/track cuts batches by bytes so no produce call passes batch_bytes_max", async () => {
  const { log, tracker } = await setup({
    event_bytes_max: 200,
    producer: { batch_bytes_max: 400 },
  });
  // Each message: 64 + key + value bytes, about 150: two fit in 400, not three.
  const events = Array.from({ length: 5 }, (_, i) => ({
    event_id: `e${i}`,
    pad: "p".repeat(20),
  }));
  const response = await tracker.handle(post(JSON.stringify(events)));
  assert.deepEqual(await answer(response), [202, { accepted: 5 }]);
  assert.deepEqual(log.calls, [2, 2, 1]);
});

Deno.test("/track answers 503 when the events in flight would pass the budget, and 202 once there is room", async () => {
  const { log, tracker } = await setup({ events_in_flight_max: 5 });
  log.close();
  const holding = tracker.handle(
    post(JSON.stringify(Array(4).fill({ event_id: "a" }))),
  );
  await tick();
  assert.equal(tracker.budget.events, 4);
  const [status, body] = await answer(
    await tracker.handle(
      post(JSON.stringify(Array(2).fill({ event_id: "b" }))),
    ),
  );
  assert.equal(status, 503);
  assert.equal(
    body.error,
    "the in-flight budget of 5 events has no room for 2 more: try again after Retry-After",
  );
  const fits = tracker.handle(post('{"event_id":"c"}'));
  log.open();
  assert.equal((await holding).status, 202);
  assert.equal((await fits).status, 202);
  await tick();
  assert.equal(tracker.budget.events, 0);
  const after = await tracker.handle(
    post(JSON.stringify(Array(5).fill({ event_id: "d" }))),
  );
  assert.equal(after.status, 202);
  await after.body?.cancel();
});

Deno.test("/track answers 503 when the body bytes in flight would pass the budget", async () => {
  const { log, tracker } = await setup({ bytes_in_flight_max: 100 });
  log.close();
  const body60 = JSON.stringify([{ event_id: "a", pad: "x".repeat(30) }]);
  assert.ok(body60.length > 50 && body60.length <= 60);
  const holding = tracker.handle(post(body60));
  await tick();
  assert.equal(tracker.budget.bytes, body60.length);
  const response = await tracker.handle(post(body60));
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "1");
  assert.equal(
    (await response.json()).error,
    "the in-flight budget of 100 bytes is full: try again after Retry-After",
  );
  assert.equal(tracker.budget.bytes, body60.length);
  log.open();
  assert.equal((await holding).status, 202);
  await tick();
  assert.equal(tracker.budget.bytes, 0);
});

Deno.test("/track refuses every queued request when the call before them fails", async () => {
  const { log, tracker } = await setup({
    producer: { produces_in_flight_max: 1 },
  });
  log.close();
  const first = tracker.handle(post('{"event_id":"a"}'));
  await tick();
  const queued = tracker.handle(post('{"event_id":"b"}'));
  await tick();
  log.failNext(1);
  log.open();
  // The gated call reaches the twin's produce after the gate opens, and fails.
  assert.equal((await first).status, 503);
  assert.equal((await queued).status, 503);
  assert.deepEqual(log.calls, [1]);
  assert.deepEqual(await records(log), []);
});

Deno.test("/track answers 503 when one batch of a large request fails, though other batches may be in the log", async () => {
  const { log, tracker } = await setup({
    producer: { batch_messages_max: 3 },
  });
  log.close();
  const events = Array.from({ length: 7 }, (_, i) => ({ event_id: `e${i}` }));
  const pending = tracker.handle(post(JSON.stringify(events)));
  await tick();
  // Two calls in flight (3 + 3), the last event queued.
  assert.deepEqual(log.calls, [3, 3]);
  log.failNext(1);
  log.open();
  const response = await pending;
  assert.equal(response.status, 503);
  await response.body?.cancel();
  // The first call failed, the second landed, the queued one never left:
  // the documented "503 may be partly written".
  assert.equal((await records(log)).length, 3);
  assert.deepEqual(log.calls, [3, 3]);
});
