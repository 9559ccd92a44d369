/**
 * `deno task run` as a child process, for end-to-end tests: started on a
 * free port, its address read from its log, stopped with SIGTERM.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

/** A running `freshet run`. */
export interface RunProcess {
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  /** Every line it printed so far (JSON log lines). */
  lines: string[];
  /** Sends SIGTERM and waits; answers the exit code. */
  stop(): Promise<number>;
}

/** Starts `main.ts run` with `args` (plus a free port and JSON logs). */
export async function startRun(
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<RunProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "main.ts",
      "run",
      "--port",
      "0",
      "--log-format",
      "json",
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let resolveUrl: (url: string) => void;
  let rejectUrl: (error: Error) => void;
  const address = new Promise<string>((resolve, reject) => {
    resolveUrl = resolve;
    rejectUrl = reject;
  });
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const match = /"url":"(http:\/\/[^"]+\/)"/.exec(line);
        if (match) resolveUrl(match[1]!);
      }
    }
    if (rest !== "") lines.push(rest);
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  const status = child.status;
  status.then((s) =>
    rejectUrl(
      new Error(
        `freshet run exited with ${s.code} before listening:\n${
          lines.join("\n")
        }`,
      ),
    )
  );
  const timer = setTimeout(
    () => rejectUrl(new Error("freshet run did not listen within 60 s")),
    60_000,
  );
  let url: string;
  try {
    url = await address;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await reading;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    lines,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const { code } = await status;
      await reading;
      return code;
    },
  };
}

/** Polls `check` every 200 ms until it answers a value, for at most `ms`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen within ${ms} ms${
          last === undefined ? "" : `: ${(last as Error).message}`
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
