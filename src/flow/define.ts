/**
 * Defining a job users can run: a name, options with defaults, a `build`
 * function written with the dataflow API, and optionally a recorded fixture
 * and a summary of its outputs. `deno task sim` and `deno task run` take
 * the jobs of the registry and any job file (`--job-file ./my_job.ts`, whose
 * default export is a {@linkcode JobSpec}).
 *
 * @module
 */

import type { Job } from "../core/job.ts";
import type { KeyValue, Log, ObjectStore, Warehouse } from "../ports.ts";
import { compileFlow } from "./compile.ts";
import { Flow } from "./stream.ts";

/** A job option's value: every option has a default of one of these types. */
export type OptionValue = number | string | boolean;

/** A job's options: name → default. */
export type JobOptions = Record<string, OptionValue>;

/** Where a job's outputs can be read back (for summaries). */
export interface JobOutputs {
  /** The key-value store (Redis) the job wrote to. */
  kv: KeyValue;
  /** The log (Kafka): output topics, dead letters, late records. */
  log: Log;
  /** The object store (S3): files and checkpoints. */
  objects: ObjectStore;
  /** The warehouse (PostgreSQL), when the run has one. */
  warehouse?: Warehouse;
}

/** Settings a deployment may override for any job (`run`/`sim` flags). */
export interface JobOverrides {
  /**
   * Input topic instead of the job's; side-output topics follow it
   * (`<topic>.dead-letter`, ...).
   */
  topic?: string;
  /** The job's options as `name` → text, e.g. `{ top_k: "20" }` (`--job-options`). */
  options?: Readonly<Record<string, string>>;
}

/** A runnable job: what the registry, `--job-file` and the CLIs work with. */
export interface JobSpec {
  /** Stable name: `--job` selects it; it keys checkpoints, fences and consumer groups. */
  readonly name: string;
  /** One line for help texts. */
  readonly description: string;
  /** The recorded fixture, relative to the repository root, if the job has one. */
  readonly fixture?: string;
  /** The options with their defaults, as `name=value` (for help). */
  optionHelp(): string[];
  /** The job with its default options, except what `overrides` sets; bad settings throw. */
  create(overrides?: JobOverrides): Job;
  /** Human-readable lines on what the job left in its outputs. */
  summarize(outputs: JobOutputs, overrides?: JobOverrides): Promise<string[]>;
}

/** What {@linkcode defineJob} takes. */
export interface JobDefinition<O extends JobOptions> {
  /** Stable name: it keys checkpoints, fences and consumer groups. */
  name: string;
  /** One line for help texts. */
  description?: string;
  /** Every option with its default; `--job-options name=value` overrides them. */
  options?: O;
  /** The recorded fixture, relative to the repository root. */
  fixture?: string;
  /**
   * Processing time between checkpoints when a run does not set it
   * (`--checkpoint-interval-ms`). Default: the runner's, 10 000 ms.
   */
  checkpoint_interval_ms?: number;
  /** Declares the job's dataflow. */
  build(flow: Flow, options: O): void;
  /** Lines describing what the job left in its outputs (default: none). */
  summarize?(outputs: JobOutputs, options: O): Promise<string[]>;
}

/** A job written with the dataflow API; see the module documentation. */
export function defineJob<O extends JobOptions = JobOptions>(
  definition: JobDefinition<O>,
): JobSpec {
  return jobSpec({
    name: definition.name,
    description: definition.description ?? definition.name,
    fixture: definition.fixture,
    options: definition.options ?? ({} as O),
    create(options, overrides) {
      const flow = new Flow();
      definition.build(flow, options);
      return compileFlow(flow, {
        name: definition.name,
        topic: overrides.topic,
        checkpoint_interval_ms: definition.checkpoint_interval_ms,
      });
    },
    summarize: definition.summarize,
  });
}

/**
 * A job built by hand (the escape hatch): `create` answers the runtime
 * {@linkcode Job}, e.g. with a hand-written `PartitionProcessor`.
 */
export function jobSpec<O extends JobOptions>(spec: {
  name: string;
  description: string;
  fixture?: string;
  options: O;
  create(options: O, overrides: JobOverrides): Job;
  summarize?(outputs: JobOutputs, options: O): Promise<string[]>;
}): JobSpec {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(spec.name)) {
    throw new RangeError(
      `Cannot define job as 'name' must be 1 to 100 of the characters [A-Za-z0-9._-]: current value is ${
        JSON.stringify(spec.name)
      }`,
    );
  }
  const resolve = (overrides: JobOverrides = {}): O =>
    parseOptions(spec.name, spec.options, overrides.options ?? {});
  return {
    name: spec.name,
    description: spec.description,
    fixture: spec.fixture,
    optionHelp: () =>
      Object.entries(spec.options).map(([name, value]) => `${name}=${value}`),
    create: (overrides = {}) => spec.create(resolve(overrides), overrides),
    summarize: (outputs, overrides) =>
      spec.summarize?.(outputs, resolve(overrides)) ?? Promise.resolve([]),
  };
}

/** Whether `value` is a {@linkcode JobSpec} (a job file's default export). */
export function isJobSpec(value: unknown): value is JobSpec {
  const v = value as Partial<JobSpec> | null;
  return typeof v === "object" && v !== null && typeof v.name === "string" &&
    typeof v.create === "function" && typeof v.optionHelp === "function" &&
    typeof v.summarize === "function";
}

/**
 * Options from `name=value` text, typed by their defaults: numbers must be
 * finite, booleans `true` or `false`. Unknown names are errors listing the
 * known ones.
 */
export function parseOptions<O extends JobOptions>(
  job: string,
  defaults: O,
  settings: Readonly<Record<string, string>>,
): O {
  const options: Record<string, OptionValue> = { ...defaults };
  for (const [name, text] of Object.entries(settings)) {
    if (!Object.hasOwn(defaults, name)) {
      const known = Object.keys(defaults);
      throw new RangeError(
        `Cannot configure ${job} as '${name}' is not one of its options: ${
          known.length > 0 ? known.join(", ") : "it has none"
        }`,
      );
    }
    const fallback = defaults[name];
    if (typeof fallback === "number") {
      const value = Number(text);
      if (text.trim() === "" || !Number.isFinite(value)) {
        throw new RangeError(
          `Cannot configure ${job} as '${name}' must be a number: current value is '${text}'`,
        );
      }
      options[name] = value;
    } else if (typeof fallback === "boolean") {
      if (text !== "true" && text !== "false") {
        throw new RangeError(
          `Cannot configure ${job} as '${name}' must be true or false: current value is '${text}'`,
        );
      }
      options[name] = text === "true";
    } else options[name] = text;
  }
  return options as O;
}
