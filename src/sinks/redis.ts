/**
 * The fenced Redis sink: exactly once by fencing each batch.
 *
 * Protocol (`per-batch`):
 * - on taking an input partition, the writer claims the partition's fence
 *   (`KeyValue.claimFence`): the stored epoch is bumped, so batches of any
 *   older owner are answered `fenced` from then on, and the stored offset
 *   tells how far the sink already got (`durable_through`); the runner
 *   replays from its checkpoint and drops this sink's outputs up to there;
 * - every batch is applied as one fenced batch (one Lua script in Redis):
 *   written atomically, and only if its position is newer than the stored
 *   one, so a batch applied before a crash is never applied twice;
 * - a `fenced` answer stops the task for good: a newer owner has the
 *   partition.
 *
 * The fence lives in the store itself (`freshet:fence:<job>:<topic>:<partition>`),
 * next to the outputs it guards. A batch's writes are combined first
 * ({@linkcode KvBatch}): many increments of a key become one command.
 *
 * @module
 */

import { FencedError } from "../ports.ts";
import { KvBatch } from "./kv_batch.ts";
import {
  missingPort,
  type Sink,
  type SinkContext,
  type SinkWriter,
} from "./sink.ts";

/** Options of {@linkcode redisSink}. */
export interface RedisSinkOptions {
  /** Unique within the job. Default: `"redis"`. */
  name?: string;
}

/** Key of the fence of a job's input partition. */
export function fenceKey(
  job: string,
  topic: string,
  partition: number,
): string {
  return `freshet:fence:${job}:${topic}:${partition}`;
}

/** A Redis sink written in fenced batches; see the module documentation. */
export function redisSink(options: RedisSinkOptions = {}): Sink<KvBatch> {
  const name = options.name ?? "redis";
  return {
    name,
    protocol: "per-batch",
    buffer: () => new KvBatch(),
    isEmpty: (batch) => batch.isEmpty(),
    async open(context: SinkContext): Promise<SinkWriter<KvBatch>> {
      const kv = context.ports.kv;
      if (kv === undefined) throw missingPort(name, "kv");
      const key = fenceKey(context.job, context.topic, context.partition);
      const fence = await kv.claimFence(key);
      return {
        durable_through: fence.offset,
        async write(batch, position) {
          const result = await kv.applyFenced(
            { key, epoch: fence.epoch, offset: position },
            batch.ops(),
          );
          if (result === "fenced") {
            throw new FencedError(
              `Cannot write to sink '${name}' for job '${context.job}' partition ${context.partition} as epoch ${fence.epoch} was fenced by a newer owner`,
            );
          }
        },
        prepare: () => Promise.resolve({ fence_key: key }),
        commit: () => Promise.resolve(),
        close: () => Promise.resolve(),
      };
    },
  };
}
