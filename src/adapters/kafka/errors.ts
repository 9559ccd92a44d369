/**
 * What a kafkajs error means for the adapter: its Kafka error type, whether
 * it is a rebalance, a fencing or a coordinator that is still busy.
 *
 * @module
 */

import { FencedError } from "../../ports.ts";

/** Kafka error type of a kafkajs error (also looks into its cause). */
export function kafkaErrorType(error: unknown): string | undefined {
  for (
    let e = error;
    typeof e === "object" && e !== null;
    e = (e as { cause?: unknown }).cause
  ) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === "string") return type;
  }
  return undefined;
}

/** Errors that mean the consumer group is rebalancing or this member is stale. */
export function isRebalanceError(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type === "REBALANCE_IN_PROGRESS" || type === "ILLEGAL_GENERATION" ||
    type === "UNKNOWN_MEMBER_ID" || type === "NOT_COORDINATOR" ||
    type === "COORDINATOR_NOT_AVAILABLE";
}

/**
 * Whether a newer producer with the same transactional id took over. Kafka
 * says PRODUCER_FENCED to new clients and INVALID_PRODUCER_EPOCH to the old
 * protocol versions kafkajs speaks; both come from every transactional
 * request of a fenced producer (produce, AddPartitionsToTxn, AddOffsetsToTxn,
 * TxnOffsetCommit, EndTxn). The broker also bumps the epoch when it aborts a
 * transaction that outlived its timeout, so such a transaction looks fenced
 * too; the protocol versions kafkajs speaks cannot tell the two apart.
 */
export function isFencing(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type === "PRODUCER_FENCED" || type === "INVALID_PRODUCER_EPOCH";
}

/**
 * The transaction coordinator is still finishing the previous transaction of
 * this id (writing its markers): the request had no effect and may be sent
 * again.
 */
export function isConcurrentTransactions(error: unknown): boolean {
  return kafkaErrorType(error) === "CONCURRENT_TRANSACTIONS";
}

/** The {@linkcode FencedError} for a fenced `action` of transaction `id`. */
export function fencedError(
  id: string,
  action: string,
  cause?: unknown,
): FencedError {
  const type = kafkaErrorType(cause);
  return new FencedError(
    `Cannot ${action} transaction '${id}' as a newer producer with the same transactional id fenced it${
      type === undefined ? "" : ` (${type})`
    }`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Whether a failed Kafka call may succeed when made again: a connection
 * refused or lost, a timeout, a leader moving, a coordinator loading are;
 * a request the broker refused for what it is (MESSAGE_TOO_LARGE,
 * INVALID_RECORD, RECORD_LIST_TOO_LARGE, INVALID_TIMESTAMP, an authorization
 * or authentication failure, an unsupported version), a fencing, or a
 * message over the limit refused before sending are not.
 *
 * kafkajs marks each protocol error with Kafka's own retriable flag and wraps
 * errors (a retrier gives up with `KafkaJSNumberOfRetriesExceeded`, whose
 * cause is the last error): the innermost error that carries the flag
 * decides. Errors kafkajs does not know about count as retriable.
 */
export function isRetriableKafkaError(error: unknown): boolean {
  if (isFencing(error)) return false;
  let decided: boolean | undefined;
  for (
    let e = error;
    typeof e === "object" && e !== null;
    e = (e as { cause?: unknown }).cause
  ) {
    if (e instanceof FencedError) return false;
    if ((e as { name?: unknown }).name === "MessageTooLargeError") return false;
    const retriable = (e as { retriable?: unknown }).retriable;
    if (typeof retriable === "boolean") decided = retriable;
    if ((e as { cause?: unknown }).cause === e) break;
  }
  return decided ?? true;
}
