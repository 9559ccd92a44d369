/**
 * Every `deno task` and every `freshet` command answers `--help` and `-h`
 * alike: exit code 0, its usage on standard output, nothing on standard
 * error but deno's own "Task" line. Runs each as a subprocess, with no
 * service needed (help never connects).
 */

import assert from "node:assert/strict";

const decoder = new TextDecoder();
const ROOT = new URL("../../", import.meta.url);

// Tasks that run other tools' flags (deno test, the gate) are not commands.
const NOT_COMMANDS = new Set(["test", "ok"]);

interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[]): Promise<Answer> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** Runs `calls` at most `limit` at a time (the machine is shared). */
async function limited<T>(
  calls: Array<() => Promise<T>>,
  limit: number,
): Promise<T[]> {
  const results: T[] = new Array(calls.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < calls.length) {
        const i = next++;
        results[i] = await calls[i]!();
      }
    }),
  );
  return results;
}

function tasks(): string[] {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", ROOT)),
  ) as { tasks: Record<string, string> };
  return Object.keys(config.tasks).filter((t) => !NOT_COMMANDS.has(t));
}

const COMMANDS: string[][] = [
  [],
  ["sim"],
  ["run"],
  ["produce"],
  ["load"],
  ["record"],
  ["inspect"],
  ["frames"],
  ["frames", "tail"],
];

function checkHelp(what: string, long: Answer, short: Answer): void {
  assert.equal(long.code, 0, `${what} --help: exit code (${long.stderr})`);
  assert.match(long.stdout, /Usage: /, `${what} --help prints its usage`);
  assert.match(long.stdout, /-h, --help/, `${what} --help lists -h, --help`);
  // deno task announces the command it runs on stderr; nothing else may come.
  const noise = (text: string) =>
    text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Task "));
  assert.deepEqual(noise(long.stderr), [], `${what} --help writes no error`);
  assert.equal(short.code, 0, `${what} -h: exit code (${short.stderr})`);
  assert.equal(short.stdout, long.stdout, `${what}: -h answers as --help`);
}

Deno.test("every deno task but test and ok answers --help and -h with its usage and exit code 0", async () => {
  const names = tasks();
  for (
    const expected of [
      "sim",
      "run",
      "produce",
      "load",
      "bench",
      "compile",
      "fixtures",
      "services",
      "record",
      "inspect",
    ]
  ) {
    assert.ok(names.includes(expected), `deno.json has task ${expected}`);
  }
  const answers = await limited(
    names.flatMap((task) =>
      ["--help", "-h"].map((flag) => () => run(["task", task, flag]))
    ),
    3,
  );
  names.forEach((task, i) =>
    checkHelp(`deno task ${task}`, answers[2 * i]!, answers[2 * i + 1]!)
  );
});

Deno.test("every freshet command answers --help and -h with its usage and exit code 0", async () => {
  const answers = await limited(
    COMMANDS.flatMap((command) =>
      ["--help", "-h"].map((flag) => () =>
        run(["run", "-A", "main.ts", ...command, flag])
      )
    ),
    3,
  );
  COMMANDS.forEach((command, i) =>
    checkHelp(
      `freshet ${command.join(" ")}`.trim(),
      answers[2 * i]!,
      answers[2 * i + 1]!,
    )
  );
});

Deno.test("a command's help check fails on a command without -h (the check can fail)", async () => {
  // scripts/services.sh before it answered --help: usage on stderr, exit 2.
  const script = await Deno.makeTempFile({ suffix: ".sh" });
  try {
    await Deno.writeTextFile(
      script,
      'echo "Usage: $0 up|down|status" >&2; exit 2\n',
    );
    const answer = await (async () => {
      const { code, stdout, stderr } = await new Deno.Command("bash", {
        args: [script, "--help"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code,
        stdout: decoder.decode(stdout),
        stderr: decoder.decode(stderr),
      };
    })();
    assert.throws(() => checkHelp("old services", answer, answer));
  } finally {
    await Deno.remove(script);
  }
});
