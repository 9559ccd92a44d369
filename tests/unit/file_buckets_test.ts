import assert from "node:assert/strict";
import { jsonLines } from "../../src/sinks/file_format.ts";
import { FileBatch, fileKey, FileRoller } from "../../src/sinks/file_roll.ts";
import { type FilesHandle, s3FilesSink } from "../../src/sinks/s3_files.ts";
import type { SinkContext } from "../../src/sinks/sink.ts";
import type { PartitionClaim } from "../../src/core/checkpoint.ts";
import type { Clock, Log } from "../../src/ports.ts";
import { ObjectsTwin } from "../../sim/objects.ts";

const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 14, 23, 58, 0);
const rules = { interval_ms: MIN, max_bytes: 1_000, max_records: Infinity };

/** Records `"<day>:<text>"` filed under `date=<day>`. */
const byDay = (line: string) => `date=${JSON.parse(line).day}`;
const line = (day: string, text: string) => JSON.stringify({ day, text });

function batch(
  entries: Array<[number, string]>,
  seal?: number,
): FileBatch<string> {
  const b = new FileBatch(jsonLines(), byDay);
  for (const [minute, record] of entries) b.add(T0 + minute * MIN, record);
  if (seal !== undefined) b.seal(T0 + seal * MIN);
  return b;
}

Deno.test("FileRoller keeps records of one slot in one file per bucket, and finishes them by the slot's seal", () => {
  const roller = new FileRoller<string>(rules);
  roller.write(
    batch([
      [0, line("2026-03-14", "a")],
      [0, line("2026-03-13", "b")],
      [0, line("2026-03-14", "c")],
      [1, line("2026-03-14", "d")],
    ], 1),
    false,
  );
  const finished = roller.takeFinished();
  assert.deepEqual(
    finished.map((f) => [f.bucket, f.first, f.last, f.records.length]),
    [["date=2026-03-14", 0, 2, 2], ["date=2026-03-13", 1, 1, 1]],
  );
  assert.deepEqual(
    finished.map((f) => fileKey("sessions", 3, f, "jsonl")),
    [
      "sessions/date=2026-03-14/part-3-0000000000-0000000002.jsonl",
      "sessions/date=2026-03-13/part-3-0000000001-0000000001.jsonl",
    ],
  );
  assert.deepEqual(
    roller.openFiles().map((f) => [f.slot_ms, f.bucket]),
    [[T0 + MIN, "date=2026-03-14"]],
  );
});

Deno.test("FileBatch refuses a bucket that could leave the prefix or is empty", () => {
  for (const bad of ["", "../x", "a//b", "/a", "a/", "date=2026 03", "."]) {
    const b = new FileBatch(jsonLines(), () => bad);
    assert.throws(
      () => b.add(T0, "{}"),
      /bucket must be '\/'-separated segments/,
      bad,
    );
  }
  const ok = new FileBatch(jsonLines(), () => "year=2026/date=2026-03-14");
  ok.add(T0, "{}");
  assert.equal(ok.entries[0]!.bucket, "year=2026/date=2026-03-14");
});

Deno.test("fileKey without a bucket keeps the slot's dt=/hour= directory", () => {
  assert.equal(
    fileKey("out", 0, { slot_ms: T0, first: 1, last: 2 }, "jsonl"),
    "out/dt=2026-03-14/hour=23/part-0-0000000001-0000000002.jsonl",
  );
});

function context(
  objects: ObjectsTwin,
  epoch: number,
  restored: unknown,
): SinkContext {
  const clock: Clock = { now: () => 0, sleep: () => Promise.resolve() };
  return {
    job: "sessions",
    topic: "viewing-events",
    partition: 0,
    epoch,
    position: 0,
    restored,
    claim: {} as PartitionClaim,
    ports: { log: {} as Log, objects, clock },
  };
}

Deno.test("s3FilesSink with a bucket publishes under the bucket and restores an open file's bucket after a crash", async () => {
  const objects = new ObjectsTwin();
  const sink = s3FilesSink({
    prefix: "sessions",
    format: jsonLines(),
    roll_interval_ms: MIN,
    bucket: byDay,
  });
  const first = await sink.open(context(objects, 1, undefined));
  const b1 = sink.buffer();
  b1.add(T0, line("2026-03-14", "a"));
  b1.add(T0 + MIN, line("2026-03-15", "b"));
  b1.seal(T0 + MIN);
  await first.write(b1, 0);
  const handle = await first.prepare(0) as FilesHandle;
  await first.commit(handle);
  assert.deepEqual(handle.open.map((o) => [o.bucket, o.records]), [[
    "date=2026-03-15",
    1,
  ]]);
  // The instance dies; the next owner resumes the open file from its part.
  const second = await sink.open(context(objects, 2, handle));
  const b2 = sink.buffer();
  b2.add(T0 + MIN, line("2026-03-15", "c"));
  b2.seal(T0 + 2 * MIN);
  await second.write(b2, 1);
  await second.commit(await second.prepare(1));
  const published = objects.dump()
    .filter((o) => o.key.startsWith("sessions/"))
    .map((o) => [o.key, new TextDecoder().decode(o.body)]);
  assert.deepEqual(published, [
    [
      "sessions/date=2026-03-14/part-0-0000000000-0000000000.jsonl",
      `${line("2026-03-14", "a")}\n`,
    ],
    [
      "sessions/date=2026-03-15/part-0-0000000001-0000000002.jsonl",
      `${line("2026-03-15", "b")}\n${line("2026-03-15", "c")}\n`,
    ],
  ]);
  assert.deepEqual(
    objects.dump().filter((o) => o.key.startsWith("freshet-staging/")),
    [],
  );
});
