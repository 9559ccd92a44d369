/**
 * `POST /track` over real HTTP (Deno.serve on a free port) into a real Kafka:
 * every 202-acknowledged event is in the topic exactly once, each status
 * code answers with its reason, and an unreachable Kafka answers 503 with
 * Retry-After.
 */

import assert from "node:assert/strict";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { SystemClock } from "../../src/adapters/clock.ts";
import { HttpApp, serveHttp } from "../../src/http/app.ts";
import type { TrackerOptions } from "../../src/http/track.ts";
import type { LogRecord } from "../../src/ports.ts";
import { integration, KAFKA, KAFKA_BROKERS, uniqueName } from "./services.ts";

interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(
  track: Omit<TrackerOptions, "clock" | "on_outcome">,
): Promise<Served> {
  const app = await HttpApp.create({ clock: new SystemClock(), track });
  const controller = new AbortController();
  const server = serveHttp(app, {
    port: 0,
    signal: controller.signal,
    on_listen: () => {},
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

async function readAll(log: KafkaLog, topic: string): Promise<LogRecord[]> {
  const ends = await log.endOffsets(topic);
  const records: LogRecord[] = [];
  for (let p = 0; p < ends.length; p++) {
    if ((ends[p] ?? 0) > 0) {
      // Not push(...): a partition may hold more records than arguments fit.
      for (const record of await log.read(topic, p, 0, ends[p] as number)) {
        records.push(record);
      }
    }
  }
  return records;
}

/** A port nothing listens on (bound, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

await integration(
  "/track answers 202 only for events Kafka holds, each exactly once, under concurrent requests",
  [KAFKA],
  async () => {
    const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
    const topic = uniqueName("track-once");
    await log.createTopic(topic, 3);
    const served = await serve({ log, topic });
    try {
      const requests = 60;
      const per_request = 25;
      const answers = await Promise.all(
        Array.from({ length: requests }, async (_, r) => {
          const events = Array.from({ length: per_request }, (_, i) => ({
            event_id: `id-${(r * per_request + i) % 7}`,
            seq: r * per_request + i,
            ...(i % 2 === 0 ? { value: i } : {}),
          }));
          const ndjson = r % 2 === 0;
          const response = await fetch(`${served.url}/track`, {
            method: "POST",
            headers: {
              "content-type": ndjson
                ? "application/x-ndjson"
                : "application/json",
            },
            body: ndjson
              ? events.map((e) => JSON.stringify(e)).join("\n")
              : JSON.stringify(events),
          });
          return [response.status, await response.json()] as const;
        }),
      );
      for (const [status, body] of answers) {
        assert.deepEqual([status, body], [202, { accepted: per_request }]);
      }
      const records = await readAll(log, topic);
      const seqs = records.map((r) => JSON.parse(r.value).seq as number)
        .sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: requests * per_request }, (_, i) => i),
      );
      for (const record of records) {
        const event = JSON.parse(record.value);
        assert.equal(record.key, event.event_id);
        assert.equal(typeof event.value, "number");
        assert.match(
          event.timestamp,
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
        );
      }
      // One key, one partition.
      const partitionOf = new Map<string, number>();
      for (const record of records) {
        const seen = partitionOf.get(record.key!) ?? record.partition;
        assert.equal(record.partition, seen);
        partitionOf.set(record.key!, seen);
      }
    } finally {
      await served.close();
      await log.close();
    }
  },
);

await integration(
  "/track answers 400, 401, 413, 415 and 503 (budget) with their reasons and writes nothing for them",
  [KAFKA],
  async () => {
    const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
    const topic = uniqueName("track-statuses");
    await log.createTopic(topic, 1);
    const token = "integration-secret-token";
    const served = await serve({
      log,
      topic,
      token,
      body_limit_bytes: 1000,
      events_in_flight_max: 3,
    });
    const post = (
      body: string,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${served.url}/track`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${token}`,
          ...headers,
        },
        body,
      });
    try {
      const expectations: Array<[Promise<Response>, number, RegExp]> = [
        [post('{"event_id":"a"}', { authorization: "" }), 401, /has none/],
        [
          post('{"event_id":"a"}', { authorization: "Bearer nope" }),
          401,
          /wrong/,
        ],
        [
          post('{"event_id":"a"}', { "content-type": "text/plain" }),
          415,
          /content type/,
        ],
        [
          post(`[${'{"event_id":"a"},'.repeat(80)}{"event_id":"a"}]`),
          413,
          /at most 1000 bytes/,
        ],
        [
          post('[{"event_id":"a"},{"event_id":""}]'),
          400,
          /1 of 2 events are invalid/,
        ],
        [
          post(JSON.stringify(Array(4).fill({ event_id: "a" }))),
          503,
          /in-flight budget of 3 events/,
        ],
      ];
      for (const [pending, status, reason] of expectations) {
        const response = await pending;
        const text = await response.text();
        assert.equal(response.status, status, text);
        assert.match(JSON.parse(text).error, reason);
        assert.ok(!text.includes(token));
        if (status === 503) {
          assert.equal(response.headers.get("retry-after"), "1");
        }
      }
      assert.deepEqual(await log.endOffsets(topic), [0]);
      const ok = await post('[{"event_id":"a"},{"event_id":"b"}]');
      assert.deepEqual([ok.status, await ok.json()], [202, { accepted: 2 }]);
      assert.deepEqual(await log.endOffsets(topic), [2]);
    } finally {
      await served.close();
      await log.close();
    }
  },
);

await integration(
  "/track answers 503 with Retry-After when Kafka is unreachable, and at once while backing off",
  [KAFKA],
  async () => {
    const log = new KafkaLog({
      brokers: [`127.0.0.1:${closedPort()}`],
      retry: { initialRetryTime: 50, retries: 1 },
      log_level: "nothing",
    });
    const served = await serve({
      log,
      retry_after_s: 5,
      producer: { produce_timeout_ms: 5000 },
    });
    try {
      const started = Date.now();
      const response = await fetch(`${served.url}/track`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"event_id":"a"}',
      });
      const body = await response.json();
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("retry-after"), "5");
      assert.match(body.error, /did not acknowledge|did not answer/);
      assert.ok(Date.now() - started < 6000, "answered within the timeout");
      const again = Date.now();
      const refused = await fetch(`${served.url}/track`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"event_id":"b"}',
      });
      assert.equal(refused.status, 503);
      assert.match((await refused.json()).error, /failed recently/);
      assert.ok(Date.now() - again < 1000, "refused at once");
    } finally {
      await served.close();
      await log.close().catch(() => {});
    }
  },
);
