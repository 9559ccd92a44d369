/**
 * What `deno task run` (without `--prod`) runs on: in-process backends
 * instead of Kafka, Redis and S3. The simulator's twins are those backends,
 * and `src/` never imports `sim/`, so the entry point (`main.ts`) passes a
 * factory of them ({@linkcode EmbeddedBackendsFactory}); this module says
 * what it must give, and adapts it to the wall clock.
 *
 * @module
 */

import type {
  Clock,
  KeyValue,
  Log,
  LogConsumer,
  ObjectStore,
} from "../ports.ts";
import { delegate } from "./delegate.ts";

/** In-process stand-ins for the services, for a local run. */
export interface EmbeddedBackends {
  log: Log;
  kv: KeyValue;
  /** Where checkpoints go. */
  objects: ObjectStore;
  /** One line saying what they are and what is kept when the process ends. */
  description: string;
}

/** Builds the embedded backends; `clock` is the wall clock of the run. */
export type EmbeddedBackendsFactory = (clock: Clock) => EmbeddedBackends;

/**
 * `log`, whose consumers wait `idle_poll_ms` on `clock` when a poll finds
 * nothing. An in-process log answers such a poll at once (the simulator
 * moves its clock instead), which on the wall clock would make a runner's
 * loop spin; Kafka's consumer waits by itself.
 */
export function pacedLog(log: Log, clock: Clock, idle_poll_ms = 25): Log {
  if (!(idle_poll_ms > 0)) {
    throw new RangeError(
      `Cannot pace the log as 'idle_poll_ms' must be positive: current value is ${idle_poll_ms}`,
    );
  }
  return delegate(log, {
    consumer: (options) => {
      const inner = log.consumer(options);
      return delegate<LogConsumer>(inner, {
        poll: async () => {
          const batch = await inner.poll();
          if (batch === null) await clock.sleep(idle_poll_ms);
          return batch;
        },
      });
    },
  });
}
