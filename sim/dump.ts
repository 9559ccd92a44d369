/**
 * `--out DIR`: the final contents of every twin, in a stable layout that
 * other tools can diff (see docs/SIM.md).
 *
 * @module
 */

import type { SimulationResult } from "./simulator.ts";
import { isStagingKey } from "./outputs.ts";

/** Writes `result`'s twins under `dir`, replacing what a previous dump left there. */
export async function writeDump(
  dir: string,
  result: SimulationResult,
  summary: Record<string, unknown>,
): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(`${dir}/topics`, { recursive: true });
  const kv = result.kv.dump();
  await Deno.writeTextFile(
    `${dir}/kv.json`,
    `[\n${kv.map((entry) => JSON.stringify(entry)).join(",\n")}\n]\n`,
  );
  for (const { topic, partitions } of result.log.dump().topics) {
    const lines = partitions.flat().map((
      { partition, offset, key, value, timestamp },
    ) => JSON.stringify({ partition, offset, key, value, timestamp }));
    await Deno.writeTextFile(
      `${dir}/topics/${topic}.jsonl`,
      lines.length > 0 ? `${lines.join("\n")}\n` : "",
    );
  }
  for (
    const [store, twin] of [["objects", result.objects], [
      "checkpoints",
      result.checkpoints,
    ]] as const
  ) {
    await Deno.mkdir(`${dir}/${store}`, { recursive: true });
    for (const key of await twin.list("")) {
      // Published objects only, exactly as in S3: staging is bookkeeping.
      if (store === "objects" && isStagingKey(key)) continue;
      const body = await twin.get(key);
      const path = `${dir}/${store}/${key}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.writeFile(path, body ?? new Uint8Array());
    }
  }
  await Deno.writeTextFile(
    `${dir}/summary.json`,
    `${JSON.stringify(summary, null, 2)}\n`,
  );
}
