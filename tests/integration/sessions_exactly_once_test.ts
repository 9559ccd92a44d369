/**
 * Heartbeats to PostgreSQL exactly once, in production: `main.ts run
 * --prod --job sessions` and `main.ts load --job sessions` are SIGKILLed at
 * seeded random moments while `main.ts produce` feeds Kafka, and restarted
 * each time. In the end `psql` sees exactly the rows of the fault-free run
 * (the simulator's job and loader), the Parquet files in S3Proxy have the
 * simulator's keys and bytes, and DuckDB (npm `@duckdb/node-api`) reads
 * every file with the declared types and its row count.
 *
 * Production runs on the wall clock: a producer stalled for longer than
 * `idle_advance_ms` (a busy machine) is a real quiet period, and the idle
 * advance would then close sessions the recorded arrival times keep open,
 * a legitimate difference from the simulator. So both run with the idle
 * advance off (`sim/` and `tests/unit/sessions_job_test.ts` cover it), and
 * the input ends with a heartbeat per partition half an hour of event time
 * later, which closes every session of the slice (the simulator's end of
 * input closes the closing heartbeats' own sessions too: they are left out
 * of the comparison). The job's internal topic follows `--topic`
 * (`sessions-<topic>-by-session-repartition`); the test deletes it before
 * and after, and loads into a database of its own.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI) and
 * `psql`.
 */

import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { Kafka, logLevel } from "kafkajs";
import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { sessions } from "../../src/jobs/sessions/job.ts";
import {
  readSessionFile,
  type SessionRow,
} from "../../src/jobs/sessions/row.ts";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { secondsText } from "../../src/load/sessions_target.ts";
import { Rng } from "../../sim/random.ts";
import { simulate } from "../../sim/simulator.ts";
import { Child, REPO_ROOT, waitUntil } from "./harness.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  POSTGRES,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";

/** Lines of the recorded fixture: about 25 minutes of viewing. */
const SLICE_LINES = 16_000;
const RATE_PER_S = 160;
const JOB_KILLS = 8;
const LOADER_KILLS = 6;
const SEED = 20260314;
/** The job's internal topic when it reads `topic` (see src/flow/compile.ts). */
const internalTopic = (topic: string) =>
  `sessions-${topic}-by-session-repartition`;
const PG = "postgres://postgres@127.0.0.1:5432";

