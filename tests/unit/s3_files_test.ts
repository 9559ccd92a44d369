import assert from "node:assert/strict";
import type {
  Clock,
  LogConsumer,
  LogRecord,
  ObjectStore,
} from "../../src/ports.ts";
import {
  type Counts,
  type Job,
  type PartitionProcessor,
  type ProcessContext,
  zeroCounts,
} from "../../src/core/job.ts";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import {
  Runner,
  type RunnerEvent,
  type RunnerOptions,
} from "../../src/core/runner.ts";
import { jsonLines } from "../../src/sinks/file_format.ts";
import {
  type FilesHandle,
  s3FilesSink,
  type S3FilesSinkOptions,
} from "../../src/sinks/s3_files.ts";
import type { Sink, SinkContext } from "../../src/sinks/sink.ts";
import type { FileBatch } from "../../src/sinks/file_roll.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { LogTwin } from "../../sim/log.ts";
import { ObjectsTwin, TransientError } from "../../sim/objects.ts";

// ---------------------------------------------------------------------------
// A job written by hand whose input says what to write: `<minute> <text>`
// adds a line to the file slot of that minute (after 18:00), `seal <minute>`
// seals event time there. The end of input seals nothing: the sink's own
// end-of-input rule finishes the files.

const MIN = 60_000;
const T0 = Date.UTC(2024, 9, 22, 18, 0, 0);
const TOPIC = "clicks";
const STAGING = "freshet-staging/lines/clicks/0/";

class LinesProcessor implements PartitionProcessor {
  readonly #sink: Sink<FileBatch<string>>;
  #counts = zeroCounts();

  constructor(sink: Sink<FileBatch<string>>) {
    this.#sink = sink;
  }

