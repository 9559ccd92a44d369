/**
 * The production adapters, built from the service settings: Kafka, Redis
 * and S3 (and PostgreSQL when configured). Imported on demand so that `sim`
 * never loads the service clients.
 *
 * Besides the ports, {@linkcode Services} knows what a failure means and
 * says it in one line naming the service, its address and what to check
 * (`explain`), tells the runner what to retry (`is_transient`) and the
 * restart strategy what is an outage (`is_outage`), and waits for the
 * services before a job starts (`check`): retrying with back-off while one
 * is unreachable, failing fast on wrong credentials.
 *
 * @module
 */

import { type Config, ConfigError, redact } from "../adapters/config.ts";
import { failureKind, isTransient, isUnreachable } from "../adapters/outage.ts";
import { logger } from "../logging/setup.ts";
import type { Clock, KeyValue, Log, ObjectStore } from "../ports.ts";

/** The connected production services. */
export interface Services {
  /** Kafka (kafkajs), at `KAFKA_BROKERS`. */
  log: Log;
  /** Redis (ioredis), at `REDIS_URL`; keys carry `key_prefix`. */
  kv: KeyValue;
  /** S3 (the AWS SDK), the bucket `S3_BUCKET` at `S3_ENDPOINT`: checkpoints and files. */
  objects: ObjectStore;
  /** The wall clock. */
  clock: Clock;
  /** Whether a failed write may be retried (every failure but refusals). */
  is_transient: (error: unknown) => boolean;
  /** Whether a failure says a service is unreachable. */
  is_outage: (error: unknown) => boolean;
  /** A failure as one line: the service, its address and what to check. */
  explain(error: unknown): string;
  /**
   * Waits until every service answers (see {@linkcode checkServices});
   * answers false when `signal` aborted first.
   */
  check(signal?: AbortSignal): Promise<boolean>;
  /** Disconnects every client. */
  close(): Promise<void>;
}

/** Options of {@linkcode connectServices}. */
export interface ConnectOptions {
  /** Prefix of every Redis key the jobs write, fences included. Default: none. */
  key_prefix?: string;
  /** Kafka consumer group session timeout. Default: the adapter's. */
  session_timeout_ms?: number;
}

/** A service as `explain` names it. */
interface ServiceInfo {
  name: "Kafka" | "Redis" | "S3";
  address: string;
  /** What to check when it is unreachable. */
  unreachable: string;
  /** What to check when it refuses the credentials or the request. */
  refused: string;
}

const SERVICE = Symbol("freshet.service");

/** Builds the production adapters from `settings`. */
export async function connectServices(
  settings: Config,
  options: ConnectOptions = {},
): Promise<Services> {
  const { KafkaLog } = await import("../adapters/kafka.ts");
  const { RedisKeyValue } = await import("../adapters/redis.ts");
  const { S3ObjectStore } = await import("../adapters/s3.ts");
  const { SystemClock } = await import("../adapters/clock.ts");
  const brokers = settings.kafka().brokers;
  const redis_url = settings.redis().url;
  const s3 = settings.s3();
  const kafka: ServiceInfo = {
    name: "Kafka",
    address: brokers.join(","),
    unreachable:
      "check that the broker runs and that KAFKA_BROKERS names its listener",
    refused: "check the topic's settings and KAFKA_BROKERS",
  };
  const redis: ServiceInfo = {
    name: "Redis",
    address: redact(redis_url),
    unreachable: "check that redis-server runs and that REDIS_URL points to it",
    refused: "check the user and password in REDIS_URL",
  };
  const s3_info: ServiceInfo = {
    name: "S3",
    address: `${s3.endpoint} (bucket '${s3.bucket}')`,
    unreachable: "check that the server runs and that S3_ENDPOINT points to it",
    refused: "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and S3_BUCKET",
  };
  const log = new KafkaLog({
    brokers,
    consumer: options.session_timeout_ms === undefined
      ? {}
      : { session_timeout_ms: options.session_timeout_ms },
    // Jobs never read their own outputs back right after a commit (a new
    // owner's claim waits for pending commits itself), and with several
    // transactional producers writing to one topic, the others' open
    // transactions hold its last stable offset back: waiting for it made
    // each commit of the transactions job wait the full 2 s.
    txn_visible_wait_ms: 0,
  });
  const redisKv = new RedisKeyValue(redis_url, {
    keyPrefix: options.key_prefix ?? "",
  });
  const s3Objects = S3ObjectStore.fromConfig(s3);
  const kv = tagged(redisKv, redis);
  const objects = tagged(s3Objects, s3_info);
  const clock = new SystemClock();
  const serviceOf = (error: unknown): ServiceInfo | undefined => {
    const tag = typeof error === "object" && error !== null
      ? (error as { [SERVICE]?: ServiceInfo })[SERVICE]
      : undefined;
    if (tag !== undefined) return tag;
    const name = (error as { name?: unknown } | null)?.name;
    if (
      typeof name === "string" &&
      (name.startsWith("KafkaJS") || name === "MessageTooLargeError")
    ) return kafka;
    return undefined;
  };
  const explain = (error: unknown) => explainFailure(error, serviceOf(error));
  return {
    log,
    kv,
    objects,
    clock,
    is_transient: isTransient,
    is_outage: isUnreachable,
    explain,
    check: (signal) =>
      checkServices([
        {
          info: kafka,
          probe: () => log.ping(),
          tcp: brokers,
        },
        {
          info: redis,
          probe: () => kv.get("freshet:check").then(() => {}),
          tcp: [hostPort(redis_url, 6379)],
        },
        {
          info: s3_info,
          probe: () => objects.get("freshet-check/absent").then(() => {}),
          tcp: [hostPort(s3.endpoint, 443)],
        },
      ], { signal }),
    async close() {
      await log.close();
      await redisKv.close();
      await s3Objects.close();
    },
  };
}

