/**
 * Short-lived copies of Redis and S3Proxy on free ports, for tests that kill
 * and restart a service: the shared ones of `scripts/services.sh` stay
 * untouched. Redis keeps an append-only file synced on every write and
 * S3Proxy a directory, both in a temporary directory, so a restart finds
 * what was acknowledged before the kill (as a production service would).
 *
 * @module
 */

import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { REPO_ROOT, sleep } from "./harness.ts";

/** A free TCP port on 127.0.0.1 (free when asked). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(
  port: number,
  timeout_ms: number,
  what: string,
  alive: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!await accepts(port)) {
    if (!alive()) throw new Error(`Cannot start ${what} as it exited`);
    if (Date.now() > deadline) {
      throw new Error(
        `Cannot start ${what} as port ${port} did not open within ${timeout_ms} ms`,
      );
    }
    await sleep(100);
  }
}

/** A service process that can be killed and started again on the same port and data. */
abstract class PrivateService {
  readonly port = freePort();
  readonly dir = Deno.makeTempDirSync({ prefix: "freshet-private-" });
  #process: Deno.ChildProcess | null = null;
  #exited = true;

  protected abstract command(): { cmd: string; args: string[] };
  protected abstract ready(): Promise<void>;
  abstract readonly name: string;

  /** Starts the process and waits until it answers. */
  async start(timeout_ms = 60_000): Promise<void> {
    const { cmd, args } = this.command();
    this.#process = new Deno.Command(cmd, {
      args,
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#exited = false;
    this.#process.status.then(() => this.#exited = true);
    await waitForPort(this.port, timeout_ms, this.name, () => !this.#exited);
    await this.ready();
  }

  /** SIGKILLs the process (a crash: nothing flushed beyond what it synced). */
  async kill(): Promise<void> {
    if (this.#process === null || this.#exited) return;
    this.#process.kill("SIGKILL");
    await this.#process.status;
  }

  /** Kills it and removes its data. */
  async remove(): Promise<void> {
    await this.kill();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** `redis-server` on a free port, with an append-only file synced always. */
export class PrivateRedis extends PrivateService {
  readonly name = "a private redis-server";

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command() {
    return {
      cmd: "redis-server",
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        this.dir,
      ],
    };
  }

  protected async ready(): Promise<void> {
    // Loading the append-only file answers LOADING until done; the port is
    // open before that, and the job retries anyway.
    await sleep(200);
  }
}

/** Jars of S3Proxy, fetched by `scripts/services.sh up`. */
export const S3PROXY_LIB = `${REPO_ROOT}.services/s3proxy/lib`;

/** Whether the S3Proxy jars are there (outside CI a test may skip without them). */
export function hasS3ProxyJars(): boolean {
  try {
    return Deno.statSync(`${S3PROXY_LIB}/.fetched`).isFile;
  } catch {
    return false;
  }
}

/** S3Proxy on a free port over a directory, with one bucket. */
export class PrivateS3 extends PrivateService {
  readonly name = "a private S3Proxy";
  readonly bucket = "freshet";
  readonly accessKeyId = "private";
  readonly secretAccessKey = "private-secret";
  #properties = `${this.dir}/s3proxy.properties`;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected command() {
    Deno.mkdirSync(`${this.dir}/data`, { recursive: true });
    Deno.writeTextFileSync(
      this.#properties,
      [
        `s3proxy.endpoint=${this.endpoint}`,
        "s3proxy.authorization=aws-v2-or-v4",
        `s3proxy.identity=${this.accessKeyId}`,
        `s3proxy.credential=${this.secretAccessKey}`,
        "jclouds.provider=filesystem-nio2",
        `jclouds.filesystem.basedir=${this.dir}/data`,
      ].join("\n") + "\n",
    );
    return {
      cmd: "java",
      args: [
        "-Xms32m",
        "-Xmx128m",
        "-Djava.awt.headless=true",
        `-Dlogback.configurationFile=${REPO_ROOT}scripts/services/s3proxy-logback.xml`,
        "-cp",
        `${S3PROXY_LIB}/*`,
        "org.gaul.s3proxy.Main",
        "--properties",
        this.#properties,
      ],
    };
  }

  protected async ready(): Promise<void> {
    const client = new S3Client({
      endpoint: this.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: {
        accessKeyId: this.accessKeyId,
        secretAccessKey: this.secretAccessKey,
      },
    });
    try {
      for (let attempt = 0;; attempt++) {
        try {
          await client.send(new CreateBucketCommand({ Bucket: this.bucket }));
          return;
        } catch (error) {
          const name = (error as { name?: string }).name;
          if (
            name === "BucketAlreadyOwnedByYou" || name === "BucketAlreadyExists"
          ) return;
          if (attempt >= 50) throw error;
          await sleep(200);
        }
      }
    } finally {
      client.destroy();
    }
  }
}
