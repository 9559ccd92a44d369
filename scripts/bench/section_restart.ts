/**
 * Benchmark 5: restart-to-resume time after a crash (see `restart.ts`), with
 * the default consumer settings and, for comparison, with the session
 * timeouts freshet used before (10 s in the adapter, 30 s in `run`).
 *
 * @module
 */

import {
  measureRestart,
  RESTART_PARTITIONS,
  type RestartTiming,
} from "./restart.ts";
import { loadAverage } from "./machine.ts";
import { type Section, table } from "./report.ts";
import { fmt, median } from "./stats.ts";

export const RESTART_TITLE = "5. Restart to resume after a crash";

/** Most seconds from a SIGKILL until a restarted instance consumes every partition again. */
export const RESTART_TARGET_S = 10;

/** Session timeouts measured for comparison (the former defaults). */
const FORMER_SESSIONS_MS = [10_000, 30_000];

/** Options of {@linkcode restartSection}. */
export interface RestartSectionOptions {
  /** Kill-and-restart runs with the defaults. */
  runs: number;
  /** Whether to measure the former session timeouts too (one run each). */
  compare: boolean;
  log: (line: string) => void;
}

/** Runs benchmark 5 and writes its section. */
export async function restartSection(
  options: RestartSectionOptions,
): Promise<Section> {
  const load_before = loadAverage();
  const runs: RestartTiming[] = [];
  for (let i = 0; i < options.runs; i++) {
    options.log(`restart: default settings, run ${i + 1} of ${options.runs}`);
    runs.push(await measureRestart({ log: options.log }));
  }
  const former: RestartTiming[] = [];
  if (options.compare) {
    for (const session_timeout_ms of FORMER_SESSIONS_MS) {
      options.log(`restart: session timeout ${session_timeout_ms} ms`);
      former.push(
        await measureRestart({ session_timeout_ms, log: options.log }),
      );
    }
  }
  const seconds = (ms: number) => `${fmt(ms / 1000, 1)} s`;
  const resumed = median(runs.map((r) => r.resumed_ms));
  const slowest = Math.max(...runs.map((r) => r.resumed_ms));
  const baseline = former.find((r) => r.session_timeout_ms === 30_000);
  const row = (label: string, r: RestartTiming) => [
    label,
    seconds(r.started_ms),
    seconds(r.assigned_ms),
    seconds(r.resumed_ms),
  ];
  return {
    title: RESTART_TITLE,
    verdict: slowest < RESTART_TARGET_S * 1000 ? "pass" : "short",
    summary: {
      baseline: baseline === undefined
        ? "–"
        : `session 30 s (former \`run\` default): ${
          seconds(baseline.resumed_ms)
        }`,
      candidate: `defaults: ${
        seconds(resumed)
      } (median of ${runs.length}, slowest ${seconds(slowest)})`,
      ratio: baseline === undefined
        ? "–"
        : `${fmt(resumed / baseline.resumed_ms, 2)}× the time`,
      target: `< ${RESTART_TARGET_S} s`,
    },
    body: [
      `An instance of \`run --prod --job views\` owns all ${RESTART_PARTITIONS} partitions of a topic receiving 400 views/s; it is SIGKILLed (so it never leaves its consumer group) and a new instance is started at once, as a supervisor would. Times are from the kill: until the new process has started its job (Deno start-up, loading, checking the services, creating topics), until it owns every partition, and until every partition is consumed again (its Redis fence moved past the dead instance's epoch and offset).`,
      "",
      ...table(
        ["settings", "job started", "partitions assigned", "consumed again"],
        [
          ...runs.map((r, i) => row(`defaults, run ${i + 1}`, r)),
          ...former.map((r) =>
            row(`session timeout ${fmt(r.session_timeout_ms! / 1000)} s`, r)
          ),
        ],
      ),
      "",
      `Load average (1/5/15 min) before and after these runs: ${load_before}, then ${loadAverage()}; on a busy machine the new process starts slowly (Deno start-up and loading the service clients), and that, not the group, is then most of the wait.`,
      "",
      "The group hands the dead member's partitions on only when its session expires (or, once another member joins, after the rebalance timeout, 20 s, whichever comes first), so the session timeout is most of the wait. The default is now 6 s, the least a broker accepts by default (`group.min.session.timeout.ms`), with a heartbeat every second; partitions restore in parallel once assigned. A shorter wait needs a broker configured to allow shorter sessions (`--session-timeout-ms`).",
    ],
  };
}
