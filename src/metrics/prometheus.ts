/**
 * The metrics registry: prom-client's counters, gauges and histograms with
 * labels, rendered in the Prometheus text exposition format 0.0.4.
 *
 * prom-client 15 runs on Deno 2 as it is (tried on 2.9, without and with its
 * default process metrics). Two of its behaviours are guarded here rather than
 * trusted: it renders histogram buckets in the order given (Prometheus
 * requires increasing `le`), and it prints NaN as `Nan` (Prometheus parses
 * floats case-insensitively, so that scrapes, but freshet never exports NaN:
 * an unknown value is left out instead).
 *
 * @module
 */

import client from "prom-client";

/** A set of metrics rendered together on one `/metrics` page. */
export type MetricsRegistry = client.Registry;
/** A monotonic counter (rendered as `<name>`; name it `..._total`). */
export type Counter<L extends string = string> = client.Counter<L>;
/** A value that goes up and down. */
export type Gauge<L extends string = string> = client.Gauge<L>;
/** Observations counted in buckets, with `_bucket{le}`, `_sum`, `_count`. */
export type Histogram<L extends string = string> = client.Histogram<L>;

/** The `Content-Type` of the text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** A new, empty registry. */
export function newRegistry(): MetricsRegistry {
  return new client.Registry();
}

/** Options shared by {@linkcode counter}, {@linkcode gauge} and {@linkcode histogram}. */
export interface MetricOptions<L extends string> {
  /** Metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, unit last (`_seconds`, `_total`). */
  name: string;
  /** One line of documentation (rendered after `# HELP`). */
  help: string;
  /** Label names every sample carries. Default: none. */
  labels?: readonly L[];
}

/** Registers a counter in `registry`. */
export function counter<L extends string>(
  registry: MetricsRegistry,
  options: MetricOptions<L>,
): Counter<L> {
  return new client.Counter<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labels ?? [],
    registers: [registry],
  });
}

/** Registers a gauge in `registry`. */
export function gauge<L extends string>(
  registry: MetricsRegistry,
  options: MetricOptions<L> & {
    /** Called at each scrape before rendering, to set the gauge. Default: none. */
    collect?: (gauge: Gauge<L>) => void | Promise<void>;
  },
): Gauge<L> {
  const collect = options.collect;
  return new client.Gauge<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labels ?? [],
    registers: [registry],
    ...(collect === undefined ? {} : {
      collect(this: Gauge<L>) {
        return collect(this);
      },
    }),
  });
}

/** Registers a histogram in `registry`. */
export function histogram<L extends string>(
  registry: MetricsRegistry,
  options: MetricOptions<L> & {
    /** Upper bounds of the buckets, strictly increasing and finite (`+Inf` is added). */
    buckets: readonly number[];
  },
): Histogram<L> {
  const { buckets } = options;
  for (let i = 0; i < buckets.length; i++) {
    const bound = buckets[i] as number;
    if (
      !Number.isFinite(bound) || (i > 0 && bound <= (buckets[i - 1] as number))
    ) {
      throw new RangeError(
        `Cannot create histogram '${options.name}' as 'buckets' must be finite and strictly increasing: current value is [${
          buckets.join(", ")
        }]`,
      );
    }
  }
  return new client.Histogram<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labels ?? [],
    buckets: [...buckets],
    registers: [registry],
  });
}

/** The registry's metrics in the text exposition format 0.0.4. */
export function renderMetrics(registry: MetricsRegistry): Promise<string> {
  return registry.metrics();
}
