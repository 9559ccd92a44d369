/**
 * {@linkcode Log} on Apache Kafka (kafkajs 2.2.4). The adapter lives in
 * `kafka/`, one concern per file: `log.ts` (the `Log`), `transaction.ts` and
 * `producers.ts` (transactions), `consumer.ts` (consumer groups),
 * `read_range.ts`, `visibility.ts`, `errors.ts`, `codecs.ts`, `common.ts`.
 * Fencing is the ports' `FencedError`.
 *
 * @module
 */

export { KafkaLog, type KafkaLogOptions } from "./kafka/log.ts";
export { MAX_OFFSET_METADATA_LENGTH } from "./kafka/transaction.ts";
export type { KafkaConsumerOptions } from "./kafka/consumer.ts";
export type { KafkaLogSink } from "./kafka/common.ts";
