/**
 * freshet's one HTTP surface, as a request handler:
 *
 * | route | answers |
 * | --- | --- |
 * | `POST /track` | events in (see `track.ts`) |
 * | `GET /api/analytics/keys`, `GET /api/analytics/:event_id/windows` | the analytics job's windows (see `analytics_api.ts`) |
 * | `GET /api/jobs` | a {@linkcode JobsSnapshot} of every job, per partition |
 * | `GET /metrics` | Prometheus text format 0.0.4 |
 * | `GET /healthz`, `GET /readyz` | liveness, readiness (see `health.ts`) |
 * | `GET /`, `GET /static/*` | the dashboard |
 *
 * Every answer echoes a request's `X-Request-Id` (1 to 128 of
 * `A-Za-z0-9._:-`), so clients can match answers to requests.
 *
 * Parts without their dependency are left out: no `log` (no `track`
 * options), no `/track`; no `kv`, no analytics routes; no `jobs`, an empty
 * job list. Serve it with {@linkcode serveHttp}.
 *
 * @module
 */

import type { Clock, KeyValue } from "../ports.ts";
import { HttpMetrics } from "../metrics/http_metrics.ts";
import { JobMetrics } from "../metrics/job_metrics.ts";
import type { JobsProvider, JobsSnapshot } from "../metrics/job_status.ts";
import {
  type MetricsRegistry,
  newRegistry,
  PROMETHEUS_CONTENT_TYPE,
  renderMetrics,
} from "../metrics/prometheus.ts";
import { analyticsRoutes } from "./analytics_api.ts";
import { liveness, readiness, type ReadinessCheck } from "./health.ts";
import { json } from "./json_response.ts";
import { Router } from "./router.ts";
import { StaticFiles } from "./static_files.ts";
import { Tracker, type TrackerOptions } from "./track.ts";

/** Options of {@linkcode HttpApp.create}. */
export interface HttpAppOptions {
  /** Processing time: request durations, default ranges, timeouts. */
  clock: Clock;
  /**
   * `/track` (its `clock` is this one; produce failures go to `console.warn`
   * unless `producer.on_error` is given). Default: no `/track`.
   */
  track?: Omit<TrackerOptions, "clock" | "on_outcome"> | null;
  /** Where the analytics routes read. Default: no analytics routes. */
  kv?: KeyValue | null;
  /** Status of the jobs, for `/api/jobs` and `/metrics`. Default: no jobs. */
  jobs?: JobsProvider | null;
  /** Checks of `/readyz`. Default: none (always ready). */
  readiness?: readonly ReadinessCheck[];
  /** Longest a readiness check may take. Default: 2000. */
  readiness_timeout_ms?: number;
  /** Registry of `/metrics`; pass one to add your own metrics. Default: a new one. */
  registry?: MetricsRegistry;
  /** Folder of the dashboard's files. Default: `src/http/static/`. */
  static_dir?: URL;
}

/** The HTTP surface, ready to be served. */
export class HttpApp {
  /** `/metrics`' registry. */
  readonly registry: MetricsRegistry;
  /** The per-job metrics: the runtime observes latencies and checkpoints here. */
  readonly job_metrics: JobMetrics;
  /** The HTTP metrics. */
  readonly http_metrics: HttpMetrics;
  /** `/track`, when configured. */
  readonly tracker: Tracker | null;
  readonly #router = new Router();
  readonly #clock: Clock;

  private constructor(options: HttpAppOptions, files: StaticFiles) {
    this.#clock = options.clock;
    this.registry = options.registry ?? newRegistry();
    this.job_metrics = new JobMetrics(this.registry);
    let tracker: Tracker | null = null;
    if (options.track) {
      const track = options.track;
      const metrics = () => this.http_metrics;
      tracker = new Tracker({
        ...track,
        clock: options.clock,
        producer: {
          // A failure is told once per backoff at most (later sends are
          // refused without trying); the message is the client library's.
          on_error: (error) =>
            console.warn(
              `track: the log did not take a batch: ${
                error instanceof Error ? error.message : String(error)
              }`,
            ),
          ...track.producer,
          on_produce: (report) => {
            metrics().produceCall(
              report.messages,
              report.duration_ms,
              report.ok,
            );
            track.producer?.on_produce?.(report);
          },
        },
        on_outcome: (outcome) => {
          if (outcome.status === 202) {
            metrics().trackEvents("accepted", outcome.events);
          } else if (outcome.status === 503) {
            metrics().trackEvents("unavailable", outcome.events);
          }
          metrics().trackEvents("invalid", outcome.invalid);
        },
      });
    }
    this.tracker = tracker;
    this.http_metrics = new HttpMetrics(
      this.registry,
      tracker === null ? undefined : () => tracker.budget,
    );
    this.#routes(options, files);
  }

