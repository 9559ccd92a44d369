/**
 * Metrics of the HTTP server and of `POST /track`.
 *
 * Route labels are route patterns (`/api/analytics/:event_id/windows`) or
 * `unmatched`, never raw paths, so a scanner cannot blow up the number of
 * series.
 *
 * @module
 */

import {
  type Counter,
  counter,
  gauge,
  type Histogram,
  histogram,
  type MetricsRegistry,
} from "./prometheus.ts";

/** Where the in-flight gauges read from. */
export interface InFlight {
  readonly events: number;
  readonly bytes: number;
}

/** HTTP and /track metrics, registered in one registry. */
export class HttpMetrics {
  readonly #requests: Counter<"route" | "method" | "status">;
  readonly #duration: Histogram<"route">;
  readonly #events: Counter<"outcome">;
  readonly #calls: Counter<"outcome">;
  readonly #batch: Histogram;
  readonly #produce: Histogram;

  constructor(registry: MetricsRegistry, in_flight?: () => InFlight) {
    this.#requests = counter(registry, {
      name: "freshet_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status.",
      labels: ["route", "method", "status"],
    });
    this.#duration = histogram(registry, {
      name: "freshet_http_request_duration_seconds",
      help: "Time from a request's arrival to its answer.",
      labels: ["route"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    });
    this.#events = counter(registry, {
      name: "freshet_track_events_total",
      help:
        "Events of /track requests: accepted (202), invalid (400) or unavailable (503 after parsing).",
      labels: ["outcome"],
    });
    this.#calls = counter(registry, {
      name: "freshet_track_produce_calls_total",
      help: "Produce calls of /track, by outcome (ok or failed).",
      labels: ["outcome"],
    });
    this.#batch = histogram(registry, {
      name: "freshet_track_produce_batch_events",
      help: "Events per produce call of /track.",
      buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000],
    });
    this.#produce = histogram(registry, {
      name: "freshet_track_produce_duration_seconds",
      help: "Time a produce call of /track took to be acknowledged or fail.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    });
    if (in_flight !== undefined) {
      gauge(registry, {
        name: "freshet_track_in_flight_events",
        help: "Events of /track parsed and not yet acknowledged.",
        collect: (g) => g.set(in_flight().events),
      });
      gauge(registry, {
        name: "freshet_track_in_flight_bytes",
        help: "Body bytes of /track held from reading to the answer.",
        collect: (g) => g.set(in_flight().bytes),
      });
    }
  }

  /** Counts one answered request. */
  request(
    route: string,
    method: string,
    status: number,
    duration_ms: number,
  ): void {
    this.#requests.inc({ route, method, status: String(status) });
    this.#duration.observe({ route }, Math.max(0, duration_ms) / 1000);
  }

  /** Counts a /track request's events by outcome. */
  trackEvents(
    outcome: "accepted" | "invalid" | "unavailable",
    n: number,
  ): void {
    if (n > 0) this.#events.inc({ outcome }, n);
  }

  /** Counts one produce call. */
  produceCall(events: number, duration_ms: number, ok: boolean): void {
    this.#calls.inc({ outcome: ok ? "ok" : "failed" });
    this.#batch.observe(events);
    this.#produce.observe(Math.max(0, duration_ms) / 1000);
  }
}
