/**
 * What the Kafka benchmarks share: one topic filled with the fixture once
 * per run (plus the `views` job's side-output topics), the raw kafkajs
 * baseline measured on it, and the runner's maximum rate.
 *
 * @module
 */

import { deadLetterTopic, lateTopic } from "../../src/sinks/side_topics.ts";
import { consumeRaw, type ConsumeTiming } from "./consume.ts";
import { FIXTURE_PARTITIONS, placedMessages } from "./fixture.ts";
import {
  createTopics,
  deleteGroups,
  deleteTopics,
  fillTopic,
  uniqueName,
} from "./services.ts";
import { median, perSecond } from "./stats.ts";

/** The filled topic and measurements shared between benchmarks 2 to 4. */
export class KafkaContext {
  readonly topic: string;
  readonly partitions = FIXTURE_PARTITIONS;
  /** Messages in the topic. */
  readonly count: number;
  readonly fill_ms: number;
  /** Raw kafkajs reads of the topic (benchmark 2's baseline). */
  readonly raw: ConsumeTiming[] = [];
  /** Median steady rate of the runner (benchmark 3), records/s. */
  runner_rate: number | null = null;

  private constructor(topic: string, count: number, fill_ms: number) {
    this.topic = topic;
    this.count = count;
    this.fill_ms = fill_ms;
  }

  /** Creates a new topic and fills it with the first `limit` fixture records. */
  static async open(text: string, limit: number): Promise<KafkaContext> {
    const topic = uniqueName("bench-views");
    const messages = placedMessages(text, limit);
    await createTopics(
      [topic, deadLetterTopic(topic), lateTopic(topic)],
      FIXTURE_PARTITIONS,
    );
    const fill_ms = await fillTopic(topic, messages);
    return new KafkaContext(topic, messages.length, fill_ms);
  }

  /** Median steady rate of the raw reads; measures `runs` reads when none was made. */
  async rawRate(runs: number): Promise<number> {
    if (this.raw.length === 0) {
      await consumeRaw(this.topic, this.count);
      for (let i = 0; i < runs; i++) {
        this.raw.push(await consumeRaw(this.topic, this.count));
      }
    }
    return median(this.raw.map((r) => perSecond(r.count, r.steady_ms)));
  }

  /** Deletes the topics and the consumer groups the benchmarks created. */
  async close(): Promise<void> {
    await deleteTopics([
      this.topic,
      deadLetterTopic(this.topic),
      lateTopic(this.topic),
    ]);
    await deleteGroups();
  }
}
