/**
 * A small command-line flag parser: `--name value`, `--name=value` and
 * boolean `--name`. Unknown flags are errors, so a typo never passes
 * silently.
 *
 * @module
 */

import { decodeFixture } from "../core/fixture.ts";

/** What a command accepts. */
export interface FlagSpec {
  /** Flags that take a value, with their help text. */
  values: Record<string, string>;
  /** Flags that are on or off, with their help text. */
  booleans: Record<string, string>;
}

/** Parsed flags and the remaining positional arguments. */
export interface ParsedArgs {
  values: Map<string, string>;
  booleans: Set<string>;
  positional: string[];
}

/** A command-line mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses `args` against `spec`; throws {@linkcode UsageError} on a mistake. */
export function parseArgs(args: readonly string[], spec: FlagSpec): ParsedArgs {
  const parsed: ParsedArgs = {
    values: new Map(),
    booleans: new Set(),
    positional: [],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (name in spec.booleans) {
      if (eq !== -1) {
        throw new UsageError(`flag --${name} takes no value: got '${arg}'`);
      }
      parsed.booleans.add(name);
    } else if (name in spec.values) {
      const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith("--"))) {
        throw new UsageError(`flag --${name} needs a value`);
      }
      parsed.values.set(name, value);
    } else {
      const known = [...Object.keys(spec.values), ...Object.keys(spec.booleans)]
        .map((f) => `--${f}`).join(", ");
      throw new UsageError(`unknown flag '--${name}' (known: ${known})`);
    }
  }
  return parsed;
}

/** Reads a flag as a whole number, or `fallback` when absent. */
export function intFlag(
  parsed: ParsedArgs,
  name: string,
  fallback: number,
): number {
  const text = parsed.values.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(
      `flag --${name} must be a whole number: got '${text}'`,
    );
  }
  return value;
}

/** Reads a flag as a whole number, or undefined when absent. */
export function optionalIntFlag(
  parsed: ParsedArgs,
  name: string,
): number | undefined {
  return parsed.values.has(name) ? intFlag(parsed, name, 0) : undefined;
}

/** Help text of a command's flags, one per line. */
export function flagHelp(spec: FlagSpec): string {
  const rows = [
    ...Object.entries(spec.values).map((
      [name, help],
    ) => [`--${name} VALUE`, help]),
    ...Object.entries(spec.booleans).map(([name, help]) => [`--${name}`, help]),
  ];
  const width = Math.max(...rows.map(([flag]) => flag!.length));
  return rows.map(([flag, help]) => `  ${flag!.padEnd(width)}  ${help}`).join(
    "\n",
  );
}

/**
 * Reads a fixture file, gunzipping it when it is gzip (`.jsonl.gz`); an
 * unreadable or corrupt one is a {@linkcode UsageError}.
 */
export async function readFixtureText(path: string): Promise<string> {
  try {
    return await decodeFixture(await Deno.readFile(path));
  } catch (error) {
    throw new UsageError(
      `cannot read fixture '${path}': ${(error as Error).message}`,
    );
  }
}
