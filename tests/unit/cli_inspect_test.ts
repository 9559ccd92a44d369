/**
 * `freshet inspect`'s gathering and output, over the twins: real
 * checkpoints taken by the runner (sim/driver.ts) in both places they live
 * (CheckpointStore manifests for the `views` job; committed offsets'
 * metadata for the `transactions` job, which writes to Kafka in
 * transactions and has a repartition stage), read back without claiming.
 */

import assert from "node:assert/strict";
import {
  type CheckpointRow,
  formatBytes,
  formatDuration,
  formatJsonLines,
  formatTable,
  inspectCheckpoints,
} from "../../src/cli/inspect_checkpoints.ts";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import { views } from "../../src/jobs/views/job.ts";
import { transactions } from "../../src/jobs/transactions/job.ts";
import { JobDriver } from "../../sim/driver.ts";
import { LogTwin } from "../../sim/log.ts";
import { ObjectsTwin } from "../../sim/objects.ts";
import { VirtualClock } from "../../sim/clock.ts";

const T0 = Date.UTC(2026, 2, 14, 6, 0, 0);
const SECOND = 1_000;

function view(videoId: string, ts: number): string {
  return JSON.stringify({
    userId: "u-1",
    videoId,
    timestamp: new Date(ts).toISOString(),
  });
}

function txn(id: number, category: string, ts: number): string {
  return JSON.stringify({
    transaction_id: `txn_${id}`,
    user_id: `user_${id % 3}`,
    product: "laptop",
    category,
    amount: 200,
    quantity: 1,
    payment_method: "credit_card",
    timestamp: new Date(ts).toISOString().slice(0, 19),
    location: "city_5",
  });
}

/** The views job on two partitions; records on partition 0 only. */
async function viewsDriver(): Promise<JobDriver> {
  const driver = await JobDriver.open(views, { partitions: 2, start_ms: T0 });
  await driver.pipe([
    { value: view("a", T0 - 30 * SECOND), partition: 0 },
    { value: view("b", T0 - 5 * SECOND), partition: 0 },
  ]);
  driver.clock.advanceTo(T0 + 2 * SECOND);
  await driver.pipe([{ value: view("a", T0 - 20 * SECOND), partition: 0 }]);
  return driver;
}

function inspect(driver: JobDriver, now_ms = driver.clock.now()) {
  return inspectCheckpoints(
    driver.job,
    { log: driver.log, objects: driver.checkpoints },
    { now_ms },
  );
}

function row(rows: CheckpointRow[], topic: string, partition: number) {
  const found = rows.find((r) =>
    r.topic === topic && r.partition === partition
  );
  assert.ok(found, `a row for ${topic} partition ${partition}`);
  return found;
}

