import assert from "node:assert/strict";
import type {
  Clock,
  KeyValue,
  KvOp,
  Log,
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
import { fenceKey, redisSink } from "../../src/sinks/redis.ts";
import { sideTopicsSink } from "../../src/sinks/side_topics.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { TransientError } from "../../sim/errors.ts";
import { KvTwin } from "../../sim/kv.ts";
import { LogTwin } from "../../sim/log.ts";
import { ObjectsTwin } from "../../sim/objects.ts";

// ---------------------------------------------------------------------------
// A tiny job written by hand (the escape hatch: a PartitionProcessor and
// the sinks it writes to), whose outputs expose double counting and lost
// state:
// - `tally:<value>` counts records by value (INCRBY: a replay doubles it);
// - `tally:seen:<partition>` is SET to the number of records the processor has
//   handled (lost state shows as a wrong number);
// - `tally:finished:<partition>` counts end-of-input firings;
// - the value "bad" is dead-lettered.

const TOPIC = "in";
const DEAD = "in.dead-letter";
const SIDE = sideTopicsSink();
const REDIS = redisSink();

interface TallyState {
  seen: number;
  counts: Counts;
}

class TallyProcessor implements PartitionProcessor {
  readonly #partition: number;
  #state: TallyState = { seen: 0, counts: zeroCounts() };

  constructor(partition: number) {
    this.#partition = partition;
  }

  process(records: readonly LogRecord[], ctx: ProcessContext): void {
    const kv = ctx.out.to(REDIS);
    for (const record of records) {
      this.#state.counts.in++;
      this.#state.seen++;
      if (record.value === "bad") {
        this.#state.counts.dead_lettered++;
        ctx.out.to(SIDE).add(DEAD, record, "bad value");
        continue;
      }
      this.#state.counts.out++;
      kv.incrby(`tally:${record.value}`, 1);
    }
    kv.set(`tally:seen:${this.#partition}`, String(this.#state.seen));
  }

  endOfInput(ctx: ProcessContext): void {
    ctx.out.to(REDIS).incrby(`tally:finished:${this.#partition}`, 1);
  }

  counts(): Counts {
    return { ...this.#state.counts };
  }

  snapshot(): TallyState {
    return structuredClone(this.#state);
  }

  restore(snapshot: unknown): void {
    this.#state = structuredClone(snapshot as TallyState);
  }
}

function tallyJob(partitions = 1): Job {
  return {
    name: "tally",
    topic: TOPIC,
    partitions,
    outputTopics: [DEAD],
    out_of_orderness_ms: 0,
    route: (value) => ({ key: value, timestamp: 0 }),
    stages: [{
      topic: TOPIC,
      sinks: [SIDE, REDIS],
      createProcessor: (partition) => new TallyProcessor(partition),
    }],
  };
}

// ---------------------------------------------------------------------------
// The world: twins on a virtual clock whose sleep lets time pass at once.

interface World {
  clock: Clock;
  vclock: VirtualClock;
  log: LogTwin;
  kv: KvTwin;
  objects: ObjectsTwin;
}

async function world(partitions = 1): Promise<World> {
  const vclock = new VirtualClock(1_000_000);
  const clock: Clock = {
    now: () => vclock.now(),
    sleep: (ms) => Promise.resolve(vclock.advanceBy(Math.max(0, ms))),
  };
  const log = new LogTwin({ clock });
  await log.createTopic(TOPIC, partitions);
  await log.createTopic(DEAD, partitions);
  return {
    clock,
    vclock,
    log,
    kv: new KvTwin({ clock }),
    objects: new ObjectsTwin(),
  };
}

async function produce(w: World, values: string[], partition = 0) {
  await w.log.produce(
    TOPIC,
    values.map((value) => ({ key: value, value, partition })),
  );
}

/** A Log that remembers the consumers it hands out, so a test can kill one. */
function capturing(log: LogTwin, consumers: LogConsumer[]): Log {
  return {
    createTopic: (topic, partitions) => log.createTopic(topic, partitions),
    partitionCount: (topic) => log.partitionCount(topic),
    produce: (topic, messages) => log.produce(topic, messages),
    transaction: (id) => log.transaction(id),
    transactionalProducer: (id) => log.transactionalProducer(id),
    endOffsets: (topic) => log.endOffsets(topic),
    committedOffsets: (groupId, topic) => log.committedOffsets(groupId, topic),
    read: (topic, partition, offset, max) =>
      log.read(topic, partition, offset, max),
    consumer: (options) => {
      const consumer = log.consumer(options);
      consumers.push(consumer);
      return consumer;
    },
  };
}

interface Instance {
  runner: Runner;
  events: RunnerEvent[];
  consumer(): LogConsumer;
}

function instance(
  w: World,
  options: Partial<RunnerOptions> & {
    store?: ObjectStore;
    kvPort?: KeyValue;
  } = {},
): Instance {
  const consumers: LogConsumer[] = [];
  const events: RunnerEvent[] = [];
  const runner = new Runner({
    job: tallyJob(),
    log: capturing(w.log, consumers),
    kv: options.kvPort ?? w.kv,
    checkpoints: new CheckpointStore(options.store ?? w.objects),
    clock: w.clock,
    checkpoint_interval_ms: 0,
    max_batch_records: 3,
    is_transient: (error) => error instanceof TransientError,
    onEvent: (event) => events.push(event),
    ...options,
  });
  runner.start();
  return { runner, events, consumer: () => consumers[0]! };
}

async function drain(runner: Runner): Promise<void> {
  while (await runner.step()) { /* handle every batch ready */ }
}

/** What users see: every key but the runtime's own. */
function userKeys(kv: KvTwin) {
  return kv.dump()
    .filter((e) => !e.key.startsWith("freshet:"))
    .map((e) => [e.key, e.value]);
}

/** Dead letters as a reader sees them: repeats of a key count once. */
function deadLetters(log: LogTwin): string[] {
  const dump = log.dump().topics.find((t) => t.topic === DEAD)!;
  return [...new Set(dump.partitions.flat().map((r) => r.key!))].sort();
}

const VALUES = ["x", "y", "x", "z", "x", "y", "bad", "x", "y", "z"];
const EXPECTED = [
  ["tally:seen:0", "10"],
  ["tally:x", "4"],
  ["tally:y", "3"],
  ["tally:z", "2"],
];

// ---------------------------------------------------------------------------

Deno.test("Runner writes each batch once and checkpoints after it", async () => {
  const w = await world();
  await produce(w, VALUES);
  const { runner, events } = instance(w);
  await drain(runner);
  assert.deepEqual(userKeys(w.kv), EXPECTED);
  assert.deepEqual(deadLetters(w.log), ["in:0:6"]);
  assert.deepEqual(runner.counts(), {
    in: 10,
    out: 9,
    filtered: 0,
    dead_lettered: 1,
    late: 0,
  });
  assert.deepEqual(
    events.filter((e) => e.type === "checkpoint").map((e) =>
      (e as { position: number }).position
    ),
    [3, 6, 9, 10],
  );
  assert.deepEqual(await w.kv.hgetall(fenceKey("tally", TOPIC, 0)), {
    epoch: "1",
    offset: "9",
  });
});

Deno.test("Runner after a crash between the fenced write and the checkpoint does not count twice", async () => {
  const w = await world();
  await produce(w, VALUES);
  let crash = false;
  const store: ObjectStore = {
    put: (key, body) =>
      crash ? Promise.reject(new Error("crash")) : w.objects.put(key, body),
    putIfAbsent: (key, body) =>
      crash
        ? Promise.reject(new Error("crash"))
        : w.objects.putIfAbsent(key, body),
    copy: (from, to) => w.objects.copy(from, to),
    get: (key) => w.objects.get(key),
    list: (prefix) => w.objects.list(prefix),
    delete: (key) => w.objects.delete(key),
  };
  const a = instance(w, { store });
  assert.equal(await a.runner.step(), true); // offsets 0-2, checkpoint at 3
  crash = true;
  await assert.rejects(() => a.runner.step(), /crash/); // 3-5 written, no checkpoint
  assert.equal(await w.kv.get("tally:x"), "3");
  w.log.kill(a.consumer());

  const b = instance(w, { max_batch_records: 4 });
  await drain(b.runner);
  assert.deepEqual(b.events[0], {
    type: "assigned",
    topic: TOPIC,
    partition: 0,
    position: 3,
    epoch: 2,
    muted_through: 5,
    restored: true,
  });
  assert.deepEqual(userKeys(w.kv), EXPECTED);
  assert.deepEqual(b.runner.counts().in, 10);
});

Deno.test("Runner leaves the same outputs whatever call an instance crashes at, before or after it takes effect", async () => {
  // The calls of a clean run, counted: every crash point is tried.
  const clean = await world();
  await produce(clean, VALUES);
  const reference = instance(clean);
  await drain(reference.runner);
  await reference.runner.finish();
  const expected = userKeys(clean.kv);

  for (const mode of ["before", "after"] as const) {
    for (let crash_at = 1;; crash_at++) {
      const w = await world();
      await produce(w, VALUES);
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
      const store: ObjectStore = {
        put: (key, body) => strike(() => w.objects.put(key, body)),
        putIfAbsent: (key, body) =>
          strike(() => w.objects.putIfAbsent(key, body)),
        copy: (from, to) => strike(() => w.objects.copy(from, to)),
        get: (key) => w.objects.get(key),
        list: (prefix) => w.objects.list(prefix),
        delete: (key) => strike(() => w.objects.delete(key)),
      };
      const kvPort: KeyValue = Object.assign(Object.create(null), {
        claimFence: (key: string) => strike(() => w.kv.claimFence(key)),
        applyFenced: (
          fence: Parameters<KeyValue["applyFenced"]>[0],
          ops: KvOp[],
        ) => strike(() => w.kv.applyFenced(fence, ops)),
        apply: (ops: KvOp[]) => strike(() => w.kv.apply(ops)),
        get: (key: string) => w.kv.get(key),
        hgetall: (key: string) => w.kv.hgetall(key),
        zrevrange: (key: string, start: number, stop: number) =>
          w.kv.zrevrange(key, start, stop),
        pttl: (key: string) => w.kv.pttl(key),
        keys: (pattern: string) => w.kv.keys(pattern),
      });
      let current = instance(w, { store, kvPort });
      try {
        await drain(current.runner);
        await current.runner.finish();
      } catch (error) {
        assert.match(String(error), /crash/);
        w.log.kill(current.consumer());
        // Other batch boundaries than before the crash, as after a restart
        // with more input ready.
        current = instance(w, { store, kvPort, max_batch_records: 4 });
        await drain(current.runner);
        await current.runner.finish();
      }
      assert.deepEqual(
        userKeys(w.kv),
        expected,
        `crash ${mode} call ${crash_at}`,
      );
      assert.deepEqual(deadLetters(w.log), ["in:0:6"]);
      if (!crashed) {
        // Every call of a whole run was tried: fence claims, writes,
        // side outputs aside, checkpoint objects and their pruning.
        assert.ok(crash_at > 20, `only ${crash_at - 1} calls were tried`);
        break;
      }
    }
  }
});

Deno.test("Runner whose fence a newer instance claimed gets 'fenced' and stops writing the partition", async () => {
  const w = await world();
  await produce(w, VALUES);
  const stale = instance(w, { group_id: "old" });
  assert.equal(await stale.runner.step(), true); // 0-2 written by epoch 1

  // A newer instance (another group, as after a network partition) takes over.
  const fresh = instance(w, { group_id: "new" });
  await drain(fresh.runner);
  assert.deepEqual(userKeys(w.kv), EXPECTED);
  assert.equal(fresh.events[0]?.type, "assigned");
  assert.equal((fresh.events[0] as { epoch: number }).epoch, 2);

  // The stale one wakes up: its next write is refused and it lets go.
  assert.equal(await stale.runner.step(), true);
  assert.deepEqual(stale.events.filter((e) => e.type === "fenced"), [
    { type: "fenced", topic: TOPIC, partition: 0, epoch: 1 },
  ]);
  assert.deepEqual(stale.runner.partitions(), []);
  await drain(stale.runner);
  await stale.runner.finish();
  await stale.runner.close();
  assert.deepEqual(userKeys(w.kv), EXPECTED);

  // New input still goes through the newer instance, once.
  await produce(w, ["x", "q"]);
  await drain(fresh.runner);
  assert.equal(await w.kv.get("tally:x"), "5");
  assert.equal(await w.kv.get("tally:q"), "1");
  assert.equal(await w.kv.get("tally:seen:0"), "12");
  const latest = await new CheckpointStore(w.objects).latest({
    job: "tally",
    topic: TOPIC,
    partition: 0,
  });
  assert.equal(
    latest?.epoch,
    2,
    "the stale instance wrote no later checkpoint",
  );
});

Deno.test("Runner ignores redelivered records it already handled", async () => {
  const w = await world();
  await produce(w, VALUES);
  const a = instance(w);
  await drain(a.runner);
  const before = userKeys(w.kv);
  w.log.rewind(a.consumer(), TOPIC, 0, 0);
  await drain(a.runner);
  assert.deepEqual(userKeys(w.kv), before);

  // A redelivery that overlaps new records: only the new ones count.
  await produce(w, ["z", "z"]);
  w.log.rewind(a.consumer(), TOPIC, 0, 8);
  await drain(a.runner);
  assert.equal(await w.kv.get("tally:z"), "4");
  assert.equal(await w.kv.get("tally:y"), "3");
  assert.equal(await w.kv.get("tally:seen:0"), "12");
});

Deno.test("Runner retries transient sink failures with doubling back-off, a lost reply included, without double counting", async () => {
  const w = await world();
  await produce(w, VALUES);
  const a = instance(w, { retry_backoff_ms: 50 });
  const start = w.vclock.now();
  w.kv.failNext(2);
  await drain(a.runner);
  assert.deepEqual(
    a.events.filter((e) => e.type === "retry").map((e) =>
      (e as { attempt: number }).attempt
    ),
    [1, 2],
  );
  assert.equal(w.vclock.now() - start, 50 + 100);
  await produce(w, ["x"]);
  w.kv.failNext(1, "after"); // applied, but the runner never hears so
  await drain(a.runner);
  assert.equal(await w.kv.get("tally:x"), "5");
});

Deno.test("Runner gives up after retry_attempts and raises the last error", async () => {
  const w = await world();
  await produce(w, VALUES);
  const a = instance(w, { retry_attempts: 3 });
  w.kv.failNext(5);
  await assert.rejects(() => drain(a.runner), TransientError);
  assert.equal(a.events.filter((e) => e.type === "retry").length, 2);
});

Deno.test("Runner does not retry an error its is_transient rule refuses", async () => {
  const w = await world();
  await produce(w, VALUES);
  const a = instance(w, { is_transient: () => false });
  w.kv.failNext(1);
  await assert.rejects(() => drain(a.runner), TransientError);
  assert.equal(a.events.filter((e) => e.type === "retry").length, 0);
});

Deno.test("Runner writes the end-of-input firings once, across restarts", async () => {
  const w = await world();
  await produce(w, VALUES);
  const a = instance(w);
  await drain(a.runner);
  await a.runner.finish();
  await a.runner.close();
  assert.equal(await w.kv.get("tally:finished:0"), "1");
  const b = instance(w);
  await drain(b.runner);
  await b.runner.finish();
  assert.equal(await w.kv.get("tally:finished:0"), "1");
  assert.deepEqual(
    userKeys(w.kv),
    [...EXPECTED, ["tally:finished:0", "1"]].sort(),
  );
});

Deno.test("Runner hands a partition to a new group member with its state, through the checkpoint on revoke", async () => {
  const w = await world(2);
  await produce(w, VALUES, 0);
  await produce(w, ["p", "p"], 1);
  const job = tallyJob(2);
  const a = instance(w, { job, checkpoint_interval_ms: 1_000_000 });
  assert.equal(await a.runner.step(), true);
  assert.equal(await a.runner.step(), true);
  assert.deepEqual(a.runner.partitions(), [0, 1]);
  const b = instance(w, { job, checkpoint_interval_ms: 1_000_000 });
  // Eager rebalance: a revokes (and checkpoints) both, then each takes one.
  for (let i = 0; i < 20; i++) {
    await a.runner.step();
    await b.runner.step();
  }
  assert.deepEqual(a.runner.partitions(), [0]);
  assert.deepEqual(b.runner.partitions(), [1]);
  assert.ok(a.events.some((e) => e.type === "revoked"));
  assert.deepEqual(userKeys(w.kv), [
    ["tally:p", "2"],
    ["tally:seen:0", "10"],
    ["tally:seen:1", "2"],
    ["tally:x", "4"],
    ["tally:y", "3"],
    ["tally:z", "2"],
  ]);
});

Deno.test("Runner checkpoints a partition once checkpoint_interval_ms of processing time has passed", async () => {
  const w = await world();
  await produce(w, VALUES);
  const a = instance(w, { checkpoint_interval_ms: 10_000 });
  await drain(a.runner);
  assert.equal(a.runner.checkpointsTaken(), 0);
  w.vclock.advanceBy(10_000);
  assert.equal(await a.runner.step(), false);
  assert.equal(a.runner.checkpointsTaken(), 1);
  assert.equal(await a.runner.step(), false);
  assert.equal(a.runner.checkpointsTaken(), 1, "nothing new to checkpoint");
});

Deno.test("Runner takes the job's checkpoint interval when its options set none", async () => {
  const w = await world();
  await produce(w, VALUES);
  const a = instance(w, {
    job: { ...tallyJob(), checkpoint_interval_ms: 30_000 },
    checkpoint_interval_ms: undefined,
  });
  await drain(a.runner);
  w.vclock.advanceBy(29_999);
  assert.equal(await a.runner.step(), false);
  assert.equal(a.runner.checkpointsTaken(), 0);
  w.vclock.advanceBy(1);
  assert.equal(await a.runner.step(), false);
  assert.equal(a.runner.checkpointsTaken(), 1);
});

Deno.test("Runner refuses a negative checkpoint interval and a step before start", async () => {
  const w = await world();
  const options = {
    job: tallyJob(),
    log: w.log,
    kv: w.kv,
    checkpoints: new CheckpointStore(w.objects),
    clock: w.clock,
  };
  assert.throws(
    () => new Runner({ ...options, checkpoint_interval_ms: -1 }),
    {
      name: "RangeError",
      message:
        "Cannot run job as 'checkpoint_interval_ms' must be a non-negative duration: current value is -1",
    },
  );
  await assert.rejects(() => new Runner(options).step(), {
    message: "Cannot step the runner as it was not started: call start() first",
  });
});
