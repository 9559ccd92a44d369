/**
 * Moved to `kafka/codecs.ts`; this path re-exports it.
 *
 * @module
 */

export * from "./kafka/codecs.ts";
