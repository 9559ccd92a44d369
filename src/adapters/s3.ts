/**
 * {@linkcode ObjectStore} on S3 or an S3-compatible server (@aws-sdk/client-s3),
 * used both as the checkpoint store and as the output store of file sinks.
 *
 * `putIfAbsent` is S3's conditional write (`PutObject` with
 * `If-None-Match: *`): atomic on AWS S3, MinIO and S3Proxy 4.x (whose
 * file-system backend creates the file with a hard link, which fails when the
 * name exists). S3Proxy 2.x checks then writes, so there concurrent creators
 * can both win; `scripts/services.sh` runs S3Proxy 4.x for that reason.
 *
 * Every error names the bucket and the key (with the prefix) and keeps the
 * SDK's error as its `cause`; none carries the secret key, which the SDK
 * never sends.
 *
 * @module
 */

import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { ObjectStore } from "../ports.ts";
import type { S3Config } from "./config.ts";

/** Options of {@linkcode S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** Server URL, e.g. `http://127.0.0.1:9000`. Default: AWS's own endpoint. */
  endpoint?: string;
  bucket: string;
  /** Any string for S3-compatible servers. Default: `"us-east-1"`. */
  region?: string;
  /** Default: the AWS SDK's credential chain (environment, profile, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Prepended to every key and stripped from `list()` results, so that several
   * stores share one bucket. Default: `""`.
   */
  prefix?: string;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). Default: 1000. */
  maxKeys?: number;
  /**
   * Addresses the bucket as a path (`endpoint/bucket/key`), which local
   * servers need. Default: `true`.
   */
  forcePathStyle?: boolean;
}

/**
 * How often `putIfAbsent` sends its write again after S3 answered 409
 * ConditionalRequestConflict, and how long it waits before each attempt.
 */
const CONFLICT_BACKOFF_MS = [25, 100, 400];

/** An {@linkcode ObjectStore} in one bucket, optionally under a key prefix. */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #maxKeys: number;

  /** A store in the bucket of `config`, with its endpoint, region and keys. */
  static fromConfig(config: S3Config): S3ObjectStore {
    return new S3ObjectStore({
      endpoint: config.endpoint,
      bucket: config.bucket,
      region: config.region,
      credentials: {
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
      },
    });
  }

  constructor(options: S3ObjectStoreOptions) {
    const maxKeys = options.maxKeys ?? 1000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) {
      throw new Error(
        `Cannot open S3 store as 'maxKeys' must be an integer in 1..1000: current value is ${maxKeys}`,
      );
    }
    this.#client = new S3Client({
      region: options.region ?? "us-east-1",
      forcePathStyle: options.forcePathStyle ?? true,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined
        ? {}
        : { credentials: options.credentials }),
    });
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? "";
    this.#maxKeys = maxKeys;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#prefix + key,
          Body: body,
        }),
      );
    } catch (error) {
      throw this.#failure("put", key, error);
    }
  }

  /**
   * `PutObject` with `If-None-Match: *`. 412 PreconditionFailed (the key
   * exists) answers `false`. 409 ConditionalRequestConflict means a
   * concurrent write or delete of the key was in flight and this write was
   * not applied; it is sent again (after 25, 100, 400 ms) rather than answered
   * `false`, because the competing operation may have been a delete or a
   * write that failed, and then the key does not exist. The retry gets the
   * truth: 412 when someone created the object meanwhile, success otherwise.
   * After the last attempt the call rejects.
   *
   * When the SDK itself resends after a lost reply (a dropped connection,
   * a 5xx after the write landed), the resend gets 412 and this answers
   * `false` for an object this call created: see the port's note.
   */
  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    for (let attempt = 0;; attempt++) {
      try {
        await this.#client.send(
          new PutObjectCommand({
            Bucket: this.#bucket,
            Key: this.#prefix + key,
            Body: body,
            IfNoneMatch: "*",
          }),
        );
        return true;
      } catch (error) {
        if (statusOf(error) === 412) return false;
        const backoff_ms = CONFLICT_BACKOFF_MS[attempt];
        if (statusOf(error) === 409 && backoff_ms !== undefined) {
          await sleep(backoff_ms);
          continue;
        }
        throw this.#failure("putIfAbsent", key, error, attempt + 1);
      }
    }
  }

  /**
   * `CopyObject` (server-side, so up to S3's 5 GB limit for one copy). S3
   * refuses to copy an object onto itself without changing its metadata, so
   * a copy onto itself only checks that the object exists.
   */
  async copy(from: string, to: string): Promise<void> {
    try {
      if (from === to) {
        await this.#client.send(
          new HeadObjectCommand({
            Bucket: this.#bucket,
            Key: this.#prefix + from,
          }),
        );
        return;
      }
      await this.#client.send(
        new CopyObjectCommand({
          Bucket: this.#bucket,
          Key: this.#prefix + to,
          CopySource: copySource(this.#bucket, this.#prefix + from),
        }),
      );
    } catch (error) {
      if (isNotFound(error)) {
        throw new Error(
          `Cannot copy an object as 'from' must exist: current value is ${
            this.#describe(from)
          } (to ${this.#describe(to)})`,
          { cause: error },
        );
      }
      throw this.#failure("copy", from, error, 1, to);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const reply = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }),
      );
      if (reply.Body === undefined) return new Uint8Array();
      return await reply.Body.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.#failure("get", key, error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let continuationToken: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix + prefix,
            MaxKeys: this.#maxKeys,
            ...(continuationToken === undefined
              ? {}
              : { ContinuationToken: continuationToken }),
          }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined) {
            keys.push(object.Key.slice(this.#prefix.length));
          }
        }
        continuationToken = page.IsTruncated
          ? page.NextContinuationToken
          : undefined;
      } while (continuationToken !== undefined);
    } catch (error) {
      throw this.#failure("list", prefix, error);
    }
    // S3 lists in UTF-8 byte order; the port promises JavaScript's sort order.
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for a missing key too; some compatible servers answer 404.
    try {
      await this.#client.send(
        new DeleteObjectCommand({
          Bucket: this.#bucket,
          Key: this.#prefix + key,
        }),
      );
    } catch (error) {
      if (!isNotFound(error)) throw this.#failure("delete", key, error);
    }
  }

  /** Releases the client's sockets. */
  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  #describe(key: string): string {
    return `'s3://${this.#bucket}/${this.#prefix}${key}'`;
  }

  /**
   * The SDK's error with the bucket and key in front. Its message is S3's
   * (or the network's); S3 never sees the secret, so it cannot echo it.
   */
  #failure(
    call: string,
    key: string,
    error: unknown,
    attempts = 1,
    to?: string,
  ): Error {
    const { name, message } = error instanceof Error
      ? error
      : { name: "Error", message: String(error) };
    const status = statusOf(error);
    const target = to === undefined ? "" : ` to ${this.#describe(to)}`;
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
    return new Error(
      `Cannot ${call} ${this.#describe(key)}${target}${tries}: ${name}${
        status === undefined ? "" : ` (HTTP ${status})`
      }: ${message}`,
      { cause: error },
    );
  }
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata
    ?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { name } = error as { name?: string };
  // A missing bucket is a configuration error, not a missing object.
  if (name === "NoSuchBucket") return false;
  return name === "NoSuchKey" || name === "NotFound" ||
    statusOf(error) === 404;
}

// CopySource is `bucket/key`, URL-encoded except for the key's slashes.
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
