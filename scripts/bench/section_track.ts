/**
 * Benchmark 6: events per second `POST /track` gets acknowledged by Kafka
 * (batched requests from wrk), against a raw kafkajs producer of the same
 * events in the same run.
 *
 * @module
 */

import { Kafka, logLevel, type Message, Partitioners } from "kafkajs";
import { SystemClock } from "../../src/adapters/clock.ts";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { HttpApp } from "../../src/http/app.ts";
import { type Section, table, verdictOf } from "./report.ts";
import {
  createTopics,
  deleteTopics,
  SERVICES,
  uniqueName,
} from "./services.ts";
import { fmt, median } from "./stats.ts";

export const TRACK_TITLE = "6. POST /track → Kafka, events acknowledged";
export const TRACK_TARGET = 0.5;

/** Events per request wrk sends. */
const EVENTS_PER_REQUEST = 100;
/** Connections wrk keeps busy. */
const CONNECTIONS = 32;
const PARTITIONS = 4;
/** The raw producer's batching: /track's produce calls, as configured by default. */
const RAW_BATCH = 2_000;
const RAW_IN_FLIGHT = 2;

const LUA = new URL("../load/track.lua", import.meta.url);

/** Options of {@linkcode trackSection}. */
export interface TrackSectionOptions {
  runs: number;
  duration_ms: number;
  log: (line: string) => void;
}

/** One run of one side. */
interface TrackRun {
  events: number;
  elapsed_ms: number;
  /** Requests refused with 503 (the candidate only). */
  refused: number;
}

const rateOf = (r: TrackRun) => r.events * 1000 / r.elapsed_ms;

/** Whether wrk is installed. */
export async function hasWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return true;
  } catch {
    return false;
  }
}

