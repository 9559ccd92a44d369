import assert from "node:assert/strict";

// `deno compile` needs a download this machine cannot make; the bundle is the
// part of the build that can be checked here: the whole command graph
// resolves into one file that runs.
Deno.test("the freshet entry point bundles into one file that runs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/freshet.js`;
    const bundle = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "main.ts", "-o", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bundle.code, 0, new TextDecoder().decode(bundle.stderr));
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", out, "sim", "--help"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.match(new TextDecoder().decode(run.stdout), /--faults/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
