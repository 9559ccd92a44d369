/**
 * Moved to `kafka/consumer.ts`; this path re-exports it.
 *
 * @module
 */

export * from "./kafka/consumer.ts";
