/**
 * Moved to `kafka/common.ts` and `kafka/errors.ts`; this path re-exports them.
 *
 * @module
 */

export * from "./kafka/common.ts";
export { isRebalanceError, kafkaErrorType } from "./kafka/errors.ts";
