/**
 * The dashboard works offline: its pages load nothing from another host, and
 * the vendored uPlot is the published file (digests in the vendor README).
 */

import assert from "node:assert/strict";
import { StaticFiles } from "../../../src/http/static_files.ts";

const STATIC = new URL("../../../src/http/static/", import.meta.url);

Deno.test("the dashboard's own files reference no other host", async () => {
  for (const name of ["index.html", "app.js", "style.css"]) {
    const text = await Deno.readTextFile(new URL(name, STATIC));
    const external = text.match(
      /(?:src|href)\s*=\s*["']?(?:https?:)?\/\/|url\(\s*["']?(?:https?:)?\/\/|fetch\(\s*["'`](?:https?:)?\/\/|import\s*\(?\s*["'](?:https?:)?\/\//g,
    );
    assert.equal(
      external,
      null,
      `${name} loads from another host: ${external}`,
    );
  }
});

Deno.test("every file the dashboard page loads is served", async () => {
  const files = await StaticFiles.load(STATIC);
  const html = await Deno.readTextFile(new URL("index.html", STATIC));
  const loaded = [...html.matchAll(/(?:src|href)="\/static\/([^"]+)"/g)].map((
    m,
  ) => m[1] as string);
  assert.ok(loaded.length >= 4, `found ${loaded}`);
  for (const path of loaded) {
    assert.ok(files.paths().includes(path), `${path} is not served`);
  }
});

Deno.test("the vendored uPlot files match the digests in the vendor README, and its license is there", async () => {
  const readme = await Deno.readTextFile(new URL("vendor/README.md", STATIC));
  const digests = [...readme.matchAll(/- `([^`]+)`: `([0-9a-f]{64})`/g)];
  assert.equal(digests.length, 2);
  for (const [, name, digest] of digests) {
    const bytes = await Deno.readFile(new URL(`vendor/${name}`, STATIC));
    const actual = [
      ...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
    ].map((b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(actual, digest, name);
  }
  const license = await Deno.readTextFile(
    new URL("vendor/uPlot.LICENSE", STATIC),
  );
  assert.match(license, /^The MIT License/);
});
