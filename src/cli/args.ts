/**
 * The command-line flags of every freshet command: `--name value`,
 * `--name=value`, boolean `--name`, and `-h` for `--help`. Node's
 * `util.parseArgs` (built into Deno, no dependency) splits the arguments into
 * tokens; the checks here turn each mistake into one line a user can act on
 * (a {@linkcode UsageError}, exit code 2). Unknown flags are errors, so a
 * typo never passes silently.
 *
 * @module
 */

import { parseArgs as tokenize } from "node:util";
import { decodeFixture } from "../core/fixture.ts";

/** What a command accepts. */
export interface FlagSpec {
  /** Flags that take a value, with their help text. */
  values: Record<string, string>;
  /** Flags that are on or off, with their help text (`help` also answers `-h`). */
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

/**
 * Parses `args` against `spec`; throws {@linkcode UsageError} on a mistake.
 * A flag given twice keeps its last value; arguments after `--` are
 * positional.
 */
export function parseArgs(args: readonly string[], spec: FlagSpec): ParsedArgs {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string }
  > = {};
  for (const name of Object.keys(spec.values)) {
    options[name] = { type: "string" };
  }
  for (const name of Object.keys(spec.booleans)) {
    options[name] = name === "help"
      ? { type: "boolean", short: "h" }
      : { type: "boolean" };
  }
  // Not strict: the checks below word the errors (Node's own messages are
  // several lines long), and a value may start with one dash (`--seed -5`).
  const { tokens } = tokenize({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const parsed: ParsedArgs = {
    values: new Map(),
    booleans: new Set(),
    positional: [],
  };
  for (const token of tokens) {
    if (token.kind === "positional") {
      parsed.positional.push(token.value);
      continue;
    }
    if (token.kind !== "option") continue;
    const { name, rawName } = token;
    if (Object.hasOwn(spec.booleans, name)) {
      if (token.value !== undefined) {
        throw new UsageError(
          `flag ${rawName} takes no value: got '${rawName}=${token.value}'`,
        );
      }
      parsed.booleans.add(name);
    } else if (Object.hasOwn(spec.values, name)) {
      const value = token.value;
      // `--job --seed 3` is a forgotten value, not a job named '--seed'.
      if (
        value === undefined || (!token.inlineValue && value.startsWith("--"))
      ) {
        throw new UsageError(`flag ${rawName} needs a value`);
      }
      parsed.values.set(name, value);
    } else {
      const known = [...Object.keys(spec.values), ...Object.keys(spec.booleans)]
        .map((f) => `--${f}`).join(", ");
      throw new UsageError(`unknown flag '${rawName}' (known: ${known})`);
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
    ...Object.entries(spec.booleans).map((
      [name, help],
    ) => [name === "help" ? "-h, --help" : `--${name}`, help]),
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
