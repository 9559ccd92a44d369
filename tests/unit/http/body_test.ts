/** readBody() and the message sizes the batch limits count. */

import assert from "node:assert/strict";
import {
  BodyRefusedError,
  BodyTooLargeError,
  readBody,
} from "../../../src/http/body.ts";
import { messageBytes } from "../../../src/http/message_bytes.ts";

function stream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

Deno.test("readBody() joins the chunks of a body within the limit", async () => {
  const chunks = [
    new Uint8Array([1, 2]),
    new Uint8Array([]),
    new Uint8Array([3, 4, 5]),
  ];
  assert.deepEqual(
    await readBody(stream(chunks), { limit_bytes: 5 }),
    new Uint8Array([1, 2, 3, 4, 5]),
  );
  assert.deepEqual(
    await readBody(null, { limit_bytes: 5 }),
    new Uint8Array(0),
  );
});

Deno.test("readBody() fails at the first chunk past the limit", async () => {
  await assert.rejects(
    readBody(stream([new Uint8Array(3), new Uint8Array(3)]), {
      limit_bytes: 5,
    }),
    (error: unknown) =>
      error instanceof BodyTooLargeError && error.limit_bytes === 5,
  );
});

Deno.test("readBody() asks reserve() before keeping each chunk and stops when refused", async () => {
  const asked: number[] = [];
  await assert.rejects(
    readBody(
      stream([new Uint8Array(2), new Uint8Array(3), new Uint8Array(4)]),
      {
        limit_bytes: 100,
        reserve: (bytes) => {
          asked.push(bytes);
          return asked.length < 2;
        },
      },
    ),
    BodyRefusedError,
  );
  assert.deepEqual(asked, [2, 3]);
});

Deno.test("messageBytes() counts key and value in UTF-8 plus 64", () => {
  assert.equal(messageBytes({ key: "é", value: "{}" }), 64 + 2 + 2);
  assert.equal(messageBytes({ key: null, value: "😀" }), 64 + 4);
});
