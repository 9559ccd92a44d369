/**
 * Checkpoints in an object store, one series per (job, topic, partition).
 *
 * A checkpoint is written as two objects: the state object first, then a
 * manifest naming it. A crash between the two leaves a state object without a
 * manifest, which recovery ignores: only checkpoints whose manifest exists are
 * complete. Manifest names sort by input position, so the newest complete
 * checkpoint is the last manifest listed.
 *
 * @module
 */

import type { ObjectStore } from "../ports.ts";

/** What a partition's checkpoint holds. */
export interface PartitionCheckpoint {
  version: 1;
  job: string;
  topic: string;
  partition: number;
  /** Next input offset to read. */
  position: number;
  /** Epoch of the instance that wrote it. */
  epoch: number;
  /** The processor's snapshot (keyed state, windows, timers, counts). */
  state: unknown;
  /** Each sink's commit handle: for a fenced key-value sink, its fence key. */
  sinks: Record<string, unknown>;
}

interface Manifest {
  version: 1;
  position: number;
  epoch: number;
  state_key: string;
}

/** Options of {@linkcode CheckpointStore}. */
export interface CheckpointStoreOptions {
  /** Key prefix of every checkpoint object. Default: `checkpoints`. */
  prefix?: string;
  /** Complete checkpoints kept per partition; older ones are deleted. Default: 2. */
  retain?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function pad(n: number): string {
  return String(n).padStart(16, "0");
}

/** Reads and writes partition checkpoints in an object store. */
export class CheckpointStore {
  readonly #store: ObjectStore;
  readonly #prefix: string;
  readonly #retain: number;

  constructor(store: ObjectStore, options: CheckpointStoreOptions = {}) {
    const retain = options.retain ?? 2;
    if (!Number.isInteger(retain) || retain < 1) {
      throw new RangeError(
        `Cannot keep checkpoints as 'retain' must be a positive integer: current value is ${retain}`,
      );
    }
    this.#store = store;
    this.#prefix = options.prefix ?? "checkpoints";
    this.#retain = retain;
  }

  #dir(job: string, topic: string, partition: number): string {
    return `${this.#prefix}/${job}/${topic}/${partition}`;
  }

  /** Writes a checkpoint: state object first, manifest last. */
  async write(checkpoint: PartitionCheckpoint): Promise<void> {
    const dir = this.#dir(
      checkpoint.job,
      checkpoint.topic,
      checkpoint.partition,
    );
    const stem = `${pad(checkpoint.position)}-${pad(checkpoint.epoch)}`;
    const stateKey = `${dir}/state/${stem}.json`;
    await this.#store.put(stateKey, encoder.encode(JSON.stringify(checkpoint)));
    const manifest: Manifest = {
      version: 1,
      position: checkpoint.position,
      epoch: checkpoint.epoch,
      state_key: stateKey,
    };
    await this.#store.put(
      `${dir}/manifest/${stem}.json`,
      encoder.encode(JSON.stringify(manifest)),
    );
    await this.#prune(dir);
  }

  /** The newest complete checkpoint of a partition, or `null` when none. */
  async latest(
    job: string,
    topic: string,
    partition: number,
  ): Promise<PartitionCheckpoint | null> {
    const dir = this.#dir(job, topic, partition);
    const manifests = await this.#store.list(`${dir}/manifest/`);
    for (let i = manifests.length - 1; i >= 0; i--) {
      const bytes = await this.#store.get(manifests[i]!);
      if (bytes === null) continue;
      const manifest = JSON.parse(decoder.decode(bytes)) as Manifest;
      const state = await this.#store.get(manifest.state_key);
      if (state === null) continue;
      return JSON.parse(decoder.decode(state)) as PartitionCheckpoint;
    }
    return null;
  }

  async #prune(dir: string): Promise<void> {
    const manifests = await this.#store.list(`${dir}/manifest/`);
    const keep = new Set(manifests.slice(-this.#retain).map(stemOf));
    for (const key of manifests) {
      if (!keep.has(stemOf(key))) await this.#store.delete(key);
    }
    // State objects go after their manifests, so a listed manifest never
    // names a missing state object; orphans of crashed writes go too.
    for (const key of await this.#store.list(`${dir}/state/`)) {
      if (!keep.has(stemOf(key))) await this.#store.delete(key);
    }
  }
}

function stemOf(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.slice(0, name.length - ".json".length);
}
