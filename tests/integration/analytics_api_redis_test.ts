/**
 * The analytics query API over the real Redis adapter: the keys the job
 * writes (through a fenced batch, as its sink does) read back as the API
 * documents.
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisKeyValue } from "../../src/adapters/redis.ts";
import {
  KEYS_KEY,
  latestKey,
  windowKey,
  windowsKey,
} from "../../src/jobs/analytics/keys.ts";
import { HttpApp } from "../../src/http/app.ts";
import type { Clock, KvOp } from "../../src/ports.ts";
import { integration, REDIS, REDIS_URL, uniqueName } from "./services.ts";

const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);

await integration(
  "the analytics API reads the job's windows and Top-N from Redis",
  [REDIS],
  async () => {
    const prefix = `${uniqueName("analytics-api")}:`;
    const kv = new RedisKeyValue(REDIS_URL, { keyPrefix: prefix });
    const clock: Clock = {
      now: () => NOW_MS,
      sleep: () => Promise.resolve(),
    };
    try {
      const ops: KvOp[] = [];
      for (
        const [id, counts] of [["click", [3, 4, 5]], ["view", [
          8,
          1,
          2,
        ]]] as const
      ) {
        counts.forEach((count, i) => {
          const end = NOW_MS - (2 - i) * 10_000;
          const start = end - 30_000;
          const fields = {
            event_id: id,
            window_start: new Date(start).toISOString(),
            window_end: new Date(end).toISOString(),
            count: String(count),
            sum: String(count * 1.5),
            min: "0.5",
            max: "2.25",
          };
          for (const [field, value] of Object.entries(fields)) {
            ops.push({ op: "hset", key: windowKey(id, start), field, value });
            ops.push({ op: "hset", key: latestKey(id), field, value });
          }
          ops.push({ op: "pexpire", key: windowKey(id, start), ms: 60_000 });
          ops.push({
            op: "zadd",
            key: windowsKey(id),
            member: fields.window_start,
            score: end,
          });
          ops.push({ op: "zadd", key: KEYS_KEY, member: id, score: count });
        });
      }
      const { epoch } = await kv.claimFence("fence");
      assert.equal(
        await kv.applyFenced({ key: "fence", epoch, offset: 0 }, ops),
        "applied",
      );
      const app = await HttpApp.create({ clock, kv });
      const get = async (path: string) => {
        const response = await app.handler(
          new Request(`http://127.0.0.1${path}`),
        );
        assert.equal(response.status, 200, path);
        return await response.json();
      };
      const keys = await get("/api/analytics/keys");
      assert.deepEqual(
        keys.keys.map((k: { event_id: string; count: number }) => [
          k.event_id,
          k.count,
        ]),
        [["click", 5], ["view", 2]],
      );
      assert.equal(keys.keys[0].latest.sum, 7.5);
      const windows = await get(
        `/api/analytics/click/windows?from=${NOW_MS - 10_000}`,
      );
      assert.deepEqual(windows.windows, [
        {
          event_id: "click",
          window_start: "2026-01-15T11:59:20.000Z",
          window_end: "2026-01-15T11:59:50.000Z",
          window_end_ms: NOW_MS - 10_000,
          count: 4,
          sum: 6,
          min: 0.5,
          max: 2.25,
        },
        {
          event_id: "click",
          window_start: "2026-01-15T11:59:30.000Z",
          window_end: "2026-01-15T12:00:00.000Z",
          window_end_ms: NOW_MS,
          count: 5,
          sum: 7.5,
          min: 0.5,
          max: 2.25,
        },
      ]);
    } finally {
      await kv.close();
      const admin = new Redis(REDIS_URL);
      try {
        const keys = await admin.keys(`${prefix}*`);
        if (keys.length > 0) await admin.del(...keys);
      } finally {
        await admin.quit();
      }
    }
  },
);
