/**
 * Facts about the machine a benchmark ran on, for the report.
 *
 * @module
 */

/** One fact: what and its value. */
export type Fact = [name: string, value: string];

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

/** CPU, memory, OS, Deno and service versions, load. */
export async function machineFacts(root: URL): Promise<Fact[]> {
  const cpuinfo = await readText("/proc/cpuinfo");
  const meminfo = await readText("/proc/meminfo");
  const cpu = cpuinfo?.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown";
  const mem_kb = Number(meminfo?.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? NaN);
  const load = loadAverage();
  const facts: Fact[] = [
    ["CPU", cpu],
    ["nproc (logical CPUs)", String(navigator.hardwareConcurrency)],
    [
      "memory",
      Number.isFinite(mem_kb)
        ? `${(mem_kb / 1024 / 1024).toFixed(1)} GiB`
        : "unknown",
    ],
    ["OS", `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`],
    [
      "Deno",
      `${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    ],
    [
      "load average at start (1/5/15 min)",
      load,
    ],
  ];
  const kafka = await kafkaVersion(root);
  if (kafka !== null) facts.push(["Kafka", kafka]);
  return facts;
}

/** `1 min / 5 min / 15 min` load averages. */
export function loadAverage(): string {
  return Deno.loadavg().map((l) => l.toFixed(2)).join(" / ");
}

/** The broker's version, from the jar `scripts/services.sh` fetched. */
async function kafkaVersion(root: URL): Promise<string | null> {
  try {
    for await (
      const entry of Deno.readDir(new URL(".services/kafka/lib/", root))
    ) {
      const match = entry.name.match(/^kafka_[\d.]+-([\d.]+)\.jar$/);
      if (match) {
        return `${match[1]} (single node, KRaft, from scripts/services.sh)`;
      }
    }
  } catch {
    // Not fetched here: the broker may be someone else's.
  }
  return null;
}

/**
 * Times the calling thread was descheduled against its will so far (Linux's
 * `nonvoluntary_ctxt_switches`), or NaN where the kernel does not say.
 */
export function preemptions(): number {
  try {
    const status = Deno.readTextFileSync("/proc/thread-self/status");
    return Number(
      status.match(/^nonvoluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? NaN,
    );
  } catch {
    return NaN;
  }
}
