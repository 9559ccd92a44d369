/**
 * The query API over the `analytics` job's Redis keys (see
 * `src/jobs/analytics/keys.ts`), read through the {@linkcode KeyValue} port:
 *
 * - `GET /api/analytics/keys?limit=N` → `{"keys": [{"event_id", "count",
 *   "latest": window | null}]}`: the event ids with the largest latest
 *   count first (ties: event id descending, as Redis orders them), at most
 *   `limit` (default 20, at most 1000).
 * - `GET /api/analytics/:event_id/windows?from=&to=&limit=` →
 *   `{"event_id", "from_ms", "to_ms", "windows": [window...]}`: windows whose
 *   end lies in `[from, to]`, by end ascending; `from`/`to` are epoch ms or
 *   ISO-8601 (read as `parseEventTime` reads event times); default `to` = now, `from` = `to` − 1 h. With
 *   more than `limit` windows (default 1000, at most 10000) the latest
 *   `limit` are answered. Windows whose hash expired are left out.
 *
 * A window is `{event_id, window_start, window_end, window_end_ms, count,
 * sum, min, max}`. Bad parameters answer 400 naming the rule and the value.
 *
 * @module
 */

import { parseEventTime } from "../core/time.ts";
import type { Clock, KeyValue } from "../ports.ts";
import {
  type AnalyticsWindow,
  KEYS_KEY,
  latestKey,
  readWindow,
  windowKeyOfMember,
  windowsKey,
} from "../jobs/analytics/keys.ts";
import { json } from "./json_response.ts";
import type { RouteContext, Router } from "./router.ts";

/** A window as the API answers it. */
export type WindowAnswer = AnalyticsWindow & { window_end_ms: number };

/** Options of {@linkcode analyticsRoutes}. */
export interface AnalyticsApiOptions {
  kv: KeyValue;
  /** For the default range of `windows`. */
  clock: Clock;
}

/** Adds the analytics routes to `router`. */
export function analyticsRoutes(
  router: Router,
  options: AnalyticsApiOptions,
): Router {
  const { kv, clock } = options;
  router.on("GET", "/api/analytics/keys", async ({ url }) => {
    const limit = intParam(url, "limit", 20, 1000);
    if (typeof limit === "string") return json(400, { error: limit });
    const top = await kv.zrevrange(KEYS_KEY, 0, limit - 1);
    const latest = await Promise.all(
      top.map(({ member }) => kv.hgetall(latestKey(member))),
    );
    return json(200, {
      keys: top.map(({ member, score }, i) => ({
        event_id: member,
        count: score,
        latest: readWindow(latest[i] as Record<string, string>),
      })),
    });
  });
  router.on(
    "GET",
    "/api/analytics/:event_id/windows",
    (context) => windows(context, kv, clock),
  );
  return router;
}

async function windows(
  { url, params }: RouteContext,
  kv: KeyValue,
  clock: Clock,
): Promise<Response> {
  const event_id = params.event_id as string;
  const limit = intParam(url, "limit", 1000, 10_000);
  if (typeof limit === "string") return json(400, { error: limit });
  const to_ms = timeParam(url, "to", clock.now());
  if (typeof to_ms === "string") return json(400, { error: to_ms });
  const from_ms = timeParam(url, "from", to_ms - 3_600_000);
  if (typeof from_ms === "string") return json(400, { error: from_ms });
  if (from_ms > to_ms) {
    return json(400, {
      error:
        `'from' must not be after 'to': current values are ${from_ms} and ${to_ms}`,
    });
  }
  const members = (await kv.zrangeByScore(windowsKey(event_id), from_ms, to_ms))
    .slice(-limit);
  const hashes = await Promise.all(
    members.map(({ member }) =>
      kv.hgetall(windowKeyOfMember(event_id, member))
    ),
  );
  const found: WindowAnswer[] = [];
  hashes.forEach((hash, i) => {
    const window = readWindow(hash);
    if (window !== null) {
      found.push({ ...window, window_end_ms: (members[i]!).score });
    }
  });
  return json(200, { event_id, from_ms, to_ms, windows: found });
}

/** A positive integer query parameter, or the error message. */
function intParam(
  url: URL,
  name: string,
  fallback: number,
  max: number,
): number | string {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    return `'${name}' must be an integer from 1 to ${max}: current value is ${
      JSON.stringify(text)
    }`;
  }
  return value;
}

/** An instant query parameter (epoch ms or ISO-8601), or the error message. */
function timeParam(url: URL, name: string, fallback: number): number | string {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return fallback;
  const value = /^\d+$/.test(text)
    ? parseEventTime(Number(text))
    : parseEventTime(text);
  if (value === undefined) {
    return `'${name}' must be epoch milliseconds or an ISO-8601 date and time: current value is ${
      JSON.stringify(text)
    }`;
  }
  return value;
}
