import type { GitHub } from "./client.ts";

/** A cached answer, kept to reuse when GitHub says 304 Not Modified. */
interface Cached {
  etag: string;
  // deno-lint-ignore no-explicit-any
  response: any;
}

/**
 * Conditional requests: every GET carries `If-None-Match` with the `etag` of its last answer, and
 * a `304` (which GitHub does not count against the rate limit) is answered from the cache. The
 * cache keeps at most `limit` answers, dropping the least recently used, so it cannot grow
 * without bound however many repositories there are.
 */
export class EtagCache {
  readonly #entries = new Map<string, Cached>();
  hits = 0;

  constructor(readonly limit = 2000) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Adds the behaviour to a client. */
  attach(github: GitHub): void {
    github.hook.wrap("request", async (request, options) => {
      // Downloads are streamed once; only JSON answers are kept.
      if (options.method !== "GET" || options.headers.accept === "application/octet-stream") {
        return request(options);
      }
      const key = JSON.stringify(github.request.endpoint(options).url);
      const cached = this.#entries.get(key);
      if (cached) {
        this.#entries.delete(key);
        this.#entries.set(key, cached);
        options.headers = { ...options.headers, "if-none-match": cached.etag };
      }
      try {
        const response = await request(options);
        const etag = response.headers.etag;
        if (typeof etag === "string") this.#remember(key, { etag, response });
        return response;
      } catch (error) {
        if (cached && (error as { status?: number }).status === 304) {
          this.hits++;
          return cached.response;
        }
        throw error;
      }
    });
  }

  #remember(key: string, entry: Cached): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.limit) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
