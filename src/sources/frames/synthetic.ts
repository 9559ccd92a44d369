/**
 * Generated frames (`--synthetic --size WxH --fps N --seed S`): a gradient
 * background drifting across the frame, shapes bouncing around it, and a
 * slow light level that rises and falls, so that brightness varies from
 * window to window. Everything is a function of the seed, the size and the
 * frame's index: the same options give the same JPEG bytes (on a given
 * platform: the encoder is imagescript's native one).
 *
 * @module
 */

import type { Clock } from "../../ports.ts";
import { SystemClock } from "../../adapters/clock.ts";
import { encodeJpeg, Image } from "./jpeg_encode.ts";
import { type Frame, frameId, FramePacer, requireFps } from "./frame.ts";

/** Options of {@linkcode syntheticFrames}. */
export interface SyntheticOptions {
  /** Frame width, pixels. Default: 640. */
  width?: number;
  /** Frame height, pixels. Default: 360. */
  height?: number;
  /** Frames per second. Default: 5. */
  fps?: number;
  /** Seed of the scene. Default: 1. */
  seed?: number;
  /** The frames' `source`. Default: `synthetic`. */
  source?: string;
  /** JPEG quality, 1–100. Default: 60. */
  quality?: number;
  /** Frames to generate. Default: no limit. */
  count?: number;
  /** First frame index (scene time is index / fps). Default: 0. */
  first_index?: number;
  /** Paces the frames. Default: the system clock. */
  clock?: Clock;
  /** Due time of the first frame, epoch ms. Default: the clock's time at the first frame. */
  start_ms?: number;
}

export { MAX_SIDE, parseSize } from "./frame.ts";

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

type Rgb = [number, number, number];

interface Shape {
  kind: "circle" | "rect";
  /** Half size, pixels. */
  radius: number;
  x0: number;
  y0: number;
  /** Velocity, pixels per second. */
  vx: number;
  vy: number;
  color: Rgb;
}

/** The scene of one seed at one size; {@linkcode SyntheticScene.render} draws an instant. */
export class SyntheticScene {
  readonly width: number;
  readonly height: number;
  readonly #from: Rgb;
  readonly #to: Rgb;
  /** Gradient direction (unit vector) and drift, cycles per second. */
  readonly #dx: number;
  readonly #dy: number;
  readonly #drift: number;
  /** Light level: period (s) and phase (radians). */
  readonly #light_period_s: number;
  readonly #light_phase: number;
  readonly #shapes: Shape[];

  constructor(seed: number, width: number, height: number) {
    if (
      !(Number.isInteger(width) && Number.isInteger(height)) || width < 1 ||
      height < 1
    ) {
      throw new RangeError(
        `Cannot create a scene as its size must be positive integers: current value is ${width}x${height}`,
      );
    }
    this.width = width;
    this.height = height;
    const random = seededRandom(seed);
    const color = (): Rgb => [
      Math.floor(random() * 256),
      Math.floor(random() * 256),
      Math.floor(random() * 256),
    ];
    this.#from = color();
    this.#to = color();
    const angle = random() * 2 * Math.PI;
    this.#dx = Math.cos(angle);
    this.#dy = Math.sin(angle);
    this.#drift = 0.02 + random() * 0.08;
    this.#light_period_s = 20 + random() * 70;
    this.#light_phase = random() * 2 * Math.PI;
    const side = Math.min(width, height);
    const count = 3 + Math.floor(random() * 4);
    this.#shapes = [];
    for (let i = 0; i < count; i++) {
      this.#shapes.push({
        kind: random() < 0.5 ? "circle" : "rect",
        radius: Math.max(1, side * (0.05 + random() * 0.15)),
        x0: random() * width,
        y0: random() * height,
        vx: (random() - 0.5) * width * 0.6,
        vy: (random() - 0.5) * height * 0.6,
        color: color(),
      });
    }
  }

  /** Light level at `time_s`: 0.15 to 0.95. */
  light(time_s: number): number {
    return 0.55 +
      0.4 *
        Math.sin(
          2 * Math.PI * time_s / this.#light_period_s + this.#light_phase,
        );
  }

  /** Draws the scene at `time_s` seconds into a new RGBA image. */
  render(time_s: number): Image {
    const { width, height } = this;
    const image = new Image(width, height);
    const bitmap = image.bitmap;
    const light = this.light(time_s);
    const diagonal = Math.abs(this.#dx) * width + Math.abs(this.#dy) * height;
    const shift = time_s * this.#drift;
    const [r0, g0, b0] = this.#from;
    const [r1, g1, b1] = this.#to;
    for (let y = 0; y < height; y++) {
      let at = 4 * y * width;
      for (let x = 0; x < width; x++) {
        const along = (x * this.#dx + y * this.#dy) / diagonal + shift;
        // A triangle wave in [0, 1]: the gradient drifts without a seam.
        const f = 1 - Math.abs(2 * (along - Math.floor(along)) - 1);
        bitmap[at++] = (r0 + (r1 - r0) * f) * light;
        bitmap[at++] = (g0 + (g1 - g0) * f) * light;
        bitmap[at++] = (b0 + (b1 - b0) * f) * light;
        bitmap[at++] = 255;
      }
    }
    for (const shape of this.#shapes) {
      const cx = bounce(shape.x0 + shape.vx * time_s, width);
      const cy = bounce(shape.y0 + shape.vy * time_s, height);
      const r = shape.radius;
      const [sr, sg, sb] = shape.color;
      const top = Math.max(0, Math.floor(cy - r));
      const bottom = Math.min(height - 1, Math.ceil(cy + r));
      const left = Math.max(0, Math.floor(cx - r));
      const right = Math.min(width - 1, Math.ceil(cx + r));
      for (let y = top; y <= bottom; y++) {
        for (let x = left; x <= right; x++) {
          if (
            shape.kind === "circle" && (x - cx) ** 2 + (y - cy) ** 2 > r * r
          ) {
            continue;
          }
          const at = 4 * (y * width + x);
          bitmap[at] = sr * light;
          bitmap[at + 1] = sg * light;
          bitmap[at + 2] = sb * light;
        }
      }
    }
    return image;
  }
}

/** `position` folded into [0, size): moving back and forth between the edges. */
function bounce(position: number, size: number): number {
  const period = 2 * size;
  const p = ((position % period) + period) % period;
  return p < size ? p : period - p;
}

/** Generates frames of a seeded scene at `fps`. */
export async function* syntheticFrames(
  options: SyntheticOptions = {},
): AsyncGenerator<Frame> {
  const {
    width = 640,
    height = 360,
    fps = 5,
    seed = 1,
    source = "synthetic",
    quality = 60,
    count = Infinity,
    first_index = 0,
    clock = new SystemClock(),
    start_ms,
  } = options;
  requireFps(fps, "generate frames");
  const scene = new SyntheticScene(seed, width, height);
  const pacer = new FramePacer(fps, clock, start_ms);
  for (let n = 0; n < count; n++) {
    const index = first_index + n;
    const jpeg = await encodeJpeg(scene.render(index / fps), quality);
    const timestamp_ms = await pacer.next();
    yield {
      jpeg,
      width,
      height,
      timestamp_ms,
      source,
      frame_id: frameId(index, timestamp_ms),
    };
  }
}
