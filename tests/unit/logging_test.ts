import assert from "node:assert/strict";
import {
  closeLogging,
  logger,
  parseLogFormat,
  parseLogLevel,
  setupLogging,
} from "../../src/logging/setup.ts";

async function capture(
  options: Parameters<typeof setupLogging>[0],
  body: () => void,
): Promise<string[]> {
  const lines: string[] = [];
  await setupLogging({ ...options, write: (line) => lines.push(line) });
  try {
    body();
  } finally {
    await closeLogging();
  }
  return lines;
}

Deno.test("setupLogging() writes JSON lines with time, level, message and flat fields", async () => {
  const lines = await capture({ format: "json" }, () => {
    logger("run").info("assigned {topic}:{partition}", {
      topic: "video-views",
      partition: 3,
      type: "assigned",
      level: "clash",
      error: new Error("boom"),
    });
    logger("run").debug("hidden below info");
  });
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual({ ...line, time: "" }, {
    time: "",
    level: "info",
    logger: "freshet.run",
    message: "assigned video-views:3",
    topic: "video-views",
    partition: 3,
    type: "assigned",
    field_level: "clash",
    error: "boom",
  });
});

Deno.test("setupLogging() writes pretty lines without repeating what the message shows", async () => {
  const lines = await capture({
    format: "pretty",
    color: false,
    level: "debug",
  }, () => {
    logger("run").warn("Redis at {address} is unreachable", {
      address: "127.0.0.1:6390",
      attempt: 2,
      note: "two words",
    });
    logger("run").debug("shown at debug");
  });
  assert.match(
    lines[0]!,
    /^\d\d:\d\d:\d\d\.\d{3} WARN {2}run: Redis at 127\.0\.0\.1:6390 is unreachable attempt=2 note="two words"\n$/,
  );
  assert.match(lines[1]!, / DEBUG run: shown at debug\n$/);
});

Deno.test("setupLogging() rate-limits a client's repeated lines and says how many it dropped", async () => {
  const lines = await capture(
    { format: "json", client_lines_max: 2, client_window_ms: 1_000 },
    () => {
      for (let i = 0; i < 50; i++) {
        logger("redis").warn("connect ECONNREFUSED 127.0.0.1:{port}", {
          port: 6390 + i,
        });
      }
      logger("run").info("the job's own lines are never dropped");
    },
  );
  const redis = lines.map((l) => JSON.parse(l)).filter((l) =>
    l.logger === "freshet.redis"
  );
  // Two lines, then (at the end) one summary of the 48 dropped.
  assert.equal(redis.length, 3, JSON.stringify(redis));
  assert.match(
    redis[2].message,
    /^48 more lines like the last one were dropped/,
  );
  assert.ok(lines.some((l) => l.includes("never dropped")));
});

Deno.test("parseLogLevel() and parseLogFormat() accept the documented values only", () => {
  assert.equal(parseLogLevel("warn"), "warn");
  assert.equal(parseLogLevel("warning"), undefined);
  assert.equal(parseLogFormat("pretty"), "pretty");
  assert.equal(parseLogFormat("text"), undefined);
});