  process(records: readonly LogRecord[], ctx: ProcessContext): void {
    const out = ctx.out.to(this.#sink);
    for (const record of records) {
      this.#counts.in++;
      this.#counts.out++;
      const [head, text] = record.value.split(" ");
      if (head === "seal") out.seal(T0 + Number(text) * MIN);
      else {
        out.add(
          T0 + Number(head) * MIN,
          JSON.stringify({ text, offset: record.offset }),
        );
      }
    }
  }

  endOfInput(_ctx: ProcessContext): void {
    // Writes nothing: the sink finishes its open files at the end of input
    // by itself (SinkWriter.endOfInput).
  }

  counts(): Counts {
    return { ...this.#counts };
  }

  snapshot(): Counts {
    return { ...this.#counts };
  }

  restore(snapshot: unknown): void {
    this.#counts = { ...(snapshot as Counts) };
  }
}

function linesJob(
  options: Partial<S3FilesSinkOptions<string>> = {},
): Job {
  const sink = s3FilesSink({ prefix: "out", format: jsonLines(), ...options });
  return {
    name: "lines",
    topic: TOPIC,
    partitions: 1,
    outputTopics: [],
    out_of_orderness_ms: 0,
    route: () => ({ key: null, timestamp: 0 }),
    stages: [{
      topic: TOPIC,
      sinks: [sink as Sink<unknown>],
      createProcessor: () => new LinesProcessor(sink),
    }],
  };
}

/** Slot 0 and 5 files, a seal in between, slot 10 left open until the end. */
const INPUT = [
  "0 a",
  "0 b",
  "5 c",
  "0 d",
  "seal 5",
  "5 e",
  "10 f",
  "5 g",
  "seal 10",
  "10 h",
  "15 i",
  "10 j",
];

// ---------------------------------------------------------------------------

interface World {
  clock: Clock;
  log: LogTwin;
  /** Checkpoints and files share one store, as in production. */
  objects: ObjectsTwin;
}

async function world(values: string[] = INPUT): Promise<World> {
  const vclock = new VirtualClock(1_000_000);
  const clock: Clock = {
    now: () => vclock.now(),
    sleep: (ms) => Promise.resolve(vclock.advanceBy(Math.max(0, ms))),
  };
  const log = new LogTwin({ clock });
  await log.createTopic(TOPIC, 1);
  await log.produce(
    TOPIC,
    values.map((value) => ({ key: null, value, partition: 0 })),
  );
  return { clock, log, objects: new ObjectsTwin() };
}

function runner(
  w: World,
  options: Partial<RunnerOptions> & { store?: ObjectStore; retain?: number } =
    {},
): { runner: Runner; consumer(): LogConsumer } {
  const consumers: LogConsumer[] = [];
  const store = options.store ?? w.objects;
  const r = new Runner({
    job: linesJob(),
    log: overriding(w.log, {
      consumer: (o: Parameters<LogTwin["consumer"]>[0]) => {
        const c = w.log.consumer(o);
        consumers.push(c);
        return c;
      },
    }),
    objects: store,
    checkpoints: new CheckpointStore(store, { retain: options.retain }),
    clock: w.clock,
    checkpoint_interval_ms: 0,
    max_batch_records: 3,
    retry_attempts: 1,
    ...options,
  });
  r.start();
  return { runner: r, consumer: () => consumers[0]! };
}

/** `target` with some methods replaced (the others bound to it). */
function overriding<T extends object>(target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.hasOwn(methods, property)) {
        return methods[property as keyof T];
      }
      const value = Reflect.get(object, property);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}

async function drain(r: Runner): Promise<void> {
  while (await r.step()) { /* every batch ready */ }
}

const decoder = new TextDecoder();

/** The published files: key → lines. */
function published(objects: ObjectsTwin): Map<string, string[]> {
  return new Map(
    objects.dump().filter((o) => o.key.startsWith("out/")).map((o) => [
      o.key,
      decoder.decode(o.body).split("\n").filter((l) => l !== ""),
    ]),
  );
}

function staging(objects: ObjectsTwin): string[] {
  return objects.dump().map((o) => o.key).filter((k) =>
    k.startsWith("freshet-staging/")
  );
}

/**
 * An object store that audits publishing: every copy to a final key must
 * come after a checkpoint manifest naming that file was created (the
 * checkpoint was durable). Breaches are collected, not thrown.
 */
function audited(store: ObjectStore): {
  store: ObjectStore;
  breaches: string[];
  copies: Array<{ from: string; to: string }>;
} {
  const named = new Map<string, string[]>();
  const durable = new Set<string>();
  const breaches: string[] = [];
  const copies: Array<{ from: string; to: string }> = [];
  return {
    breaches,
    copies,
    store: {
      async put(key, body) {
        await store.put(key, body);
        if (key.includes("/state/")) {
          const checkpoint = JSON.parse(decoder.decode(body));
          const handle = checkpoint.sinks["s3-files"] as FilesHandle;
          named.set(key, handle.publish.map((p) => p.key));
        }
      },
      async putIfAbsent(key, body) {
        const created = await store.putIfAbsent(key, body);
        const state_key = JSON.parse(decoder.decode(body)).state_key;
        if (created) {
          for (const k of named.get(state_key) ?? []) durable.add(k);
        }
        return created;
      },
      async copy(from, to) {
        if (!durable.has(to)) {
          breaches.push(`${to} published before a durable checkpoint`);
        }
        copies.push({ from, to });
        await store.copy(from, to);
      },
      get: (key) => store.get(key),
      list: (prefix) => store.list(prefix),
      delete: (key) => store.delete(key),
    },
  };
}

async function cleanRun(
  job: Job = linesJob(),
): Promise<Map<string, string[]>> {
  const w = await world();
  const { runner: r } = runner(w, { job });
  await drain(r);
  await r.finish();
  await r.close();
  return published(w.objects);
}

// ---------------------------------------------------------------------------

Deno.test("s3FilesSink publishes each file once its window is sealed, under its slot's hour and record numbers", async () => {
  const files = await cleanRun();
  assert.deepEqual(
    [...files].map(([key, lines]) => [
      key,
      lines.map((l) => JSON.parse(l).text).join(""),
    ]),
    [
      ["out/dt=2024-10-22/hour=18/part-0-0000000000-0000000003.jsonl", "abd"],
      ["out/dt=2024-10-22/hour=18/part-0-0000000002-0000000006.jsonl", "ceg"],
      ["out/dt=2024-10-22/hour=18/part-0-0000000005-0000000009.jsonl", "fhj"],
      ["out/dt=2024-10-22/hour=18/part-0-0000000008-0000000008.jsonl", "i"],
    ],
  );
});

Deno.test("s3FilesSink publishes a file only after the checkpoint naming it is durable, and leaves no staging object behind", async () => {
  const w = await world();
  const audit = audited(w.objects);
  const { runner: r } = runner(w, { store: audit.store });
  await drain(r);
  // Slot 0 was sealed and checkpointed: published; slot 10 is still open.
  assert.equal(published(w.objects).size, 2);
  assert.ok(staging(w.objects).some((k) => k.endsWith(".lines")));
  await r.finish();
  assert.deepEqual(audit.breaches, []);
  assert.equal(audit.copies.length, 4);
  assert.deepEqual(published(w.objects), await cleanRun());
  assert.deepEqual(staging(w.objects), []);
});

Deno.test("s3FilesSink leaves the same files whatever call an instance crashes at, before or after it takes effect", async () => {
  const expected = await cleanRun();
  for (const mode of ["before", "after"] as const) {
    for (let crash_at = 1;; crash_at++) {
      const w = await world();
      let calls = 0;
      let crashed = false;
      const strike = async <T>(call: () => Promise<T>): Promise<T> => {
        const hit = !crashed && ++calls === crash_at;
        if (hit) crashed = true;
        if (hit && mode === "before") throw new Error("crash before");
        const result = await call();
        if (hit) throw new Error("crash after");
        return result;
      };
      // Every call that changes the store: staging puts, checkpoint state
      // and manifests, publishing copies, deletes of staging and pruning.
      const audit = audited({
        put: (key, body) => strike(() => w.objects.put(key, body)),
        putIfAbsent: (key, body) =>
          strike(() => w.objects.putIfAbsent(key, body)),
        copy: (from, to) => strike(() => w.objects.copy(from, to)),
        get: (key) => w.objects.get(key),
        list: (prefix) => w.objects.list(prefix),
        delete: (key) => strike(() => w.objects.delete(key)),
      });
      let current = runner(w, { store: audit.store });
      try {
        await drain(current.runner);
        await current.runner.finish();
      } catch (error) {
        assert.match(String(error), /crash/);
        w.log.kill(current.consumer());
        // Other batches after the restart, as with more input ready.
        current = runner(w, { store: audit.store, max_batch_records: 5 });
        await drain(current.runner);
        await current.runner.finish();
      }
      const where = `crash ${mode} call ${crash_at}`;
      assert.deepEqual(published(w.objects), expected, where);
      assert.deepEqual(audit.breaches, [], where);
      assert.deepEqual(staging(w.objects), [], where);
      if (!crashed) {
        assert.ok(crash_at > 40, `only ${crash_at - 1} calls were tried`);
        break;
      }
    }
  }
});

Deno.test("s3FilesSink publishes again, when it takes the partition, the files of a durable checkpoint whose commit never ran", async () => {
  const w = await world();
  let refuse = true;
  const store: ObjectStore = overriding(w.objects, {
    copy: (from: string, to: string) =>
      refuse
        ? Promise.reject(new Error("instance died before publishing"))
        : w.objects.copy(from, to),
  });
  const a = runner(w, { store });
  await assert.rejects(() => drain(a.runner), /died before publishing/);
  const latest = await new CheckpointStore(w.objects).latest({
    job: "lines",
    topic: TOPIC,
    partition: 0,
  });
  const handle = latest!.sinks["s3-files"] as FilesHandle;
  assert.equal(handle.publish.length, 1, "the checkpoint names a file");
  assert.equal(published(w.objects).size, 0);
  refuse = false;
  w.log.kill(a.consumer());
  const b = runner(w, { store });
  await b.runner.step();
  assert.ok(published(w.objects).has(handle.publish[0]!.key));
  await drain(b.runner);
  await b.runner.finish();
  assert.deepEqual(published(w.objects), await cleanRun());
});

Deno.test("s3FilesSink of a fenced instance never publishes; the next owner deletes what it staged", async () => {
  const w = await world();
  const audit = audited(w.objects);
  // The stale owner handles input but has not checkpointed it yet.
  // The default retention: the newer owners commit far more often than
  // it keeps manifests, and the stale owner is fenced all the same.
  const retain = 3;
  const stale = runner(w, {
    store: audit.store,
    retain,
    group_id: "old",
    checkpoint_interval_ms: 1_000_000,
    max_batch_records: 100,
  });
  assert.equal(await stale.runner.step(), true);
  // A newer owner (another group, as after a network partition) takes over.
  const fresh = runner(w, { store: audit.store, retain, group_id: "new" });
  await drain(fresh.runner);
  await fresh.runner.finish();
  const expected = await cleanRun();
  assert.deepEqual(published(w.objects), expected);
  // The stale one stops: its checkpoint is refused, so it never publishes,
  // though it staged its finished files first.
  await stale.runner.finish();
  await stale.runner.close();
  assert.deepEqual(audit.breaches, []);
  const epochOne = (key: string) => key.startsWith(`${STAGING}0000000001-`);
  assert.ok(audit.copies.every((c) => !epochOne(c.from)), "epoch 1 published");
  assert.ok(staging(w.objects).some(epochOne), "the stale owner staged files");
  assert.deepEqual(published(w.objects), expected);
  // The next owner cleans up.
  const next = runner(w, { store: audit.store, retain, group_id: "next" });
  await drain(next.runner);
  assert.deepEqual(staging(w.objects), []);
});

Deno.test("s3FilesSink stages an open file's records as parts across checkpoints and reads them back after a crash", async () => {
  const w = await world();
  const job = linesJob({ roll_interval_ms: 60 * MIN });
  const a = runner(w, { job, max_batch_records: 2 });
  // Three batches, each checkpointed: the hour's file stays open.
  for (let i = 0; i < 3; i++) assert.equal(await a.runner.step(), true);
  const parts = staging(w.objects).filter((k) => k.endsWith(".lines"));
  assert.equal(parts.length, 3);
  assert.equal(published(w.objects).size, 0);
  w.log.kill(a.consumer());
  const b = runner(w, { job, max_batch_records: 5 });
  await drain(b.runner);
  await b.runner.finish();
  assert.deepEqual(
    [...published(w.objects)].map(([key, lines]) => [
      key,
      lines.map((l) => JSON.parse(l).text).join(""),
    ]),
    [[
      "out/dt=2024-10-22/hour=18/part-0-0000000000-0000000009.jsonl",
      "abcdefghij",
    ]],
  );
  assert.deepEqual(staging(w.objects), []);
});

Deno.test("s3FilesSink stages finished files in the background; a failed staging fails the next prepare, which the runner retries", async () => {
  const w = await world();
  const events: RunnerEvent[] = [];
  let puts = 0;
  let failed = false;
  const store = overriding(w.objects, {
    put: (key: string, body: Uint8Array) => {
      // The first staged file's put fails once (a lost connection).
      if (key.startsWith("freshet-staging/") && !failed && ++puts === 1) {
        failed = true;
        return Promise.reject(new TransientError("connection reset"));
      }
      return w.objects.put(key, body);
    },
  });
  const { runner: r } = runner(w, {
    store,
    retry_attempts: 3,
    retry_backoff_ms: 1,
    is_transient: (error) => error instanceof TransientError,
    onEvent: (event) => events.push(event),
  });
  await drain(r);
  await r.finish();
  assert.ok(failed);
  assert.deepEqual(
    events.filter((e) => e.type === "retry").map((e) =>
      (e as { error: string }).error
    ),
    ["TransientError: connection reset"],
  );
  assert.deepEqual(published(w.objects), await cleanRun());
  assert.deepEqual(staging(w.objects), []);
});

Deno.test("s3FilesSink with roll_at_checkpoint finishes every file at each checkpoint, still publishing each line once", async () => {
  const w = await world();
  const job = linesJob({ roll_at_checkpoint: true });
  const { runner: r } = runner(w, { job, max_batch_records: 2 });
  await drain(r);
  await r.finish();
  const files = published(w.objects);
  assert.ok(files.size > 4, `${files.size} files`);
  const lines = [...files.values()].flat().map((l) => JSON.parse(l).text);
  assert.deepEqual(lines.sort(), [..."abcdefghij"]);
});

Deno.test("s3FilesSink's deliberately broken variant publishes before the checkpoint is durable (the audit sees it)", async () => {
  const w = await world();
  const audit = audited(w.objects);
  const job = linesJob({ unsafe_publish_before_checkpoint: true });
  const { runner: r } = runner(w, { job, store: audit.store });
  await drain(r);
  await r.finish();
  assert.equal(audit.breaches.length, 4);
  assert.deepEqual(published(w.objects), await cleanRun());
});

// ---------------------------------------------------------------------------
// open() on its own: cleanup of the staging area.

function context(
  objects: ObjectStore,
  overrides: Partial<SinkContext> = {},
): SinkContext {
  const clock: Clock = { now: () => 0, sleep: () => Promise.resolve() };
  return {
    job: "lines",
    topic: TOPIC,
    partition: 0,
    epoch: 3,
    position: 0,
    restored: undefined,
    claim: { epoch: 3, checkpoint: null, commit: () => Promise.resolve() },
    ports: { log: new LogTwin({ clock }), objects, clock },
    ...overrides,
  };
}

Deno.test("s3FilesSink.open deletes only its partition's staged objects of older epochs that the restored checkpoint does not name", async () => {
  const objects = new ObjectsTwin();
  const body = new TextEncoder().encode('{"a":1}\n');
  const keys = {
    garbage: `${STAGING}0000000001-0000000000-0000000004.jsonl`,
    garbagePart: `${STAGING}0000000002-0000000005-part-000000.lines`,
    referenced: `${STAGING}0000000001-0000000007-part-000000.lines`,
    mine: `${STAGING}0000000003-0000000000-0000000004.jsonl`,
    newer: `${STAGING}0000000004-0000000000-0000000004.jsonl`,
    foreign: `${STAGING}notes.txt`,
    otherPartition: "freshet-staging/lines/clicks/10/0000000001-x.jsonl",
    otherJob: "freshet-staging/other/clicks/0/0000000001-x.jsonl",
  };
  for (const key of Object.values(keys)) await objects.put(key, body);
  const restored: FilesHandle = {
    version: 1,
    records: 8,
    sealed_ms: null,
    publish: [],
    open: [{
      slot_ms: T0,
      first: 7,
      last: 7,
      records: 1,
      bytes: 8,
      parts: [keys.referenced],
    }],
  };
  const sink = s3FilesSink({ prefix: "out", format: jsonLines() });
  await sink.open(context(objects, { restored }));
  const left = objects.dump().map((o) => o.key);
  assert.deepEqual(
    left,
    [
      keys.otherJob,
      keys.otherPartition,
      keys.referenced,
      keys.mine,
      keys.newer,
      keys.foreign,
    ].sort(),
  );
});

Deno.test("s3FilesSink.open refuses a malformed handle and names a missing part", async () => {
  const objects = new ObjectsTwin();
  const sink = s3FilesSink({ prefix: "out", format: jsonLines() });
  await assert.rejects(
    () => sink.open(context(objects, { restored: { version: 2 } })),
    /must be a version 1 files handle: current value is \{"version":2\}/,
  );
  const missing = `${STAGING}0000000001-0000000000-part-000000.lines`;
  await assert.rejects(
    () =>
      sink.open(context(objects, {
        restored: {
          version: 1,
          records: 1,
          sealed_ms: null,
          publish: [],
          open: [{
            slot_ms: T0,
            first: 0,
            last: 0,
            records: 1,
            bytes: 1,
            parts: [missing],
          }],
        } satisfies FilesHandle,
      })),
    new RegExp(`staged part '${missing}' of an open file is missing`),
  );
  await assert.rejects(
    () =>
      sink.open(
        context(objects, {
          ports: { ...context(objects).ports, objects: undefined },
        }),
      ),
    /needs the 'objects' port/,
  );
});

Deno.test("s3FilesSink refuses an empty prefix, a staging prefix inside the output prefix and bad roll rules", () => {
  const format = jsonLines();
  assert.throws(
    () => s3FilesSink({ prefix: "/", format }),
    /'prefix' must not be empty: current value is '\/'/,
  );
  assert.throws(
    () => s3FilesSink({ prefix: "out", format, staging_prefix: "out/tmp" }),
    /'staging_prefix' must be a non-empty prefix outside 'prefix' \('out'\): current value is 'out\/tmp'/,
  );
  assert.throws(
    () => s3FilesSink({ prefix: "out", format, roll_interval_ms: 7 * MIN }),
    /dividing an hour/,
  );
});
