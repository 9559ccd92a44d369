/**
 * The embedded backends of `deno task run` without `--prod`: the twins of
 * Kafka, Redis and S3, on the wall clock, in memory. The entry point
 * (`main.ts`) hands them to the run command, as `src/` never imports `sim/`.
 *
 * @module
 */

import type { Clock } from "../src/ports.ts";
import type { EmbeddedBackends } from "../src/run/local.ts";
import { KvTwin } from "./kv.ts";
import { LogTwin } from "./log.ts";
import { ObjectsTwin } from "./objects.ts";

/** Fresh twins on `clock`; nothing outlives the process. */
export function embeddedBackends(clock: Clock): EmbeddedBackends {
  return {
    log: new LogTwin({ clock }),
    kv: new KvTwin({ clock }),
    objects: new ObjectsTwin(),
    description:
      "embedded in-memory log, key-value store and checkpoints: nothing is kept when the process ends",
  };
}