  /** Builds the app (reads the dashboard's files). */
  static async create(options: HttpAppOptions): Promise<HttpApp> {
    return new HttpApp(options, await StaticFiles.load(options.static_dir));
  }

  /** Answers one request. */
  handler = async (request: Request): Promise<Response> => {
    const started_ms = this.#clock.now();
    let route = "unmatched";
    let response: Response;
    try {
      const routed = await this.#router.route(request);
      route = routed.route;
      response = routed.response;
    } catch (error) {
      // The message may come from a service client: keep it to the log.
      console.error(
        `http: ${request.method} ${new URL(request.url).pathname} failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
      response = json(500, {
        error: "the server failed to answer: see its log",
      });
    }
    this.http_metrics.request(
      route,
      request.method,
      response.status,
      this.#clock.now() - started_ms,
    );
    // Echoed so a client (or a load generator) can tell which request an
    // answer belongs to; only short, plain ids, so nothing odd is reflected.
    const id = request.headers.get("x-request-id");
    if (id !== null && REQUEST_ID.test(id)) {
      response.headers.set("x-request-id", id);
    }
    return response;
  };

  #routes(options: HttpAppOptions, files: StaticFiles): void {
    const router = this.#router;
    const jobs = options.jobs ?? null;
    const snapshot = async (): Promise<JobsSnapshot> =>
      jobs === null ? { at_ms: this.#clock.now(), jobs: [] } : await jobs();
    const tracker = this.tracker;
    if (tracker !== null) {
      router.on("POST", "/track", ({ request }) => tracker.handle(request));
    }
    if (options.kv) {
      analyticsRoutes(router, { kv: options.kv, clock: this.#clock });
    }
    router
      .on("GET", "/api/jobs", async () => json(200, await snapshot()))
      .on("GET", "/metrics", async () => {
        this.job_metrics.update(await snapshot());
        return new Response(await renderMetrics(this.registry), {
          headers: {
            "content-type": PROMETHEUS_CONTENT_TYPE,
            "cache-control": "no-store",
          },
        });
      })
      .on("GET", "/healthz", () => liveness())
      .on(
        "GET",
        "/readyz",
        () =>
          readiness(options.readiness ?? [], {
            clock: this.#clock,
            timeout_ms: options.readiness_timeout_ms,
          }),
      )
      .on(
        "GET",
        "/",
        ({ request }) => files.serve("index.html", request) ?? notFound("/"),
      )
      .on(
        "GET",
        "/static/*",
        ({ request, params, url }) =>
          files.serve(params["*"] as string, request) ?? notFound(url.pathname),
      );
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function notFound(path: string): Response {
  return json(404, { error: `nothing is served at ${path}` });
}

/** Options of {@linkcode serveHttp}. */
export interface ServeOptions {
  /** Default: `"127.0.0.1"`. */
  hostname?: string;
  /** 0 picks a free port. Default: 8000. */
  port?: number;
  /** Stops the server when aborted. Default: none. */
  signal?: AbortSignal;
  /** Told the address once listening. Default: prints `http://host:port/`. */
  on_listen?: (address: { hostname: string; port: number }) => void;
}

/** Serves `app` with `Deno.serve`. */
export function serveHttp(
  app: HttpApp,
  options: ServeOptions = {},
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8000,
    signal: options.signal,
    onListen: options.on_listen ??
      ((address) =>
        console.log(
          `freshet: dashboard at http://${address.hostname}:${address.port}/`,
        )),
  }, app.handler);
}
