import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisKeyValue } from "../../src/adapters/redis.ts";
import { integration, REDIS, REDIS_URL, uniqueName } from "./services.ts";

/** Opens an adapter on a fresh key prefix; `cleanup` deletes its keys. */
function open(connectionName?: string) {
  const prefix = `${uniqueName("test-redis")}:`;
  const kv = new RedisKeyValue(REDIS_URL, {
    keyPrefix: prefix,
    retry_delay_ms: 50,
    ...(connectionName ? { connectionName } : {}),
  });
  const admin = new Redis(REDIS_URL);
  return {
    kv,
    admin,
    prefix,
    async cleanup() {
      await kv.close();
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    },
  };
}

async function killConnection(admin: Redis, name: string): Promise<number> {
  const list = await admin.client("LIST") as string;
  const ids = list.split("\n")
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await admin.client("KILL", "ID", id);
  return ids.length;
}

await integration(
  "RedisKeyValue.applyFenced() rejects a batch with a failing op without writing any of it",
  [REDIS],
  async () => {
    const { kv, cleanup } = open();
    try {
      await kv.apply([{ op: "set", key: "text", value: "not a number" }]);
      await assert.rejects(
        () =>
          kv.applyFenced({ key: "fence", epoch: 1, offset: 5 }, [
            { op: "incrby", key: "count", by: 3 },
            { op: "incrby", key: "text", by: 1 },
          ]),
        /needs an integer value/,
      );
      assert.deepEqual(await kv.get("count"), null);
      assert.deepEqual(await kv.hgetall("fence"), {});
      // The same rule holds for a value the batch itself wrote.
      await assert.rejects(
        () =>
          kv.applyFenced({ key: "fence", epoch: 1, offset: 5 }, [
            { op: "set", key: "fresh", value: "1.5" },
            { op: "incrby", key: "fresh", by: 1 },
          ]),
        /needs an integer value/,
      );
      assert.deepEqual(await kv.get("fresh"), null);
      assert.deepEqual(
        await kv.applyFenced({ key: "fence", epoch: 1, offset: 5 }, [
          { op: "set", key: "fresh", value: "7" },
          { op: "incrby", key: "fresh", by: 1 },
          { op: "hset", key: "h", field: "a", value: "b" },
        ]),
        "applied",
      );
      assert.deepEqual(await kv.get("fresh"), "8");
      await assert.rejects(
        () =>
          kv.applyFenced({ key: "fence", epoch: 1, offset: 6 }, [
            { op: "zadd", key: "z", member: "m", score: 1 },
            { op: "zincrby", key: "h", member: "m", by: 1 },
          ]),
        /needs a sorted set but the key holds a hash/,
      );
      assert.deepEqual(await kv.zrevrange("z", 0, -1), []);
    } finally {
      await cleanup();
    }
  },
);

await integration(
  "RedisKeyValue.applyFenced() carries thousands of ops in one batch",
  [REDIS],
  async () => {
    const { kv, cleanup } = open();
    try {
      const ops = Array.from({ length: 5000 }, (_, i) => ({
        op: "zincrby" as const,
        key: "board",
        member: `m${i % 100}`,
        by: 1,
      }));
      assert.deepEqual(
        await kv.applyFenced({ key: "fence", epoch: 1, offset: 0 }, ops),
        "applied",
      );
      const top = await kv.zrevrange("board", 0, 0);
      assert.deepEqual(top[0]?.score, 50);
    } finally {
      await cleanup();
    }
  },
);

await integration(
  "RedisKeyValue.applyFenced() keeps working after its connection is killed between batches",
  [REDIS],
  async () => {
    const name = uniqueName("freshet-reconnect");
    const { kv, admin, cleanup } = open(name);
    try {
      const { epoch } = await kv.claimFence("fence");
      assert.deepEqual(
        await kv.applyFenced({ key: "fence", epoch, offset: 1 }, [
          { op: "incrby", key: "n", by: 1 },
        ]),
        "applied",
      );
      assert.deepEqual(await killConnection(admin, name), 1);
      assert.deepEqual(
        await kv.applyFenced({ key: "fence", epoch, offset: 2 }, [
          { op: "incrby", key: "n", by: 1 },
        ]),
        "applied",
      );
      // A re-sent batch is answered duplicate, not applied twice.
      assert.deepEqual(
        await kv.applyFenced({ key: "fence", epoch, offset: 2 }, [
          { op: "incrby", key: "n", by: 1 },
        ]),
        "duplicate",
      );
      assert.deepEqual(await kv.get("n"), "2");
    } finally {
      await cleanup();
    }
  },
);

await integration(
  "RedisKeyValue.applyFenced() reloads its script after the server forgot it",
  [REDIS],
  async () => {
    const { kv, admin, cleanup } = open();
    try {
      assert.deepEqual(
        await kv.applyFenced({ key: "fence", epoch: 1, offset: 1 }, [
          { op: "set", key: "s", value: "a" },
        ]),
        "applied",
      );
      // What a restart does to the script cache, without restarting a shared server.
      await admin.script("FLUSH");
      assert.deepEqual(
        await kv.applyFenced({ key: "fence", epoch: 1, offset: 2 }, [
          { op: "set", key: "s", value: "b" },
        ]),
        "applied",
      );
      assert.deepEqual(await kv.get("s"), "b");
    } finally {
      await cleanup();
    }
  },
);