/** One line for a failure of `service` (see the module doc). */
export function explainFailure(
  error: unknown,
  service: ServiceInfo | undefined,
): string {
  const detail = errorText(error);
  if (service === undefined) return detail;
  switch (failureKind(error)) {
    case "unreachable":
      return `${service.name} at ${service.address} is unreachable (${detail}): ${service.unreachable}`;
    case "credentials":
      return `${service.name} at ${service.address} refused the credentials (${detail}): ${service.refused}`;
    case "refused":
      return `${service.name} at ${service.address} refused a request (${detail}): ${service.refused}`;
    default:
      return `${service.name} at ${service.address}: ${detail}`;
  }
}

/** The innermost message worth showing: the first of the chain that says something. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message || error.name;
}

/**
 * `port` whose every method's failure is tagged with the service it came
 * from (the error itself is rethrown, so `instanceof` checks still hold).
 */
function tagged<T extends object>(port: T, info: ServiceInfo): T {
  return new Proxy(port, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          if (typeof error === "object" && error !== null) {
            try {
              Object.defineProperty(error, SERVICE, {
                value: info,
                configurable: true,
              });
            } catch {
              // A frozen error stays untagged.
            }
          }
          throw error;
        });
      };
    },
  });
}

function hostPort(url: string, fallback_port: number): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port ||
      (parsed.protocol === "http:" ? "80" : String(fallback_port));
    return `${parsed.hostname}:${port}`;
  } catch {
    return url;
  }
}

/** A service {@linkcode checkServices} waits for. */
export interface ServiceCheck {
  info: ServiceInfo;
  /** A cheap call that needs the service and the credentials. */
  probe(): Promise<void>;
  /**
   * `host:port` addresses, one of which must accept a TCP connection before
   * the probe (a quick "unreachable", where a client would retry for
   * seconds); none: probe at once.
   */
  tcp: string[];
}

/** Options of {@linkcode checkServices}. */
export interface CheckOptions {
  /** Gives up waiting (answers false). */
  signal?: AbortSignal;
  /** First wait between attempts, doubled up to `backoff_max_ms`. Default: 500. */
  backoff_ms?: number;
  /** Default: 10 000. */
  backoff_max_ms?: number;
  /** How often a service still unreachable is reported again. Default: 60 000. */
  report_every_ms?: number;
}

/**
 * Waits until each service accepts a TCP connection and answers its probe.
 * An unreachable service is reported in one line (again every
 * `report_every_ms`) and retried with back-off; wrong credentials or a
 * refused probe (a missing bucket) throw a {@linkcode ConfigError} at once.
 * Answers false when `signal` aborted first.
 */
export async function checkServices(
  checks: readonly ServiceCheck[],
  options: CheckOptions = {},
): Promise<boolean> {
  const log = logger("run");
  const signal = options.signal;
  for (const { info, probe, tcp } of checks) {
    let backoff_ms = options.backoff_ms ?? 500;
    let first_failure_ms: number | undefined;
    let reported_ms = -Infinity;
    for (;;) {
      if (signal?.aborted) return false;
      let failure: unknown;
      try {
        if (!(await anyAccepts(tcp))) {
          failure = Object.assign(
            new Error(`no connection to ${tcp.join(" or ")}`),
            { code: "ECONNREFUSED" },
          );
        } else await probe();
      } catch (error) {
        failure = error;
      }
      if (failure === undefined) {
        if (first_failure_ms !== undefined) {
          log.info("{service} at {address} is reachable again", {
            service: info.name,
            address: info.address,
            waited_ms: Date.now() - first_failure_ms,
          });
        }
        break;
      }
      const kind = failureKind(failure);
      if (kind !== "unreachable") {
        const variable = info.name === "S3"
          ? kind === "credentials" ? "AWS_SECRET_ACCESS_KEY" : "S3_BUCKET"
          : info.name === "Redis"
          ? "REDIS_URL"
          : "KAFKA_BROKERS";
        throw new ConfigError(variable, explainFailure(failure, info));
      }
      const now = Date.now();
      first_failure_ms ??= now;
      if (now - reported_ms >= (options.report_every_ms ?? 60_000)) {
        reported_ms = now;
        log.warn("{line}; retrying with back-off", {
          line: explainFailure(failure, info),
          service: info.name,
          waited_ms: now - first_failure_ms,
        });
      }
      await sleepUnless(backoff_ms, signal);
      backoff_ms = Math.min(backoff_ms * 2, options.backoff_max_ms ?? 10_000);
    }
  }
  return true;
}

async function anyAccepts(addresses: readonly string[]): Promise<boolean> {
  if (addresses.length === 0) return true;
  for (const address of addresses) {
    const colon = address.lastIndexOf(":");
    const hostname = address.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(colon + 1));
    if (colon === -1 || !Number.isInteger(port)) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Deno.connect({ hostname, port }).then(
      (conn) => conn,
      () => null,
    );
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), 2_000);
    });
    const conn = await Promise.race([connecting, timeout]);
    clearTimeout(timer);
    if (conn !== null) {
      conn.close();
      return true;
    }
    connecting.then((late) => late?.close());
  }
  return false;
}

function sleepUnless(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
