/**
 * `/healthz` and `/readyz`.
 *
 * - `/healthz` answers 200 `{"status": "up"}` while the process serves: a
 *   liveness probe, it checks nothing else.
 * - `/readyz` runs every readiness check at once and answers 200 when all
 *   pass, else 503; the body lists each check with `ok` and, when failing,
 *   why: `{"ready": false, "checks": [{"name", "ok", "reason"?}]}`. A check
 *   that throws or outlasts `timeout_ms` fails with that as its reason.
 *
 * Checks are plugged in by whoever starts the server (services reachable,
 * partitions assigned); ready-made ones for the ports are below.
 *
 * @module
 */

import type { Clock, KeyValue, Log } from "../ports.ts";
import type { JobsProvider } from "../metrics/job_status.ts";
import type { BatchingProducer } from "./batching_producer.ts";
import { json } from "./json_response.ts";

/**
 * One readiness check: resolves `true` (or nothing) when ready; `false` or a
 * string (the reason) when not; throwing also means not ready.
 */
export interface ReadinessCheck {
  /** Shown in the answer, e.g. `"kafka"`. */
  name: string;
  check: () => Promise<boolean | string | void> | boolean | string | void;
}

/** The result of one check. */
export interface CheckResult {
  name: string;
  ok: boolean;
  reason?: string;
}

/** Options of {@linkcode readiness}. */
export interface ReadinessOptions {
  /** For the timeout. */
  clock: Clock;
  /** Longest a check may take. Default: 2000. */
  timeout_ms?: number;
}

/** Runs `checks` at once and answers `/readyz`. */
export async function readiness(
  checks: readonly ReadinessCheck[],
  options: ReadinessOptions,
): Promise<Response> {
  const timeout_ms = options.timeout_ms ?? 2000;
  const results = await Promise.all(
    checks.map((c) => runCheck(c, options.clock, timeout_ms)),
  );
  const ready = results.every((r) => r.ok);
  return json(ready ? 200 : 503, { ready, checks: results });
}

async function runCheck(
  check: ReadinessCheck,
  clock: Clock,
  timeout_ms: number,
): Promise<CheckResult> {
  let timedOut = false;
  const timeout = clock.sleep(timeout_ms).then(() => {
    timedOut = true;
    return `no answer within ${timeout_ms} ms`;
  });
  try {
    const verdict = await Promise.race([
      Promise.resolve().then(() => check.check()),
      timeout,
    ]);
    if (timedOut) {
      return { name: check.name, ok: false, reason: verdict as string };
    }
    if (verdict === undefined || verdict === true) {
      return { name: check.name, ok: true };
    }
    return {
      name: check.name,
      ok: false,
      reason: verdict === false ? "not ready" : String(verdict),
    };
  } catch (error) {
    return {
      name: check.name,
      ok: false,
      reason: error instanceof Error ? error.message : String(error),
    };
  }
}

/** `/healthz`: the process is up. */
export function liveness(): Response {
  return json(200, { status: "up" });
}

/** Ready when the log answers for `topic` (it exists and a broker replies). */
export function logReachable(log: Log, topic: string): ReadinessCheck {
  return {
    name: "log",
    check: async () => {
      await log.partitionCount(topic);
    },
  };
}

/** Ready when the key-value store answers a read. */
export function kvReachable(kv: KeyValue): ReadinessCheck {
  return {
    name: "kv",
    check: async () => {
      await kv.get("freshet:readyz");
    },
  };
}

/** Not ready while `/track`'s producer refuses sends after a log failure. */
export function producerAvailable(producer: BatchingProducer): ReadinessCheck {
  return {
    name: "track-producer",
    check: () =>
      producer.available() ||
      "the log failed recently: /track refuses events until the backoff ends",
  };
}

/**
 * Ready when every job runs and owns at least one partition (an instance of a
 * group with more instances than partitions owns none: leave this check out
 * there).
 */
export function partitionsAssigned(jobs: JobsProvider): ReadinessCheck {
  return {
    name: "partitions",
    check: async () => {
      const snapshot = await jobs();
      const waiting = snapshot.jobs.filter((j) =>
        j.state !== "running" || j.partitions.length === 0
      );
      if (waiting.length === 0) return true;
      return `jobs without assigned partitions or not running: ${
        waiting.map((j) => `${j.job} (${j.state})`).join(", ")
      }`;
    },
  };
}
