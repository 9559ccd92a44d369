/**
 * What a run leaves for users, in a canonical form: the twins' contents
 * without the runtime's own bookkeeping (fences, checkpoints), so that runs
 * can be compared and digested.
 *
 * Canonical form, per output:
 * - key-value: every key but `freshet:*`, sorted, with its value and whether
 *   it has a TTL (the expiry instant depends on processing time);
 * - side-output topics (dead letters, late records): at least once and keyed
 *   by source position, so repeats of a key count once; each message as its
 *   reason and payload, sorted;
 * - other output topics: message values, every one (exactly-once outputs
 *   hold no repeats), sorted;
 * - objects: key and bytes (UTF-8 text, or base64 behind `base64:`), staging objects of file sinks
 *   (`freshet-staging/`) left out: they are bookkeeping, not outputs.
 *
 * @module
 */

import type { Counts } from "../src/core/job.ts";
import type { SideRecord } from "../src/sinks/side_topics.ts";
import { DEFAULT_STAGING_PREFIX } from "../src/sinks/s3_files.ts";
import type { KvDumpEntry } from "./kv.ts";
import type { SimulationResult } from "./simulator.ts";

/** A key as compared between runs. */
export type CanonicalKv = Omit<KvDumpEntry, "expire_at_ms"> & { ttl: boolean };

/** A run's outputs in canonical form. */
export interface CanonicalOutputs {
  /** Every key but the runtime's (`freshet:*`), sorted by key. */
  kv: CanonicalKv[];
  /** Output topics, each with its messages sorted (see the module doc). */
  topics: Array<{ topic: string; messages: string[] }>;
  /** Objects but staging ones, sorted by key, each body as text or `base64:`. */
  objects: Array<{ key: string; body: string }>;
  /** Where the input records went. */
  counts: Counts;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * An object's body as text: itself when it is UTF-8 (JSON Lines), else its
 * bytes in base64 behind `base64:` (Parquet), so that two bodies compare
 * equal only when their bytes do.
 */
function bodyText(body: Uint8Array): string {
  try {
    return decoder.decode(body);
  } catch {
    return `base64:${encodeBase64(body)}`;
  }
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * The canonical outputs of a simulation; `input` topics are left out, and
 * so are the topics the job's stages read (internal repartition topics hold
 * watermark markers whose timing is not an output).
 */
export function canonicalOutputs(
  result: SimulationResult,
  input: readonly string[],
): Promise<CanonicalOutputs> {
  const kv = result.kv.dump()
    .filter((entry) => !entry.key.startsWith("freshet:"))
    .map(({ expire_at_ms, ...entry }) =>
      ({ ...entry, ttl: expire_at_ms !== null }) as CanonicalKv
    );
  const topics = result.log.dump().topics
    .filter(({ topic }) =>
      !input.includes(topic) && !result.stage_topics.includes(topic)
    )
    .map(({ topic, partitions }) => {
      const seen = new Set<string>();
      const messages: string[] = [];
      for (const record of partitions.flat()) {
        const side = sideRecord(record.value);
        // Side outputs are at least once, keyed by source position: a
        // repeat counts once. Every other message counts every time.
        if (side !== null && record.key !== null) {
          if (seen.has(record.key)) continue;
          seen.add(record.key);
        }
        messages.push(
          side === null
            ? record.value
            : JSON.stringify({ reason: side.reason, value: side.value }),
        );
      }
      messages.sort();
      return { topic, messages };
    });
  // Read through dump(), as the other twins: list/get would still draw the
  // run's injected sink failures.
  const objects = result.objects.dump()
    .filter(({ key }) => !isStagingKey(key))
    .map(({ key, body }) => ({ key, body: bodyText(body) }));
  return Promise.resolve({ kv, topics, objects, counts: result.counts });
}

/** Whether an object is a file sink's staging object, not an output. */
export function isStagingKey(key: string): boolean {
  return key.startsWith(`${DEFAULT_STAGING_PREFIX}/`);
}

/** The side record a message holds, or null for any other message. */
function sideRecord(value: string): SideRecord | null {
  if (!value.startsWith("{")) return null;
  try {
    const side = JSON.parse(value) as Partial<SideRecord>;
    if (typeof side.reason === "string" && typeof side.source === "object") {
      return side as SideRecord;
    }
  } catch {
    // Not JSON: not a side record.
  }
  return null;
}

/** SHA-256 of the canonical outputs, hex. */
export async function digest(outputs: CanonicalOutputs): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(outputs));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}
