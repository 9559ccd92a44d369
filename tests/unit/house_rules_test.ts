/**
 * The house rules, checked over the source tree:
 * - nothing in `src/core`, `src/flow`, `src/sinks` or `src/jobs` reads the
 *   wall clock, randomness,
 *   timers, the environment or any other `Deno.*` API: time comes from the
 *   Clock port, randomness from a seeded generator passed in;
 * - those never import `src/adapters` (jobs and sinks speak to ports);
 * - nothing in `src/` imports `sim/`.
 *
 * Comments, string contents and regular-expression literals are not code, so
 * a doc comment that names `Date.now()` does not break a rule.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** A broken rule at a place in a file. */
interface Violation {
  file: string;
  line: number;
  rule: string;
  text: string;
}

const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\.now\b/, "reads the wall clock (Date.now): use the Clock port"],
  [
    /\bnew\s+Date\s*\(\s*\)/,
    "reads the wall clock (new Date()): use the Clock port",
  ],
  [
    /(?<![.\w])Date\s*\(\s*\)/,
    "reads the wall clock (Date()): use the Clock port",
  ],
  [
    /\bperformance\s*\.\s*now\b/,
    "reads the wall clock (performance.now): use the Clock port",
  ],
  [
    /\bMath\.random\b/,
    "draws unseeded randomness (Math.random): pass a seeded generator",
  ],
  [
    /\bcrypto\s*\.\s*(getRandomValues|randomUUID)\b/,
    "draws unseeded randomness (crypto): pass a seeded generator",
  ],
  [/\bsetTimeout\b/, "uses a real timer (setTimeout): use Clock.sleep"],
  [/\bsetInterval\b/, "uses a real timer (setInterval): use Clock.sleep"],
  [
    /\bprocess\s*\.\s*env\b/,
    "reads the environment (process.env): take configuration as options",
  ],
  [
    /\bDeno\s*(\.|\[)/,
    "uses the Deno runtime (Deno.*): core and jobs only speak to ports",
  ],
];

/**
 * The text with comments removed and the contents of strings, template
 * literals (outside `${}`) and regular-expression literals blanked; newlines
 * stay, so line numbers hold.
 */
function codeOnly(text: string): string {
  let out = "";
  let i = 0;
  /** Brace depth inside each open `${`, innermost last. */
  const templates: number[] = [];
  let last = ""; // last significant code character, to tell a regex from a division
  const blank = (c: string) => (c === "\n" ? "\n" : " ");

  const readString = (quote: string) => {
    out += quote;
    i++;
    while (i < text.length && text[i] !== quote && text[i] !== "\n") {
      if (text[i] === "\\") {
        out += " ";
        i++;
      }
      out += blank(text[i] ?? "");
      i++;
    }
    out += text[i] ?? "";
    i++;
    last = quote;
  };

  /** Template text up to its end or to a `${`. */
  const readTemplate = () => {
    while (i < text.length) {
      const c = text[i]!;
      if (c === "\\") {
        out += "  ";
        i += 2;
      } else if (c === "`") {
        out += c;
        i++;
        last = c;
        return;
      } else if (c === "$" && text[i + 1] === "{") {
        out += "${";
        i += 2;
        templates.push(0);
        last = "{";
        return;
      } else {
        out += blank(c);
        i++;
      }
    }
  };

  const readRegex = () => {
    out += "/";
    i++;
    let inClass = false;
    while (i < text.length && text[i] !== "\n") {
      const c = text[i]!;
      if (c === "\\") {
        out += "  ";
        i += 2;
        continue;
      }
      if (c === "[") inClass = true;
      else if (c === "]") inClass = false;
      else if (c === "/" && !inClass) break;
      out += " ";
      i++;
    }
    out += "/";
    i++;
    last = "/";
  };

  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === "'" || c === '"') {
      readString(c);
    } else if (c === "`") {
      out += c;
      i++;
      readTemplate();
    } else if (
      c === "/" && (last === "" || "(,=:[!&|?{};+-*%<>~^".includes(last))
    ) {
      readRegex();
    } else if (c === "{" && templates.length > 0) {
      templates[templates.length - 1]!++;
      out += c;
      i++;
      last = c;
    } else if (c === "}" && templates.length > 0) {
      out += c;
      i++;
      if (templates[templates.length - 1] === 0) {
        templates.pop();
        readTemplate();
      } else {
        templates[templates.length - 1]!--;
        last = c;
      }
    } else {
      out += c;
      i++;
      if (!/\s/.test(c)) last = c;
    }
  }
  return out;
}

/** Uses of forbidden APIs in one file of `src/core` or `src/jobs`. */
function forbiddenApis(file: string, text: string): Violation[] {
  const violations: Violation[] = [];
  const original = text.split("\n");
  codeOnly(text).split("\n").forEach((code, index) => {
    for (const [pattern, rule] of FORBIDDEN) {
      if (pattern.test(code)) {
        violations.push({
          file,
          line: index + 1,
          rule,
          text: original[index]!.trim(),
        });
      }
    }
  });
  return violations;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\1/g;

/**
 * Imports of `file` (a path relative to the repository root) that reach a
 * directory in `banned` (paths relative to the root, such as `sim/`).
 */
function bannedImports(
  file: string,
  text: string,
  banned: ReadonlyArray<{ dir: string; rule: string }>,
): Violation[] {
  const violations: Violation[] = [];
  const base = new URL(file, "file:///repo/");
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[2]!;
    if (!specifier.startsWith(".") && !specifier.startsWith("/")) continue;
    const target = new URL(specifier, base).pathname.slice("/repo/".length);
    for (const { dir, rule } of banned) {
      if (target.startsWith(dir)) {
        violations.push({
          file,
          line: text.slice(0, match.index).split("\n").length,
          rule,
          text: match[0],
        });
      }
    }
  }
  return violations;
}

