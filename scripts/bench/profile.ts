/**
 * CPU profiles of a benchmark's candidate: runs it once more in a child
 * process under `deno run --cpu-prof` (V8's sampling profiler) and sums the
 * samples by function and by source area, so a report can say where the
 * time went.
 *
 * @module
 */

/** Time attributed to one function or area. */
export interface ProfileEntry {
  name: string;
  ms: number;
  /** Share of all samples, 0..1. */
  share: number;
}

/** A profile summed up. */
export interface ProfileSummary {
  total_ms: number;
  /** Time in the function itself, by area (file or package), the largest first. */
  areas: ProfileEntry[];
  /** Every area, not only the largest. */
  all_areas: ProfileEntry[];
  /** Time in the function itself, by function. */
  self: ProfileEntry[];
  /** Time in the function and everything it called, freshet functions only. */
  inclusive: ProfileEntry[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The repository's root, as a file URL ending in `/`. */
const ROOT = new URL("../../", import.meta.url).href;

/** Where a frame's code lives: a package, a repository file, or a V8 pseudo-frame. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") {
    // V8's pseudo-frames: (garbage collector), (idle), (program), (root).
    if (functionName.startsWith("(")) return functionName;
    // Native halves of Deno's Node streams: the socket writes of npm clients.
    if (/^write(Utf8String|Buffer|v|Latin1String)$/.test(functionName)) {
      return "deno node compat (socket writes)";
    }
    return "(native)";
  }
  const npm = url.match(/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  if (url.startsWith("ext:deno_node") || url.startsWith("node:")) {
    return "deno node compat (ext:deno_node)";
  }
  if (url.startsWith("ext:")) return "deno runtime (ext:)";
  return url;
}

function frameName(frame: CallFrame): string {
  const area = areaOf(frame);
  const fn = frame.functionName || "(anonymous)";
  if (frame.url === "") return area === "(native)" ? fn : area;
  return `${fn} (${area}:${frame.lineNumber + 1})`;
}

function top(map: Map<string, number>, total: number, n: number) {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map((
    [name, us],
  ) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
}

/** Sums a `.cpuprofile` by area and by function. */
export function summarizeProfile(
  profile: CpuProfile,
  options: {
    /** Entries kept per list. Default: 15. */
    top?: number;
  } = {},
): ProfileSummary {
  const n = options.top ?? 15;
  const nodes = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    nodes.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfByNode = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfByNode.set(
      id,
      (selfByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0),
    );
  });
  let total = 0;
  const areas = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfByNode) {
    total += us;
    const frame = nodes.get(id)!.callFrame;
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = frameName(frame);
    self.set(name, (self.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (
      let at: number | undefined = id;
      at !== undefined;
      at = parent.get(at)
    ) {
      const f = nodes.get(at)!.callFrame;
      if (!f.url.startsWith(ROOT) || f.url.includes("/scripts/bench")) continue;
      const key = frameName(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  return {
    total_ms: total / 1000,
    areas: top(areas, total, n),
    all_areas: top(areas, total, areas.size),
    self: top(self, total, n),
    inclusive: top(inclusive, total, n),
  };
}

/**
 * Runs `scripts/bench/profile_target.ts` with `args` under `--cpu-prof` and
 * sums the profile. Answers `{ error }` when the child fails.
 */
export async function profileChild(
  args: readonly string[],
  options: { top?: number } = {},
): Promise<ProfileSummary | { error: string }> {
  const dir = await Deno.makeTempDir({ prefix: "freshet-bench-prof-" });
  try {
    const target = new URL("./profile_target.ts", import.meta.url);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--cpu-prof",
        `--cpu-prof-dir=${dir}`,
        target.pathname,
        ...args,
      ],
      cwd: new URL(ROOT).pathname,
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stderr } = await child.output();
    if (code !== 0) {
      const text = new TextDecoder().decode(stderr).trim().split("\n");
      return { error: `profile run exited with ${code}: ${text.at(-1)}` };
    }
    const files = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.endsWith(".cpuprofile")) files.push(entry.name);
    }
    if (files.length === 0) return { error: "no .cpuprofile was written" };
    const profile = JSON.parse(
      await Deno.readTextFile(`${dir}/${files[0]}`),
    ) as CpuProfile;
    return summarizeProfile(profile, options);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A named group of areas: the first rule whose prefix matches an area wins. */
export type CategoryRule = [label: string, prefixes: readonly string[]];

/** Sums a profile's areas into categories (unmatched areas go to "other"). */
export function categorize(
  summary: ProfileSummary,
  rules: readonly CategoryRule[],
): ProfileEntry[] {
  const sums = new Map<string, number>();
  for (const area of summary.all_areas) {
    const rule = rules.find(([, prefixes]) =>
      prefixes.some((p) => area.name.startsWith(p))
    );
    const label = rule?.[0] ?? "other";
    sums.set(label, (sums.get(label) ?? 0) + area.ms);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({
    name,
    ms,
    share: summary.total_ms > 0 ? ms / summary.total_ms : 0,
  }));
}
