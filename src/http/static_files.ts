/**
 * The dashboard's files (`src/http/static/`), read once at start and served
 * from memory: only files found there can be answered, so no request path
 * reaches the file system. (`deno compile` must `--include src/http/static`.)
 *
 * @module
 */

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  md: "text/plain; charset=utf-8",
  json: "application/json; charset=utf-8",
};

/** A file ready to serve. */
interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/** The dashboard's files by path relative to the static folder (`vendor/uPlot.min.css`). */
export class StaticFiles {
  readonly #files: Map<string, StaticFile>;

  private constructor(files: Map<string, StaticFile>) {
    this.#files = files;
  }

  /** Reads every file under `dir` (default: `src/http/static/`). */
  static async load(
    dir: URL = new URL("./static/", import.meta.url),
  ): Promise<StaticFiles> {
    const files = new Map<string, StaticFile>();
    const walk = async (folder: URL, prefix: string) => {
      for await (const entry of Deno.readDir(folder)) {
        if (entry.isDirectory) {
          await walk(
            new URL(`${entry.name}/`, folder),
            `${prefix}${entry.name}/`,
          );
        } else if (entry.isFile) {
          const body = await Deno.readFile(new URL(entry.name, folder));
          const ext = entry.name.split(".").pop()?.toLowerCase() ?? "";
          const digest = new Uint8Array(
            await crypto.subtle.digest("SHA-256", body),
          );
          files.set(`${prefix}${entry.name}`, {
            body,
            type: TYPES[ext] ?? "application/octet-stream",
            etag: `"${
              [...digest.slice(0, 12)].map((b) =>
                b.toString(16).padStart(2, "0")
              )
                .join("")
            }"`,
          });
        }
      }
    };
    await walk(dir, "");
    return new StaticFiles(files);
  }

  /** Paths of the loaded files, sorted. */
  paths(): string[] {
    return [...this.#files.keys()].sort();
  }

  /** Answers the file at `path`, or `null` when there is none. */
  serve(path: string, request: Request): Response | null {
    const file = this.#files.get(path);
    if (file === undefined) return null;
    const headers = {
      "content-type": file.type,
      etag: file.etag,
      // Revalidate every time: cheap with the ETag, and a new freshet
      // version is seen at once.
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    };
    if (request.headers.get("if-none-match") === file.etag) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(request.method === "HEAD" ? null : file.body, {
      headers,
    });
  }
}
