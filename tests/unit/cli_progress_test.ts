import assert from "node:assert/strict";
import { duration, formatProgress, Progress } from "../../src/cli/progress.ts";
import { frameProgress } from "../../src/cli/produce_frames.ts";

function recorder(terminal: boolean) {
  let now = 0;
  const written: string[] = [];
  const progress = new Progress("views", {
    unit: "messages",
    terminal,
    interval_ms: 5000,
    redraw_ms: 100,
    write: (text) => written.push(text),
    now: () => now,
  });
  return { progress, written, at: (ms: number) => now = ms };
}

Deno.test("formatProgress() gives count, percentage, bar, rate and ETA when the total is known", () => {
  assert.equal(
    formatProgress("views", "messages", { done: 1_200, total: 5_000 }, 2_000),
    "views: 1,200/5,000 messages (24%) [#####---------------], 600 messages/s, ETA 7s",
  );
  assert.equal(
    formatProgress("views", "messages", { done: 5_000, total: 5_000 }, 4_000),
    "views: 5,000/5,000 messages (100%) [####################], 1,250 messages/s, ETA 0s",
  );
});

Deno.test("formatProgress() without a total gives the rate and the time elapsed, and takes a known remaining time", () => {
  assert.equal(
    formatProgress("frames", "frames", { done: 50 }, 10_000),
    "frames: 50 frames, 5 frames/s, elapsed 10s",
  );
  assert.equal(
    formatProgress(
      "frames",
      "frames",
      { done: 50, remaining_ms: 125_000 },
      10_000,
    ),
    "frames: 50 frames, 5 frames/s, ETA 2m05s",
  );
});

Deno.test("formatProgress() waits for a second of work before it gives a rate", () => {
  assert.equal(
    formatProgress("views", "messages", { done: 1, total: 5_000 }, 20),
    "views: 1/5,000 messages (0%) [--------------------]",
  );
});

Deno.test("duration() reads as seconds, minutes or hours", () => {
  assert.equal(duration(0), "0s");
  assert.equal(duration(59_001), "1m00s");
  assert.equal(duration(3_599_000), "59m59s");
  assert.equal(duration(3_720_000), "1h02m");
});

Deno.test("Progress redraws one line in place on a terminal, at most every redraw_ms, and clears it at the end", () => {
  const { progress, written, at } = recorder(true);
  progress.update({ done: 0, total: 10 });
  at(50);
  progress.update({ done: 1, total: 10 });
  at(1_000);
  progress.update({ done: 5, total: 10 });
  progress.finish();
  assert.equal(written.length, 3);
  for (const text of written.slice(0, 2)) {
    assert.ok(text.startsWith("\r\x1b[K"), JSON.stringify(text));
    assert.ok(!text.includes("\n"));
  }
  assert.match(written[1]!, /5\/10 messages \(50%\)/);
  assert.equal(written[2], "\r\x1b[K");
});

Deno.test("Progress prints a plain line every interval_ms off a terminal, none for short work, and nothing at the end", () => {
  const { progress, written, at } = recorder(false);
  progress.update({ done: 10, total: 100 });
  at(4_999);
  progress.update({ done: 20, total: 100 });
  assert.deepEqual(written, [], "nothing before one interval");
  at(5_000);
  progress.update({ done: 50, total: 100 });
  at(6_000);
  progress.update({ done: 60, total: 100 });
  at(10_000);
  progress.update({ done: 100, total: 100 });
  progress.finish();
  assert.deepEqual(written, [
    "views: 50/100 messages (50%) [##########----------], 10 messages/s, ETA 5s\n",
    "views: 100/100 messages (100%) [####################], 10 messages/s, ETA 0s\n",
  ]);
});

Deno.test("frameProgress() counts to --frames, or gives the time left of --duration by the frames' timestamps", () => {
  const sent = { frames: 10, first_ms: 1_000, last_ms: 3_000 };
  assert.deepEqual(
    frameProgress({ max_frames: 40, duration_ms: Infinity }, sent),
    { done: 10, total: 40 },
  );
  assert.deepEqual(
    frameProgress({ max_frames: Infinity, duration_ms: 60_000 }, sent),
    { done: 10, remaining_ms: 58_000 },
  );
  assert.deepEqual(
    frameProgress({ max_frames: Infinity, duration_ms: Infinity }, sent),
    { done: 10 },
  );
});

Deno.test("sim shows its progress on stderr only: stdout and the digest stay those of the golden run", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "main.ts",
      "sim",
      "--job",
      "views",
      // Lines every 50 ms, however fast this machine replays the fixture.
      "--progress-ms",
      "50",
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  const golden = (await Deno.readTextFile(
    new URL("../../fixtures/views/golden/views.digest", import.meta.url),
  )).trim();
  assert.match(out, new RegExp(`output digest: sha256:${golden}`));
  assert.doesNotMatch(out, /messages\/s, (ETA|elapsed)/);
  // Not a terminal here: plain lines (a rate and an ETA once a second of
  // work has passed).
  assert.match(
    err,
    /^views: [\d,]+\/201,000 messages \(\d+%\) \[[#-]{20}\](, [\d,]+ messages\/s, ETA \S+)?$/m,
  );
  assert.ok(!err.includes("\x1b[K"), "no redraw off a terminal");
});
