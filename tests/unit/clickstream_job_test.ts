/**
 * The `clickstream` job through the shared test driver (sim/driver.ts): the
 * files it publishes (window bounds, enrichment, order, keys), its dead
 * letters and late records, lateness, and crashes.
 */

import assert from "node:assert/strict";
import { clickstream } from "../../src/jobs/clickstream/job.ts";
import { JobDriver } from "../../sim/driver.ts";
import { canonicalOutputs } from "../../sim/outputs.ts";
import { writeDump } from "../../sim/dump.ts";
import { simulate } from "../../sim/simulator.ts";
import { parseFixture } from "../../src/core/fixture.ts";

const TOPIC = "clickstream";
const MIN = 60_000;
const T0 = Date.UTC(2024, 9, 22, 18, 0, 0); // 2024-10-22T18:00:00Z
const decoder = new TextDecoder();

let next_id = 1;

/** A click of `user` at `ms` after 18:00 (epoch ms unless `timestamp` is given). */
function click(
  user: string,
  ms: number,
  fields: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    event_id: `evt_${next_id++}`,
    user_id: user,
    session_id: "sess_1",
    event_type: "page_view",
    page_url: "https://example.com/",
    timestamp: T0 + ms,
    ip_address: "192.168.1.1",
    country: "US",
    device_type: "mobile",
    ...fields,
  });
}

async function driver(options: Record<string, string> = {}) {
  return await JobDriver.open(clickstream, {
    partitions: 1,
    start_ms: T0 + 2 * 3_600_000,
    overrides: { options },
  });
}

/** Published files: key → parsed lines. */
function files(d: JobDriver): Map<string, Record<string, unknown>[]> {
  return new Map(
    d.objects.dump()
      .filter((o) => o.key.startsWith("clickstream-events/"))
      .map((o) => [
        o.key,
        decoder.decode(o.body).split("\n").filter((l) => l !== "").map((l) =>
          JSON.parse(l)
        ),
      ]),
  );
}

/** Side messages of a topic as [reason, payload]. */
function side(d: JobDriver, suffix: string): Array<[string, string]> {
  return d.records(`${TOPIC}.${suffix}`).map((r) => {
    const s = JSON.parse(r.value);
    return [s.reason, s.value];
  });
}

Deno.test("clickstream describes itself: topic, partitions, side topics and options with defaults", () => {
  const job = clickstream.create();
  assert.equal(job.name, "clickstream");
  assert.equal(job.topic, TOPIC);
  assert.equal(job.partitions, 4);
  assert.equal(job.out_of_orderness_ms, 600_000);
  assert.deepEqual(job.outputTopics, [
    "clickstream.dead-letter",
    "clickstream.late",
  ]);
  assert.deepEqual(clickstream.optionHelp(), [
    "partitions=4",
    "out_of_orderness_ms=600000",
    "window_size_ms=300000",
    "allowed_lateness_ms=0",
    "idle_advance_ms=0",
    "prefix=clickstream-events",
    "file_interval_ms=300000",
    "file_max_bytes=67108864",
    "file_max_records=0",
    "roll_at_checkpoint=false",
  ]);
  assert.throws(
    () => clickstream.create({ options: { file_interval_ms: "420000" } }),
    /'interval_ms' must be a positive number of milliseconds dividing an hour/,
  );
});

