/**
 * Flags several commands share: the service settings (flags > environment >
 * config file > defaults) and a job's overrides (`--topic`,
 * `--job-options`).
 *
 * @module
 */

import { type ParsedArgs, UsageError } from "./args.ts";
import {
  type Config,
  CONFIG_VARIABLES,
  flagName,
  loadConfig,
  readConfigFile,
} from "../adapters/config.ts";
import {
  type JobOverrides,
  type JobSpec,
  parseJobOptions,
} from "../jobs/registry.ts";

/** One flag per configuration variable (`--kafka-brokers` for `KAFKA_BROKERS`, ...). */
export const CONFIG_FLAGS: Record<string, string> = Object.fromEntries(
  CONFIG_VARIABLES.map((v) => [
    flagName(v),
    `overrides the environment variable ${v}`,
  ]),
);

/** The service settings: flags > environment > `--config` file > defaults. */
export async function loadSettings(parsed: ParsedArgs): Promise<Config> {
  const path = parsed.values.get("config");
  const flags: Record<string, string> = {};
  for (const variable of CONFIG_VARIABLES) {
    const value = parsed.values.get(flagName(variable));
    if (value !== undefined) flags[variable] = value;
  }
  return loadConfig({
    flags,
    env: (name) => Deno.env.get(name),
    file: path === undefined ? undefined : await readConfigFile(path),
  });
}

// Kafka's own rule for topic names.
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * The `--topic` and `--job-options` overrides, checked against the jobs they
 * apply to (both need a single job).
 */
export function jobOverrides(
  parsed: ParsedArgs,
  entries: readonly JobSpec[],
): JobOverrides {
  const overrides: JobOverrides = {};
  const topic = parsed.values.get("topic");
  const options = parsed.values.get("job-options");
  if (
    (topic !== undefined || options !== undefined) && entries.length !== 1
  ) {
    throw new UsageError(
      "flags --topic and --job-options need --job NAME or --job-file: they belong to one job",
    );
  }
  if (topic !== undefined) {
    if (!TOPIC_NAME.test(topic)) {
      throw new UsageError(
        `flag --topic must be 1 to 249 of the characters [A-Za-z0-9._-]: got '${topic}'`,
      );
    }
    overrides.topic = topic;
  }
  try {
    if (options !== undefined) overrides.options = parseJobOptions(options);
    for (const entry of entries) entry.create(overrides);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return overrides;
}
