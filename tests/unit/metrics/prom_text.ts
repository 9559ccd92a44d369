/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests:
 * it accepts what Prometheus's own parser accepts and rejects, with the line
 * number, what a lenient reader would let through:
 * - a malformed line, name, label, escape or value;
 * - `# TYPE` or `# HELP` twice for a family, or `# TYPE` after its samples;
 * - samples of one family split by another family's lines;
 * - the same series (name and labels) twice;
 * - a counter below zero; a histogram without `+Inf`, `_sum` or `_count`, with
 *   decreasing `le` or decreasing bucket counts, or whose `+Inf` bucket is not
 *   its `_count`.
 *
 * Values are Go floats as Prometheus reads them: `NaN`, `+Inf`, `-Inf` in any
 * case, decimal and exponent forms.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  /** The sample's own name (`x_bucket` for a histogram bucket of `x`). */
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp_ms?: number;
}

/** A metric family: its `# TYPE`, `# HELP` and samples in order. */
export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string | null;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT =
  /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Thrown for text that is not valid exposition format. */
export class ExpositionError extends Error {
  override name = "ExpositionError";
}

/** Parses `text` into families by name (in order of appearance). */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seriesSeen = new Set<string>();
  /** Families whose samples ended (another family's line came after them). */
  const closed = new Set<string>();
  let current: string | null = null;
  const lines = text.split("\n");
  if (text.length > 0 && !text.endsWith("\n")) {
    throw new ExpositionError("the text must end with a line feed");
  }
  const fail = (n: number, why: string): never => {
    throw new ExpositionError(
      `line ${n + 1}: ${why}: ${JSON.stringify(lines[n])}`,
    );
  };
  const enter = (n: number, family: string) => {
    if (current !== family) {
      if (closed.has(family)) fail(n, `family '${family}' is split`);
      if (current !== null) closed.add(current);
      current = family;
    }
  };
  const familyOf = (n: number, name: string): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: "untyped", help: null, samples: [] };
      families.set(name, family);
    }
    enter(n, name);
    return family;
  };
  const typed = new Set<string>();

  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (m === null) continue; // a plain comment
      const [, keyword, name, rest = ""] = m as unknown as string[];
      if (!NAME.test(name as string)) fail(n, "invalid metric name");
      const family = familyOf(n, name as string);
      if (keyword === "HELP") {
        if (family.help !== null) fail(n, "second HELP");
        family.help = unescape(
          rest,
          false,
          () => fail(n, "invalid escape in HELP"),
        );
      } else {
        if (typed.has(family.name)) fail(n, "second TYPE");
        if (family.samples.length > 0) fail(n, "TYPE after samples");
        if (!TYPES.has(rest)) fail(n, "unknown type");
        family.type = rest as Family["type"];
        typed.add(family.name);
      }
      continue;
    }
    const sample = parseSample(line, () => fail(n, "malformed sample"));
    const family = familyOf(n, familyName(sample.name, families));
    const key = `${sample.name}{${
      Object.entries(sample.labels).sort(([a], [b]) => a < b ? -1 : 1).map((
        [k, v],
      ) => `${k}=${JSON.stringify(v)}`).join(",")
    }}`;
    if (seriesSeen.has(key)) fail(n, "duplicate series");
    seriesSeen.add(key);
    if (family.type === "counter" && !(sample.value >= 0)) {
      fail(n, "counter below zero");
    }
    if (
      family.type !== "histogram" && family.type !== "summary" &&
      sample.name !== family.name
    ) {
      fail(n, `sample name does not match family '${family.name}'`);
    }
    family.samples.push(sample);
  }
  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/** The family a sample belongs to: a histogram or summary's suffixes map to it. */
function familyName(name: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const family = families.get(base);
      if (
        family !== undefined &&
        (family.type === "histogram" ||
          (family.type === "summary" && suffix !== "_bucket"))
      ) return base;
    }
  }
  return name;
}

function parseSample(line: string, fail: () => never): Sample {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i] as string)) i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) fail();
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      if (line[i] === "}") {
        i++;
        break;
      }
      let j = i;
      while (j < line.length && /[a-zA-Z0-9_]/.test(line[j] as string)) j++;
      const label = line.slice(i, j);
      if (!LABEL_NAME.test(label) || label.startsWith("__")) fail();
      if (label in labels) fail();
      if (line[j] !== "=" || line[j + 1] !== '"') fail();
      j += 2;
      let raw = "";
      while (j < line.length && line[j] !== '"') {
        if (line[j] === "\\") {
          raw += line.slice(j, j + 2);
          j += 2;
        } else raw += line[j++];
      }
      if (line[j] !== '"') fail();
      labels[label] = unescape(raw, true, fail);
      i = j + 1;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") fail();
    }
  }
  const rest = line.slice(i);
  const m = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/.exec(rest);
  if (m === null) fail();
  const value = parseFloatGo((m as RegExpExecArray)[1] as string, fail);
  const stamp = (m as RegExpExecArray)[2];
  return stamp === undefined
    ? { name, labels, value }
    : { name, labels, value, timestamp_ms: Number(stamp) };
}

/** A float as Go's strconv.ParseFloat reads it (what Prometheus uses). */
export function parseFloatGo(text: string, fail: () => never): number {
  const lower = text.toLowerCase();
  if (lower === "nan") return NaN;
  if (["+inf", "inf", "+infinity", "infinity"].includes(lower)) return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  if (!FLOAT.test(text)) fail();
  return Number(text);
}

/** Undoes `\\`, `\n` (and `\"` in label values); any other escape is an error. */
function unescape(raw: string, quotes: boolean, fail: () => never): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== "\\") {
      if (c === "\n") fail();
      out += c;
      continue;
    }
    const next = raw[++i];
    if (next === "\\") out += "\\";
    else if (next === "n") out += "\n";
    else if (next === '"' && quotes) out += '"';
    else fail();
  }
  return out;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le: _, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? [];
    group.push(sample);
    groups.set(key, group);
  }
  for (const [key, samples] of groups) {
    const where = `histogram '${family.name}' ${key}`;
    const buckets = samples.filter((s) => s.name === `${family.name}_bucket`);
    const sum = samples.find((s) => s.name === `${family.name}_sum`);
    const count = samples.find((s) => s.name === `${family.name}_count`);
    if (sum === undefined || count === undefined) {
      throw new ExpositionError(`${where}: needs _sum and _count`);
    }
    let lastLe = -Infinity;
    let lastCount = 0;
    for (const bucket of buckets) {
      const leText = bucket.labels.le;
      if (leText === undefined) {
        throw new ExpositionError(`${where}: a bucket without 'le'`);
      }
      const le = parseFloatGo(leText, () => {
        throw new ExpositionError(`${where}: 'le' is not a float: ${leText}`);
      });
      if (!(le > lastLe)) {
        throw new ExpositionError(`${where}: 'le' must increase: ${leText}`);
      }
      if (bucket.value < lastCount) {
        throw new ExpositionError(`${where}: bucket counts must not decrease`);
      }
      lastLe = le;
      lastCount = bucket.value;
    }
    if (lastLe !== Infinity) {
      throw new ExpositionError(`${where}: needs a '+Inf' bucket last`);
    }
    if (lastCount !== count.value) {
      throw new ExpositionError(
        `${where}: the '+Inf' bucket (${lastCount}) must equal _count (${count.value})`,
      );
    }
  }
}

/** The value of the one sample of `families` named `name` with exactly `labels`, or undefined. */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (
        keys.length === Object.keys(labels).length &&
        keys.every((k) => sample.labels[k] === labels[k])
      ) return sample.value;
    }
  }
  return undefined;
}
