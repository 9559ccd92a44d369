/**
 * How the profiles of the Kafka benchmarks are grouped.
 *
 * @module
 */

import type { CategoryRule } from "./profile.ts";

/** Profile areas of a process that runs freshet against the real services. */
export const SERVICE_CATEGORIES: CategoryRule[] = [
  ["idle: waiting for Kafka, Redis or S3 to answer", ["(idle)"]],
  ["kafkajs (fetch, decode, group protocol)", ["npm:kafkajs"]],
  ["ioredis (encode commands, parse replies)", [
    "npm:ioredis",
    "npm:redis-parser",
    "npm:denque",
    "npm:@ioredis",
    "npm:standard-as-callback",
    "npm:cluster-key-slot",
  ]],
  ["AWS SDK (checkpoint objects)", [
    "npm:@aws-sdk",
    "npm:@smithy",
    "npm:@aws-crypto",
  ]],
  ["freshet adapters (src/adapters)", ["src/adapters/"]],
  ["views job (src/jobs, windows, watermarks, time)", [
    "src/jobs/",
    "src/core/windows.ts",
    "src/core/watermarks.ts",
    "src/core/time.ts",
  ]],
  ["runner and checkpoints (src/core)", ["src/core/"]],
  ["benchmark harness (parse and count, wrappers)", ["scripts/"]],
  ["Deno's Node compatibility layer (Buffer, net, timers)", [
    "deno node compat",
  ]],
  ["Deno runtime", ["deno runtime"]],
  ["garbage collector", ["(garbage collector)"]],
  ["V8 and other native code", ["(program)", "(native)"]],
];
