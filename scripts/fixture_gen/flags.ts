/**
 * The command line every fixture generator shares: `--seed`, `--messages`,
 * `--out`, `--readme` and `--help` / `-h`.
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  parseArgs,
  UsageError,
} from "../../src/cli/args.ts";

/** What a generator was asked to do. */
export interface GeneratorFlags {
  /** Seed of every random choice. */
  seed: number;
  /** Lines to write. */
  messages: number;
  /** The fixture file; gzipped when it ends in `.gz`. */
  out: string;
  /** Where to write the README, or null for none. */
  readme: string | null;
  /** Whether `--help` or `-h` was given (nothing else is done then). */
  help: boolean;
}

/** A generator's defaults, shown by `--help`. */
export interface GeneratorDefaults {
  seed: number;
  messages: number;
  out: string;
}

const SPEC_TEXT = {
  seed: "seed of every random choice",
  messages: "lines to write, bad ones included",
  out: "fixture file (gzipped when it ends in .gz)",
  readme:
    "README to write (default: README.md beside the default --out; none when --out is given)",
};

function spec(defaults: GeneratorDefaults): FlagSpec {
  return {
    values: {
      seed: `${SPEC_TEXT.seed} (default ${defaults.seed})`,
      messages: `${SPEC_TEXT.messages} (default ${defaults.messages})`,
      out: `${SPEC_TEXT.out} (default ${defaults.out})`,
      readme: SPEC_TEXT.readme,
    },
    booleans: { help: "print this help and exit (also -h)" },
  };
}

/**
 * Parses a generator's arguments. The README goes beside the committed
 * fixture only when `--out` is left at its default, so that a trial run
 * elsewhere never overwrites the committed README by surprise.
 */
export function parseGeneratorFlags(
  args: readonly string[],
  defaults: GeneratorDefaults,
): GeneratorFlags {
  if (args.includes("-h")) {
    return { ...defaults, readme: null, help: true };
  }
  const parsed = parseArgs(args, spec(defaults));
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `Cannot parse arguments as every argument must be a --flag: current value is '${
        parsed.positional[0]
      }'`,
    );
  }
  const count = (name: string, fallback: number, minimum: number): number => {
    const text = parsed.values.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new UsageError(
        `Cannot parse '--${name}' as it must be an integer of at least ${minimum}: current value is '${text}'`,
      );
    }
    return value;
  };
  const out = parsed.values.get("out") ?? defaults.out;
  const besideDefault = `${
    defaults.out.slice(0, defaults.out.lastIndexOf("/") + 1)
  }README.md`;
  return {
    seed: count("seed", defaults.seed, 0),
    messages: count("messages", defaults.messages, 1),
    out,
    readme: parsed.values.get("readme") ??
      (parsed.values.has("out") ? null : besideDefault),
    help: parsed.booleans.has("help"),
  };
}

/** The `--help` text of a generator. */
export function generatorHelp(
  usage: string,
  summary: string,
  defaults: GeneratorDefaults,
): string {
  return `${summary}\n\nUsage: ${usage} [flags]\n\nFlags:\n${
    flagHelp(spec(defaults))
  }\n`;
}