Deno.test("clickstream writes a window's events once it closes, enriched with ISO-8601 UTC times of the event and the window", async () => {
  const d = await driver();
  const first = click("user_1", 250); // 18:00:00.250
  await d.pipe([first, click("user_1", 4 * MIN + 59_999)]);
  // The watermark (largest time − 10 min − 1 ms) has not passed 18:05.
  await d.pipe([click("user_2", 14 * MIN + 59_999)]);
  assert.equal(files(d).size, 0);
  await d.pipe([click("user_2", 15 * MIN)]);
  const published = [...files(d)];
  assert.equal(published.length, 1);
  const [key, lines] = published[0]!;
  assert.equal(
    key,
    "clickstream-events/dt=2024-10-22/hour=18/part-0-0000000000-0000000001.jsonl",
  );
  assert.deepEqual(
    lines.map((l) => [
      l.event_timestamp,
      l.event_timestamp_start,
      l.event_timestamp_end,
    ]),
    [
      [
        "2024-10-22T18:00:00.250Z",
        "2024-10-22T18:00:00Z",
        "2024-10-22T18:05:00Z",
      ],
      [
        "2024-10-22T18:04:59.999Z",
        "2024-10-22T18:00:00Z",
        "2024-10-22T18:05:00Z",
      ],
    ],
  );
  // The payload's own text comes first, unchanged.
  const text = decoder.decode(
    d.objects.dump().find((o) => o.key === key)!
      .body,
  ).split("\n")[0]!;
  assert.ok(text.startsWith(first.slice(0, -1) + ","), text);
  assert.deepEqual(d.counts(), {
    in: 4,
    out: 4,
    filtered: 0,
    dead_lettered: 0,
    late: 0,
  });
});

Deno.test("clickstream keeps every input field byte for byte: number forms, escapes, nested values, odd fields and white space", async () => {
  const d = await driver();
  const payloads = [
    `  {"event_id":"e1","user_id":"u","event_type":"click","timestamp":${
      T0 + 1_000
    },"price":1.50,"big":12345678901234567890,"name":"caf\\u00e9","screen":{"w":390,"h":844},"referrer":"","country":null}\t `,
    `{"event_id":"e2","user_id":"u","event_type":"click","timestamp":"2024-10-22T20:02:03+02:00"}`,
  ];
  await d.pipe(payloads);
  await d.endOfInput();
  const [body] = d.objects.dump().filter((o) =>
    o.key.startsWith("clickstream-events/")
  );
  const lines = decoder.decode(body!.body).split("\n");
  assert.equal(
    lines[0],
    `{"event_id":"e1","user_id":"u","event_type":"click","timestamp":${
      T0 + 1_000
    },"price":1.50,"big":12345678901234567890,"name":"caf\\u00e9","screen":{"w":390,"h":844},"referrer":"","country":null,"event_timestamp":"2024-10-22T18:00:01Z","event_timestamp_start":"2024-10-22T18:00:00Z","event_timestamp_end":"2024-10-22T18:05:00Z"}`,
  );
  // An offset time is written back as UTC.
  assert.equal(
    JSON.parse(lines[1]!).event_timestamp,
    "2024-10-22T18:02:03Z",
  );
  assert.equal(lines[2], "");
});

Deno.test("clickstream writes a payload on several lines, or one holding an added field, on one line with the job's values", async () => {
  const d = await driver();
  await d.pipe([
    `{"event_id":"e1",\n "user_id":"u",\r\n "event_type":"click","timestamp":${
      T0 + 1_000
    }}`,
    JSON.stringify({
      event_id: "e2",
      user_id: "u",
      event_type: "click",
      timestamp: T0 + 2_000,
      event_timestamp_end: "forged",
    }),
  ]);
  await d.endOfInput();
  const lines = [...files(d).values()].flat();
  assert.deepEqual(lines, [
    {
      event_id: "e1",
      user_id: "u",
      event_type: "click",
      timestamp: T0 + 1_000,
      event_timestamp: "2024-10-22T18:00:01Z",
      event_timestamp_start: "2024-10-22T18:00:00Z",
      event_timestamp_end: "2024-10-22T18:05:00Z",
    },
    {
      event_id: "e2",
      user_id: "u",
      event_type: "click",
      timestamp: T0 + 2_000,
      event_timestamp: "2024-10-22T18:00:02Z",
      event_timestamp_start: "2024-10-22T18:00:00Z",
      event_timestamp_end: "2024-10-22T18:05:00Z",
    },
  ]);
});