Deno.test("inspectCheckpoints() reads a CheckpointStore partition: offset, state object and size, watermark, age of the last record covered, lag", async () => {
  const driver = await viewsDriver();
  const now_ms = T0 + 60 * SECOND;
  const inspection = await inspect(driver, now_ms);
  assert.equal(inspection.job, "views");
  assert.equal(inspection.group_id, "freshet-views");
  assert.deepEqual(inspection.skipped, []);
  assert.deepEqual(
    inspection.rows.map((r) => [r.topic, r.partition]),
    [["video-views", 0], ["video-views", 1]],
  );
  const p0 = row(inspection.rows, "video-views", 0);
  const latest = await new CheckpointStore(driver.checkpoints).latest({
    job: "views",
    topic: "video-views",
    partition: 0,
  });
  assert.equal(p0.kept_in, "manifest");
  assert.equal(p0.offset, 3);
  assert.equal(p0.offset, latest?.position);
  assert.equal(p0.epoch, latest?.epoch);
  const object = driver.checkpoints.dump().find((o) => o.key === p0.state_key);
  assert.ok(object, "the state object is the one the newest manifest names");
  assert.match(p0.state_key!, /^checkpoints\/views\/video-views\/0\/state\//);
  assert.equal(p0.state_bytes, object.body.byteLength);
  // Largest event time − out_of_orderness_ms − 1, as the processor has it.
  assert.equal(p0.watermark_ms, T0 - 5 * SECOND - 10_000 - 1);
  // The last record covered (offset 2) was appended at T0 + 2 s.
  assert.equal(p0.last_record_ms, T0 + 2 * SECOND);
  assert.equal(p0.age_ms, 58 * SECOND);
  // The runner commits no group offset for object-store checkpoints.
  assert.equal(p0.committed_offset, null);
  assert.equal(p0.end_offset, 3);
  assert.equal(p0.lag, 0);
  assert.equal(p0.lag_from, "checkpoint");
  assert.equal(p0.note, null);
});

Deno.test("inspectCheckpoints() reports a partition never checkpointed as none, lagging from offset 0", async () => {
  const driver = await viewsDriver();
  await driver.log.produce("video-views", [
    { key: "x", value: view("x", T0), partition: 1 },
  ]);
  const p1 = row((await inspect(driver)).rows, "video-views", 1);
  assert.deepEqual(
    [p1.offset, p1.state_key, p1.state_bytes, p1.watermark_ms, p1.age_ms],
    [null, null, null, null, null],
  );
  assert.deepEqual([p1.end_offset, p1.lag, p1.lag_from], [1, 1, "start"]);
});

Deno.test("inspectCheckpoints() counts the records appended after the checkpoint as lag", async () => {
  const driver = await viewsDriver();
  // Appended, not yet read by the job.
  await driver.log.produce("video-views", [
    { key: "a", value: view("a", T0), partition: 0 },
    { key: "b", value: view("b", T0), partition: 0 },
  ]);
  const p0 = row((await inspect(driver)).rows, "video-views", 0);
  assert.deepEqual([p0.offset, p0.end_offset, p0.lag], [3, 5, 2]);
});

Deno.test("inspectCheckpoints() claims nothing: the objects are unchanged and the running job commits on", async () => {
  const driver = await viewsDriver();
  const before = driver.checkpoints.dump();
  await inspect(driver);
  assert.deepEqual(driver.checkpoints.dump(), before);
  await driver.pipe([{ value: view("c", T0), partition: 0 }]);
  assert.ok(
    !driver.events.some((e) => e.type === "fenced"),
    "the job was not fenced",
  );
  assert.equal(row((await inspect(driver)).rows, "video-views", 0).offset, 4);
});

Deno.test("inspectCheckpoints() reads a Kafka-transactions job's checkpoints from the committed offsets' metadata, its repartition stage too", async () => {
  const driver = await JobDriver.open(transactions, {
    partitions: 2,
    start_ms: T0,
  });
  const job = driver.job;
  await driver.pipe([
    { value: txn(1, "books", T0 - 40 * SECOND), partition: 0 },
    { value: txn(2, "home", T0 - 30 * SECOND), partition: 0 },
    { value: txn(3, "books", T0 - 20 * SECOND), partition: 1 },
  ]);
  const inspection = await inspect(driver);
  const internal = job.stages[1]!.topic;
  assert.equal(internal, "transactions-by-category-repartition");
  assert.deepEqual(
    inspection.rows.map((r) => [r.stage, r.topic, r.partition]),
    [
      [0, "transactions", 0],
      [0, "transactions", 1],
      [1, internal, 0],
      [1, internal, 1],
    ],
  );
  for (const r of inspection.rows) {
    assert.equal(r.kept_in, "offset");
    assert.equal(r.note, null, `${r.topic}/${r.partition}: no note`);
    // The transaction commits the offset with the state naming it.
    assert.equal(r.committed_offset, r.offset);
    assert.equal(r.lag_from, "committed");
    // Lag counts offsets, as Kafka's tools do: the internal topic, written
    // in transactions, ends in a commit marker after the last record.
    assert.equal(r.lag, r.stage === 0 ? 0 : 1);
    assert.match(r.state_key!, /\/txn\/\d{16}-\d{16}-\d{16}\.json$/);
    const object = driver.checkpoints.dump().find((o) => o.key === r.state_key);
    assert.equal(r.state_bytes, object?.body.byteLength);
  }
  const committed = await driver.log.committedOffsets(
    "freshet-transactions",
    "transactions",
  );
  assert.equal(
    JSON.parse(committed[0]!.metadata!).state_key,
    row(inspection.rows, "transactions", 0).state_key,
  );
  const out_of_orderness_ms = job.out_of_orderness_ms;
  assert.equal(
    row(inspection.rows, "transactions", 0).watermark_ms,
    T0 - 30 * SECOND - out_of_orderness_ms - 1,
  );
  assert.equal(
    row(inspection.rows, "transactions", 1).watermark_ms,
    T0 - 20 * SECOND - out_of_orderness_ms - 1,
  );
  // The repartition stage merges its upstream partitions: their minimum.
  for (const partition of [0, 1]) {
    assert.equal(
      row(inspection.rows, internal, partition).watermark_ms,
      T0 - 30 * SECOND - out_of_orderness_ms - 1,
    );
  }
});

Deno.test("inspectCheckpoints() notes a committed offset whose metadata is not freshet's instead of failing", async () => {
  const driver = await JobDriver.open(transactions, {
    partitions: 1,
    start_ms: T0,
  });
  const foreign = await driver.log.transaction("someone-else");
  await foreign.sendOffsets("freshet-transactions", [
    { topic: "transactions", partition: 0, offset: 7, metadata: "hello" },
  ]);
  await foreign.commit();
  const p0 = row((await inspect(driver)).rows, "transactions", 0);
  assert.equal(p0.offset, null);
  assert.equal(p0.committed_offset, 7);
  assert.match(p0.note ?? "", /metadata must name a state object/);
});

Deno.test("inspectCheckpoints() rejects a missing input topic and skips a missing internal topic", async () => {
  const clock = new VirtualClock(T0);
  const log = new LogTwin({ clock });
  const objects = new ObjectsTwin();
  const job = transactions.create();
  await assert.rejects(
    inspectCheckpoints(job, { log, objects }, { now_ms: T0 }),
    /transactions/,
  );
  await log.createTopic(job.topic, 1);
  const inspection = await inspectCheckpoints(job, { log, objects }, {
    now_ms: T0,
  });
  assert.deepEqual(inspection.rows.map((r) => r.topic), ["transactions"]);
  assert.deepEqual(
    inspection.skipped.map((s) => s.topic),
    ["transactions-by-category-repartition"],
  );
});

Deno.test("formatTable() aligns a row per partition and prints none where there is no checkpoint", async () => {
  const driver = await viewsDriver();
  const text = formatTable(await inspect(driver, T0 + 62 * SECOND));
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], "job 'views', consumer group 'freshet-views'");
  const [header, p0, p1] = lines.slice(1);
  assert.match(
    header!,
    /^TOPIC\s+PARTITION\s+OFFSET\s+AGE\s+STATE\s+WATERMARK/,
  );
  // Every column starts where its title does.
  for (const title of ["OFFSET", "AGE", "STATE", "WATERMARK", "KEPT IN"]) {
    const at = header!.indexOf(title);
    for (const line of [p0!, p1!]) {
      assert.notEqual(line[at - 1], undefined);
      assert.equal(line[at - 2], " ", `${title} column of '${line}'`);
    }
  }
  assert.match(p0!, /^video-views\s+0\s+3\s+1m00s\s+\d+(\.\d)? (B|KiB)\s+/);
  assert.match(p0!, /2026-03-14T05:59:44\.999Z\s+none\s+3\s+0\s+manifest$/);
  assert.match(
    p1!,
    /^video-views\s+1\s+none\s+-\s+-\s+-\s+none\s+0\s+0\s+manifest$/,
  );
});

Deno.test("formatJsonLines() writes one JSON object per partition and line", async () => {
  const driver = await viewsDriver();
  const inspection = await inspect(driver);
  const lines = formatJsonLines(inspection).split("\n");
  assert.equal(lines.pop(), "");
  assert.deepEqual(lines.map((l) => JSON.parse(l)), inspection.rows);
});

Deno.test("formatDuration() and formatBytes() read as a person would say them", () => {
  assert.deepEqual(
    [850, 42_000, 187_000, 7_500_000, 273_600_000, -2_000].map(formatDuration),
    ["850ms", "42s", "3m07s", "2h05m", "3d04h", "-2s"],
  );
  assert.deepEqual(
    [512, 14_540, 3 * 1024 * 1024].map(formatBytes),
    ["512 B", "14.2 KiB", "3.0 MiB"],
  );
});
