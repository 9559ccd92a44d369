/**
 * `S3ObjectStore`'s answers to replies the local S3 server never gives
 * (409 ConditionalRequestConflict), from a small HTTP server that answers
 * as S3 does. Everything else is tested against the real server in
 * `tests/integration/`.
 */

import assert from "node:assert/strict";
import { S3ObjectStore } from "../../src/adapters/s3.ts";

const SECRET = "unit-test-secret-0123456789";

const conflict = () =>
  new Response(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ConditionalRequestConflict</Code><Message>A conflicting conditional operation is currently in progress against this resource.</Message><RequestId>r</RequestId></Error>',
    { status: 409, headers: { "content-type": "application/xml" } },
  );
const preconditionFailed = () =>
  new Response(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><RequestId>r</RequestId></Error>',
    { status: 412, headers: { "content-type": "application/xml" } },
  );
const created = () =>
  new Response(null, { status: 200, headers: { etag: '"e"' } });

/**
 * Serves `replies` in order (then 500s) and records each request as
 * `METHOD path If-None-Match`.
 */
async function withServer(
  replies: Array<() => Response>,
  body: (store: S3ObjectStore, requests: string[]) => Promise<void>,
): Promise<void> {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      await request.arrayBuffer();
      requests.push(
        `${request.method} ${new URL(request.url).pathname} ${
          request.headers.get("if-none-match")
        }`,
      );
      return (replies.shift() ?? (() => new Response(null, { status: 500 })))();
    },
  );
  const store = new S3ObjectStore({
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    bucket: "bucket",
    prefix: "pre/",
    credentials: { accessKeyId: "id", secretAccessKey: SECRET },
  });
  try {
    await body(store, requests);
  } finally {
    await store.close();
    await server.shutdown();
  }
}

Deno.test(
  "S3ObjectStore.putIfAbsent() sends its write again after 409 ConditionalRequestConflict and answers true once it lands",
  async () => {
    await withServer([conflict, conflict, created], async (store, requests) => {
      assert.equal(await store.putIfAbsent("k", new Uint8Array([1])), true);
      assert.deepEqual(requests, Array(3).fill("PUT /bucket/pre/k *"));
    });
  },
);

Deno.test(
  "S3ObjectStore.putIfAbsent() answers false when the write after a 409 finds the key taken",
  async () => {
    await withServer(
      [conflict, preconditionFailed],
      async (store, requests) => {
        assert.equal(await store.putIfAbsent("k", new Uint8Array([1])), false);
        assert.equal(requests.length, 2);
      },
    );
  },
);

Deno.test(
  "S3ObjectStore.putIfAbsent() rejects after four 409s, naming bucket and key and not the secret",
  async () => {
    await withServer(
      [conflict, conflict, conflict, conflict, created],
      async (store, requests) => {
        const error = await store.putIfAbsent("k", new Uint8Array([1])).then(
          () => assert.fail("putIfAbsent must reject"),
          (error: Error) => error,
        );
        assert.equal(requests.length, 4);
        assert.match(error.message, /'s3:\/\/bucket\/pre\/k'/);
        assert.match(error.message, /after 4 attempts/);
        assert.match(error.message, /ConditionalRequestConflict \(HTTP 409\)/);
        assert.ok(!Deno.inspect(error, { depth: 10 }).includes(SECRET));
      },
    );
  },
);
