/**
 * {@linkcode Log} on Apache Kafka (kafkajs 2.2.4). The adapter lives in
 * `kafka/`, one concern per file: `log.ts` (the `Log`), `transaction.ts` and
 * `producers.ts` (transactions), `consumer.ts` (consumer groups),
 * `read_range.ts`, `visibility.ts`, `errors.ts`, `codecs.ts`, `common.ts`,
 * `batches.ts` (requests under the broker's size limit) and
 * `request_queue.ts` (a fix of kafkajs's idle polling).
 * Fencing is the ports' `FencedError`.
 *
 * @module
 */

export { KafkaLog, type KafkaLogOptions } from "./kafka/log.ts";
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  MessageTooLargeError,
} from "./kafka/batches.ts";
export { isRetriableKafkaError } from "./kafka/errors.ts";
export { MAX_OFFSET_METADATA_LENGTH } from "./kafka/transaction.ts";
export type { KafkaConsumerOptions } from "./kafka/consumer.ts";
export type { KafkaLogSink } from "./kafka/common.ts";