const NO_SIM = { dir: "sim/", rule: "src/ never imports sim/" };
const NO_ADAPTERS = {
  dir: "src/adapters/",
  rule: "core and jobs never import adapters: they speak to ports",
};

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (relative: string) => {
    for await (const entry of Deno.readDir(new URL(relative, ROOT))) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) files.push(path);
    }
  };
  await walk(dir);
  return files.sort();
}

async function read(file: string): Promise<string> {
  return await Deno.readTextFile(new URL(file, ROOT));
}

function report(violations: Violation[]): string {
  return violations
    .map((v) => `${v.file}:${v.line}: ${v.rule}\n    ${v.text}`)
    .join("\n");
}

// ---------------------------------------------------------------------------

/** The directories whose code must be deterministic and port-only. */
const PURE = ["src/core/", "src/flow/", "src/sinks/", "src/jobs/"];

Deno.test("nothing in src/core, src/flow, src/sinks or src/jobs reads the clock, randomness, timers, the environment or Deno", async () => {
  const files = (await Promise.all(
    PURE.map((dir) => sourceFiles(dir.slice(0, -1))),
  )).flat();
  assert.ok(files.length >= 10, `found only ${files.length} files`);
  const violations: Violation[] = [];
  for (const file of files) {
    violations.push(...forbiddenApis(file, await read(file)));
  }
  assert.equal(violations.length, 0, `\n${report(violations)}`);
});

Deno.test("nothing in src/ imports sim/, and core, flow, sinks and jobs do not import adapters", async () => {
  const violations: Violation[] = [];
  const files = await sourceFiles("src");
  assert.ok(files.some((f) => f.startsWith("src/adapters/")));
  for (const file of files) {
    const banned = PURE.some((dir) => file.startsWith(dir))
      ? [NO_SIM, NO_ADAPTERS]
      : [NO_SIM];
    violations.push(...bannedImports(file, await read(file), banned));
  }
  assert.equal(violations.length, 0, `\n${report(violations)}`);
});

Deno.test("the rule checker catches planted uses of forbidden APIs", () => {
  const planted = [
    "const t = Date.now();",
    "const d = new Date();",
    "const s = Date();",
    "const r = Math.random();",
    "setTimeout(() => {}, 10);",
    "const h = setInterval(tick, 1000);",
    "const p = performance.now();",
    "const url = Deno.env.get('REDIS_URL');",
    "const text = await Deno.readTextFile(path);",
    "const e = process.env.HOME;",
    "const id = crypto.randomUUID();",
    "const x = `${Date.now()}`;",
    "const x = `a ${`b ${Math.random()}`}`;",
    "const ratio = a / b; const t = Date.now();",
    "const re = /a\\/\\/b/; setTimeout(f, 1);",
    "const q = 'it''s'; const t = Date.now();",
  ];
  for (const line of planted) {
    const found = forbiddenApis("src/core/planted.ts", line);
    assert.ok(found.length > 0, `missed: ${line}`);
    assert.equal(found[0]!.line, 1);
  }
});

Deno.test("the rule checker ignores comments, strings and regular expressions that name those APIs", () => {
  const text = [
    "// Date.now is never read here",
    "/**",
    " * Unlike Date.now() or Math.random(), the Clock port ...",
    " */",
    "const a = 1; // setTimeout would break determinism",
    "/* Deno.env */ const b = 2;",
    'const message = "do not call Date.now() in jobs";',
    "const other = 'setInterval';",
    "const template = `Math.random is not used`;",
    "const re = /Date\\.now|performance\\.now/;",
    "const d = new Date(ts);",
    "const day = toDate(ts);",
    "const x = { Deno: 1 }.Deno;",
  ].join("\n");
  assert.deepEqual(forbiddenApis("src/core/clean.ts", text), []);
});

Deno.test("the rule checker reports the line of a use after a multi-line comment", () => {
  const text = "/*\n Date.now\n*/\nconst a = 1;\nconst t = Date.now();\n";
  assert.deepEqual(
    forbiddenApis("src/jobs/x.ts", text).map((v) => v.line),
    [5],
  );
});

Deno.test("the import checker catches planted imports of sim/ and adapters, static and dynamic", () => {
  const text = [
    'import { KvTwin } from "../../../sim/kv.ts";',
    'import type { Rng } from "../../../sim/random.ts";',
    'export * from "../../../sim/clock.ts";',
    'const kv = await import("../../../sim/kv.ts");',
    'import "../../../sim/side_effect.ts";',
    'import { RedisKeyValue } from "../../adapters/redis.ts";',
    'import { x } from "./local.ts";',
    'import { y } from "../../core/job.ts";',
    'import { z } from "../../sim/not_the_root_sim.ts";',
    'import fc from "fast-check";',
  ].join("\n");
  const found = bannedImports("src/jobs/views/job.ts", text, [
    NO_SIM,
    NO_ADAPTERS,
  ]);
  assert.deepEqual(
    found.map((v) => [v.line, v.rule]),
    [
      [1, NO_SIM.rule],
      [2, NO_SIM.rule],
      [3, NO_SIM.rule],
      [4, NO_SIM.rule],
      [5, NO_SIM.rule],
      [6, NO_ADAPTERS.rule],
    ],
  );
  assert.deepEqual(
    bannedImports("src/cli.ts", 'import { s } from "../sim/simulator.ts";', [
      NO_SIM,
    ]).map((v) => v.line),
    [1],
  );
});
