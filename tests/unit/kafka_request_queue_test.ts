import assert from "node:assert/strict";
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";
import { stopIdlePolling } from "../../src/adapters/kafka/request_queue.ts";

const logger = { debug() {}, info() {}, warn() {}, error() {} };

// deno-lint-ignore no-explicit-any
function queue(maxInFlightRequests: number): any {
  return new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "127.0.0.1:1",
    logger,
  });
}

function request(correlationId: number, sent: number[]) {
  return {
    entry: {
      correlationId,
      apiKey: 0,
      apiName: "Test",
      apiVersion: 0,
      resolve() {},
      reject() {},
    },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  };
}

Deno.test("stopIdlePolling() leaves an idle kafkajs request queue without a timer", () => {
  assert.equal(stopIdlePolling(), true);
  assert.equal(stopIdlePolling(), true, "patching twice is harmless");
  const q = queue(1);
  q.checkPendingRequests();
  assert.equal(q.throttleCheckTimeoutId, null);
  q.destroy();
});

Deno.test("stopIdlePolling() keeps the queue sending requests that waited for the in-flight limit", async () => {
  stopIdlePolling();
  const q = queue(1);
  const sent: number[] = [];
  q.push(request(1, sent));
  q.push(request(2, sent));
  assert.deepEqual(sent, [1]);
  assert.notEqual(
    q.throttleCheckTimeoutId,
    null,
    "a waiting request keeps its check",
  );
  q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
  assert.deepEqual(sent, [1, 2]);
  q.fulfillRequest({ correlationId: 2, payload: null, size: 0 });
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(q.throttleCheckTimeoutId, null, "no timer once idle again");
  q.destroy();
});

Deno.test("stopIdlePolling() keeps the check that ends a broker's throttle", async () => {
  stopIdlePolling();
  const q = queue(5);
  const sent: number[] = [];
  q.maybeThrottle(40);
  q.push(request(1, sent));
  assert.deepEqual(sent, []);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(sent, [1]);
  q.destroy();
});
