/**
 * What a failed call to a service means for the one who made it, for every
 * production adapter (kafkajs, ioredis, the AWS SDK):
 *
 * - **unreachable**: the service is down, the address is wrong, or the
 *   network dropped (connection refused or reset, a timeout, an HTTP 5xx, a
 *   Kafka error Kafka calls retriable). It may work later: retry with
 *   back-off, and resume when it answers again.
 * - **credentials**: the service answered, and refused who we are (a wrong
 *   S3 secret or key, a Redis password, a Kafka SASL failure or ACL). Waiting
 *   cannot fix it: fail fast with a message naming what to check.
 * - **refused**: the service refused the request for what it is (a message
 *   too large, an invalid record, a missing bucket, a script error). Sending it
 *   again cannot help.
 * - **unknown**: anything else (a bug, an error of a kind not listed here).
 *
 * @module
 */

import { FencedError } from "../ports.ts";
import { isRetriableKafkaError } from "./kafka/errors.ts";

/** See the module doc. */
export type FailureKind = "unreachable" | "credentials" | "refused" | "unknown";

/** Network error codes of Node (and Deno's Node layer) that mean "try later". */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

/** Error names that mean the connection, not the request, failed. */
const NETWORK_NAMES = new Set([
  // ioredis
  "MaxRetriesPerRequestError",
  // AWS SDK
  "TimeoutError",
  "RequestTimeout",
  "ServiceUnavailable",
  "SlowDown",
  "InternalError",
  // kafkajs
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSLockTimeout",
  "KafkaJSTimeout",
]);

/** S3 error codes (names) that say the credentials or the access are wrong. */
const S3_CREDENTIAL_NAMES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired",
  "CredentialsProviderError",
]);

/** Kafka error types that say the credentials or the access are wrong. */
const KAFKA_CREDENTIAL_TYPES = new Set([
  "SASL_AUTHENTICATION_FAILED",
  "ILLEGAL_SASL_STATE",
  "UNSUPPORTED_SASL_MECHANISM",
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);

/** Redis reply prefixes that say the credentials are wrong. */
const REDIS_CREDENTIAL_PREFIXES = ["NOAUTH", "WRONGPASS", "NOPERM"];

/** Redis reply prefixes of a server that is busy or starting: try later. */
const REDIS_BUSY_PREFIXES = [
  "LOADING",
  "BUSY",
  "TRYAGAIN",
  "MASTERDOWN",
  "CLUSTERDOWN",
];

/** The chain of an error and its causes (at most 8 deep). */
function chain(error: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (
    let e = error;
    typeof e === "object" && e !== null && out.length < 8;
    e = (e as { cause?: unknown }).cause
  ) {
    if (out.includes(e as Record<string, unknown>)) break;
    out.push(e as Record<string, unknown>);
  }
  return out;
}

function httpStatus(e: Record<string, unknown>): number | undefined {
  const metadata = e.$metadata as { httpStatusCode?: unknown } | undefined;
  const status = metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

function isKafkaJsError(e: Record<string, unknown>): boolean {
  return typeof e.name === "string" && e.name.startsWith("KafkaJS");
}

/** What a failure of a call to a service means (see the module doc). */
export function failureKind(error: unknown): FailureKind {
  if (error instanceof FencedError) return "refused";
  const errors = chain(error);
  for (const e of errors) {
    const name = typeof e.name === "string" ? e.name : "";
    const message = typeof e.message === "string" ? e.message : "";
    if (S3_CREDENTIAL_NAMES.has(name)) return "credentials";
    if (typeof e.type === "string" && KAFKA_CREDENTIAL_TYPES.has(e.type)) {
      return "credentials";
    }
    if (name === "KafkaJSSASLAuthenticationError") return "credentials";
    if (REDIS_CREDENTIAL_PREFIXES.some((p) => message.startsWith(p))) {
      return "credentials";
    }
  }
  for (const e of errors) {
    const name = typeof e.name === "string" ? e.name : "";
    const message = typeof e.message === "string" ? e.message : "";
    if (name === "MessageTooLargeError") return "refused";
    if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) {
      return "unreachable";
    }
    if (NETWORK_NAMES.has(name)) return "unreachable";
    if (message === "Connection is closed.") return "unreachable";
    if (REDIS_BUSY_PREFIXES.some((p) => message.startsWith(p))) {
      return "unreachable";
    }
    const status = httpStatus(e);
    if (status !== undefined) {
      if (status >= 500 || status === 408 || status === 429) {
        return "unreachable";
      }
      if (status === 401 || status === 403) return "credentials";
      return "refused";
    }
  }
  if (errors.some(isKafkaJsError)) {
    return isRetriableKafkaError(error) ? "unreachable" : "refused";
  }
  for (const e of errors) {
    // ioredis answers a command the server refused with a ReplyError.
    if (e.name === "ReplyError") return "refused";
  }
  return "unknown";
}

/**
 * Whether a failed write may be retried (the runner's `is_transient`): every
 * failure but fencing, refused requests and wrong credentials. Failures of
 * unknown kind are retried, as the runner does by default.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof FencedError) return false;
  const kind = failureKind(error);
  return kind === "unreachable" || kind === "unknown";
}

/** Whether a failure says a service is unreachable (see the module doc). */
export function isUnreachable(error: unknown): boolean {
  return failureKind(error) === "unreachable";
}