Deno.test("clickstream orders a window's lines by user, then event time, whatever the arrival order", async () => {
  const d = await driver();
  await d.pipe([
    click("user_b", 3_000, { event_id: "b3" }),
    click("user_a", 2_000, { event_id: "a2" }),
    click("user_b", 1_000, { event_id: "b1" }),
    click("user_a", 1_000, { event_id: "a1" }),
  ]);
  await d.endOfInput();
  assert.deepEqual(
    [...files(d).values()].flat().map((l) => l.event_id),
    ["a1", "a2", "b1", "b3"],
  );
});

Deno.test("clickstream sends invalid events to the dead letters with the reason", async () => {
  const d = await driver();
  const bad = [
    "not json",
    '["an array"]',
    JSON.stringify({ user_id: "u", event_type: "click", timestamp: T0 }),
    JSON.stringify({
      event_id: null,
      user_id: "u",
      event_type: "click",
      timestamp: T0,
    }),
    JSON.stringify({
      event_id: "e",
      user_id: "",
      event_type: "click",
      timestamp: T0,
    }),
    JSON.stringify({
      event_id: "e",
      user_id: "u",
      event_type: " ",
      timestamp: T0,
    }),
    JSON.stringify({ event_id: "e", user_id: "u", event_type: "click" }),
    JSON.stringify({
      event_id: "e",
      user_id: "u",
      event_type: "click",
      timestamp: "2024-10-32T18:00:00Z",
    }),
    JSON.stringify({
      event_id: "e",
      user_id: "u",
      event_type: "click",
      timestamp: true,
    }),
  ];
  await d.pipe(bad.map((value) => ({ value, key: "u" })));
  assert.deepEqual(side(d, "dead-letter").map(([reason]) => reason), [
    'payload is not valid JSON: "not json"',
    'payload must be a JSON object: current value is ["an array"]',
    "'event_id' is missing",
    "'event_id' is missing",
    `'user_id' must be a non-empty string: current value is ""`,
    `'event_type' must be a non-empty string: current value is " "`,
    "'timestamp' is missing",
    `'timestamp' must be ISO-8601 or epoch milliseconds: current value is "2024-10-32T18:00:00Z"`,
    "'timestamp' must be ISO-8601 or epoch milliseconds: current value is true",
  ]);
  assert.deepEqual(side(d, "dead-letter").map(([, value]) => value), bad);
  assert.equal(d.counts().dead_lettered, bad.length);
});

Deno.test("clickstream sends events of a closed window to the late topic, naming the window", async () => {
  const d = await driver();
  await d.pipe([click("user_1", 19 * MIN)]); // watermark 18:08:59.999
  const late = click("user_2", 4 * MIN); // window [18:00, 18:05) has closed
  await d.pipe([late, click("user_2", 5 * MIN)]); // [18:05, 18:10) has not
  assert.deepEqual(side(d, "late"), [[
    "late beyond allowed lateness of 0 ms for: window starting 2024-10-22T18:00:00Z",
    late,
  ]]);
  await d.endOfInput();
  const lines = [...files(d).values()].flat();
  assert.equal(lines.length, 2);
  assert.equal(d.counts().late, 1);
});

Deno.test("clickstream with allowed lateness writes a late event of a re-fired window once, in the window's file while it stays open", async () => {
  const d = await driver({ allowed_lateness_ms: "120000" });
  await d.pipe([click("user_1", 1_000, { event_id: "on-time" })]);
  await d.pipe([click("user_1", 15 * MIN, { event_id: "a" })]); // [18:00, 18:05) fires
  await d.pipe([click("user_1", 2_000, { event_id: "late-but-allowed" })]);
  await d.pipe([click("user_1", 18 * MIN, { event_id: "b" })]); // lateness over
  await d.pipe([click("user_1", 3_000, { event_id: "too-late" })]);
  await d.endOfInput();
  const byKey = [...files(d)].map(([key, lines]) => [
    key.slice(key.lastIndexOf("/") + 1),
    lines.map((l) => l.event_id),
  ]);
  assert.deepEqual(byKey, [
    ["part-0-0000000000-0000000001.jsonl", ["on-time", "late-but-allowed"]],
    ["part-0-0000000002-0000000003.jsonl", ["a", "b"]],
  ]);
  assert.equal(d.counts().late, 1);
});

