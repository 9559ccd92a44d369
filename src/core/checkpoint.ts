/**
 * Checkpoints: where each input partition's state and progress are
 * committed, and how a new owner fences the old one.
 *
 * A {@linkcode CheckpointLog} is claimed by the task that takes a partition:
 * the claim fences every older owner (their later commits fail with
 * `FencedError`) and answers the newest committed checkpoint. The default
 * log is {@linkcode CheckpointStore}, in an object store; a sink whose
 * transaction is the commit point (Kafka) brings its own.
 *
 * {@linkcode CheckpointStore} keeps, per (job, topic, partition), a sequence
 * of manifests `manifest/<seq>.json`, each created with `putIfAbsent`, so
 * two writers can never both commit the same sequence number:
 * - a commit writes the checkpoint's state object under a key no one else
 *   uses (`state/<seq>-<epoch>.json`), then creates the next manifest naming
 *   it; a manifest that exists already means a newer owner claimed the
 *   partition: `FencedError`;
 * - a claim creates the next manifest too, repeating the newest checkpoint
 *   with the epoch bumped: from then on every older owner's next commit
 *   finds its sequence number taken;
 * - recovery reads the newest manifest; a crash between a state object and
 *   its manifest leaves an orphan state object, deleted later;
 * - the newest `retain` manifests are kept, and the state objects they name.
 *
 * @module
 */

import { FencedError, type ObjectStore } from "../ports.ts";

/** What a partition's checkpoint holds. */
export interface PartitionCheckpoint {
  /** Format version: a restore refuses any other, rather than misread it. */
  version: 2;
  /** The job's name. */
  job: string;
  /** The input (or stage) topic the partition belongs to. */
  topic: string;
  /** The partition of `topic`. */
  partition: number;
  /** Next input offset to read. */
  position: number;
  /** Processing-time steps taken after the last record before `position`. */
  ticks: number;
  /**
   * A processing-time step decided but not yet applied when this checkpoint
   * was taken (its processing time): a restore applies it first, as step
   * number `ticks`, so its outputs are exactly those of the first attempt.
   */
  pending_tick_ms: number | null;
  /** Epoch of the owner that committed it. */
  epoch: number;
  /** The processor's snapshot (keyed state, windows, timers, counts). */
  state: unknown;
  /** Each sink's handle from `prepare`, by sink name. */
  sinks: Record<string, unknown>;
}

/** Identifies a partition of a job's input (or stage) topic. */
export interface CheckpointId {
  /** The job's name. */
  job: string;
  /** The input (or stage) topic. */
  topic: string;
  /** The partition of `topic`. */
  partition: number;
}

/** The task's hold on a partition's checkpoints. */
export interface PartitionClaim {
  /** Epoch of this claim: every earlier claim's is smaller. */
  readonly epoch: number;
  /** The newest committed checkpoint, or `null` when none. */
  readonly checkpoint: PartitionCheckpoint | null;
  /**
   * Commits a checkpoint; rejects with `FencedError` when a newer claim
   * took the partition.
   */
  commit(checkpoint: PartitionCheckpoint): Promise<void>;
}

/** Where a partition's checkpoints are committed; see the module doc. */
export interface CheckpointLog {
  /**
   * Takes the partition: fences every older claim (their commits then fail
   * with `FencedError`) and answers the newest committed checkpoint.
   */
  claim(id: CheckpointId): Promise<PartitionClaim>;
}

interface Manifest {
  version: 2;
  seq: number;
  epoch: number;
  position: number;
  /** The state object, or null for a claim of a partition never checkpointed. */
  state_key: string | null;
}

/** Options of {@linkcode CheckpointStore}. */
export interface CheckpointStoreOptions {
  /** Key prefix of every checkpoint object. Default: `checkpoints`. */
  prefix?: string;
  /** Manifests kept per partition (claims count); older ones are deleted. Default: 3. */
  retain?: number;
  /** Attempts at a claim that races with other claims. Default: 10. */
  claim_attempts?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MANIFEST_NAME = /\/manifest\/(\d{16})\.json$/;
const STATE_NAME = /\/state\/(\d{16})-\d{16}\.json$/;

function pad(n: number): string {
  return String(n).padStart(16, "0");
}

/** A {@linkcode CheckpointLog} in an object store; see the module doc. */
export class CheckpointStore implements CheckpointLog {
  readonly #store: ObjectStore;
  readonly #prefix: string;
  readonly #retain: number;
  readonly #claim_attempts: number;

