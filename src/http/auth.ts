/**
 * The bearer token of `POST /track` (`TRACK_TOKEN`).
 *
 * The comparison takes the same time whatever the guess: both sides are
 * hashed with SHA-256 and the digests compared with `timingSafeEqual`, so
 * neither the position of the first wrong byte nor the token's length shows
 * in the response time. The token is kept only as its digest, and the object
 * prints as `BearerToken(***)`, so it cannot reach a log by accident.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";

/** The outcome of {@linkcode BearerToken.check}. */
export type TokenCheck = "ok" | "missing" | "wrong";

/** A configured bearer token. */
export class BearerToken {
  readonly #digest: Uint8Array;

  constructor(token: string) {
    if (token.length === 0) {
      throw new Error(
        "Cannot use a bearer token as it must not be empty: current length is 0",
      );
    }
    this.#digest = sha256(token);
  }

  /** Checks an `Authorization` header value (`Bearer <token>`). */
  check(authorization: string | null): TokenCheck {
    const match = authorization === null
      ? null
      : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (match === null) return "missing";
    return timingSafeEqual(sha256(match[1] as string), this.#digest)
      ? "ok"
      : "wrong";
  }

  toString(): string {
    return "BearerToken(***)";
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}
