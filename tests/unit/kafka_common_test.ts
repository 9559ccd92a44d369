import assert from "node:assert/strict";
import { logLevel } from "kafkajs";
import { kafkaLogCreator } from "../../src/adapters/kafka/common.ts";

function lines(
  entries: Array<{ namespace: string; message: string; error?: string }>,
): string[] {
  const out: string[] = [];
  const log = kafkaLogCreator((level, line) => out.push(`${level} ${line}`))(
    logLevel.ERROR,
  );
  for (const { namespace, message, error } of entries) {
    log({
      namespace,
      level: logLevel.ERROR,
      label: "ERROR",
      log: { timestamp: "", logger: "kafkajs", message, error },
    });
  }
  return out;
}

Deno.test("kafkaLogCreator() drops what the caller gets as an error and keeps the rest", () => {
  assert.deepEqual(
    lines([
      {
        namespace: "Producer",
        message:
          "Producer attempted an operation with an old epoch. Either there is a newer producer with the same transactionalId, or the producer's transaction has been expired by the broker",
      },
      {
        namespace: "Producer",
        message:
          "Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing",
      },
      { namespace: "Connection", message: "Response Produce(key: 0)" },
      {
        namespace: "Producer",
        message: "Failed to send messages: Connection error",
        error: "ECONNREFUSED",
      },
    ]),
    ["error kafkajs Producer: Failed to send messages: Connection error (ECONNREFUSED)"],
  );
});
