/**
 * What `freshet frames tail` shows: the `frames` job's outputs as they
 * arrive, one line per record (plain), or a screen redrawn in place with a
 * table of per-source statistics over the most recent frames.
 *
 * Pure: records in, text out; the command (`frames_tail.ts`) reads Kafka
 * and writes the text.
 *
 * @module
 */

/** A `processed_video_frames` record, as far as the view reads it. */
interface ProcessedFrame {
  source: string;
  timestamp?: unknown;
  frame_width?: number;
  frame_height?: number;
  brightness: number;
  aspect_label?: string;
  compression_ratio?: number;
  resolution_category?: string;
}

/** A `video_source_aggregations` record, as far as the view reads it. */
interface SourceWindow {
  source: string;
  window_start: string;
  window_end: string;
  frame_count: number;
  fps: number;
  brightness_min: number;
  brightness_avg: number;
  brightness_max: number;
  compression_ratio_avg: number;
  resolution_categories?: Record<string, number>;
}

/** What the view keeps per source. */
interface SourceRow {
  frames: number;
  brightness_min: number;
  brightness_max: number;
  brightness_sum: number;
  last: ProcessedFrame | null;
  window: SourceWindow | null;
  windows: number;
}

/** Options of {@linkcode FramesView}. */
export interface FramesViewOptions {
  /** Most recent frames listed under the table. Default: 10. */
  recent_frames?: number;
}

/** The state of a tail: per-source rows and the most recent frames. */
export class FramesView {
  readonly #rows = new Map<string, SourceRow>();
  readonly #recent: string[] = [];
  readonly #recent_max: number;
  #frames = 0;
  #windows = 0;
  #unreadable = 0;

  constructor(options: FramesViewOptions = {}) {
    this.#recent_max = options.recent_frames ?? 10;
  }

  /**
   * Takes one record of the job's `processed` or `aggregations` topic;
   * answers its line (for plain output), or null for a record the view
   * does not read.
   */
  add(kind: "processed" | "aggregations", value: string): string | null {
    let data: unknown;
    try {
      data = JSON.parse(value);
    } catch {
      data = null;
    }
    if (kind === "processed" && isFrame(data)) return this.#frame(data);
    if (kind === "aggregations" && isWindow(data)) return this.#window(data);
    this.#unreadable++;
    return null;
  }

  /** Frames and windows read so far. */
  totals(): { frames: number; windows: number; unreadable: number } {
    return {
      frames: this.#frames,
      windows: this.#windows,
      unreadable: this.#unreadable,
    };
  }

  /** The screen: a table per source, then the most recent frames. */
  render(): string {
    const header = [
      "source",
      "res",
      "frames",
      "brightness min/avg/max",
      "last",
      "aspect",
      "compr",
      "window",
      "fps",
      "w.frames",
      "w.brightness",
    ];
    const rows = [...this.#rows].sort(([a], [b]) => (a < b ? -1 : 1)).map(
      ([source, r]) => {
        const last = r.last;
        const w = r.window;
        return [
          source,
          last === null ? "" : `${last.frame_width}x${last.frame_height}`,
          String(r.frames),
          r.frames === 0
            ? ""
            : `${fixed(r.brightness_min)}/${
              fixed(r.brightness_sum / r.frames)
            }/${fixed(r.brightness_max)}`,
          last === null ? "" : fixed(last.brightness),
          last?.aspect_label ?? "",
          last?.compression_ratio === undefined
            ? ""
            : fixed(last.compression_ratio),
          w === null
            ? ""
            : `${w.window_start.slice(11)}–${w.window_end.slice(11)}`,
          w === null ? "" : String(w.fps),
          w === null ? "" : String(w.frame_count),
          w === null ? "" : fixed(w.brightness_avg),
        ];
      },
    );
    const widths = header.map((h, i) =>
      Math.max(h.length, ...rows.map((row) => row[i]!.length))
    );
    const line = (cells: string[]) =>
      cells.map((c, i) => i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))
        .join("  ").trimEnd();
    return [
      `frames ${this.#frames}, windows ${this.#windows}, sources ${this.#rows.size}${
        this.#unreadable > 0 ? `, unreadable ${this.#unreadable}` : ""
      }`,
      "",
      line(header),
      ...rows.map(line),
      "",
      "recent frames:",
      ...this.#recent,
    ].join("\n");
  }

  #row(source: string): SourceRow {
    let row = this.#rows.get(source);
    if (row === undefined) {
      row = {
        frames: 0,
        brightness_min: Infinity,
        brightness_max: -Infinity,
        brightness_sum: 0,
        last: null,
        window: null,
        windows: 0,
      };
      this.#rows.set(source, row);
    }
    return row;
  }

  #frame(f: ProcessedFrame): string {
    this.#frames++;
    const row = this.#row(f.source);
    row.frames++;
    row.brightness_min = Math.min(row.brightness_min, f.brightness);
    row.brightness_max = Math.max(row.brightness_max, f.brightness);
    row.brightness_sum += f.brightness;
    row.last = f;
    const text = [
      "frame ",
      String(f.timestamp ?? ""),
      f.source,
      `${f.frame_width}x${f.frame_height}`,
      f.resolution_category ?? "",
      f.aspect_label ?? "",
      `brightness ${fixed(f.brightness)}`,
      `compression ${
        f.compression_ratio === undefined ? "?" : fixed(f.compression_ratio)
      }`,
    ].join(" ");
    this.#recent.push(text.slice("frame  ".length));
    if (this.#recent.length > this.#recent_max) this.#recent.shift();
    return text;
  }

  #window(w: SourceWindow): string {
    this.#windows++;
    const row = this.#row(w.source);
    row.windows++;
    if (row.window === null || w.window_start >= row.window.window_start) {
      row.window = w;
    }
    const categories = Object.entries(w.resolution_categories ?? {})
      .filter(([, n]) => n > 0).map(([c, n]) => `${c} ${n}`).join(", ");
    return [
      "window",
      `${w.window_start}..${w.window_end}`,
      w.source,
      `${w.frame_count} frames`,
      `${w.fps} fps`,
      `brightness ${fixed(w.brightness_min)}/${fixed(w.brightness_avg)}/${
        fixed(w.brightness_max)
      }`,
      `compression ${fixed(w.compression_ratio_avg)}`,
      categories,
    ].join(" ").trimEnd();
  }
}

function fixed(value: number): string {
  return value.toFixed(2);
}

function isFrame(data: unknown): data is ProcessedFrame {
  const d = data as ProcessedFrame | null;
  return typeof d === "object" && d !== null && typeof d.source === "string" &&
    typeof d.brightness === "number";
}

function isWindow(data: unknown): data is SourceWindow {
  const d = data as SourceWindow | null;
  return typeof d === "object" && d !== null && typeof d.source === "string" &&
    typeof d.window_start === "string" && typeof d.window_end === "string" &&
    typeof d.frame_count === "number" && typeof d.fps === "number" &&
    typeof d.brightness_avg === "number" &&
    typeof d.brightness_min === "number" &&
    typeof d.brightness_max === "number" &&
    typeof d.compression_ratio_avg === "number";
}
