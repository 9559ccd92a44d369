/**
 * Offsets of a topic by time (Kafka's ListOffsets with a timestamp, as the
 * Java consumer's `offsetsForTimes`): where `freshet record --since` starts.
 * Not in the `Log` port, which the simulator's twin implements: only the
 * command line asks it, of a real broker.
 *
 * @module
 */

import { Kafka, logLevel } from "kafkajs";
import { kafkaLogCreator } from "./common.ts";

/** Options of {@linkcode offsetsForTime}. */
export interface OffsetsForTimeOptions {
  /** `host:port` of the broker listeners. */
  brokers: string[];
  /** Default: `"freshet"`. */
  clientId?: string;
}

/**
 * Per partition of `topic`, in partition order, the first offset whose
 * record timestamp is at or after `time_ms`; the partition's end offset when
 * no record is that recent. The topic must exist (kafkajs retries an unknown
 * one for a long time: check first).
 */
export async function offsetsForTime(
  options: OffsetsForTimeOptions,
  topic: string,
  time_ms: number,
): Promise<number[]> {
  if (!Number.isSafeInteger(time_ms) || time_ms < 0) {
    throw new RangeError(
      `Cannot look up offsets by time as 'time_ms' must be epoch milliseconds: current value is ${time_ms}`,
    );
  }
  const kafka = new Kafka({
    clientId: options.clientId ?? "freshet",
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(),
    retry: { initialRetryTime: 100, retries: 5 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, time_ms);
    return offsets
      .sort((a, b) => a.partition - b.partition)
      .map(({ offset }) => Number(offset));
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