  /**
   * Keeps checkpoints in `store` under `options.prefix`. Throws a
   * `RangeError` when `retain` is not an integer of at least 2.
   */
  constructor(store: ObjectStore, options: CheckpointStoreOptions = {}) {
    const retain = options.retain ?? 3;
    if (!Number.isInteger(retain) || retain < 2) {
      throw new RangeError(
        `Cannot keep checkpoints as 'retain' must be an integer of at least 2: current value is ${retain}`,
      );
    }
    this.#store = store;
    this.#prefix = options.prefix ?? "checkpoints";
    this.#retain = retain;
    this.#claim_attempts = options.claim_attempts ?? 10;
  }

  /** The directory of a partition's checkpoints. */
  dir(id: CheckpointId): string {
    return `${this.#prefix}/${id.job}/${id.topic}/${id.partition}`;
  }

  /**
   * Takes the partition by creating the next manifest with the epoch bumped,
   * and answers the newest checkpoint. Retries a claim that raced with
   * another up to `claim_attempts` times, then rejects with `FencedError`.
   */
  async claim(id: CheckpointId): Promise<PartitionClaim> {
    const dir = this.dir(id);
    for (let attempt = 0; attempt < this.#claim_attempts; attempt++) {
      const newest = await this.#newestManifest(dir);
      if (newest === "raced") continue;
      const manifest: Manifest = {
        version: 2,
        seq: (newest?.seq ?? 0) + 1,
        epoch: (newest?.epoch ?? 0) + 1,
        position: newest?.position ?? 0,
        state_key: newest?.state_key ?? null,
      };
      if (!await this.#create(dir, manifest)) continue;
      // Read between listing and creating: a newer owner claimed meanwhile.
      if (this.#newerThan(await this.#manifests(dir), manifest.seq)) continue;
      const checkpoint = manifest.state_key === null
        ? null
        : await this.#readState(manifest.state_key);
      let seq = manifest.seq;
      return {
        epoch: manifest.epoch,
        checkpoint,
        commit: async (checkpoint) => {
          const next = await this.#commit(dir, seq, manifest.epoch, checkpoint);
          seq = next;
        },
      };
    }
    throw new FencedError(
      `Cannot claim checkpoints of ${dir} as ${this.#claim_attempts} attempts raced with other owners claiming it`,
    );
  }

  /**
   * Writes a checkpoint's state under a key of its own in the partition's
   * directory (`<dir>/<kind>/<name>.json`), for logs committed elsewhere
   * (Kafka transactions): answers the key.
   */
  async putState(
    id: CheckpointId,
    kind: string,
    name: string,
    checkpoint: PartitionCheckpoint,
  ): Promise<string> {
    const key = `${this.dir(id)}/${kind}/${name}.json`;
    await this.#store.put(key, encoder.encode(JSON.stringify(checkpoint)));
    return key;
  }

  /** Reads a state object written by {@linkcode putState} (or a manifest's). */
  readState(key: string): Promise<PartitionCheckpoint> {
    return this.#readState(key);
  }

  /** Keys of state objects of one kind in a partition's directory, sorted. */
  async listStates(id: CheckpointId, kind: string): Promise<string[]> {
    return await this.#store.list(`${this.dir(id)}/${kind}/`);
  }

  /** Deletes a state object. */
  async deleteState(key: string): Promise<void> {
    await this.#store.delete(key);
  }

  /** The newest committed checkpoint of a partition (for inspection), or null. */
  async latest(id: CheckpointId): Promise<PartitionCheckpoint | null> {
    return (await this.latestStored(id))?.checkpoint ?? null;
  }

  /**
   * The newest committed checkpoint of a partition with its state object's
   * key and size, or null (for inspection: it reads, never writes).
   */
  async latestStored(
    id: CheckpointId,
  ): Promise<
    { key: string; size_bytes: number; checkpoint: PartitionCheckpoint } | null
  > {
    for (let attempt = 0; attempt < this.#claim_attempts; attempt++) {
      const newest = await this.#newestManifest(this.dir(id));
      if (newest === "raced") continue;
      if (newest?.state_key == null) return null;
      return await this.readStored(newest.state_key);
    }
    return null;
  }

  /**
   * Reads a state object as {@linkcode readState} does, with its key and its
   * size in bytes (for inspection).
   */
  async readStored(
    key: string,
  ): Promise<
    { key: string; size_bytes: number; checkpoint: PartitionCheckpoint }
  > {
    const bytes = await this.#store.get(key);
    if (bytes === null) {
      throw new Error(
        `Cannot restore checkpoint as its state object '${key}' is missing`,
      );
    }
    const checkpoint = JSON.parse(decoder.decode(bytes)) as PartitionCheckpoint;
    if (checkpoint.version !== 2) {
      throw new TypeError(
        `Cannot restore checkpoint '${key}' as it must be version 2: current value is ${
          JSON.stringify(checkpoint.version)
        }`,
      );
    }
    return { key, size_bytes: bytes.byteLength, checkpoint };
  }

  async #commit(
    dir: string,
    seq: number,
    epoch: number,
    checkpoint: PartitionCheckpoint,
  ): Promise<number> {
    const next = seq + 1;
    const state_key = `${dir}/state/${pad(next)}-${pad(epoch)}.json`;
    await this.#store.put(
      state_key,
      encoder.encode(JSON.stringify({ ...checkpoint, epoch })),
    );
    const manifest: Manifest = {
      version: 2,
      seq: next,
      epoch,
      position: checkpoint.position,
      state_key,
    };
    // Creating manifest `next` fails when a newer owner wrote it; an owner
    // so far behind that `next` was pruned creates it, but finds newer ones.
    const manifests = await this.#create(dir, manifest)
      ? await this.#manifests(dir)
      : null;
    if (manifests === null || this.#newerThan(manifests, next)) {
      throw new FencedError(
        `Cannot commit checkpoint ${next} of ${dir} as a newer owner claimed the partition (epoch ${epoch} is stale)`,
      );
    }
    await this.#prune(dir, next, manifests);
    return next;
  }

