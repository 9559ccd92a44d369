/**
 * The `freshet` command: dispatches to one module per command. `main.ts`
 * adds the simulator's `sim` and the embedded backends of `run` (`src/`
 * never imports `sim/`).
 *
 * @module
 */

import { UsageError } from "./args.ts";
import { ConfigError } from "../adapters/config.ts";
import { runCommand, type RunCommandOptions } from "./run.ts";
import { produceCommand } from "./produce.ts";
import { framesCommand } from "./frames_tail.ts";
import { loadCommand } from "./load.ts";
import { recordCommand } from "./record.ts";
import { inspectCommand } from "./inspect.ts";

/** A command added by the entry point (the simulator's `sim`). */
export interface ExtraCommand {
  run(args: readonly string[]): Promise<number>;
  help: string;
}

const USAGE = `freshet: real-time event pipelines

Usage: freshet COMMAND [flags]   (from the sources: deno task COMMAND, or
       deno run -A main.ts COMMAND)

Commands:
  sim       replay recorded fixtures on a virtual clock (no services needed)
  run       run jobs with /track, the API and the dashboard (embedded
            backends; --prod: against Kafka, Redis and S3)
  produce   write a fixture (or frames: --images, --video, ...) to a job's topic
  frames    tail: the frames job's outputs live in the terminal
  load      load a job's published files into PostgreSQL (sessions)
  record    tap a Kafka topic into a fixture file the simulator replays
  inspect   a job's checkpoints (offset, age, size, watermark) and its
            consumer lag, per partition

'freshet COMMAND --help' (or -h) describes a command.

Flags:
  -h, --help  print this help`;

/** Runs the command line; answers the exit code. */
export async function main(
  args: readonly string[],
  extra: Record<string, ExtraCommand> = {},
  options: RunCommandOptions = {},
): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return 0;
      case "run":
        return await runCommand(rest, options);
      case "produce":
        return await produceCommand(rest);
      case "frames":
        return await framesCommand(rest);
      case "load":
        return await loadCommand(rest);
      case "record":
        return await recordCommand(rest);
      case "inspect":
        return await inspectCommand(rest);
      default: {
        const found = extra[command];
        if (found !== undefined) return await found.run(rest);
        throw new UsageError(
          `unknown command '${command}' (known: ${
            [
              "sim",
              "run",
              "produce",
              "frames",
              "load",
              "record",
              "inspect",
              ...Object.keys(extra),
            ]
              .filter((c, i, all) => all.indexOf(c) === i).join(", ")
          })`,
        );
      }
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      console.error(`freshet: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
