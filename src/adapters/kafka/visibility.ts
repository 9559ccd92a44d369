/**
 * Waits until what a committed transaction wrote can be read back. Kafka
 * answers EndTxn once the outcome is decided and writes the commit markers
 * afterwards: until the marker reaches a partition, read_committed readers
 * stop before the transaction's records (and an aborted transaction still
 * holds back later plain records); until it reaches the consumer offsets
 * partition, the group's committed offsets are the old ones.
 *
 * @module
 */

import type { Admin } from "kafkajs";

/** Offset and metadata sent for one partition. */
export interface SentOffset {
  offset: number;
  metadata: string | null;
}

/** What one transaction wrote, to wait for. */
export interface TransactionWrites {
  /** First offset the transaction wrote, by topic, then partition. */
  records: Map<string, Map<number, number>>;
  /** Offsets it sent, by group, topic, then partition (the last sent wins). */
  offsets: Map<string, Map<string, Map<number, SentOffset>>>;
}

/** Nothing written yet. */
export function noWrites(): TransactionWrites {
  return { records: new Map(), offsets: new Map() };
}

const POLL_MS = 10;

/**
 * Resolves once every partition's last stable offset has passed the
 * transaction's first offset there, and every group answers the sent offsets;
 * or once `wait_ms` have passed (another producer's open transaction may hold
 * a partition back, a later commit may replace an offset). Never throws for
 * the time limit: the commit already happened.
 */
export async function awaitWritesVisible(
  admin: Admin,
  writes: TransactionWrites,
  wait_ms: number,
): Promise<void> {
  if (wait_ms <= 0) return;
  const deadline = Date.now() + wait_ms;
  const pause = () => new Promise((resolve) => setTimeout(resolve, POLL_MS));
  for (const [topic, partitions] of writes.records) {
    while (Date.now() < deadline) {
      const stable = await admin.fetchTopicOffsets(topic);
      const passed = [...partitions].every(([partition, first]) =>
        Number(stable.find((s) => s.partition === partition)?.offset ?? -1) >
          first
      );
      if (passed) break;
      await pause();
    }
  }
  for (const [groupId, topics] of writes.offsets) {
    for (const [topic, sent] of topics) {
      while (Date.now() < deadline) {
        const answer = await admin.fetchOffsets({ groupId, topics: [topic] });
        const found = answer.find((t) => t.topic === topic)?.partitions ?? [];
        const arrived = [...sent].every(([partition, { offset, metadata }]) => {
          const now = found.find((p) => p.partition === partition);
          return now !== undefined && Number(now.offset) === offset &&
            (now.metadata || null) === metadata;
        });
        if (arrived) break;
        await pause();
      }
    }
  }
}
