/**
 * Tests that run the `ffmpeg` program (Debian's package `ffmpeg`). Outside
 * CI, a missing ffmpeg ignores them with one line of explanation per test
 * run; in CI (`CI=true` or `CI=1`) it fails them, as
 * `tests/integration/services.ts` does for services.
 *
 * @module
 */

export const FFMPEG_SKIP_MESSAGE =
  "skipping ffmpeg tests: install the Debian package ffmpeg (apt-get install ffmpeg)";

const inCi = ["true", "1"].includes((Deno.env.get("CI") ?? "").toLowerCase());

let probed: Promise<boolean> | undefined;

/** Whether `ffmpeg -version` runs. */
export function hasFfmpeg(): Promise<boolean> {
  probed ??= (async () => {
    try {
      const output = await new Deno.Command("ffmpeg", {
        args: ["-version"],
        stdout: "null",
        stderr: "null",
      }).output();
      return output.success;
    } catch {
      return false;
    }
  })();
  return probed;
}

let failureRegistered = false;

/**
 * Answers whether tests needing ffmpeg must be ignored: outside CI prints the
 * skip line (once per process); in CI registers a failing test instead.
 */
export async function requireFfmpeg(): Promise<boolean> {
  if (await hasFfmpeg()) return false;
  if (inCi) {
    if (!failureRegistered) {
      failureRegistered = true;
      Deno.test("ffmpeg tests have ffmpeg", () => {
        throw new Error(
          "Cannot run ffmpeg tests as CI requires the program 'ffmpeg': install the Debian package ffmpeg",
        );
      });
    }
  } else if (firstInProcess()) {
    console.log(FFMPEG_SKIP_MESSAGE);
  }
  return true;
}

/**
 * True for the first test file of this `deno test` process to ask (each file
 * has its own module scope, so a marker file keyed by the process carries
 * the answer across files).
 */
function firstInProcess(): boolean {
  const dir = Deno.env.get("TMPDIR") ?? "/tmp";
  let started = "";
  try {
    started = Deno.readTextFileSync("/proc/self/stat").split(" ")[21] ?? "";
  } catch {
    // Not Linux: the process id alone.
  }
  try {
    Deno.writeTextFileSync(
      `${dir}/freshet-ffmpeg-skip-${Deno.pid}-${started}`,
      "",
      { createNew: true },
    );
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.AlreadyExists);
  }
}

/**
 * Registers a test that needs ffmpeg: ignored when it is missing outside CI,
 * failing in CI. Use with top-level await.
 */
export async function ffmpegTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): Promise<void> {
  const ignore = await requireFfmpeg();
  Deno.test({ name, ignore, fn });
}

/** Runs ffmpeg with `args`; throws with its stderr when it fails. */
export async function runFfmpeg(args: string[]): Promise<Uint8Array> {
  const output = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-loglevel", "error", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `ffmpeg ${args.join(" ")} failed: ${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return output.stdout;
}
