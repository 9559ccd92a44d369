/**
 * A small router: routes are a method and a path pattern whose `:name`
 * segments capture (URL-decoded) parameters. The first matching route
 * answers; a path that matches with another method answers 405 with `Allow`;
 * nothing matching answers 404. Answers of both are JSON.
 *
 * @module
 */

import { json } from "./json_response.ts";

/** What a handler receives. */
export interface RouteContext {
  request: Request;
  url: URL;
  /** Captured `:name` segments, URL-decoded. */
  params: Record<string, string>;
}

/** Answers a request a route matched. */
export type RouteHandler = (
  context: RouteContext,
) => Response | Promise<Response>;

interface Route {
  method: string;
  /** The pattern, kept for metrics labels. */
  pattern: string;
  segments: string[];
  handler: RouteHandler;
}

/** The route that answered, for metrics: its pattern, or `"unmatched"`. */
export interface Routed {
  response: Response;
  route: string;
}

/** Routes requests by method and path. */
export class Router {
  readonly #routes: Route[] = [];

  /** Adds a route; `pattern` is a path such as `/api/analytics/:event_id/windows`, or a prefix ending in `/*`. */
  on(method: string, pattern: string, handler: RouteHandler): this {
    this.#routes.push({
      method: method.toUpperCase(),
      pattern,
      segments: pattern.split("/").slice(1),
      handler,
    });
    return this;
  }

  /** Answers `request` with the first matching route. */
  async route(request: Request): Promise<Routed> {
    const url = new URL(request.url);
    const path = url.pathname.split("/").slice(1);
    const allowed = new Set<string>();
    for (const route of this.#routes) {
      const params = match(route.segments, path);
      if (params === null) continue;
      const method = request.method === "HEAD" ? "GET" : request.method;
      if (route.method !== method) {
        allowed.add(route.method);
        continue;
      }
      return {
        response: await route.handler({ request, url, params }),
        route: route.pattern,
      };
    }
    if (allowed.size > 0) {
      return {
        response: json(405, {
          error: `${url.pathname} accepts ${
            [...allowed].join(", ")
          }: current method is ${request.method}`,
        }, { Allow: [...allowed].join(", ") }),
        route: "unmatched",
      };
    }
    return {
      response: json(404, { error: `nothing is served at ${url.pathname}` }),
      route: "unmatched",
    };
  }
}

function match(
  pattern: string[],
  path: string[],
): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const segment = pattern[i] as string;
    if (segment === "*" && i === pattern.length - 1) {
      params["*"] = path.slice(i).join("/");
      return params;
    }
    const part = path[i];
    if (part === undefined) return null;
    if (segment.startsWith(":")) {
      if (part === "") return null;
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return null;
      }
    } else if (segment !== part) return null;
  }
  return path.length === pattern.length ? params : null;
}