  /** Keys of a partition's manifests, sorted (oldest first). */
  async #manifests(dir: string): Promise<string[]> {
    return (await this.#store.list(`${dir}/manifest/`))
      .filter((key) => MANIFEST_NAME.test(key));
  }

  /** Whether `manifests` holds one numbered above `seq`. */
  #newerThan(manifests: readonly string[], seq: number): boolean {
    const newest = manifests.at(-1);
    return newest !== undefined &&
      Number(MANIFEST_NAME.exec(newest)![1]) > seq;
  }

  /** Creates a manifest; answers false when another writer's holds its number. */
  async #create(dir: string, manifest: Manifest): Promise<boolean> {
    const key = `${dir}/manifest/${pad(manifest.seq)}.json`;
    const body = JSON.stringify(manifest);
    if (await this.#store.putIfAbsent(key, encoder.encode(body))) return true;
    // A retried create whose first reply was lost finds its own manifest.
    const existing = await this.#store.get(key);
    return existing !== null && decoder.decode(existing) === body;
  }

  /** The newest manifest, null when none, "raced" when it vanished while read. */
  async #newestManifest(dir: string): Promise<Manifest | null | "raced"> {
    const newest = (await this.#manifests(dir)).at(-1);
    if (newest === undefined) return null;
    const bytes = await this.#store.get(newest);
    if (bytes === null) return "raced";
    const manifest = JSON.parse(decoder.decode(bytes)) as Partial<Manifest>;
    if (
      manifest.version !== 2 || !Number.isSafeInteger(manifest.seq) ||
      !Number.isSafeInteger(manifest.epoch) ||
      !Number.isSafeInteger(manifest.position)
    ) {
      throw new TypeError(
        `Cannot read checkpoint manifest '${newest}' as it must be a version 2 manifest: current value is ${
          JSON.stringify(manifest)
        }`,
      );
    }
    return manifest as Manifest;
  }

  async #readState(key: string): Promise<PartitionCheckpoint> {
    return (await this.readStored(key)).checkpoint;
  }

  /**
   * Deletes manifests older than the newest `retain` and state objects they
   * alone named. State objects newer than every kept manifest belong to a
   * commit in flight (maybe another owner's): they stay.
   */
  async #prune(
    dir: string,
    newest: number,
    manifests: readonly string[],
  ): Promise<void> {
    const oldest_kept = newest - this.#retain + 1;
    const referenced = new Set<string>();
    for (const key of manifests) {
      const seq = Number(MANIFEST_NAME.exec(key)?.[1]);
      if (!(seq >= oldest_kept)) continue;
      const bytes = await this.#store.get(key);
      if (bytes === null) continue;
      const state_key = (JSON.parse(decoder.decode(bytes)) as Manifest)
        .state_key;
      if (state_key !== null) referenced.add(state_key);
    }
    for (const key of manifests) {
      const seq = Number(MANIFEST_NAME.exec(key)?.[1]);
      if (seq < oldest_kept) await this.#store.delete(key);
    }
    for (const key of await this.#store.list(`${dir}/state/`)) {
      const seq = Number(STATE_NAME.exec(key)?.[1]);
      if (seq < oldest_kept && !referenced.has(key)) {
        await this.#store.delete(key);
      }
    }
  }
}