/** `/track` served in this process, loaded by wrk for `duration_ms`. */
export async function trackRun(duration_ms: number): Promise<TrackRun> {
  const topic = uniqueName("bench-track");
  await createTopics([topic], PARTITIONS);
  const log = new KafkaLog({ brokers: [...SERVICES.kafka_brokers] });
  const app = await HttpApp.create({
    clock: new SystemClock(),
    track: { log, topic, producer: { on_error: () => {} } },
  });
  const stop = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen() {} },
    app.handler,
  );
  const out = await Deno.makeTempDir({ prefix: "freshet-bench-track-" });
  try {
    const seconds = Math.max(1, Math.round(duration_ms / 1000));
    const wrk = await new Deno.Command("timeout", {
      args: [
        "--kill-after=5",
        String(seconds + 60),
        "wrk",
        "-t2",
        `-c${CONNECTIONS}`,
        `-d${seconds}s`,
        "--timeout",
        "30s",
        "-s",
        LUA.pathname,
        `http://127.0.0.1:${server.addr.port}/track`,
      ],
      env: {
        TRACK_RUN: topic,
        TRACK_OUT_DIR: out,
        TRACK_EVENTS_PER_REQUEST: String(EVENTS_PER_REQUEST),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(wrk.stdout);
    const line = text.split("\n").find((l) => l.startsWith("STATUSES "));
    if (!wrk.success || line === undefined) {
      throw new Error(
        `wrk failed: ${new TextDecoder().decode(wrk.stderr)}${text}`,
      );
    }
    const { statuses } = JSON.parse(line.slice("STATUSES ".length)) as {
      statuses: Record<string, number>;
    };
    return {
      events: (statuses["202"] ?? 0) * EVENTS_PER_REQUEST,
      elapsed_ms: seconds * 1000,
      refused: statuses["503"] ?? 0,
    };
  } finally {
    stop.abort();
    await server.finished;
    await log.close();
    await Deno.remove(out, { recursive: true });
    await deleteTopics([topic]);
  }
}

/** The same events from a raw kafkajs idempotent producer for `duration_ms`. */
async function rawRun(duration_ms: number): Promise<TrackRun> {
  const topic = uniqueName("bench-track-raw");
  await createTopics([topic], PARTITIONS);
  const kafka = new Kafka({
    clientId: "freshet-bench-raw-producer",
    brokers: [...SERVICES.kafka_brokers],
    logLevel: logLevel.ERROR,
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let sent = 0;
  const started = performance.now();
  try {
    // As /track writes them: the event completed with its timestamp.
    const batch = (): Message[] => {
      const timestamp = new Date().toISOString();
      return Array.from({ length: RAW_BATCH }, (_, i) => {
        const n = sent + i;
        const event_id = `load-${n % 37}`;
        return {
          key: event_id,
          value: JSON.stringify({
            event_id,
            run: topic,
            seq: `${n}`,
            value: n % 100,
            timestamp,
          }),
        };
      });
    };
    await Promise.all(
      Array.from({ length: RAW_IN_FLIGHT }, async () => {
        while (performance.now() - started < duration_ms) {
          const messages = batch();
          await producer.send({ topic, acks: -1, messages });
          sent += messages.length;
        }
      }),
    );
    return {
      events: sent,
      elapsed_ms: performance.now() - started,
      refused: 0,
    };
  } finally {
    await producer.disconnect();
    await deleteTopics([topic]);
  }
}

/** Runs benchmark 6 and writes its section; `rate` is /track's median. */
export async function trackSection(
  options: TrackSectionOptions,
): Promise<Section & { rate: number }> {
  options.log("track: warm-up");
  await rawRun(Math.min(2_000, options.duration_ms));
  await trackRun(Math.min(2_000, options.duration_ms));
  const raw: TrackRun[] = [];
  const ours: TrackRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    raw.push(await rawRun(options.duration_ms));
    ours.push(await trackRun(options.duration_ms));
    options.log(
      `track: run ${i + 1}/${options.runs}: kafkajs ${
        fmt(rateOf(raw.at(-1)!))
      } events/s, /track ${fmt(rateOf(ours.at(-1)!))} events/s`,
    );
  }
  const raw_rate = median(raw.map(rateOf));
  const our_rate = median(ours.map(rateOf));
  const ratio = our_rate / raw_rate;
  const verdict = verdictOf(ratio, TRACK_TARGET);
  const body = [
    `**Measured:** events acknowledged per second over ${
      fmt(options.duration_ms / 1000)
    } s, into a new topic of ${PARTITIONS} partitions per run.`,
    "",
    `- **Baseline:** a raw kafkajs 2.2.4 idempotent producer (\`acks: -1\`, as \`KafkaLog.produce\`) sending the same events, as /track stores them (\`event_id\` key, JSON with \`timestamp\` filled in), in batches of ${
      fmt(RAW_BATCH)
    } with ${RAW_IN_FLIGHT} sends in flight, in this process.`,
    `- **Candidate:** \`POST /track\` (\`HttpApp\` on \`Deno.serve\`, its defaults: group-committed produce calls, 2 in flight, in-flight budget of 100,000 events) in this process, loaded by wrk from another process: ${CONNECTIONS} connections, ${EVENTS_PER_REQUEST} NDJSON events per request (\`scripts/load/track.lua\`); an event counts once its request was answered 202 (after Kafka acknowledged it).`,
    `- ${options.runs} runs of each, alternating, after a short warm-up of each; the ratio is of the medians.`,
    "",
    ...table(
      ["run", "kafkajs events/s", "/track events/s", "/track 503s", "ratio"],
      raw.map((r, i) => {
        const o = ours[i]!;
        return [
          String(i + 1),
          fmt(rateOf(r)),
          fmt(rateOf(o)),
          fmt(o.refused),
          (rateOf(o) / rateOf(r)).toFixed(3),
        ];
      }),
    ),
    "",
    `**Result:** median ${fmt(our_rate)} events/s through /track vs ${
      fmt(raw_rate)
    } events/s from raw kafkajs: ratio **${
      ratio.toFixed(3)
    }**, target ≥ ${TRACK_TARGET}: **${verdict}**.`,
  ];
  return {
    title: TRACK_TITLE,
    verdict,
    summary: {
      baseline: `${fmt(raw_rate)} events/s`,
      candidate: `${fmt(our_rate)} events/s`,
      ratio: ratio.toFixed(3),
      target: `≥ ${TRACK_TARGET}`,
    },
    body,
    rate: our_rate,
  };
}
