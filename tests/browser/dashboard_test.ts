/**
 * The dashboard in headless Chromium (Debian's `chromium`, driven by
 * npm:playwright-core with `executablePath`; never a downloaded browser):
 * `deno task run` starts on embedded backends, events are posted to
 * `/track`, and the page shows them: the Top-N table, the count and sum
 * charts drawn by uPlot, and the pipeline panel of every job, updating.
 * A screenshot is saved (path printed; `FRESHET_ARTIFACTS` chooses the
 * folder, else a temporary one).
 *
 * Skipped (outside CI) when `chromium` is missing; failing in CI.
 */

import assert from "node:assert/strict";
import { chromium as playwright } from "playwright-core";
import { eventually, startRun } from "../e2e/run_process.ts";

async function chromiumPath(): Promise<string | null> {
  try {
    const { success, stdout } = await new Deno.Command("sh", {
      args: ["-c", "command -v chromium"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const path = new TextDecoder().decode(stdout).trim();
    return success && path !== "" ? path : null;
  } catch {
    return null;
  }
}

const executable = await chromiumPath();
const inCi = ["true", "1"].includes((Deno.env.get("CI") ?? "").toLowerCase());

if (executable === null && inCi) {
  Deno.test("the dashboard test has chromium", () => {
    throw new Error(
      "Cannot run the dashboard test as CI requires Chromium: install the Debian package 'chromium'",
    );
  });
} else if (executable === null) {
  console.log(
    "skipping the dashboard test: install chromium (apt-get install chromium)",
  );
} else {
  Deno.test({
    name:
      "the dashboard shows posted events in its table, its charts and the pipeline panel",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => dashboardTest(executable),
  });
}

async function dashboardTest(executablePath: string): Promise<void> {
  const run = await startRun();
  const browser = await playwright.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
    ],
  });
  try {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 1400 },
    });
    const offline: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(run.url)) offline.push(request.url());
    });
    await page.goto(run.url);
    await page.selectOption("#refresh", "1000");
    await page.waitForSelector("#top tbody td.empty");
    assert.match(
      await page.textContent("#top tbody") ?? "",
      /No window closed yet/,
    );

    const now = Date.now();
    const events = [];
    for (let i = 0; i < 3; i++) {
      for (const [id, value] of [["btn-buy", 2], ["page-home", 1]] as const) {
        events.push({
          event_id: id,
          value: value + i,
          timestamp: now - 90_000 + i * 10_000,
        });
      }
    }
    // A later event of each id closes the earlier windows.
    events.push({ event_id: "btn-buy", value: 1, timestamp: now });
    events.push({ event_id: "page-home", value: 1, timestamp: now });
    const posted = await fetch(`${run.url}track`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: events.map((e) => JSON.stringify(e)).join("\n"),
    });
    assert.equal(posted.status, 202);
    await posted.body?.cancel();

    // The Top-N table, the legend and both charts.
    await page.waitForFunction(
      `document.querySelectorAll("#top tbody tr th").length === 2 &&
        document.querySelectorAll("#count-chart canvas").length > 0 &&
        document.querySelectorAll("#sum-chart canvas").length > 0`,
      undefined,
      { timeout: 30_000 },
    );
    const ranked = await page.$$eval(
      "#top tbody tr th",
      (cells) => cells.map((c) => c.textContent),
    );
    assert.deepEqual([...ranked].sort(), ["btn-buy", "page-home"]);
    assert.match(
      await page.textContent("#count-summary") ?? "",
      /btn-buy: \d+ \(window ending/,
    );
    assert.match(await page.textContent("#sum-summary") ?? "", /page-home/);
    const legend = await page.$$eval(
      "#count-chart .u-legend .u-series",
      (rows) => rows.map((r) => r.textContent ?? ""),
    );
    assert.ok(legend.some((text) => text.includes("btn-buy")), legend.join());
    // Chosen ids are checkboxes with labels: a keyboard user can toggle one.
    const box = page.locator("#shown label", { hasText: "page-home" })
      .locator("input");
    await box.focus();
    await page.keyboard.press("Space");
    await page.waitForFunction(
      `!document.querySelector("#count-summary").textContent
        .includes("page-home")`,
    );

    // The pipeline panel: every job, analytics running with its partitions
    // and an input rate above zero once the sampler saw the events.
    await page.waitForFunction(
      `(() => {
        const job = document.querySelector(
          "#jobs article[aria-labelledby='job-analytics']",
        );
        if (job === null) return false;
        const rows = [...job.querySelectorAll("tbody tr")];
        return job.textContent.includes("running") && rows.length === 4 &&
          rows.some((row) => Number(row.querySelector("td")?.textContent) > 0);
      })()`,
      undefined,
      { timeout: 30_000 },
    );
    const jobs = await page.$$eval(
      "#jobs article h3 span:first-child",
      (spans) => spans.map((s) => s.textContent),
    );
    for (const job of ["views", "analytics"]) {
      assert.ok(jobs.includes(job), `${job} in ${jobs.join(", ")}`);
    }
    const before = await page.textContent("#status");
    await eventually("the page to refresh", async () => {
      const now = await page.textContent("#status");
      return now !== before && /^Updated/.test(now ?? "") ? true : undefined;
    });
    // Every control has a label.
    const unlabelled = await page.evaluate<number>(
      `[...document.querySelectorAll("select, input")].filter((c) =>
        c.closest("label") === null &&
        (c.id === "" || document.querySelector("label[for='" + c.id + "']") === null)
      ).length`,
    );
    assert.equal(unlabelled, 0);
    assert.deepEqual(offline, [], "the page fetched from elsewhere");

    const folder = Deno.env.get("FRESHET_ARTIFACTS") ??
      await Deno.makeTempDir({ prefix: "freshet-dashboard-" });
    await Deno.mkdir(folder, { recursive: true });
    const path = `${folder}/dashboard.png`;
    await page.screenshot({ path, fullPage: true });
    assert.ok((await Deno.stat(path)).size > 10_000);
    console.log(`dashboard screenshot: ${path}`);
  } finally {
    await browser.close();
    const code = await run.stop();
    assert.equal(code, 0, run.lines.join("\n"));
  }
}