async function psql(database: string, sql: string): Promise<string[]> {
  const result = await new Deno.Command("psql", {
    args: [
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-At",
      "-F",
      "\t",
      "-d",
      `${PG}/${database}`,
      "-c",
      sql,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`psql failed: ${err}`);
  return new TextDecoder().decode(result.stdout).split("\n").filter((l) =>
    l !== ""
  );
}

/** The table as psql prints it: one tab-separated line per row, by key. */
const TABLE_SQL = `SELECT user_id, program_id, session_id, device,
       (extract(epoch FROM start_time) * 1000)::bigint,
       (extract(epoch FROM end_time) * 1000)::bigint,
       stream_duration, events
  FROM sessions ORDER BY session_id, start_time`;

async function tableLines(database: string): Promise<string[]> {
  return await psql(database, TABLE_SQL).catch((error) => {
    if (/relation "sessions" does not exist/.test(error.message)) return [];
    throw error;
  });
}

/** A row as psql prints {@linkcode TABLE_SQL}'s. */
function rowLine(r: SessionRow): string {
  return [
    r.user_id,
    r.program_id,
    r.session_id,
    r.device,
    r.start_ms,
    r.end_ms,
    secondsText(r.end_ms - r.start_ms),
    r.events,
  ].join("\t");
}

/** The table's order: session_id, then start_time (text order, as "C"). */
function byKeyOrder(a: string, b: string): number {
  const key = (line: string) => {
    const f = line.split("\t");
    return `${f[2]}\t${String(f[4]).padStart(15, "0")}`;
  };
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** Lines only in `expected` ("- ...") or only in `actual` ("+ ..."). */
function rowDifferences(expected: string[], actual: string[]): string[] {
  const count = new Map<string, number>();
  for (const line of expected) count.set(line, (count.get(line) ?? 0) + 1);
  for (const line of actual) count.set(line, (count.get(line) ?? 0) - 1);
  const out: string[] = [];
  for (const [line, n] of count) {
    for (let i = 0; i < Math.abs(n); i++) {
      out.push(`${n > 0 ? "-" : "+"} ${line}`);
    }
  }
  return out;
}

/** Session ids of the late side output's heartbeats. */
function lateSessionIds(values: readonly string[]): string[] {
  const ids: string[] = [];
  for (const value of values) {
    try {
      const side = JSON.parse(value) as { value: string | null };
      const heartbeat = JSON.parse(side.value ?? "null");
      if (typeof heartbeat?.session_id === "string") {
        ids.push(heartbeat.session_id);
      }
    } catch {
      // Not a side record.
    }
  }
  return ids;
}

/** Every record value of `topic` (all partitions). */
async function readTopic(topic: string): Promise<string[]> {
  const log = new KafkaLog({ brokers: KAFKA_BROKERS });
  try {
    const ends = await log.endOffsets(topic).catch(() => [] as number[]);
    const values: string[] = [];
    for (let p = 0; p < ends.length; p++) {
      for (const r of await log.read(topic, p, 0, ends[p]!)) {
        values.push(r.value);
      }
    }
    return values;
  } finally {
    await log.close();
  }
}

interface Kill {
  who: string;
  after_ms: number;
}

await integration(
  "sessions reach PostgreSQL exactly once in production however often the job and the loader are SIGKILLed",
  [KAFKA, S3, POSTGRES],
  async () => {
    const started = Date.now();
    const sliceText = (await decodeFixture(
      await Deno.readFile(`${REPO_ROOT}${sessions.fixture}`),
    )).split("\n").slice(0, SLICE_LINES).join("\n");
    const slice = parseFixture(sliceText);
    const topic = uniqueName("it-sessions");
    const group = `${topic}-group`;
    const prefix = `it-sessions/${topic}`;
    const checkpoint_prefix = `it-checkpoints/${topic}`;
    const database = topic.replace(/[^a-z0-9_]/g, "_");
    const job_options = `prefix=${prefix},idle_advance_ms=0`;
    const overrides = { options: { prefix, idle_advance_ms: "0" } };

    // The input: the slice, then a heartbeat per partition that closes
    // every session of the slice.
    const job = sessions.create(overrides);
    let latest = 0;
    for (const m of slice) {
      const time = job.route(m.value).timestamp;
      if (time !== undefined && time > latest) latest = time;
    }
    const closing = [0, 1, 2, 3].map((partition) =>
      JSON.stringify({
        topic: job.topic,
        partition,
        offset: 0,
        key: `closing-${partition}`,
        value: JSON.stringify({
          user_id: `closing-${partition}`,
          program_id: "closing",
          session_id: `closing-${partition}`,
          device: "closing",
          event_time: latest + 30 * 60_000,
        }),
        timestamp: latest,
      })
    );
    const input = `${sliceText}\n${closing.join("\n")}\n`;

    // The fault-free run: the rows to expect.
    const clean = await simulate({
      job,
      fixture: parseFixture(input),
      seed: 1,
    });
    const expected_files = new Map(
      clean.objects.dump().filter((o) => o.key.startsWith(`${prefix}/`))
        .map((o) => [o.key, o.body]),
    );
    const expected_rows: string[] = [];
    for (const body of expected_files.values()) {
      for (const r of await readSessionFile(body)) {
        if (!r.session_id.startsWith("closing-")) {
          expected_rows.push(rowLine(r));
        }
      }
    }
    expected_rows.sort(byKeyOrder);
    assert.ok(expected_rows.length > 100, `${expected_rows.length} rows`);

    await deleteTopics([internalTopic(topic)]);
    await psql("postgres", `CREATE DATABASE ${database}`);
    const env = { DATABASE_URL: `${PG}/${database}` };
    const children: Child[] = [];
    const instance = (name: string) => {
      const child = new Child(name, [
        "run",
        "--prod",
        "--job",
        "sessions",
        "--topic",
        topic,
        "--group",
        group,
        "--checkpoint-prefix",
        checkpoint_prefix,
        "--checkpoint-interval-ms",
        "1000",
        "--session-timeout-ms",
        "6000",
        "--load-interval-ms",
        "3000",
        "--job-options",
        job_options,
        "--port",
        "0",
        "--log-format",
        "json",
      ], env);
      children.push(child);
      return child;
    };
    const loader = (name: string) => {
      const child = new Child(name, [
        "load",
        "--job",
        "sessions",
        "--interval-ms",
        "1500",
        "--job-options",
        job_options,
        "--log-format",
        "json",
      ], env);
      children.push(child);
      return child;
    };
    const rng = new Rng(SEED);
    const kills: Kill[] = [];
    const objects = S3ObjectStore.fromConfig(S3_SETTINGS);
    const published = async () =>
      (await objects.list(`${prefix}/`)).filter((k) => k.endsWith(".parquet"));
    const fixture = await Deno.makeTempFile({ suffix: ".jsonl" });
    await Deno.writeTextFile(fixture, input);
    const outputs = await Deno.makeTempDir();
    try {
      await createTopic(topic, 4);
      const producer = new Child("producer", [
        "produce",
        "--job",
        "sessions",
        "--topic",
        topic,
        "--fixture",
        fixture,
        "--rate",
        String(RATE_PER_S),
      ]);
      children.push(producer);

      const killLoop = async (
        count: number,
        start: (name: string) => Child,
        who: string,
        wait: () => number,
        owning = false,
      ) => {
        for (let i = 1; i <= count; i++) {
          const child = start(`${who} ${i}`);
          // A job instance dies while it owns partitions (a restarted one
          // first waits for the dead one's session to expire).
          if (owning) {
            await child.waitForEvent(
              (e) => e.type === "assigned",
              30_000,
              "an assigned partition",
            );
          }
          const ms = wait();
          await waitUntil(() => child.exited, {
            timeout_ms: ms,
            interval_ms: 25,
          });
          assert.ok(
            !child.exited,
            `${child.name} must still run when killed; stderr:\n${child.stderrTail()}`,
          );
          child.kill("SIGKILL");
          await child.status;
          kills.push({ who: child.name, after_ms: ms });
        }
      };
      const jobRng = rng.fork("job");
      const loaderRng = rng.fork("loader");
      await Promise.all([
        killLoop(
          JOB_KILLS,
          instance,
          "instance",
          () => 1_000 + jobRng.int(6_000),
          true,
        ),
        killLoop(
          LOADER_KILLS,
          loader,
          "loader",
          () => 2_500 + loaderRng.int(12_000),
        ),
      ]);
      const last = instance("last instance");
      const last_loader = loader("last loader");
      const produced = await producer.status;
      assert.ok(
        produced.success,
        `the producer must succeed; stderr:\n${producer.stderrTail()}`,
      );
      // Every published file is loaded, and nothing changes for a while.
      let seen = "";
      let since = Date.now();
      const done = await waitUntil(async () => {
        const rows = await tableLines(database);
        const files = (await published()).length;
        const loaded = rows.length === 0 ? 0 : Number(
          (await psql(database, "SELECT count(*) FROM freshet_load_ledger"))[0],
        );
        const state = `${rows.length} rows, ${loaded}/${files} files`;
        if (state !== seen) {
          seen = state;
          since = Date.now();
        }
        return rows.length >= expected_rows.length &&
          loaded === files &&
          Date.now() - since >= 8_000;
      }, { timeout_ms: 300_000, interval_ms: 1_000 });
      const stops = await Promise.all([
        last.stop("SIGTERM", 20_000),
        last_loader.stop("SIGTERM", 20_000),
      ]);
      assert.ok(done, `the rows never all arrived: ${seen}`);
      for (
        const [stop, child] of [[stops[0], last], [
          stops[1],
          last_loader,
        ]] as const
      ) {
        assert.ok(
          stop.graceful && stop.status.success,
          `${child.name} must stop cleanly on SIGTERM (code ${stop.status.code}); stderr:\n${child.stderrTail()}`,
        );
      }

      // Exactly once from the files to PostgreSQL: psql sees each row of
      // every published file once, and the ledger names every file once.
      const keys = await published();
      const files = new Map<string, Uint8Array>();
      const file_rows: string[] = [];
      for (const key of keys) {
        const body = (await objects.get(key))!;
        files.set(key, body);
        for (const r of await readSessionFile(body)) file_rows.push(rowLine(r));
        const path = `${outputs}/${key}`;
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), {
          recursive: true,
        });
        await Deno.writeFile(path, body);
      }
      file_rows.sort(byKeyOrder);
      const actual = await tableLines(database);
      assert.deepEqual(
        actual,
        file_rows,
        "the table must hold every published row once",
      );
      const ledger = await psql(
        database,
        "SELECT count(*), count(DISTINCT file), sum(rows) FROM freshet_load_ledger",
      );
      assert.deepEqual(ledger, [
        `${keys.length}\t${keys.length}\t${actual.length}`,
      ]);

      // Exactly once from Kafka to the files: the fault-free run's sessions.
      // One race is allowed, and must be explained: over a repartition, a
      // heartbeat late by the watermark it carries still joins a session
      // the next stage has not closed yet (the window engine merges before
      // it judges lateness), so whether it is late depends on when the
      // other partitions' watermarks arrive (reported to the integrator).
      // Such a session's row may differ; its session id then has a late
      // heartbeat in one of the runs.
      const late_ids = new Set<string>([
        ...lateSessionIds(
          clean.log.dump().topics.find((t) => t.topic === `${job.topic}.late`)
            ?.partitions.flat().map((r) => r.value) ?? [],
        ),
        ...lateSessionIds(await readTopic(`${topic}.late`)),
      ]);
      const explained: string[] = [];
      const diff = rowDifferences(expected_rows, actual);
      for (const line of diff) {
        const session_id = line.slice(2).split("\t")[2]!;
        assert.ok(
          late_ids.has(session_id),
          `a row differs from the fault-free run without a late heartbeat to explain it: ${line}\nall ${diff.length} differences:\n${
            [...diff].sort((a, b) =>
              a.split("\t")[2]! < b.split("\t")[2]! ? -1 : 1
            ).slice(0, 60).join("\n")
          }`,
        );
        explained.push(line);
      }
      assert.ok(
        explained.length <= Math.max(4, expected_rows.length / 100),
        `too many rows differ from the fault-free run: ${explained.join("\n")}`,
      );
      // The files hold the simulator's rows (checked above through the
      // table). Their cut into files is compared and reported, not asserted:
      // the internal topic's key → partition mapping is the log's (kafkajs'
      // murmur2 here, FNV-1a in the simulator's twin), so sessions land in
      // other partitions of the session stage, and files are numbered and
      // cut per partition: same rows, other files. The simulator's files of
      // the closing heartbeats' sessions are left out.
      const expected_keys: string[] = [];
      for (const [key, body] of expected_files) {
        const rows = await readSessionFile(body);
        if (!rows.every((r) => r.session_id.startsWith("closing-"))) {
          expected_keys.push(key);
        }
      }
      expected_keys.sort();
      const same_files = explained.length === 0 &&
        keys.length === expected_keys.length &&
        keys.every((key, i) => {
          const want = expected_files.get(expected_keys[i]!)!;
          const got = files.get(key)!;
          return key === expected_keys[i] && want.length === got.length &&
            want.every((b, j) => b === got[j]);
        });
      if (!same_files) {
        const layout = async (m: Map<string, Uint8Array>) => {
          const lines: string[] = [];
          for (const [key, body] of [...m].sort().slice(0, 10)) {
            const closes = (await readSessionFile(body)).map((r) =>
              new Date(r.end_ms + 59_999).toISOString().slice(11, 23)
            );
            lines.push(`${key.split("/").pop()} closes ${closes.join(" ")}`);
          }
          return lines.join("\n  ");
        };
        console.log(
          `sessions crash test: the files differ from the simulator's (${keys.length} vs ${expected_keys.length}); first files by close time:\n  production:\n  ${await layout(
            files,
          )}\n  simulator:\n  ${await layout(expected_files)}`,
        );
      }

      // DuckDB reads every file, with the declared types and its rows.
      const duck = await DuckDBInstance.create(":memory:");
      const db = await duck.connect();
      const types = (await db.runAndReadAll(
        `DESCRIBE SELECT * FROM read_parquet('${outputs}/${prefix}/**/*.parquet')`,
      )).getRowObjects().map((r) => `${r.column_name} ${r.column_type}`);
      assert.deepEqual(types, [
        "user_id VARCHAR",
        "program_id VARCHAR",
        "session_id VARCHAR",
        "device VARCHAR",
        "start_time TIMESTAMP WITH TIME ZONE",
        "end_time TIMESTAMP WITH TIME ZONE",
        "stream_duration DECIMAL(18,3)",
        "events INTEGER",
        // The hive partition of the key (date=YYYY-MM-DD), read as a column.
        "date DATE",
      ]);
      for (const [key, body] of files) {
        const [row] = (await db.runAndReadAll(
          `SELECT count(*)::INTEGER AS n,
                  bool_and(epoch_ms(end_time) - epoch_ms(start_time) = (stream_duration * 1000)::BIGINT) AS durations
             FROM read_parquet('${outputs}/${key}')`,
        )).getRowObjects();
        assert.deepEqual(row, {
          n: (await readSessionFile(body)).length,
          durations: (await readSessionFile(body)).length === 0 ? null : true,
        }, key);
      }
      const [all] = (await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT date)::INTEGER AS days
           FROM read_parquet('${outputs}/${prefix}/**/*.parquet', hive_partitioning = true)`,
      )).getRowObjects();
      assert.equal(all!.n, actual.length);
      db.closeSync();

      const restores = children.flatMap((c) => c.runnerEvents("assigned"))
        .filter((e) => e.restored === true);
      assert.ok(
        restores.length >= 3,
        `instances must restore checkpoints: ${restores.length} did`,
      );
      console.log(
        `sessions crash test: ${kills.length} kills (${
          kills.map((k) => `${k.who} after ${k.after_ms} ms`).join(", ")
        }), ${keys.length} files (${
          same_files ? "the simulator's keys and bytes" : "cut otherwise"
        }), ${actual.length} rows, ${restores.length} restores, ${explained.length} rows differing by a late-heartbeat race${
          explained.length > 0 ? ` (${explained.join("; ")})` : ""
        }; wall time ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      for (const child of children) child.kill("SIGKILL");
      await Promise.allSettled(children.map((c) => c.status));
      await deleteTopics([
        topic,
        `${topic}.dead-letter`,
        `${topic}.late`,
        internalTopic(topic),
      ]);
      for (
        const p of [
          `${prefix}/`,
          `${checkpoint_prefix}/`,
          `freshet-staging/sessions/`,
        ]
      ) {
        for (const key of await objects.list(p).catch(() => [])) {
          await objects.delete(key).catch(() => {});
        }
      }
      await objects.close();
      await psql("postgres", `DROP DATABASE IF EXISTS ${database}`).catch(
        (error) => console.warn(`clean-up of postgres: ${error.message}`),
      );
      await Deno.remove(fixture).catch(() => {});
      await Deno.remove(outputs, { recursive: true }).catch(() => {});
    }
  },
);

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  })
    .admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
    });
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopics(topics: string[]): Promise<void> {
  const admin = new Kafka({
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  })
    .admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const gone = topics.filter((t) => existing.has(t));
    if (gone.length > 0) await admin.deleteTopics({ topics: gone });
    // Deletion completes in the background: a topic created again before
    // it did would keep the old records.
    await waitUntil(async () => {
      const left = new Set(await admin.listTopics());
      return gone.every((t) => !left.has(t));
    }, { timeout_ms: 30_000, interval_ms: 250 });
  } catch (error) {
    console.warn(`clean-up of kafka: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
