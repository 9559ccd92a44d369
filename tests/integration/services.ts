/**
 * Helpers for tests that talk to real services (started by
 * `bash scripts/services.sh up`). Outside CI, a missing service skips its tests
 * with one line of explanation; in CI (`CI=true` or `CI=1`) it fails them.
 *
 * @module
 */

/** A service the integration tests use, where `scripts/services.sh` starts it. */
export interface Service {
  name: string;
  hostname: string;
  port: number;
}

export const REDIS: Service = {
  name: "redis",
  hostname: "127.0.0.1",
  port: 6379,
};
export const KAFKA: Service = {
  name: "kafka",
  hostname: "127.0.0.1",
  port: 9092,
};
export const S3: Service = { name: "s3", hostname: "127.0.0.1", port: 9000 };
export const POSTGRES: Service = {
  name: "postgres",
  hostname: "127.0.0.1",
  port: 5432,
};

/** Connection settings matching `scripts/services.sh`. */
export const REDIS_URL = "redis://127.0.0.1:6379";
/** Trust authentication: no password. */
export const DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const KAFKA_BROKERS = ["127.0.0.1:9092"];
export const S3_SETTINGS = {
  endpoint: "http://127.0.0.1:9000",
  bucket: "freshet",
  region: "us-east-1",
  accessKeyId: "freshet",
  secretAccessKey: "freshet-secret",
} as const;

export const SKIP_MESSAGE =
  "skipping integration tests: start the services with 'deno task services up' (or bash scripts/services.sh up)";

const inCi = ["true", "1"].includes((Deno.env.get("CI") ?? "").toLowerCase());

/** Whether something accepts TCP connections at the service's address. */
export async function isUp(
  service: Service,
  timeout_ms = 500,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeout_ms);
  });
  const connecting = Deno.connect({
    hostname: service.hostname,
    port: service.port,
  })
    .then((conn) => conn, () => null);
  const conn = await Promise.race([connecting, timeout]);
  clearTimeout(timer);
  if (conn === null) {
    // A connect that finishes after the timeout must still be closed.
    connecting.then((late) => late?.close());
    return false;
  }
  conn.close();
  return true;
}

// Probed once per process: the answer is shared by every test file.
const probes = new Map<string, Promise<boolean>>();
function probe(service: Service): Promise<boolean> {
  let probed = probes.get(service.name);
  if (probed === undefined) {
    probed = isUp(service);
    probes.set(service.name, probed);
  }
  return probed;
}

let skipAnnounced = false;
const failuresRegistered = new Set<string>();

/**
 * Probes `services` and answers whether tests needing them must be ignored.
 * When some are missing: outside CI, prints the skip line (once per process);
 * in CI, registers a failing test that names them.
 */
export async function requireServices(services: Service[]): Promise<boolean> {
  const missing: Service[] = [];
  for (const service of services) {
    if (!await probe(service)) missing.push(service);
  }
  if (missing.length === 0) return false;
  const names = missing.map((s) => `${s.name} (${s.hostname}:${s.port})`).join(
    ", ",
  );
  if (inCi) {
    if (failuresRegistered.has(names)) return true;
    failuresRegistered.add(names);
    Deno.test(`integration tests have their services: ${names}`, () => {
      throw new Error(
        `Cannot run integration tests as CI requires the services: not reachable: ${names}`,
      );
    });
  } else if (!skipAnnounced) {
    skipAnnounced = true;
    if (firstInProcess()) console.log(SKIP_MESSAGE);
  }
  return true;
}

/**
 * True for the first test file of this `deno test` process to ask: Deno
 * loads each file in a fresh module scope, so a marker file keyed by the
 * process id keeps the skip line to one per run.
 */
function firstInProcess(): boolean {
  const dir = Deno.env.get("TMPDIR") ?? "/tmp";
  // The process's start time (Linux) tells a reused process id apart.
  let started = "";
  try {
    started = Deno.readTextFileSync("/proc/self/stat").split(" ")[21] ?? "";
  } catch {
    // Not Linux: the process id alone.
  }
  try {
    Deno.writeTextFileSync(
      `${dir}/freshet-skip-line-${Deno.pid}-${started}`,
      "",
      {
        createNew: true,
      },
    );
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    return true;
  }
}

/**
 * Registers a test that needs `services`: ignored when they are missing
 * outside CI, failing in CI (see {@linkcode requireServices}).
 *
 * Use with top-level await (`await integration(...)`) so the probe finishes
 * before Deno collects the tests.
 */
export async function integration(
  name: string,
  services: Service[],
  fn: (t: Deno.TestContext) => Promise<void>,
): Promise<void> {
  const ignore = await requireServices(services);
  Deno.test({ name, ignore, fn, sanitizeOps: false, sanitizeResources: false });
}

/** A name unique to this run, for topics, groups, prefixes and buckets' keys. */
export function uniqueName(base: string): string {
  return `${base}-${Date.now().toString(36)}-${
    crypto.randomUUID().slice(0, 8)
  }`;
}
