/**
 * A paced producer in a Web Worker, so producing does not take turns with
 * the runner on the main thread's event loop.
 *
 * The main thread posts a {@linkcode PaceRequest}; the worker produces views
 * at `rate` per second for `duration_ms`, each payload's `timestamp` and the
 * record's timestamp being the wall time it was handed to kafkajs, then
 * posts a {@linkcode PaceReport} and closes its client.
 *
 * @module
 */

import { Kafka, logLevel, type Message, Partitioners } from "kafkajs";

/** What the worker is asked to do. */
export interface PaceRequest {
  brokers: string[];
  topic: string;
  /** Messages per second. */
  rate: number;
  duration_ms: number;
  /** Pairs to cycle through: [userId, videoId]. */
  views: Array<[string, string]>;
  /** Wall time between sends. */
  tick_ms: number;
  /** Most messages per request (the broker caps a request's size). */
  request_max: number;
}

/** What the worker did. */
export interface PaceReport {
  sent: number;
  elapsed_ms: number;
  /** Largest delay of a send behind its schedule. */
  behind_ms_max: number;
  error?: string;
}

async function pace(request: PaceRequest): Promise<PaceReport> {
  const kafka = new Kafka({
    clientId: "freshet-bench-pacer",
    brokers: request.brokers,
    logLevel: logLevel.ERROR,
  });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let sent = 0;
  let next = 0;
  let behind_ms_max = 0;
  const started = performance.now();
  try {
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= request.duration_ms) break;
      const due = Math.floor((elapsed / 1000) * request.rate);
      if (due > sent) {
        const scheduled_ms = (sent / request.rate) * 1000;
        behind_ms_max = Math.max(behind_ms_max, elapsed - scheduled_ms);
        const now = Date.now();
        const timestamp = new Date(now).toISOString();
        const messages: Message[] = [];
        const end = Math.min(due, sent + request.request_max);
        for (; sent < end; sent++) {
          const [userId, videoId] = request.views[next]!;
          next = (next + 1) % request.views.length;
          messages.push({
            key: videoId,
            value: JSON.stringify({ userId, videoId, timestamp }),
            timestamp: String(now),
          });
        }
        await producer.send({ topic: request.topic, acks: 1, messages });
        // Behind schedule: send the rest now rather than after a tick.
        if (sent < due) continue;
      }
      const wait = request.tick_ms -
        ((performance.now() - started) % request.tick_ms);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  } finally {
    await producer.disconnect();
  }
  return { sent, elapsed_ms: performance.now() - started, behind_ms_max };
}

// deno-lint-ignore no-explicit-any
const worker = self as any;
worker.onmessage = async (event: MessageEvent<PaceRequest>) => {
  let report: PaceReport;
  try {
    report = await pace(event.data);
  } catch (error) {
    report = {
      sent: 0,
      elapsed_ms: 0,
      behind_ms_max: 0,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  worker.postMessage(report);
  worker.close();
};
