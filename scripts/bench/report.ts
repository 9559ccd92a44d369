/**
 * The benchmark report: sections with a verdict each, rendered to Markdown.
 *
 * @module
 */

import type { Fact } from "./machine.ts";
import {
  categorize,
  type CategoryRule,
  type ProfileSummary,
} from "./profile.ts";
import { fmt } from "./stats.ts";

/** Verdict of one benchmark. */
export type Verdict = "pass" | "short" | "skipped" | "failed" | "reported";

/** One benchmark's part of the report. */
export interface Section {
  title: string;
  verdict: Verdict;
  /** One row of the summary table. */
  summary: {
    baseline: string;
    candidate: string;
    ratio: string;
    target: string;
  };
  /** Markdown of the section's body. */
  body: string[];
}

/**
 * A section for a benchmark that did not run: `short` goes in the summary
 * (e.g. "skipped: services down"), `detail` in the section.
 */
export function skippedSection(
  title: string,
  target: string,
  short: string,
  detail: string,
  verdict: "skipped" | "failed" = "skipped",
): Section {
  return {
    title,
    verdict,
    summary: { baseline: "–", candidate: short, ratio: "–", target },
    body: [`**${short}**: ${detail}`],
  };
}

/** Whether `ratio` meets a "≥ target" goal. */
export function verdictOf(ratio: number, target: number): Verdict {
  return ratio >= target ? "pass" : "short";
}

/** A Markdown table. */
export function table(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
): string[] {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    `| ${header.map(escape).join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
  ];
}

/** `12.3 %` */
export function pct(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

/** A profile as Markdown: by area, by function (self), and inclusive. */
export function profileMarkdown(
  profile: ProfileSummary | { error: string } | null,
  how: string,
): string[] {
  if (profile === null) return [];
  if ("error" in profile) {
    return [`CPU profile not available: ${profile.error}.`];
  }
  const rows = (entries: ProfileSummary["areas"]) =>
    entries.map((e) => [e.name, fmt(e.ms), pct(e.share)]);
  return [
    `CPU profile (${how}; ${
      fmt(profile.total_ms)
    } ms of samples on the main thread; "(idle)" is the event loop waiting for I/O):`,
    "",
    "<details><summary>self time by area</summary>",
    "",
    ...table(["area", "ms", "share"], rows(profile.areas)),
    "",
    "</details>",
    "",
    "<details><summary>self time by function</summary>",
    "",
    ...table(["function", "ms", "share"], rows(profile.self)),
    "",
    "</details>",
    "",
    "<details><summary>inclusive time of freshet functions (callees included)</summary>",
    "",
    ...table(["function", "ms", "share"], rows(profile.inclusive)),
    "",
    "</details>",
  ];
}

/**
 * A profile's "where the time goes": self time grouped by `categories`
 * under `heading`, then the details of {@linkcode profileMarkdown}.
 */
export function profileSections(
  profile: ProfileSummary | { error: string } | null,
  options: {
    heading: string;
    categories: readonly CategoryRule[];
    how: string;
  },
): string[] {
  const lines: string[] = [];
  if (profile !== null && !("error" in profile)) {
    lines.push(
      "",
      options.heading,
      "",
      ...table(
        ["what", "ms", "share"],
        categorize(profile, options.categories).map((
          g,
        ) => [g.name, fmt(g.ms), pct(g.share)]),
      ),
    );
  }
  if (profile !== null) {
    lines.push("", ...profileMarkdown(profile, options.how));
  }
  return lines;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  pass: "pass",
  short: "**short**",
  skipped: "skipped",
  failed: "**failed**",
  reported: "reported (no ratio target)",
};

/** The whole report. */
export function renderReport(report: {
  date: string;
  command: string;
  duration_s: number;
  facts: readonly Fact[];
  sections: readonly Section[];
  notes: readonly string[];
}): string {
  const lines: string[] = [
    "# Benchmarks",
    "",
    `Written by \`${report.command}\` on ${report.date} (the whole run took ${
      report.duration_s.toFixed(0)
    } s). Every figure is a ratio against a baseline measured in the same run, on the same machine, right before or between the candidate's runs; absolute numbers are given for context only. Regenerate with \`deno task bench\` (\`--quick\` for a short run, \`--only sim,kafka,eo,latency\` for a subset).`,
    "",
    "## Machine",
    "",
    ...table(["fact", "value"], report.facts.map(([k, v]) => [k, v])),
    "",
    "## Summary",
    "",
    ...table(
      ["benchmark", "baseline", "candidate", "ratio", "target", "result"],
      report.sections.map((s) => [
        s.title,
        s.summary.baseline,
        s.summary.candidate,
        s.summary.ratio,
        s.summary.target,
        VERDICT_TEXT[s.verdict],
      ]),
    ),
    "",
  ];
  for (const section of report.sections) {
    lines.push(`## ${section.title}`, "", ...section.body, "");
  }
  if (report.notes.length > 0) {
    lines.push(
      "## Notes on method",
      "",
      ...report.notes.map((n) => `- ${n}`),
      "",
    );
  }
  return lines.join("\n");
}