Deno.test("clickstream makes a file per partition and window, hour directories from the window's start, under its prefix option", async () => {
  const d = await JobDriver.open(clickstream, {
    partitions: 2,
    start_ms: T0 + 2 * 3_600_000,
    overrides: { options: { prefix: "exports/clicks/" } },
  });
  await d.pipe([
    { value: click("a", 58 * MIN), partition: 0 },
    { value: click("b", 61 * MIN), partition: 0 },
    { value: click("c", 59 * MIN), partition: 1 },
  ]);
  await d.endOfInput();
  assert.deepEqual(
    d.objects.dump().map((o) => o.key),
    [
      "exports/clicks/dt=2024-10-22/hour=18/part-0-0000000000-0000000000.jsonl",
      "exports/clicks/dt=2024-10-22/hour=18/part-1-0000000000-0000000000.jsonl",
      "exports/clicks/dt=2024-10-22/hour=19/part-0-0000000001-0000000001.jsonl",
    ],
  );
});

Deno.test("clickstream rolls a window's file by line count when file_max_records is set", async () => {
  const d = await driver({ file_max_records: "2" });
  await d.pipe([1, 2, 3, 4, 5].map((s) => click("u", s * 1_000)));
  await d.endOfInput();
  assert.deepEqual([...files(d).values()].map((lines) => lines.length), [
    2,
    2,
    1,
  ]);
});

Deno.test("clickstream publishes the same files after crashes between staging, checkpoint and publishing", async () => {
  const input = Array.from(
    { length: 60 },
    (_, i) => click(`user_${i % 7}`, i * 20_000),
  );
  const clean = await driver();
  for (let i = 0; i < input.length; i += 6) {
    await clean.pipe(input.slice(i, i + 6));
  }
  await clean.endOfInput();
  const expected = files(clean);
  assert.ok(expected.size >= 3);

  const d = await driver();
  for (let i = 0; i < input.length; i += 6) {
    await d.pipe(input.slice(i, i + 6));
    // Crash after every second batch: before some checkpoints, after others.
    if (i % 12 === 6) await d.crash();
  }
  await d.endOfInput();
  assert.deepEqual(files(d), expected);
  assert.deepEqual(
    d.objects.dump().filter((o) => o.key.startsWith("freshet-staging/")),
    [],
  );
});

Deno.test("canonical outputs and the --out dump leave staging objects out", async () => {
  const job = clickstream.create();
  const fixture = parseFixture(
    [0, 1, 2].map((i) =>
      JSON.stringify({
        topic: TOPIC,
        partition: 0,
        offset: i,
        key: "u",
        value: click("u", i * 1_000),
        timestamp: T0 + i * 1_000,
      })
    ).join("\n"),
  );
  const result = await simulate({ job, fixture, seed: 1 });
  await result.objects.put(
    "freshet-staging/clickstream/clickstream/0/0000000009-x.jsonl",
    new Uint8Array([1]),
  );
  const published = [
    "clickstream-events/dt=2024-10-22/hour=18/part-0-0000000000-0000000002.jsonl",
  ];
  const outputs = await canonicalOutputs(result, [TOPIC]);
  assert.deepEqual(outputs.objects.map((o) => o.key), published);
  const dir = await Deno.makeTempDir();
  try {
    await writeDump(dir, result, {});
    const written: string[] = [];
    const walk = async (path: string) => {
      for await (const entry of Deno.readDir(`${dir}/objects/${path}`)) {
        const child = path === "" ? entry.name : `${path}/${entry.name}`;
        if (entry.isDirectory) await walk(child);
        else written.push(child);
      }
    };
    await walk("");
    assert.deepEqual(written, published);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
